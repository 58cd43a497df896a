// Bounded waiting for something another thread or process makes true: a
// pool counter, a server's health, a row in pg_stat_activity. Tests use it
// to wait for an event they cannot be told about, never to order events by
// sleeping.
#ifndef TUTORING_TESTS_SUPPORT_EVENTUALLY_H_
#define TUTORING_TESTS_SUPPORT_EVENTUALLY_H_

#include <functional>

#include "absl/time/clock.h"
#include "absl/time/time.h"

namespace tutoring::testing {

// Asks `condition` every `poll` until it holds (true) or `timeout` of real
// time has passed (false; the condition is asked once more at the end).
inline bool Eventually(const std::function<bool()>& condition,
                       absl::Duration timeout,
                       absl::Duration poll = absl::Milliseconds(1)) {
  const absl::Time give_up = absl::Now() + timeout;
  while (!condition()) {
    if (absl::Now() >= give_up) return condition();
    absl::SleepFor(poll);
  }
  return true;
}

}  // namespace tutoring::testing

#endif  // TUTORING_TESTS_SUPPORT_EVENTUALLY_H_
