// FaultProxy against a real echo server over real sockets: each mode does
// to the bytes and connections what it promises.
#include "tests/support/fault_proxy.h"

#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gtest/gtest.h"

namespace tutoring::testing {
namespace {

// Accepts connections on 127.0.0.1 and echoes what each sends, one thread
// per connection, until destroyed.
class EchoServer {
 public:
  EchoServer() {
    listen_fd_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    bind(listen_fd_, reinterpret_cast<sockaddr*>(&address), sizeof(address));
    listen(listen_fd_, 16);
    socklen_t length = sizeof(address);
    getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&address), &length);
    port_ = ntohs(address.sin_port);
    acceptor_ = std::thread([this] {
      while (true) {
        const int fd = accept(listen_fd_, nullptr, nullptr);
        if (fd < 0) return;
        absl::MutexLock lock(&mu_);
        fds_.push_back(fd);
        threads_.emplace_back([fd] {
          char buffer[4096];
          while (true) {
            const ssize_t n = recv(fd, buffer, sizeof(buffer), 0);
            if (n <= 0) return;
            if (send(fd, buffer, n, MSG_NOSIGNAL) != n) return;
          }
        });
      }
    });
  }
  ~EchoServer() {
    shutdown(listen_fd_, SHUT_RDWR);
    close(listen_fd_);
    acceptor_.join();
    absl::MutexLock lock(&mu_);
    for (int fd : fds_) shutdown(fd, SHUT_RDWR);
    for (auto& thread : threads_) thread.join();
    for (int fd : fds_) close(fd);
  }
  int port() const { return port_; }

 private:
  int listen_fd_ = -1;
  int port_ = 0;
  std::thread acceptor_;
  absl::Mutex mu_;
  std::vector<int> fds_ ABSL_GUARDED_BY(mu_);
  std::vector<std::thread> threads_ ABSL_GUARDED_BY(mu_);
};

// A connected socket to 127.0.0.1:port, or -1 (errno says why).
int Connect(int port) {
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  address.sin_port = htons(static_cast<uint16_t>(port));
  if (connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) !=
      0) {
    const int error = errno;
    close(fd);
    errno = error;
    return -1;
  }
  return fd;
}

// What a read of up to `want` bytes within `timeout` got.
struct ReadOutcome {
  std::string data;
  bool eof = false;
  int error = 0;  // errno of a failed read (ECONNRESET for a reset)
};

ReadOutcome ReadFor(int fd, size_t want, absl::Duration timeout) {
  ReadOutcome outcome;
  const absl::Time until = absl::Now() + timeout;
  while (outcome.data.size() < want) {
    const absl::Duration left = until - absl::Now();
    if (left <= absl::ZeroDuration()) break;
    pollfd p{fd, POLLIN, 0};
    if (poll(&p, 1, static_cast<int>(absl::ToInt64Milliseconds(left)) + 1) <=
        0) {
      continue;
    }
    char buffer[4096];
    const ssize_t n = recv(fd, buffer, sizeof(buffer), 0);
    if (n > 0) {
      outcome.data.append(buffer, n);
    } else if (n == 0) {
      outcome.eof = true;
      break;
    } else {
      outcome.error = errno;
      break;
    }
  }
  return outcome;
}

class FaultProxyTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto proxy = FaultProxy::Start(echo_.port());
    ASSERT_TRUE(proxy.ok()) << proxy.status();
    proxy_ = *std::move(proxy);
  }

  EchoServer echo_;
  std::unique_ptr<FaultProxy> proxy_;
};

TEST_F(FaultProxyTest, PassForwardsBothWays) {
  const int fd = Connect(proxy_->port());
  ASSERT_GE(fd, 0);
  const std::string message(100000, 'x');
  ASSERT_EQ(send(fd, message.data(), message.size(), MSG_NOSIGNAL),
            static_cast<ssize_t>(message.size()));
  const ReadOutcome got = ReadFor(fd, message.size(), absl::Seconds(10));
  EXPECT_EQ(got.data, message);
  EXPECT_EQ(proxy_->open_connections(), 1);
  close(fd);
}

TEST_F(FaultProxyTest, DelayHoldsEachChunkForTheDelay) {
  proxy_->SetMode(FaultProxy::Mode::kDelay, absl::Milliseconds(300));
  const int fd = Connect(proxy_->port());
  ASSERT_GE(fd, 0);
  const absl::Time start = absl::Now();
  ASSERT_EQ(send(fd, "ping", 4, MSG_NOSIGNAL), 4);
  const ReadOutcome got = ReadFor(fd, 4, absl::Seconds(10));
  const absl::Duration elapsed = absl::Now() - start;
  EXPECT_EQ(got.data, "ping");
  // Delayed on the way there and on the way back.
  EXPECT_GE(elapsed, absl::Milliseconds(600));
  close(fd);
}

TEST_F(FaultProxyTest, StallHoldsBytesUntilPassAgain) {
  const int fd = Connect(proxy_->port());
  ASSERT_GE(fd, 0);
  ASSERT_EQ(send(fd, "a", 1, MSG_NOSIGNAL), 1);
  ASSERT_EQ(ReadFor(fd, 1, absl::Seconds(10)).data, "a");

  proxy_->SetMode(FaultProxy::Mode::kStall);
  ASSERT_EQ(send(fd, "bc", 2, MSG_NOSIGNAL), 2);
  const ReadOutcome stalled = ReadFor(fd, 2, absl::Milliseconds(500));
  EXPECT_EQ(stalled.data, "");
  EXPECT_FALSE(stalled.eof);
  EXPECT_EQ(stalled.error, 0);
  // New connections are accepted but get nothing either.
  const int second = Connect(proxy_->port());
  ASSERT_GE(second, 0);
  ASSERT_EQ(send(second, "d", 1, MSG_NOSIGNAL), 1);
  EXPECT_EQ(ReadFor(second, 1, absl::Milliseconds(300)).data, "");

  proxy_->SetMode(FaultProxy::Mode::kPass);
  EXPECT_EQ(ReadFor(fd, 2, absl::Seconds(10)).data, "bc");
  EXPECT_EQ(ReadFor(second, 1, absl::Seconds(10)).data, "d");
  close(fd);
  close(second);
}

TEST_F(FaultProxyTest, ResetSendsRstToOpenAndNewConnections) {
  const int fd = Connect(proxy_->port());
  ASSERT_GE(fd, 0);
  ASSERT_EQ(send(fd, "a", 1, MSG_NOSIGNAL), 1);
  ASSERT_EQ(ReadFor(fd, 1, absl::Seconds(10)).data, "a");

  proxy_->SetMode(FaultProxy::Mode::kReset);
  EXPECT_EQ(ReadFor(fd, 1, absl::Seconds(10)).error, ECONNRESET);
  EXPECT_EQ(proxy_->open_connections(), 0);
  // A new connection is accepted, then reset.
  const int second = Connect(proxy_->port());
  ASSERT_GE(second, 0);
  EXPECT_EQ(ReadFor(second, 1, absl::Seconds(10)).error, ECONNRESET);
  close(fd);
  close(second);

  proxy_->SetMode(FaultProxy::Mode::kPass);
  const int third = Connect(proxy_->port());
  ASSERT_GE(third, 0);
  ASSERT_EQ(send(third, "z", 1, MSG_NOSIGNAL), 1);
  EXPECT_EQ(ReadFor(third, 1, absl::Seconds(10)).data, "z");
  close(third);
}

TEST_F(FaultProxyTest, DropClosesConnectionsAndRefusesNewOnesUntilPass) {
  const int fd = Connect(proxy_->port());
  ASSERT_GE(fd, 0);
  ASSERT_EQ(send(fd, "a", 1, MSG_NOSIGNAL), 1);
  ASSERT_EQ(ReadFor(fd, 1, absl::Seconds(10)).data, "a");

  proxy_->SetMode(FaultProxy::Mode::kDrop);
  EXPECT_TRUE(ReadFor(fd, 1, absl::Seconds(10)).eof);
  close(fd);
  EXPECT_EQ(Connect(proxy_->port()), -1);
  EXPECT_EQ(errno, ECONNREFUSED);

  proxy_->SetMode(FaultProxy::Mode::kPass);
  const int again = Connect(proxy_->port());
  ASSERT_GE(again, 0);
  ASSERT_EQ(send(again, "b", 1, MSG_NOSIGNAL), 1);
  EXPECT_EQ(ReadFor(again, 1, absl::Seconds(10)).data, "b");
  close(again);
}

TEST_F(FaultProxyTest, BackendDownResetsTheClient) {
  // A proxy to a port nothing listens on.
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address));
  socklen_t length = sizeof(address);
  getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length);
  const int dead_port = ntohs(address.sin_port);  // bound, not listening
  auto proxy = FaultProxy::Start(dead_port);
  ASSERT_TRUE(proxy.ok()) << proxy.status();
  const int client = Connect((*proxy)->port());
  ASSERT_GE(client, 0);
  const ReadOutcome got = ReadFor(client, 1, absl::Seconds(10));
  EXPECT_TRUE(got.error == ECONNRESET || got.eof);
  close(client);
  close(fd);
}

TEST(WithPortTest, ReplacesOrAddsThePort) {
  EXPECT_EQ(WithPort("postgresql://u@127.0.0.1:5432/db", 7000),
            "postgresql://u@127.0.0.1:7000/db");
  EXPECT_EQ(WithPort("postgresql://u:pw@127.0.0.1/db?x=1", 7000),
            "postgresql://u:pw@127.0.0.1:7000/db?x=1");
  EXPECT_EQ(WithPort("postgresql://[::1]:5432", 7000),
            "postgresql://[::1]:7000");
}

TEST(ParseFaultModeTest, KnowsTheModes) {
  EXPECT_EQ(*ParseFaultMode("stall"), FaultProxy::Mode::kStall);
  EXPECT_EQ(*ParseFaultMode("drop"), FaultProxy::Mode::kDrop);
  EXPECT_FALSE(ParseFaultMode("slow").ok());
}

}  // namespace
}  // namespace tutoring::testing
