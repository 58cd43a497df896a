// The questions the service asks the learning database, as an interface so
// that service logic can be tested with a fake and wired to PostgreSQL in
// production (db/pg_repository.h). Plain row structs: no protobuf here.
#ifndef TUTORING_DB_REPOSITORY_H_
#define TUTORING_DB_REPOSITORY_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/functional/any_invocable.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/civil_time.h"
#include "absl/time/time.h"
#include "db/call_context.h"

namespace tutoring::db {

// Values of the user_role enum.
enum class UserRole { kStudent, kInstructor, kAdmin };
// Values of the exercise_difficulty enum.
enum class Difficulty { kEasy, kMedium, kHard };

struct UserRow {
  int64_t id = 0;
  std::string email;
  std::string display_name;
  UserRole role = UserRole::kStudent;
  bool is_active = false;
  bool onboarding_completed = false;
  absl::Time created_at;
};

struct ExerciseRow {
  int64_t id = 0;
  std::string title;
  Difficulty difficulty = Difficulty::kEasy;
  std::string programming_language;
  absl::Time created_at;
};

struct UserRoleRow {
  UserRole role = UserRole::kStudent;
  bool is_active = false;
};

// A user's activity days: the distinct calendar dates, in the requested time
// zone, of the user's completed exercises created at or before as_of.
struct UserActivity {
  int64_t user_id = 0;
  bool user_exists = false;
  // The date of as_of in the requested zone.
  absl::CivilDay as_of_day;
  // Ascending, distinct.
  std::vector<absl::CivilDay> days;
};

// One page of a keyset walk: rows with id > after_id, ascending, at most
// limit of them.
struct KeysetPage {
  int64_t after_id = 0;
  int limit = 50;
};

struct ActiveUsersFilter {
  std::optional<UserRole> role;  // nullopt: any role
  bool pending_onboarding_only = false;
};

struct ExercisesFilter {
  Difficulty difficulty = Difficulty::kEasy;
  std::string programming_language;  // "": any language
};

// Every method starts the query and returns at once; `done` runs exactly
// once, on a database thread or inline when the call is rejected before it
// starts. Errors: UNAVAILABLE (database unreachable), RESOURCE_EXHAUSTED
// (too many queued calls), DEADLINE_EXCEEDED / CANCELLED (per `call`),
// INTERNAL (unexpected database answers). Implementations are thread-safe.
class Repository {
 public:
  template <typename T>
  using Callback = absl::AnyInvocable<void(absl::StatusOr<T>)>;

  virtual ~Repository() = default;

  // Users with is_active, matching `filter`, by id.
  virtual void ListActiveUsers(const ActiveUsersFilter& filter,
                               const KeysetPage& page,
                               std::shared_ptr<CallContext> call,
                               Callback<std::vector<UserRow>> done) = 0;

  // Users of `role`, active or not, by id.
  virtual void ListUsersByRole(UserRole role, const KeysetPage& page,
                               std::shared_ptr<CallContext> call,
                               Callback<std::vector<UserRow>> done) = 0;

  // NOT_FOUND if there is no user `user_id`.
  virtual void GetUserRole(int64_t user_id, std::shared_ptr<CallContext> call,
                           Callback<UserRoleRow> done) = 0;

  // Exercises matching `filter`, by id.
  virtual void ListExercises(const ExercisesFilter& filter,
                             const KeysetPage& page,
                             std::shared_ptr<CallContext> call,
                             Callback<std::vector<ExerciseRow>> done) = 0;

  // Activity of each of `user_ids` (distinct ids; one query for all), in
  // IANA zone `time_zone` (already validated), as of `as_of`. One entry per
  // id, in any order; missing users have user_exists == false.
  virtual void GetActivity(std::vector<int64_t> user_ids, std::string time_zone,
                           absl::Time as_of, std::shared_ptr<CallContext> call,
                           Callback<std::vector<UserActivity>> done) = 0;

  // Asks the database a trivial question, ahead of queued calls.
  virtual void Ping(std::shared_ptr<CallContext> call,
                    absl::AnyInvocable<void(absl::Status)> done) = 0;
};

}  // namespace tutoring::db

#endif  // TUTORING_DB_REPOSITORY_H_
