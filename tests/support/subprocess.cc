#include "tests/support/subprocess.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "gtest/gtest.h"

extern char** environ;

namespace tutoring::testing {
namespace {

// How often a waiting test looks at the child again (it reaps and reads
// files; nothing here can be waited on directly).
constexpr absl::Duration kPoll = absl::Milliseconds(5);

std::string ReadFile(const std::string& path) {
  std::ostringstream contents;
  std::ifstream in(path);
  contents << in.rdbuf();
  return contents.str();
}

std::string ReadAndRemove(const std::string& path) {
  std::string contents = ReadFile(path);
  std::remove(path.c_str());
  return contents;
}

bool IsUnset(const char* entry, const std::vector<std::string>& unset) {
  for (const std::string& name : unset) {
    if (absl::StartsWith(entry, name + "=")) return true;
  }
  return false;
}

}  // namespace

Subprocess::Subprocess(const std::vector<std::string>& argv,
                       const std::vector<std::string>& env,
                       const std::vector<std::string>& unset) {
  static int counter = 0;
  const std::string base = absl::StrCat(::testing::TempDir(), "/subprocess_",
                                        getpid(), "_", counter++);
  out_path_ = base + ".out";
  err_path_ = base + ".err";

  std::vector<std::string> argv_strings = argv;
  std::vector<std::string> env_strings;
  for (char** e = environ; *e != nullptr; ++e) {
    if (!IsUnset(*e, unset)) env_strings.emplace_back(*e);
  }
  env_strings.insert(env_strings.end(), env.begin(), env.end());
  std::vector<char*> argv_pointers;
  for (std::string& s : argv_strings) argv_pointers.push_back(s.data());
  argv_pointers.push_back(nullptr);
  std::vector<char*> env_pointers;
  for (std::string& s : env_strings) env_pointers.push_back(s.data());
  env_pointers.push_back(nullptr);

  // fork + execve rather than posix_spawn, for PR_SET_PDEATHSIG. Between
  // fork and execve the child (a copy of a multi-threaded process) makes only
  // system calls. A close-on-exec pipe reports a failed execve.
  int report[2];
  if (pipe2(report, O_CLOEXEC) != 0) {
    ADD_FAILURE() << "pipe2: " << std::strerror(errno);
    pid_ = -1;
    return;
  }
  const pid_t parent = getpid();
  const char* const out_path = out_path_.c_str();
  const char* const err_path = err_path_.c_str();
  pid_ = fork();
  if (pid_ == 0) {
    close(report[0]);
    int error = 0;
    if (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0 || getppid() != parent) {
      _exit(127);  // the test is already gone
    }
    const int out = open(out_path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    const int err = open(err_path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (out >= 0 && err >= 0 && dup2(out, STDOUT_FILENO) >= 0 &&
        dup2(err, STDERR_FILENO) >= 0) {
      close(out);
      close(err);
      execve(argv_pointers[0], argv_pointers.data(), env_pointers.data());
    }
    error = errno;
    ssize_t ignored = write(report[1], &error, sizeof(error));
    (void)ignored;
    _exit(127);
  }
  close(report[1]);
  if (pid_ < 0) {
    ADD_FAILURE() << "fork: " << std::strerror(errno);
    close(report[0]);
    pid_ = -1;
    return;
  }
  int child_error = 0;
  ssize_t got;
  do {
    got = read(report[0], &child_error, sizeof(child_error));
  } while (got < 0 && errno == EINTR);
  close(report[0]);
  if (got == static_cast<ssize_t>(sizeof(child_error))) {
    int status = 0;
    waitpid(pid_, &status, 0);
    ADD_FAILURE() << "exec " << argv_pointers[0] << ": "
                  << std::strerror(child_error);
    pid_ = -1;
  }
}

Subprocess::~Subprocess() {
  if (pid_ > 0) Wait();
}

ProcessResult Subprocess::Finish(int wait_status) {
  ProcessResult result;
  pid_ = -1;
  result.exited = WIFEXITED(wait_status);
  result.exit_code = result.exited ? WEXITSTATUS(wait_status) : -1;
  result.out = ReadAndRemove(out_path_);
  result.err = ReadAndRemove(err_path_);
  return result;
}

ProcessResult Subprocess::Wait() {
  if (pid_ <= 0) return ProcessResult();
  if (reaped_status_.has_value()) return Finish(*reaped_status_);
  int status = 0;
  const pid_t waited = waitpid(pid_, &status, 0);
  if (waited <= 0) {
    ADD_FAILURE() << "waitpid failed: " << std::strerror(errno);
    pid_ = -1;
    return ProcessResult();
  }
  return Finish(status);
}

std::optional<ProcessResult> Subprocess::WaitFor(absl::Duration timeout) {
  if (pid_ <= 0) return ProcessResult();
  if (reaped_status_.has_value()) return Finish(*reaped_status_);
  const absl::Time give_up = absl::Now() + timeout;
  for (;;) {
    int status = 0;
    const pid_t waited = waitpid(pid_, &status, WNOHANG);
    if (waited == pid_) return Finish(status);
    if (waited < 0) {
      ADD_FAILURE() << "waitpid failed: " << std::strerror(errno);
      pid_ = -1;
      return ProcessResult();
    }
    if (absl::Now() >= give_up) return std::nullopt;
    absl::SleepFor(kPoll);
  }
}

void Subprocess::Signal(int signal) {
  if (pid_ > 0 && !reaped_status_.has_value()) kill(pid_, signal);
}

std::string Subprocess::Err() const { return ReadFile(err_path_); }

std::string Subprocess::Out() const { return ReadFile(out_path_); }

bool Subprocess::WaitForErr(absl::string_view text, absl::Duration timeout) {
  const absl::Time give_up = absl::Now() + timeout;
  for (;;) {
    if (absl::StrContains(Err(), text)) return true;
    if (pid_ <= 0 || absl::Now() >= give_up) return false;
    int status = 0;
    if (!reaped_status_.has_value() &&
        waitpid(pid_, &status, WNOHANG) == pid_) {
      // Exited; Wait() reports it later.
      reaped_status_ = status;
    }
    if (reaped_status_.has_value()) return absl::StrContains(Err(), text);
    absl::SleepFor(kPoll);
  }
}

ProcessResult RunProcess(const std::vector<std::string>& argv,
                         const std::vector<std::string>& env,
                         const std::vector<std::string>& unset) {
  return Subprocess(argv, env, unset).Wait();
}

}  // namespace tutoring::testing
