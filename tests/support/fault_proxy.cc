#include "tests/support/fault_proxy.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <deque>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"

namespace tutoring::testing {
namespace {

// Bytes held per direction before the proxy stops reading that side.
constexpr size_t kMaxBuffered = 1 << 20;

sockaddr_in Loopback(int port) {
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  address.sin_port = htons(static_cast<uint16_t>(port));
  return address;
}

// A listening socket on 127.0.0.1:port (0: any port), or -1.
int OpenListener(int port) {
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  const int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  sockaddr_in address = Loopback(port);
  if (bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) != 0 ||
      listen(fd, 128) != 0) {
    close(fd);
    return -1;
  }
  return fd;
}

// Closes `fd`; with `reset`, so that the peer gets a RST, not a FIN.
void CloseSocket(int fd, bool reset) {
  if (fd < 0) return;
  if (reset) {
    linger option{};
    option.l_onoff = 1;
    option.l_linger = 0;
    setsockopt(fd, SOL_SOCKET, SO_LINGER, &option, sizeof(option));
  }
  close(fd);
}

}  // namespace

// Bytes on their way in one direction.
struct FaultProxy::Pipe {
  struct Chunk {
    std::string data;
    size_t offset = 0;
    absl::Time release;
  };
  std::deque<Chunk> chunks;
  size_t buffered = 0;
  bool eof = false;       // the source sent FIN
  bool shut = false;      // FIN passed on to the destination
};

struct FaultProxy::Connection {
  int client = -1;
  int upstream = -1;
  bool connecting = true;  // upstream connect in progress
  Pipe to_upstream;
  Pipe to_client;
  bool closed = false;
};

std::string WithPort(absl::string_view url, int port) {
  const size_t scheme = url.find("://");
  const size_t host = scheme == absl::string_view::npos ? 0 : scheme + 3;
  size_t end = url.find_first_of("/?", host);
  if (end == absl::string_view::npos) end = url.size();
  const absl::string_view authority = url.substr(host, end - host);
  size_t colon = authority.rfind(':');
  // A colon before the '@' belongs to the user's password; one inside
  // brackets to an IPv6 address.
  if (colon != absl::string_view::npos &&
      (colon < authority.rfind('@') + 1 ||
       authority.find(']', colon) != absl::string_view::npos)) {
    colon = absl::string_view::npos;
  }
  const absl::string_view before =
      url.substr(0, host + (colon == absl::string_view::npos ? authority.size()
                                                              : colon));
  return absl::StrCat(before, ":", port, url.substr(end));
}

absl::StatusOr<FaultProxy::Mode> ParseFaultMode(absl::string_view text) {
  if (text == "pass") return FaultProxy::Mode::kPass;
  if (text == "delay") return FaultProxy::Mode::kDelay;
  if (text == "stall") return FaultProxy::Mode::kStall;
  if (text == "reset") return FaultProxy::Mode::kReset;
  if (text == "drop") return FaultProxy::Mode::kDrop;
  return absl::InvalidArgumentError(
      absl::StrCat("fault mode must be pass, delay, stall, reset or drop, "
                   "got \"",
                   text, "\""));
}

absl::StatusOr<std::unique_ptr<FaultProxy>> FaultProxy::Start(int target_port,
                                                              int listen_port) {
  const int fd = OpenListener(listen_port);
  if (fd < 0) {
    return absl::UnavailableError(absl::StrCat(
        "fault proxy: cannot listen on port ", listen_port, ": ",
        std::strerror(errno)));
  }
  sockaddr_in address{};
  socklen_t length = sizeof(address);
  getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length);
  const int wake = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (wake < 0) {
    close(fd);
    return absl::InternalError("fault proxy: eventfd failed");
  }
  return std::unique_ptr<FaultProxy>(
      new FaultProxy(fd, ntohs(address.sin_port), target_port, wake));
}

FaultProxy::FaultProxy(int listen_fd, int port, int target_port, int wake_fd)
    : port_(port),
      target_port_(target_port),
      wake_fd_(wake_fd),
      listen_fd_(listen_fd) {
  thread_ = std::thread([this] { Run(); });
}

FaultProxy::~FaultProxy() {
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
  }
  const uint64_t one = 1;
  (void)!write(wake_fd_, &one, sizeof(one));
  thread_.join();
  for (auto& connection : connections_) Close(*connection, /*reset=*/false);
  if (listen_fd_ >= 0) close(listen_fd_);
  close(wake_fd_);
}

void FaultProxy::SetMode(Mode mode, absl::Duration delay) {
  absl::MutexLock lock(&mu_);
  wanted_mode_ = mode;
  wanted_delay_ = delay;
  const uint64_t request = ++requested_;
  const uint64_t one = 1;
  (void)!write(wake_fd_, &one, sizeof(one));
  struct Args {
    FaultProxy* self;
    uint64_t request;
  } args{this, request};
  mu_.Await(absl::Condition(
      +[](Args* a) ABSL_NO_THREAD_SAFETY_ANALYSIS {
        return a->self->applied_ >= a->request || a->self->stopping_;
      },
      &args));
}

FaultProxy::Mode FaultProxy::mode() const {
  absl::MutexLock lock(&mu_);
  return wanted_mode_;
}

void FaultProxy::Close(Connection& connection, bool reset) {
  if (connection.closed) return;
  connection.closed = true;
  CloseSocket(connection.client, reset);
  CloseSocket(connection.upstream, reset);
  connection.client = connection.upstream = -1;
  open_connections_.fetch_sub(1);
}

bool FaultProxy::Listen() {
  if (listen_fd_ >= 0) return true;
  listen_fd_ = OpenListener(port_);
  return listen_fd_ >= 0;
}

void FaultProxy::Apply(Mode mode, absl::Duration delay) {
  mode_ = mode;
  delay_ = delay;
  switch (mode) {
    case Mode::kReset:
      for (auto& connection : connections_) Close(*connection, /*reset=*/true);
      break;
    case Mode::kDrop:
      for (auto& connection : connections_) {
        Close(*connection, /*reset=*/false);
      }
      if (listen_fd_ >= 0) {
        close(listen_fd_);
        listen_fd_ = -1;
      }
      break;
    default:
      Listen();
      break;
  }
}

void FaultProxy::Accept(absl::Time now) {
  (void)now;
  while (listen_fd_ >= 0) {
    const int fd = accept4(listen_fd_, nullptr, nullptr,
                           SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) return;
    accepted_.fetch_add(1);
    if (mode_ == Mode::kReset) {
      CloseSocket(fd, /*reset=*/true);
      continue;
    }
    const int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    auto connection = std::make_unique<Connection>();
    connection->client = fd;
    connection->upstream =
        socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    open_connections_.fetch_add(1);
    if (connection->upstream < 0) {
      Close(*connection, /*reset=*/true);
      continue;
    }
    setsockopt(connection->upstream, IPPROTO_TCP, TCP_NODELAY, &one,
               sizeof(one));
    sockaddr_in target = Loopback(target_port_);
    if (connect(connection->upstream, reinterpret_cast<sockaddr*>(&target),
                sizeof(target)) == 0) {
      connection->connecting = false;
    } else if (errno != EINPROGRESS) {
      Close(*connection, /*reset=*/true);
      continue;
    }
    connections_.push_back(std::move(connection));
  }
}

void FaultProxy::Run() {
  while (true) {
    // Mode changes first.
    {
      absl::MutexLock lock(&mu_);
      if (stopping_) return;
      if (applied_ != requested_) {
        Apply(wanted_mode_, wanted_delay_);
        applied_ = requested_;
      }
    }
    connections_.erase(
        std::remove_if(connections_.begin(), connections_.end(),
                       [](const auto& c) { return c->closed; }),
        connections_.end());

    absl::Time now = absl::Now();
    const bool forwarding = mode_ == Mode::kPass || mode_ == Mode::kDelay;
    auto releasable = [&](const Pipe& pipe) {
      if (!forwarding || pipe.chunks.empty()) return false;
      return mode_ == Mode::kPass || pipe.chunks.front().release <= now;
    };
    absl::Time wake = absl::InfiniteFuture();
    std::vector<pollfd> fds;
    fds.push_back({wake_fd_, POLLIN, 0});
    const bool listening = listen_fd_ >= 0;
    if (listening) fds.push_back({listen_fd_, POLLIN, 0});
    if (!listening && mode_ != Mode::kDrop) {
      wake = now + absl::Milliseconds(50);  // try to listen again soon
    }
    for (const auto& c : connections_) {
      short client_events = 0;
      short upstream_events = 0;
      if (c->connecting) {
        upstream_events |= POLLOUT;
      } else {
        if (!c->to_client.eof && c->to_client.buffered < kMaxBuffered) {
          upstream_events |= POLLIN;
        }
        if (releasable(c->to_upstream)) upstream_events |= POLLOUT;
      }
      if (!c->to_upstream.eof && c->to_upstream.buffered < kMaxBuffered) {
        client_events |= POLLIN;
      }
      if (releasable(c->to_client)) client_events |= POLLOUT;
      if (mode_ == Mode::kDelay) {
        for (const Pipe* pipe : {&c->to_client, &c->to_upstream}) {
          if (!pipe->chunks.empty() && pipe->chunks.front().release > now) {
            wake = std::min(wake, pipe->chunks.front().release);
          }
        }
      }
      fds.push_back({c->client, client_events, 0});
      fds.push_back({c->upstream, upstream_events, 0});
    }
    int timeout_ms = -1;
    if (wake != absl::InfiniteFuture()) {
      timeout_ms = static_cast<int>(std::max<int64_t>(
          0, absl::ToInt64Milliseconds(absl::Ceil(wake - now,
                                                  absl::Milliseconds(1)))));
    }
    const int n = poll(fds.data(), fds.size(), timeout_ms);
    if (n < 0 && errno != EINTR) return;
    now = absl::Now();
    if (fds[0].revents & POLLIN) {
      uint64_t ignored;
      (void)!read(wake_fd_, &ignored, sizeof(ignored));
    }
    {
      absl::MutexLock lock(&mu_);
      if (applied_ != requested_) continue;  // apply it before moving bytes
    }
    if (!listening && mode_ != Mode::kDrop) Listen();
    if (listening && (fds[1].revents & POLLIN)) Accept(now);

    // Moves bytes of every connection (cheap for idle ones). Connections
    // accepted just now have no poll entry yet.
    const size_t base = listening ? 2 : 1;
    for (size_t i = 0; i < connections_.size(); ++i) {
      Connection& c = *connections_[i];
      if (c.closed) continue;
      const size_t at = base + 2 * i;
      const short client_revents = at < fds.size() ? fds[at].revents : 0;
      const short upstream_revents =
          at + 1 < fds.size() ? fds[at + 1].revents : 0;
      if (c.connecting) {
        int error = 0;
        socklen_t length = sizeof(error);
        pollfd probe{c.upstream, POLLOUT, 0};
        if (poll(&probe, 1, 0) <= 0) continue;
        getsockopt(c.upstream, SOL_SOCKET, SO_ERROR, &error, &length);
        if (error != 0) {
          Close(c, /*reset=*/true);
          continue;
        }
        c.connecting = false;
      }
      bool failed = false;
      // Reads.
      for (auto [from, pipe] : {std::pair{c.client, &c.to_upstream},
                                std::pair{c.upstream, &c.to_client}}) {
        while (!failed && !pipe->eof && pipe->buffered < kMaxBuffered) {
          char buffer[16384];
          const ssize_t got = recv(from, buffer, sizeof(buffer), 0);
          if (got > 0) {
            pipe->chunks.push_back(
                {std::string(buffer, got), 0,
                 now + (mode_ == Mode::kDelay ? delay_ : absl::ZeroDuration())});
            pipe->buffered += got;
          } else if (got == 0) {
            pipe->eof = true;
          } else if (errno == EAGAIN || errno == EWOULDBLOCK) {
            break;
          } else if (errno != EINTR) {
            failed = true;
          }
        }
      }
      if (failed) {
        Close(c, /*reset=*/true);
        continue;
      }
      // Writes.
      for (auto [to, pipe] : {std::pair{c.upstream, &c.to_upstream},
                              std::pair{c.client, &c.to_client}}) {
        while (!failed && releasable(*pipe)) {
          Pipe::Chunk& chunk = pipe->chunks.front();
          const ssize_t sent =
              send(to, chunk.data.data() + chunk.offset,
                   chunk.data.size() - chunk.offset, MSG_NOSIGNAL);
          if (sent < 0) {
            if (errno == EAGAIN || errno == EWOULDBLOCK) break;
            if (errno != EINTR) failed = true;
            continue;
          }
          chunk.offset += sent;
          pipe->buffered -= sent;
          if (chunk.offset == chunk.data.size()) pipe->chunks.pop_front();
        }
        if (!failed && forwarding && pipe->eof && pipe->chunks.empty() &&
            !pipe->shut) {
          shutdown(to, SHUT_WR);
          pipe->shut = true;
        }
      }
      if (failed) {
        Close(c, /*reset=*/true);
        continue;
      }
      if (c.to_upstream.shut && c.to_client.shut) Close(c, /*reset=*/false);
      // A socket in error, or one closed both ways whose end was read,
      // would report itself forever: the connection is over.
      if (!c.closed &&
          (((client_revents | upstream_revents) & POLLERR) != 0 ||
           ((client_revents & POLLHUP) != 0 && c.to_upstream.eof) ||
           ((upstream_revents & POLLHUP) != 0 && !c.connecting &&
            c.to_client.eof))) {
        Close(c, /*reset=*/true);
      }
    }
  }
}

}  // namespace tutoring::testing
