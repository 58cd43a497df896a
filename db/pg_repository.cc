#include "db/pg_repository.h"

#include <pqxx/pqxx>
#include <utility>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "db/session.h"

namespace tutoring::db {
namespace {

// Columns every user query returns, in this order; created_at as Unix
// microseconds, exact.
#define TUTORING_USER_COLUMNS                                              \
  "id, email, display_name, role::text, is_active, onboarding_completed, " \
  "(extract(epoch FROM created_at) * 1000000)::int8"

// ListActiveUsers has one statement per filter combination rather than
// "($1 IS NULL OR role = $1)": a generic plan for that shape cannot use the
// (role, id) index.
constexpr char kActiveUsers[] = "active_users";
constexpr char kActiveUsersSql[] =
    "SELECT " TUTORING_USER_COLUMNS
    " FROM users WHERE is_active AND id > $1 ORDER BY id LIMIT $2";

constexpr char kActiveUsersByRole[] = "active_users_by_role";
constexpr char kActiveUsersByRoleSql[] =
    "SELECT " TUTORING_USER_COLUMNS
    " FROM users WHERE is_active AND role = $1::user_role AND id > $2"
    " ORDER BY id LIMIT $3";

constexpr char kActiveUsersPending[] = "active_users_pending";
constexpr char kActiveUsersPendingSql[] =
    "SELECT " TUTORING_USER_COLUMNS
    " FROM users WHERE is_active AND NOT onboarding_completed AND id > $1"
    " ORDER BY id LIMIT $2";

constexpr char kActiveUsersByRolePending[] = "active_users_by_role_pending";
constexpr char kActiveUsersByRolePendingSql[] =
    "SELECT " TUTORING_USER_COLUMNS
    " FROM users WHERE is_active AND NOT onboarding_completed"
    " AND role = $1::user_role AND id > $2 ORDER BY id LIMIT $3";

constexpr char kUsersByRole[] = "users_by_role";
constexpr char kUsersByRoleSql[] =
    "SELECT " TUTORING_USER_COLUMNS
    " FROM users WHERE role = $1::user_role AND id > $2 ORDER BY id LIMIT $3";

constexpr char kUserRole[] = "user_role";
constexpr char kUserRoleSql[] =
    "SELECT role::text, is_active FROM users WHERE id = $1";

#define TUTORING_EXERCISE_COLUMNS                       \
  "id, title, difficulty::text, programming_language, " \
  "(extract(epoch FROM created_at) * 1000000)::int8"

constexpr char kExercises[] = "exercises";
constexpr char kExercisesSql[] =
    "SELECT " TUTORING_EXERCISE_COLUMNS
    " FROM exercises WHERE difficulty = $1::exercise_difficulty AND id > $2"
    " ORDER BY id LIMIT $3";

constexpr char kExercisesByLanguage[] = "exercises_by_language";
constexpr char kExercisesByLanguageSql[] =
    "SELECT " TUTORING_EXERCISE_COLUMNS
    " FROM exercises WHERE difficulty = $1::exercise_difficulty"
    " AND programming_language = $2 AND id > $3 ORDER BY id LIMIT $4";

// One row per requested id ($1, distinct): whether the user exists, the
// date of as_of ($3) in zone $2, and the distinct dates (days since
// 1970-01-01, ascending) of the user's completed exercises created at or
// before as_of. One statement serves GetStreak and BatchGetStreaks; the
// partial index on (user_id, created_at) WHERE status = 'completed' makes
// the inner scan index-only.
constexpr char kActivity[] = "activity";
constexpr char kActivitySql[] =
    "SELECT r.id, u.id IS NOT NULL,"
    " (($3::timestamptz AT TIME ZONE $2)::date - DATE '1970-01-01'),"
    " a.days"
    " FROM unnest($1::int8[]) AS r(id)"
    " LEFT JOIN users u ON u.id = r.id"
    " LEFT JOIN LATERAL ("
    "   SELECT array_agg(DISTINCT"
    "     ((ue.created_at AT TIME ZONE $2)::date - DATE '1970-01-01')) AS days"
    "   FROM user_exercises ue"
    "   WHERE ue.user_id = u.id AND ue.status = 'completed'"
    "     AND ue.created_at <= $3::timestamptz"
    " ) a ON true";

constexpr char kPing[] = "ping";
constexpr char kPingSql[] = "SELECT 1";

#undef TUTORING_USER_COLUMNS
#undef TUTORING_EXERCISE_COLUMNS

const absl::CivilDay kUnixEpochDay(1970, 1, 1);

const char* RoleName(UserRole role) {
  switch (role) {
    case UserRole::kStudent:
      return "student";
    case UserRole::kInstructor:
      return "instructor";
    case UserRole::kAdmin:
      return "admin";
  }
  return "student";
}

const char* DifficultyName(Difficulty difficulty) {
  switch (difficulty) {
    case Difficulty::kEasy:
      return "easy";
    case Difficulty::kMedium:
      return "medium";
    case Difficulty::kHard:
      return "hard";
  }
  return "easy";
}

absl::StatusOr<UserRole> ParseRole(absl::string_view text) {
  if (text == "student") return UserRole::kStudent;
  if (text == "instructor") return UserRole::kInstructor;
  if (text == "admin") return UserRole::kAdmin;
  return absl::InternalError(
      absl::StrCat("database returned unknown user_role '", text, "'"));
}

absl::StatusOr<Difficulty> ParseDifficulty(absl::string_view text) {
  if (text == "easy") return Difficulty::kEasy;
  if (text == "medium") return Difficulty::kMedium;
  if (text == "hard") return Difficulty::kHard;
  return absl::InternalError(absl::StrCat(
      "database returned unknown exercise_difficulty '", text, "'"));
}

absl::StatusOr<std::vector<UserRow>> ToUsers(const pqxx::result& result) {
  std::vector<UserRow> users;
  users.reserve(result.size());
  for (const pqxx::row& row : result) {
    UserRow& user = users.emplace_back();
    user.id = row[0].as<int64_t>();
    user.email = row[1].c_str();
    user.display_name = row[2].c_str();
    absl::StatusOr<UserRole> role = ParseRole(row[3].c_str());
    if (!role.ok()) return role.status();
    user.role = *role;
    user.is_active = row[4].as<bool>();
    user.onboarding_completed = row[5].as<bool>();
    user.created_at = absl::FromUnixMicros(row[6].as<int64_t>());
  }
  return users;
}

absl::StatusOr<std::vector<ExerciseRow>> ToExercises(
    const pqxx::result& result) {
  std::vector<ExerciseRow> exercises;
  exercises.reserve(result.size());
  for (const pqxx::row& row : result) {
    ExerciseRow& exercise = exercises.emplace_back();
    exercise.id = row[0].as<int64_t>();
    exercise.title = row[1].c_str();
    absl::StatusOr<Difficulty> difficulty = ParseDifficulty(row[2].c_str());
    if (!difficulty.ok()) return difficulty.status();
    exercise.difficulty = *difficulty;
    exercise.programming_language = row[3].c_str();
    exercise.created_at = absl::FromUnixMicros(row[4].as<int64_t>());
  }
  return exercises;
}

// Parses an int[] in PostgreSQL's text form, "{1,2,3}", into days after
// 1970-01-01.
absl::StatusOr<std::vector<absl::CivilDay>> ParseDayArray(
    absl::string_view text) {
  std::vector<absl::CivilDay> days;
  if (!absl::ConsumePrefix(&text, "{") || !absl::ConsumeSuffix(&text, "}")) {
    return absl::InternalError(
        absl::StrCat("database returned a malformed day array: ", text));
  }
  if (text.empty()) return days;
  for (absl::string_view item : absl::StrSplit(text, ',')) {
    int64_t offset = 0;
    if (!absl::SimpleAtoi(item, &offset)) {
      return absl::InternalError(
          absl::StrCat("database returned a malformed day: ", item));
    }
    days.push_back(kUnixEpochDay + offset);
  }
  return days;
}

// "YYYY-MM-DD HH:MM:SS.ffffff+00" for PostgreSQL, truncated to microseconds
// (the database's precision), so rows at or before as_of compare correctly.
std::string ToPgTimestamp(absl::Time t) {
  const absl::Time micros =
      absl::FromUnixMicros(absl::ToUnixMicros(t));  // floor
  const absl::TimeZone::CivilInfo info = absl::UTCTimeZone().At(micros);
  const int64_t sub_micros = absl::ToInt64Microseconds(info.subsecond);
  return absl::StrFormat("%04d-%02d-%02d %02d:%02d:%02d.%06d+00",
                         info.cs.year(), info.cs.month(), info.cs.day(),
                         info.cs.hour(), info.cs.minute(), info.cs.second(),
                         sub_micros);
}

// Runs `query` (pqxx::connection& -> StatusOr<T>, may throw) on the pool
// and hands its result to `done`.
template <typename T, typename Query>
void RunQuery(ConnectionPool& pool, std::shared_ptr<CallContext> call,
              Query query, Repository::Callback<T> done) {
  auto result = std::make_shared<absl::StatusOr<T>>(
      absl::InternalError("query did not run"));
  pool.Run(
      std::move(call),
      [query = std::move(query), result](Session& session) mutable {
        *result = query(session.connection());
        return result->status();
      },
      [result, done = std::move(done)](absl::Status status) mutable {
        if (!status.ok()) {
          done(std::move(status));
        } else {
          done(std::move(*result));
        }
      });
}

}  // namespace

const std::vector<PreparedStatement>& PgRepository::Statements() {
  static const std::vector<PreparedStatement> statements{
      {kActiveUsers, kActiveUsersSql},
      {kActiveUsersByRole, kActiveUsersByRoleSql},
      {kActiveUsersPending, kActiveUsersPendingSql},
      {kActiveUsersByRolePending, kActiveUsersByRolePendingSql},
      {kUsersByRole, kUsersByRoleSql},
      {kUserRole, kUserRoleSql},
      {kExercises, kExercisesSql},
      {kExercisesByLanguage, kExercisesByLanguageSql},
      {kActivity, kActivitySql},
      {kPing, kPingSql},
  };
  return statements;
}

PoolOptions PgRepository::ConfigurePool(PoolOptions options,
                                        absl::Duration statement_timeout) {
  const std::vector<PreparedStatement>& statements = Statements();
  options.prepared_statements.insert(options.prepared_statements.end(),
                                     statements.begin(), statements.end());
  options.session_setup.push_back("SET default_transaction_read_only = on");
  options.session_setup.push_back(
      absl::StrCat("SET statement_timeout = ",
                   absl::ToInt64Milliseconds(statement_timeout)));
  return options;
}

void PgRepository::ListActiveUsers(const ActiveUsersFilter& filter,
                                   const KeysetPage& page,
                                   std::shared_ptr<CallContext> call,
                                   Callback<std::vector<UserRow>> done) {
  RunQuery<std::vector<UserRow>>(
      pool_, std::move(call),
      [filter, page](pqxx::connection& connection)
          -> absl::StatusOr<std::vector<UserRow>> {
        pqxx::nontransaction tx(connection);
        const int64_t limit = page.limit;
        if (filter.role.has_value()) {
          const std::string role = RoleName(*filter.role);
          return ToUsers(tx.exec_prepared(filter.pending_onboarding_only
                                              ? kActiveUsersByRolePending
                                              : kActiveUsersByRole,
                                          role, page.after_id, limit));
        }
        return ToUsers(tx.exec_prepared(
            filter.pending_onboarding_only ? kActiveUsersPending : kActiveUsers,
            page.after_id, limit));
      },
      std::move(done));
}

void PgRepository::ListUsersByRole(UserRole role, const KeysetPage& page,
                                   std::shared_ptr<CallContext> call,
                                   Callback<std::vector<UserRow>> done) {
  RunQuery<std::vector<UserRow>>(
      pool_, std::move(call),
      [role, page](pqxx::connection& connection)
          -> absl::StatusOr<std::vector<UserRow>> {
        pqxx::nontransaction tx(connection);
        return ToUsers(
            tx.exec_prepared(kUsersByRole, std::string(RoleName(role)),
                             page.after_id, static_cast<int64_t>(page.limit)));
      },
      std::move(done));
}

void PgRepository::GetUserRole(int64_t user_id,
                               std::shared_ptr<CallContext> call,
                               Callback<UserRoleRow> done) {
  RunQuery<UserRoleRow>(
      pool_, std::move(call),
      [user_id](pqxx::connection& connection) -> absl::StatusOr<UserRoleRow> {
        pqxx::nontransaction tx(connection);
        const pqxx::result result = tx.exec_prepared(kUserRole, user_id);
        if (result.empty()) {
          return absl::NotFoundError(
              absl::StrCat("user ", user_id, " does not exist"));
        }
        absl::StatusOr<UserRole> role = ParseRole(result[0][0].c_str());
        if (!role.ok()) return role.status();
        return UserRoleRow{*role, result[0][1].as<bool>()};
      },
      std::move(done));
}

void PgRepository::ListExercises(const ExercisesFilter& filter,
                                 const KeysetPage& page,
                                 std::shared_ptr<CallContext> call,
                                 Callback<std::vector<ExerciseRow>> done) {
  RunQuery<std::vector<ExerciseRow>>(
      pool_, std::move(call),
      [filter, page](pqxx::connection& connection)
          -> absl::StatusOr<std::vector<ExerciseRow>> {
        pqxx::nontransaction tx(connection);
        const std::string difficulty = DifficultyName(filter.difficulty);
        const int64_t limit = page.limit;
        if (filter.programming_language.empty()) {
          return ToExercises(
              tx.exec_prepared(kExercises, difficulty, page.after_id, limit));
        }
        return ToExercises(tx.exec_prepared(kExercisesByLanguage, difficulty,
                                            filter.programming_language,
                                            page.after_id, limit));
      },
      std::move(done));
}

void PgRepository::GetActivity(std::vector<int64_t> user_ids,
                               std::string time_zone, absl::Time as_of,
                               std::shared_ptr<CallContext> call,
                               Callback<std::vector<UserActivity>> done) {
  RunQuery<std::vector<UserActivity>>(
      pool_, std::move(call),
      [ids = absl::StrCat("{", absl::StrJoin(user_ids, ","), "}"),
       time_zone = std::move(time_zone),
       as_of = ToPgTimestamp(as_of)](pqxx::connection& connection)
          -> absl::StatusOr<std::vector<UserActivity>> {
        pqxx::nontransaction tx(connection);
        const pqxx::result result =
            tx.exec_prepared(kActivity, ids, time_zone, as_of);
        std::vector<UserActivity> activity;
        activity.reserve(result.size());
        for (const pqxx::row& row : result) {
          UserActivity& user = activity.emplace_back();
          user.user_id = row[0].as<int64_t>();
          user.user_exists = row[1].as<bool>();
          user.as_of_day = kUnixEpochDay + row[2].as<int64_t>();
          if (!row[3].is_null()) {
            absl::StatusOr<std::vector<absl::CivilDay>> days =
                ParseDayArray(row[3].c_str());
            if (!days.ok()) return days.status();
            user.days = *std::move(days);
          }
        }
        return activity;
      },
      std::move(done));
}

void PgRepository::Ping(std::shared_ptr<CallContext> call,
                        absl::AnyInvocable<void(absl::Status)> done) {
  pool_.Run(
      std::move(call),
      [](Session& session) {
        pqxx::nontransaction tx(session.connection());
        tx.exec_prepared1(kPing);
        return absl::OkStatus();
      },
      std::move(done), ConnectionPool::Priority::kHigh);
}

}  // namespace tutoring::db
