// absl::Mutex's conditional waits, raced against the thread that ends them.
//
// In the TSan build (TUTORING_SANITIZE=thread) every executable carries
// common/tsan/absl_mutex_annotations.cc, which tells TSan about the
// synchronization Debian's uninstrumented Abseil provides; a gap in it shows
// up here as a TSan report, which fails the test. In the other builds these
// are plain checks that each wait saw what the other thread wrote.
//
// The case that once raced: a waiter arrives while another thread holds the
// Mutex, so it queues its condition unevaluated, and the holder's unlock
// evaluates it, reading the waiter's stack through the library's wait queue.
#include <atomic>
#include <thread>

#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gtest/gtest.h"

namespace tutoring {
namespace {

constexpr int kRounds = 500;

// The conditional lock calls; each is interposed by the shim on its own.
enum class LockCall { kLockWhen, kWithTimeout, kWithDeadline };

// Locks `mu` with `call` once `cond` holds, reads `value`, unlocks and
// returns what it read.
int LockReadUnlock(LockCall call, absl::Mutex& mu, const absl::Condition& cond,
                   const int& value) {
  switch (call) {
    case LockCall::kLockWhen:
      mu.LockWhen(cond);
      break;
    case LockCall::kWithTimeout:
      EXPECT_TRUE(mu.LockWhenWithTimeout(cond, absl::Seconds(30)));
      break;
    case LockCall::kWithDeadline:
      EXPECT_TRUE(
          mu.LockWhenWithDeadline(cond, absl::Now() + absl::Seconds(30)));
      break;
  }
  const int seen = value;
  mu.Unlock();
  return seen;
}

class QueuedBehindTheHolderTest : public testing::TestWithParam<LockCall> {};

// Each round: `holder` takes the Mutex, lets the waiter queue behind it, sets
// the value and unlocks; the waiter's call is made while the Mutex is held.
// The flag that says "held" is relaxed on purpose: it orders nothing for
// TSan, so every ordering the check relies on comes from the Mutex.
TEST_P(QueuedBehindTheHolderTest, WaiterSeesWhatTheHolderWrote) {
  for (int round = 0; round < kRounds; ++round) {
    absl::Mutex mu;
    int value = 0;  // guarded by mu
    std::atomic<bool> held{false};
    std::thread holder([&] {
      absl::MutexLock lock(&mu);
      held.store(true, std::memory_order_relaxed);
      absl::SleepFor(absl::Microseconds(200));
      value = round + 1;
    });
    while (!held.load(std::memory_order_relaxed)) std::this_thread::yield();
    const auto ready = [&value] { return value != 0; };
    EXPECT_EQ(LockReadUnlock(GetParam(), mu, absl::Condition(&ready), value),
              round + 1)
        << "round " << round;
    holder.join();
  }
}

INSTANTIATE_TEST_SUITE_P(AllLockCalls, QueuedBehindTheHolderTest,
                         testing::Values(LockCall::kLockWhen,
                                         LockCall::kWithTimeout,
                                         LockCall::kWithDeadline));

// Notification's waits go through the same calls; what Notify's thread wrote
// before it is visible after any wait that saw it.
TEST(SyncAnnotationsTest, NotificationWithTimeoutSeesWhatNotifyPublished) {
  for (int round = 0; round < kRounds; ++round) {
    absl::Notification done;
    int payload = 0;  // written before Notify, read after the wait
    std::thread notifier([&] {
      payload = round + 1;
      done.Notify();
    });
    // Timeouts of 0 to 6 us: most waits give up and queue again.
    int waits = 0;
    while (!done.WaitForNotificationWithTimeout(
        absl::Microseconds((round + waits) % 7))) {
      ++waits;
    }
    EXPECT_EQ(payload, round + 1) << "round " << round;
    notifier.join();
  }
}

}  // namespace
}  // namespace tutoring
