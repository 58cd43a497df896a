#include "tests/support/private_cluster.h"

#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <fstream>
#include <sstream>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
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

int PrivateCluster::PostmasterPid() const {
  std::ifstream file(BinaryPath("TUTORING_SOURCE_DIR") + "/.pgdata/" +
                     instance_ + "/postmaster.pid");
  std::string line;
  int pid = 0;
  if (!std::getline(file, line) || !absl::SimpleAtoi(line, &pid)) return 0;
  return pid;
}

bool PrivateCluster::SignalAll(int signal) {
  const int postmaster = PostmasterPid();
  if (postmaster <= 0 || kill(postmaster, 0) != 0) {
    ADD_FAILURE() << "cluster " << instance_ << " is not running";
    return false;
  }
  if (signal != SIGCONT) kill(postmaster, SIGSTOP);
  std::ifstream children_file(absl::StrCat("/proc/", postmaster, "/task/",
                                           postmaster, "/children"));
  std::stringstream children;
  children << children_file.rdbuf();
  for (absl::string_view word :
       absl::StrSplit(children.str(), ' ', absl::SkipWhitespace())) {
    int child = 0;
    if (absl::SimpleAtoi(word, &child) && child > 0) kill(child, signal);
  }
  kill(postmaster, signal);
  return true;
}

bool PrivateCluster::Kill() { return SignalAll(SIGKILL); }
bool PrivateCluster::Pause() { return SignalAll(SIGSTOP); }
bool PrivateCluster::Resume() { return SignalAll(SIGCONT); }

}  // namespace tutoring::testing
