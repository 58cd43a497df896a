#include "server/proto_convert.h"

#include <utility>

#include "absl/strings/str_format.h"

namespace tutoring::server {

v1::Role ToProto(db::UserRole role) {
  switch (role) {
    case db::UserRole::kStudent:
      return v1::ROLE_STUDENT;
    case db::UserRole::kInstructor:
      return v1::ROLE_INSTRUCTOR;
    case db::UserRole::kAdmin:
      return v1::ROLE_ADMIN;
  }
  return v1::ROLE_UNSPECIFIED;
}

v1::Difficulty ToProto(db::Difficulty difficulty) {
  switch (difficulty) {
    case db::Difficulty::kEasy:
      return v1::DIFFICULTY_EASY;
    case db::Difficulty::kMedium:
      return v1::DIFFICULTY_MEDIUM;
    case db::Difficulty::kHard:
      return v1::DIFFICULTY_HARD;
  }
  return v1::DIFFICULTY_UNSPECIFIED;
}

void ToProto(absl::Time time, google::protobuf::Timestamp* timestamp) {
  const int64_t micros = absl::ToUnixMicros(time);
  // Floor division keeps nanos in 0..999999999 for instants before 1970.
  int64_t seconds = micros / 1000000;
  int64_t micros_left = micros % 1000000;
  if (micros_left < 0) {
    micros_left += 1000000;
    --seconds;
  }
  timestamp->set_seconds(seconds);
  timestamp->set_nanos(static_cast<int32_t>(micros_left * 1000));
}

void ToProto(db::UserRow&& row, v1::User* user) {
  user->set_id(row.id);
  user->set_email(std::move(row.email));
  user->set_display_name(std::move(row.display_name));
  user->set_role(ToProto(row.role));
  user->set_is_active(row.is_active);
  user->set_onboarding_completed(row.onboarding_completed);
  ToProto(row.created_at, user->mutable_create_time());
}

void ToProto(db::ExerciseRow&& row, v1::Exercise* exercise) {
  exercise->set_id(row.id);
  exercise->set_title(std::move(row.title));
  exercise->set_difficulty(ToProto(row.difficulty));
  exercise->set_programming_language(std::move(row.programming_language));
  ToProto(row.created_at, exercise->mutable_create_time());
}

void ToProto(int64_t user_id, const StreakSummary& summary,
             v1::Streak* streak) {
  streak->set_user_id(user_id);
  streak->set_current_days(summary.current_days);
  streak->set_longest_days(summary.longest_days);
  if (summary.last_active_day.has_value()) {
    const absl::CivilDay day = *summary.last_active_day;
    streak->set_last_active_date(
        absl::StrFormat("%04d-%02d-%02d", day.year(), day.month(), day.day()));
  } else {
    streak->clear_last_active_date();
  }
  streak->set_active_on_as_of_date(summary.active_on_as_of_date);
}

}  // namespace tutoring::server
