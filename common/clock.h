// Time as a dependency: everything that asks "what time is it" takes a
// Clock&, so tests can pin the answer. RealClock is the only caller of
// absl::Now() in the project.
#ifndef TUTORING_COMMON_CLOCK_H_
#define TUTORING_COMMON_CLOCK_H_

#include "absl/time/clock.h"
#include "absl/time/time.h"

namespace tutoring {

// Thread-safe: implementations must allow concurrent Now() calls.
class Clock {
 public:
  virtual ~Clock() = default;
  virtual absl::Time Now() const = 0;
};

// The system's wall clock.
class RealClock final : public Clock {
 public:
  absl::Time Now() const override { return absl::Now(); }
};

}  // namespace tutoring

#endif  // TUTORING_COMMON_CLOCK_H_
