#include "tests/support/private_cluster.h"

#include <dirent.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <fstream>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "absl/time/time.h"
#include "gtest/gtest.h"
#include "tests/support/eventually.h"
#include "tests/support/subprocess.h"
#include "tests/support/test_database.h"

namespace tutoring::testing {
namespace {

// The fields of /proc/<pid>/stat after the command name (which may hold
// spaces and parentheses, so it ends at the last ')'): state, ppid, ...;
// empty when the process is gone.
std::vector<std::string> StatFields(int pid) {
  std::ifstream file(absl::StrCat("/proc/", pid, "/stat"));
  std::string line;
  if (!std::getline(file, line)) return {};
  const size_t name_end = line.rfind(')');
  if (name_end == std::string::npos) return {};
  return absl::StrSplit(line.substr(name_end + 1), ' ', absl::SkipWhitespace());
}

// The process's state letter (R, S, T, Z, ...), or '\0' when it is gone.
char StateOf(int pid) {
  const std::vector<std::string> fields = StatFields(pid);
  return fields.empty() || fields[0].empty() ? '\0' : fields[0][0];
}

// Every process whose parent is `parent`, from a scan of /proc (the
// kernel's per-thread children list is reliable only for stopped children).
std::vector<int> ChildrenOf(int parent) {
  std::vector<int> children;
  DIR* proc = opendir("/proc");
  if (proc == nullptr) return children;
  while (const dirent* entry = readdir(proc)) {
    int pid = 0;
    if (!absl::SimpleAtoi(entry->d_name, &pid)) continue;
    const std::vector<std::string> fields = StatFields(pid);
    int ppid = 0;
    if (fields.size() > 1 && absl::SimpleAtoi(fields[1], &ppid) &&
        ppid == parent) {
      children.push_back(pid);
    }
  }
  closedir(proc);
  return children;
}

}  // namespace

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
  // SIGSTOP is delivered asynchronously: the postmaster could still fork a
  // backend (which would then escape the signal, and after a kill hold the
  // shared memory that keeps the restarted cluster from starting) until it
  // is seen stopped.
  if (signal != SIGCONT) {
    kill(postmaster, SIGSTOP);
    EXPECT_TRUE(Eventually(
        [postmaster] {
          const char state = StateOf(postmaster);
          return state == 'T' || state == '\0';
        },
        absl::Seconds(5)))
        << "the postmaster did not stop";
  }
  std::vector<int> all = ChildrenOf(postmaster);
  all.push_back(postmaster);
  for (int pid : all) kill(pid, signal);
  if (signal == SIGKILL) {
    // Returns once every process has exited (a zombie holds no memory).
    EXPECT_TRUE(Eventually(
        [&all] {
          for (int pid : all) {
            const char state = StateOf(pid);
            if (state != 'Z' && state != '\0') return false;
          }
          return true;
        },
        absl::Seconds(10)))
        << "the cluster's processes outlived SIGKILL";
  }
  return true;
}

bool PrivateCluster::Kill() { return SignalAll(SIGKILL); }
bool PrivateCluster::Pause() { return SignalAll(SIGSTOP); }
bool PrivateCluster::Resume() { return SignalAll(SIGCONT); }

}  // namespace tutoring::testing
