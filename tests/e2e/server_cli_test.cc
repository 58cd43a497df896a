// tutoring-server's start-up as an operator meets it: a listen address it
// cannot use ends the process with one line on stderr and a non-zero exit
// status, never a signal. No database is needed: the server fails before it
// asks one.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/support/server_process.h"
#include "tests/support/subprocess.h"
#include "tests/support/test_database.h"

namespace tutoring::testing {
namespace {

using ::testing::HasSubstr;

// Nothing listens there; the server never gets to use it in these tests.
constexpr char kUnusedDatabase[] = "postgresql://nobody@127.0.0.1:1/none";

ProcessResult RunServer(const std::string& listen) {
  return RunProcess({BinaryPath("TUTORING_SERVER_BIN"), "--listen=" + listen,
                     "--shutdown-grace=0s"},
                    {absl::StrCat("DATABASE_URL=", kUnusedDatabase)});
}

void ExpectOneLineExit(const ProcessResult& result, int code) {
  EXPECT_TRUE(result.exited) << "killed by a signal:\n" << result.err;
  EXPECT_EQ(result.exit_code, code) << result.err;
  EXPECT_EQ(std::count(result.err.begin(), result.err.end(), '\n'), 1)
      << result.err;
}

// A TCP socket listening on 127.0.0.1 on a port the system picked.
class TakenPort {
 public:
  TakenPort() {
    fd_ = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t length = sizeof(address);
    EXPECT_EQ(bind(fd_, reinterpret_cast<sockaddr*>(&address), length), 0);
    EXPECT_EQ(listen(fd_, 1), 0);
    EXPECT_EQ(getsockname(fd_, reinterpret_cast<sockaddr*>(&address), &length),
              0);
    port_ = ntohs(address.sin_port);
  }
  ~TakenPort() { close(fd_); }
  int port() const { return port_; }

 private:
  int fd_ = -1;
  int port_ = 0;
};

TEST(ServerCli, PortInUseIsOneLineAndExitOne) {
  TakenPort taken;
  const ProcessResult result =
      RunServer(absl::StrCat("127.0.0.1:", taken.port()));
  ExpectOneLineExit(result, 1);
  EXPECT_THAT(result.err, HasSubstr("cannot listen"));
}

TEST(ServerCli, SecondServerOnTheSamePortDoesNotStart) {
  std::unique_ptr<ServerProcess> first =
      ServerProcess::Start(kUnusedDatabase, {}, /*wait_until_serving=*/false);
  ASSERT_NE(first, nullptr);
  const ProcessResult second = RunServer(first->target());
  ExpectOneLineExit(second, 1);
  EXPECT_THAT(second.err, HasSubstr("cannot listen"));
}

TEST(ServerCli, MalformedListenAddressIsAUsageError) {
  for (const char* listen : {"nonsense", "127.0.0.1:99999", "127.0.0.1:-1",
                             "127.0.0.1:", ":50051", "127.0.0.1:http"}) {
    SCOPED_TRACE(listen);
    const ProcessResult result = RunServer(listen);
    ExpectOneLineExit(result, 64);
    EXPECT_THAT(result.err, HasSubstr("listen"));
  }
}

TEST(ServerCli, AddressThatIsNotLocalIsOneLineAndExitOne) {
  // TEST-NET-1 (RFC 5737): never an address of this machine.
  const ProcessResult result = RunServer("192.0.2.1:50051");
  ExpectOneLineExit(result, 1);
}

TEST(ServerCli, NonPositiveDurationsAreUsageErrors) {
  for (const char* flag :
       {"--health-interval=0s", "--health-timeout=-1s", "--default-deadline=0s",
        "--statement-timeout=0s", "--database-acquire-timeout=-5ms",
        "--shutdown-grace=-1s", "--database-pool-size=0",
        "--health-interval=soon"}) {
    SCOPED_TRACE(flag);
    const ProcessResult result =
        RunProcess({BinaryPath("TUTORING_SERVER_BIN"), flag},
                   {absl::StrCat("DATABASE_URL=", kUnusedDatabase)});
    ExpectOneLineExit(result, 64);
  }
}

}  // namespace
}  // namespace tutoring::testing
