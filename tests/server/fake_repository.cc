#include "tests/server/fake_repository.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/time/civil_time.h"

namespace tutoring::testing {
namespace {

// Rows of `rows` with id > page.after_id that `keep` accepts, by id, at most
// page.limit of them: the keyset walk of the repository's SQL.
template <typename Row, typename Keep>
std::vector<Row> Page(const std::map<int64_t, Row>& rows,
                      const db::KeysetPage& page, Keep keep) {
  std::vector<Row> result;
  for (auto it = rows.upper_bound(page.after_id);
       it != rows.end() && static_cast<int>(result.size()) < page.limit; ++it) {
    if (keep(it->second)) result.push_back(it->second);
  }
  return result;
}

}  // namespace

std::optional<absl::Status> FakeRepository::Ask(
    std::shared_ptr<db::CallContext> call) {
  ++questions_;
  last_call_ = std::move(call);
  if (!failure_.has_value()) return std::nullopt;
  std::optional<absl::Status> failure = std::move(failure_);
  failure_.reset();
  return failure;
}

void FakeRepository::ListActiveUsers(const db::ActiveUsersFilter& filter,
                                     const db::KeysetPage& page,
                                     std::shared_ptr<db::CallContext> call,
                                     Callback<std::vector<db::UserRow>> done) {
  last_page_ = page;
  last_active_users_filter_ = filter;
  if (auto failure = Ask(std::move(call))) return done(*failure);
  done(Page(users_, page, [&filter](const db::UserRow& user) {
    return user.is_active &&
           (!filter.role.has_value() || user.role == *filter.role) &&
           (!filter.pending_onboarding_only || !user.onboarding_completed);
  }));
}

void FakeRepository::ListUsersByRole(db::UserRole role,
                                     const db::KeysetPage& page,
                                     std::shared_ptr<db::CallContext> call,
                                     Callback<std::vector<db::UserRow>> done) {
  last_page_ = page;
  if (auto failure = Ask(std::move(call))) return done(*failure);
  done(Page(users_, page,
            [role](const db::UserRow& user) { return user.role == role; }));
}

void FakeRepository::GetUserRole(int64_t user_id,
                                 std::shared_ptr<db::CallContext> call,
                                 Callback<db::UserRoleRow> done) {
  if (auto failure = Ask(std::move(call))) return done(*failure);
  const auto it = users_.find(user_id);
  if (it == users_.end()) {
    return done(
        absl::NotFoundError(absl::StrCat("user ", user_id, " does not exist")));
  }
  done(db::UserRoleRow{it->second.role, it->second.is_active});
}

void FakeRepository::ListExercises(
    const db::ExercisesFilter& filter, const db::KeysetPage& page,
    std::shared_ptr<db::CallContext> call,
    Callback<std::vector<db::ExerciseRow>> done) {
  last_page_ = page;
  last_exercises_filter_ = filter;
  if (auto failure = Ask(std::move(call))) return done(*failure);
  done(Page(exercises_, page, [&filter](const db::ExerciseRow& exercise) {
    return exercise.difficulty == filter.difficulty &&
           (filter.programming_language.empty() ||
            exercise.programming_language == filter.programming_language);
  }));
}

void FakeRepository::GetActivity(std::vector<int64_t> user_ids,
                                 std::string time_zone, absl::Time as_of,
                                 std::shared_ptr<db::CallContext> call,
                                 Callback<std::vector<db::UserActivity>> done) {
  last_activity_ = ActivityQuestion{user_ids, time_zone, as_of};
  if (auto failure = Ask(std::move(call))) return done(*failure);
  absl::TimeZone zone;
  if (!absl::LoadTimeZone(time_zone, &zone)) {
    return done(absl::InternalError(absl::StrCat("no zone ", time_zone)));
  }
  std::vector<db::UserActivity> result;
  for (const int64_t id : user_ids) {
    db::UserActivity& activity = result.emplace_back();
    activity.user_id = id;
    activity.user_exists = users_.count(id) > 0;
    activity.as_of_day = absl::ToCivilDay(as_of, zone);
    const auto completions = completions_.find(id);
    if (completions != completions_.end()) {
      for (const absl::Time when : completions->second) {
        if (when <= as_of) {
          activity.days.push_back(absl::ToCivilDay(when, zone));
        }
      }
    }
    std::sort(activity.days.begin(), activity.days.end());
    activity.days.erase(std::unique(activity.days.begin(), activity.days.end()),
                        activity.days.end());
  }
  // The repository promises no order: answer in reverse to keep the
  // service honest about matching rows by id.
  std::reverse(result.begin(), result.end());
  done(std::move(result));
}

void FakeRepository::Ping(std::shared_ptr<db::CallContext> call,
                          absl::AnyInvocable<void(absl::Status)> done) {
  if (auto failure = Ask(std::move(call))) return done(*failure);
  done(absl::OkStatus());
}

}  // namespace tutoring::testing
