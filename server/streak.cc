#include "server/streak.h"

#include <algorithm>

namespace tutoring::server {

StreakSummary SummarizeStreak(absl::Span<const absl::CivilDay> days,
                              absl::CivilDay as_of_day) {
  StreakSummary summary;
  int32_t run = 0;
  absl::CivilDay previous;
  for (const absl::CivilDay day : days) {
    if (day > as_of_day) break;
    run = (run > 0 && day - previous == 1) ? run + 1 : 1;
    summary.longest_days = std::max(summary.longest_days, run);
    previous = day;
    summary.last_active_day = day;
  }
  if (summary.last_active_day.has_value()) {
    const absl::CivilDay last = *summary.last_active_day;
    summary.active_on_as_of_date = last == as_of_day;
    // `run` is the run ending at the last activity day; it is still alive
    // if that day is today or yesterday.
    if (as_of_day - last <= 1) summary.current_days = run;
  }
  return summary;
}

}  // namespace tutoring::server
