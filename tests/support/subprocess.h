// Runs a program of this project (a built binary) as a child process for
// tests of its command-line behaviour: exit status, stdout, stderr.
#ifndef TUTORING_TESTS_SUPPORT_SUBPROCESS_H_
#define TUTORING_TESTS_SUPPORT_SUBPROCESS_H_

#include <sys/types.h>

#include <string>
#include <vector>

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

 private:
  pid_t pid_ = -1;
  std::string out_path_;
  std::string err_path_;
};

// Starts `argv` as above and waits for it.
ProcessResult RunProcess(const std::vector<std::string>& argv,
                         const std::vector<std::string>& env = {},
                         const std::vector<std::string>& unset = {});

}  // namespace tutoring::testing

#endif  // TUTORING_TESTS_SUPPORT_SUBPROCESS_H_
