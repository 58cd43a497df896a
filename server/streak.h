// Streak rules (the API contract's "Streak definition"), on activity days
// already computed in the requested time zone.
#ifndef TUTORING_SERVER_STREAK_H_
#define TUTORING_SERVER_STREAK_H_

#include <cstdint>
#include <optional>

#include "absl/time/civil_time.h"
#include "absl/types/span.h"

namespace tutoring::server {

struct StreakSummary {
  // Run of consecutive activity days ending at T, else at T-1, else 0.
  int32_t current_days = 0;
  // Longest run of consecutive activity days on or before T.
  int32_t longest_days = 0;
  // Latest activity day on or before T.
  std::optional<absl::CivilDay> last_active_day;
  // T is an activity day.
  bool active_on_as_of_date = false;
};

// `days`: the user's activity days, ascending and distinct; days after
// `as_of_day` (T) are ignored.
StreakSummary SummarizeStreak(absl::Span<const absl::CivilDay> days,
                              absl::CivilDay as_of_day);

}  // namespace tutoring::server

#endif  // TUTORING_SERVER_STREAK_H_
