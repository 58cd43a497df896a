// The one way tests start a program of this project (a built binary) as a
// child process: for its command-line behaviour (exit status, stdout,
// stderr), or as a long-running server that the test signals and watches.
#ifndef TUTORING_TESTS_SUPPORT_SUBPROCESS_H_
#define TUTORING_TESTS_SUPPORT_SUBPROCESS_H_

#include <sys/types.h>

#include <optional>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace tutoring::testing {

struct ProcessResult {
  bool exited = false;  // false: killed by a signal (e.g. abort), or not run
  int exit_code = -1;   // -1 unless exited
  std::string out;
  std::string err;
};

// A started child process whose stdout and stderr go to scratch files under
// ::testing::TempDir(), read back (and removed) by Wait(). Failing to start
// records a test failure; Wait() then returns a default ProcessResult.
// Not thread-safe; the destructor waits for a child not yet waited for.
// The child gets SIGKILL when the thread that started it ends
// (PR_SET_PDEATHSIG), so a test binary that crashes or is killed by ctest's
// timeout leaves no server behind: start children from a thread that
// outlives them, such as the test's main thread.
class Subprocess {
 public:
  // argv[0] is the program's path. The child's environment is this
  // process's without the variables named in `unset`, plus `env` entries
  // ("NAME=value").
  explicit Subprocess(const std::vector<std::string>& argv,
                      const std::vector<std::string>& env = {},
                      const std::vector<std::string>& unset = {});
  ~Subprocess();
  Subprocess(const Subprocess&) = delete;
  Subprocess& operator=(const Subprocess&) = delete;

  // Waits for the child to exit and returns what it did.
  ProcessResult Wait();

  // Waits up to `timeout` for the child to exit: what it did, or nullopt if
  // it still runs.
  std::optional<ProcessResult> WaitFor(absl::Duration timeout);

  // Sends `signal` to the child (if it was started and not waited for).
  void Signal(int signal);

  // What the child has written to stderr (stdout) so far.
  std::string Err() const;
  std::string Out() const;

  // Waits up to `timeout` until the child's stderr contains `text`; false if
  // it does not by then or the child exits without writing it.
  bool WaitForErr(absl::string_view text, absl::Duration timeout);

  pid_t pid() const { return pid_; }

 private:
  // Collects the exit of an already reaped child.
  ProcessResult Finish(int wait_status);

  pid_t pid_ = -1;
  // Set when a look at the child found it exited before Wait() was called.
  std::optional<int> reaped_status_;
  std::string out_path_;
  std::string err_path_;
};

// Starts `argv` as above and waits for it.
ProcessResult RunProcess(const std::vector<std::string>& argv,
                         const std::vector<std::string>& env = {},
                         const std::vector<std::string>& unset = {});

}  // namespace tutoring::testing

#endif  // TUTORING_TESTS_SUPPORT_SUBPROCESS_H_
