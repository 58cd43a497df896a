// A Clock that moves only when the test says so, so tests of code that
// waits for a time (deadlines, timeouts, intervals) advance it instead of
// sleeping. Waiters on it look at the time again every MaxRealWait() of real
// time (see common/clock.h), so an Advance is noticed within a millisecond.
#ifndef TUTORING_TESTS_SUPPORT_FAKE_CLOCK_H_
#define TUTORING_TESTS_SUPPORT_FAKE_CLOCK_H_

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "common/clock.h"

namespace tutoring::testing {

// Thread-safe.
class FakeClock final : public Clock {
 public:
  // Starts at an arbitrary fixed instant.
  FakeClock() : FakeClock(absl::FromUnixSeconds(1'800'000'000)) {}
  explicit FakeClock(absl::Time start) : now_(start) {}

  absl::Time Now() const override ABSL_LOCKS_EXCLUDED(mu_) {
    absl::MutexLock lock(&mu_);
    return now_;
  }

  absl::Duration MaxRealWait() const override { return absl::Milliseconds(1); }

  // Moves the time forward by `step` (>= 0).
  void Advance(absl::Duration step) ABSL_LOCKS_EXCLUDED(mu_) {
    absl::MutexLock lock(&mu_);
    now_ += step;
  }

 private:
  mutable absl::Mutex mu_;
  absl::Time now_ ABSL_GUARDED_BY(mu_);
};

}  // namespace tutoring::testing

#endif  // TUTORING_TESTS_SUPPORT_FAKE_CLOCK_H_
