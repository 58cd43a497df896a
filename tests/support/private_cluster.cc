#include "tests/support/private_cluster.h"

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/strip.h"
#include "gtest/gtest.h"
#include "tests/support/subprocess.h"
#include "tests/support/test_database.h"

namespace tutoring::testing {

int FreePort() {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  address.sin_port = 0;
  socklen_t length = sizeof(address);
  EXPECT_EQ(bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)),
            0);
  EXPECT_EQ(getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length), 0);
  close(fd);
  return ntohs(address.sin_port);
}

PrivateCluster::PrivateCluster(absl::string_view prefix)
    : instance_(absl::StrCat(prefix, "-", getpid())), port_(FreePort()) {}

PrivateCluster::~PrivateCluster() { Run({"remove"}); }

std::optional<std::string> PrivateCluster::Run(
    std::vector<std::string> command) {
  std::vector<std::string> argv = {
      BinaryPath("TUTORING_SOURCE_DIR") + "/scripts/pg", "--instance",
      instance_, "--port", absl::StrCat(port_)};
  argv.insert(argv.end(), command.begin(), command.end());
  const ProcessResult result = RunProcess(argv);
  if (!result.exited || result.exit_code != 0) {
    ADD_FAILURE() << "scripts/pg " << absl::StrJoin(command, " ")
                  << " failed:\n"
                  << result.out << result.err;
    return std::nullopt;
  }
  return result.out;
}

std::optional<std::string> PrivateCluster::Dsn(
    std::vector<std::string> command) {
  std::optional<std::string> out = Run(std::move(command));
  if (!out.has_value()) return std::nullopt;
  // The DSN is the last line scripts/pg prints.
  std::string dsn(absl::StripTrailingAsciiWhitespace(*out));
  return dsn.substr(dsn.rfind('\n') + 1);
}

std::optional<std::string> PrivateCluster::Start() { return Dsn({"start"}); }

std::optional<std::string> PrivateCluster::StartPrimary() {
  return Dsn({"primary"});
}

std::optional<std::string> PrivateCluster::StartReplicaOf(
    const PrivateCluster& primary) {
  return Dsn({"replica", "--from-port", absl::StrCat(primary.port())});
}

std::optional<std::string> PrivateCluster::StartPgBouncerTo(int port) {
  return Dsn({"pgbouncer", "--to-port", absl::StrCat(port), "--pool-mode",
              "transaction"});
}

bool PrivateCluster::Stop() { return Run({"stop"}).has_value(); }

}  // namespace tutoring::testing
