// The test helper that starts every child process: output capture, exit
// status, a program that cannot be started, and no child left behind when
// the thread that started it is gone.

#include "tests/support/subprocess.h"

#include <signal.h>
#include <sys/wait.h>

#include <optional>
#include <thread>

#include "absl/time/time.h"
#include "gtest/gtest-spi.h"
#include "gtest/gtest.h"

namespace tutoring::testing {
namespace {

TEST(Subprocess, CapturesOutputAndExitCode) {
  Subprocess child({"/bin/sh", "-c", "echo out; echo err >&2; exit 3"});
  const ProcessResult result = child.Wait();
  EXPECT_TRUE(result.exited);
  EXPECT_EQ(result.exit_code, 3);
  EXPECT_EQ(result.out, "out\n");
  EXPECT_EQ(result.err, "err\n");
}

TEST(Subprocess, PassesAndRemovesEnvironmentVariables) {
  setenv("TUTORING_SUBPROCESS_TEST_GONE", "x", 1);
  const ProcessResult result =
      RunProcess({"/bin/sh", "-c",
                  "echo "
                  "\"${TUTORING_SUBPROCESS_TEST_SET}-${TUTORING_SUBPROCESS_"
                  "TEST_GONE:-unset}\""},
                 {"TUTORING_SUBPROCESS_TEST_SET=given"},
                 {"TUTORING_SUBPROCESS_TEST_GONE"});
  unsetenv("TUTORING_SUBPROCESS_TEST_GONE");
  EXPECT_EQ(result.out, "given-unset\n");
}

TEST(Subprocess, AProgramThatCannotStartIsATestFailure) {
  EXPECT_NONFATAL_FAILURE(
      {
        Subprocess child({"/nonexistent/tutoring-no-such-program"});
        EXPECT_FALSE(child.Wait().exited);
      },
      "No such file or directory");
}

TEST(Subprocess, ChildDiesWithTheThreadThatStartedIt) {
  std::optional<Subprocess> child;
  std::thread starter([&child] {
    child.emplace(std::vector<std::string>{"/bin/sleep", "60"});
  });
  starter.join();
  // The starting thread has ended: the kernel sends the child SIGKILL.
  const std::optional<ProcessResult> result = child->WaitFor(absl::Seconds(10));
  ASSERT_TRUE(result.has_value()) << "the child outlived its starter";
  EXPECT_FALSE(result->exited);
}

}  // namespace
}  // namespace tutoring::testing
