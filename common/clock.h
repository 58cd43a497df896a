// Time as a dependency: everything that asks "what time is it", or waits for
// a time to come, takes a Clock&, so tests can drive time instead of
// sleeping. RealClock is the only caller of absl::Now() in the project.
#ifndef TUTORING_COMMON_CLOCK_H_
#define TUTORING_COMMON_CLOCK_H_

#include <algorithm>

#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"

namespace tutoring {

// Thread-safe: implementations must allow concurrent calls.
class Clock {
 public:
  virtual ~Clock() = default;

  virtual absl::Time Now() const = 0;

  // The longest a thread may block in real time before looking at Now()
  // again when it waits for a time of this clock. Real time moves by itself,
  // so a waiter can sleep until its deadline (infinite); a test's clock moves
  // only when the test advances it, and its waiters look again after this
  // much real time.
  virtual absl::Duration MaxRealWait() const {
    return absl::InfiniteDuration();
  }
};

// The system's wall clock.
class RealClock final : public Clock {
 public:
  absl::Time Now() const override { return absl::Now(); }
};

// How long to block in real time when waiting for `deadline` of `clock`
// (never negative).
inline absl::Duration RealWaitUntil(const Clock& clock, absl::Time deadline) {
  const absl::Duration left = deadline - clock.Now();
  if (left <= absl::ZeroDuration()) return absl::ZeroDuration();
  return std::min(left, clock.MaxRealWait());
}

// Waits on `cv`, with `mu` held, until it is signalled or `deadline` of
// `clock` has passed. Returns true once the deadline has passed. May return
// early (spurious wake-ups, a test's clock): callers wait in a loop that
// re-checks their condition.
inline bool WaitUntil(const Clock& clock, absl::CondVar& cv, absl::Mutex& mu,
                      absl::Time deadline) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu) {
  if (deadline == absl::InfiniteFuture() &&
      clock.MaxRealWait() == absl::InfiniteDuration()) {
    cv.Wait(&mu);
    return false;
  }
  const absl::Duration wait = RealWaitUntil(clock, deadline);
  if (wait > absl::ZeroDuration()) cv.WaitWithTimeout(&mu, wait);
  return clock.Now() >= deadline;
}

// Blocks the calling thread until `deadline` of `clock` has passed.
inline void SleepUntil(const Clock& clock, absl::Time deadline) {
  for (absl::Duration wait = RealWaitUntil(clock, deadline);
       wait > absl::ZeroDuration(); wait = RealWaitUntil(clock, deadline)) {
    absl::SleepFor(wait);
  }
}

}  // namespace tutoring

#endif  // TUTORING_COMMON_CLOCK_H_
