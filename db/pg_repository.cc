#include "db/pg_repository.h"

#include <utility>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "common/status_macros.h"
#include "db/binary_values.h"
#include "db/query_result.h"

namespace tutoring::db {
namespace {

// The statements, in registration order: the pool knows them by index.
enum Statement : int {
  kActiveUsers,
  kActiveUsersByRole,
  kActiveUsersPending,
  kActiveUsersByRolePending,
  kUsersByRole,
  kUserRole,
  kExercises,
  kExercisesByLanguage,
  kStreak,
  kActivity,
  kPing,
};

// Every statement returns its rows in binary form (StatementSpec::
// binary_results), read with db/binary_values.h; enum values come as their
// labels.

// Columns every user query returns, in this order.
#define TUTORING_USER_COLUMNS \
  "id, email, display_name, role, is_active, onboarding_completed, created_at"

// ListActiveUsers has one statement per filter combination rather than
// "($1 IS NULL OR role = $1)": a generic plan for that shape cannot use the
// (role, id) index.
constexpr char kActiveUsersSql[] =
    "SELECT " TUTORING_USER_COLUMNS
    " FROM users WHERE is_active AND id > $1 ORDER BY id LIMIT $2";

constexpr char kActiveUsersByRoleSql[] =
    "SELECT " TUTORING_USER_COLUMNS
    " FROM users WHERE is_active AND role = $1::user_role AND id > $2"
    " ORDER BY id LIMIT $3";

constexpr char kActiveUsersPendingSql[] =
    "SELECT " TUTORING_USER_COLUMNS
    " FROM users WHERE is_active AND NOT onboarding_completed AND id > $1"
    " ORDER BY id LIMIT $2";

constexpr char kActiveUsersByRolePendingSql[] =
    "SELECT " TUTORING_USER_COLUMNS
    " FROM users WHERE is_active AND NOT onboarding_completed"
    " AND role = $1::user_role AND id > $2 ORDER BY id LIMIT $3";

constexpr char kUsersByRoleSql[] =
    "SELECT " TUTORING_USER_COLUMNS
    " FROM users WHERE role = $1::user_role AND id > $2 ORDER BY id LIMIT $3";

constexpr char kUserRoleSql[] =
    "SELECT role, is_active FROM users WHERE id = $1::int8";

// The batch form of kUserRole: one row per existing user among the ids of
// $1, tagged with the id's position in $1.
constexpr char kUserRoleBatchSql[] =
    "SELECT k.ord, u.role, u.is_active"
    " FROM unnest($1::int8[]) WITH ORDINALITY AS k(id, ord)"
    " JOIN users u ON u.id = k.id";

#define TUTORING_EXERCISE_COLUMNS \
  "id, title, difficulty, programming_language, created_at"

constexpr char kExercisesSql[] =
    "SELECT " TUTORING_EXERCISE_COLUMNS
    " FROM exercises WHERE difficulty = $1::exercise_difficulty AND id > $2"
    " ORDER BY id LIMIT $3";

constexpr char kExercisesByLanguageSql[] =
    "SELECT " TUTORING_EXERCISE_COLUMNS
    " FROM exercises WHERE difficulty = $1::exercise_difficulty"
    " AND programming_language = $2 AND id > $3 ORDER BY id LIMIT $4";

// Activity of one user ($1) in zone $2 as of $3: whether the user exists,
// the date of as_of in the zone, and the distinct dates (days since
// 1970-01-01) of the user's completed exercises created at or before as_of.
// The partial index on (user_id, created_at) WHERE status = 'completed'
// makes the inner scan index-only.
constexpr char kStreakSql[] =
    "SELECT EXISTS (SELECT 1 FROM users WHERE id = $1::int8),"
    " (($3::timestamptz AT TIME ZONE $2::text)::date - DATE '1970-01-01'),"
    " (SELECT array_agg(DISTINCT"
    "    ((ue.created_at AT TIME ZONE $2::text)::date - DATE '1970-01-01'))"
    "  FROM user_exercises ue"
    "  WHERE ue.user_id = $1::int8 AND ue.status = 'completed'"
    "    AND ue.created_at <= $3::timestamptz)";

// The batch form of kStreak: one row per (user, zone, as_of) of the arrays,
// each with its own zone and instant, tagged with its position.
constexpr char kStreakBatchSql[] =
    "SELECT k.ord, u.id IS NOT NULL,"
    " ((k.as_of AT TIME ZONE k.zone)::date - DATE '1970-01-01'),"
    " a.days"
    " FROM unnest($1::int8[], $2::text[], $3::timestamptz[])"
    "   WITH ORDINALITY AS k(id, zone, as_of, ord)"
    " LEFT JOIN users u ON u.id = k.id"
    " LEFT JOIN LATERAL ("
    "   SELECT array_agg(DISTINCT"
    "     ((ue.created_at AT TIME ZONE k.zone)::date - DATE '1970-01-01'))"
    "     AS days"
    "   FROM user_exercises ue"
    "   WHERE ue.user_id = u.id AND ue.status = 'completed'"
    "     AND ue.created_at <= k.as_of"
    " ) a ON true";

// The same for many users ($1, distinct) sharing one zone and instant
// (BatchGetStreaks): one row per requested id, with the id first.
constexpr char kActivitySql[] =
    "SELECT r.id, u.id IS NOT NULL,"
    " (($3::timestamptz AT TIME ZONE $2::text)::date - DATE '1970-01-01'),"
    " a.days"
    " FROM unnest($1::int8[]) AS r(id)"
    " LEFT JOIN users u ON u.id = r.id"
    " LEFT JOIN LATERAL ("
    "   SELECT array_agg(DISTINCT"
    "     ((ue.created_at AT TIME ZONE $2::text)::date - DATE '1970-01-01'))"
    "     AS days"
    "   FROM user_exercises ue"
    "   WHERE ue.user_id = u.id AND ue.status = 'completed'"
    "     AND ue.created_at <= $3::timestamptz"
    " ) a ON true";

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

absl::StatusOr<std::vector<UserRow>> ToUsers(const QueryResult& result) {
  std::vector<UserRow> users;
  users.reserve(result.rows());
  for (int row = 0; row < result.rows(); ++row) {
    UserRow& user = users.emplace_back();
    ASSIGN_OR_RETURN(user.id, ReadInt8(result.Get(row, 0)));
    user.email = std::string(result.Get(row, 1));
    user.display_name = std::string(result.Get(row, 2));
    ASSIGN_OR_RETURN(user.role, ParseRole(result.Get(row, 3)));
    ASSIGN_OR_RETURN(user.is_active, ReadBool(result.Get(row, 4)));
    ASSIGN_OR_RETURN(user.onboarding_completed, ReadBool(result.Get(row, 5)));
    ASSIGN_OR_RETURN(user.created_at, ReadTimestamptz(result.Get(row, 6)));
  }
  return users;
}

absl::StatusOr<std::vector<ExerciseRow>> ToExercises(
    const QueryResult& result) {
  std::vector<ExerciseRow> exercises;
  exercises.reserve(result.rows());
  for (int row = 0; row < result.rows(); ++row) {
    ExerciseRow& exercise = exercises.emplace_back();
    ASSIGN_OR_RETURN(exercise.id, ReadInt8(result.Get(row, 0)));
    exercise.title = std::string(result.Get(row, 1));
    ASSIGN_OR_RETURN(exercise.difficulty, ParseDifficulty(result.Get(row, 2)));
    exercise.programming_language = std::string(result.Get(row, 3));
    ASSIGN_OR_RETURN(exercise.created_at, ReadTimestamptz(result.Get(row, 4)));
  }
  return exercises;
}

// One user's activity from columns (exists, as_of_day, days) starting at
// `first` of `row`; days are counted from 1970-01-01.
absl::Status ToActivity(const QueryResult& result, int row, int first,
                        UserActivity& user) {
  ASSIGN_OR_RETURN(user.user_exists, ReadBool(result.Get(row, first)));
  ASSIGN_OR_RETURN(const int32_t as_of_day,
                   ReadInt4(result.Get(row, first + 1)));
  user.as_of_day = kUnixEpochDay + as_of_day;
  if (!result.IsNull(row, first + 2)) {
    ASSIGN_OR_RETURN(const std::vector<int32_t> days,
                     ReadInt4Array(result.Get(row, first + 2)));
    user.days.reserve(days.size());
    for (const int32_t day : days) user.days.push_back(kUnixEpochDay + day);
  }
  return absl::OkStatus();
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

// Runs `statement` on the pool and hands its rows, converted by `parse`
// (QueryResult -> StatusOr<T>), to `done`.
template <typename T, typename Parse>
void Run(StatementExecutor& pool, std::shared_ptr<CallContext> call,
         Statement statement, std::vector<std::string> params, Parse parse,
         Repository::Callback<T> done) {
  pool.Execute(std::move(call), statement, std::move(params),
               [parse = std::move(parse), done = std::move(done)](
                   absl::StatusOr<QueryResult> result) mutable {
                 if (!result.ok()) return done(result.status());
                 done(parse(*result));
               });
}

}  // namespace

const std::vector<StatementSpec>& PgRepository::Statements() {
  // In the order of the Statement enum.
  static const std::vector<StatementSpec>* statements =
      new std::vector<StatementSpec>{
          {"active_users", kActiveUsersSql, "", true},
          {"active_users_by_role", kActiveUsersByRoleSql, "", true},
          {"active_users_pending", kActiveUsersPendingSql, "", true},
          {"active_users_by_role_pending", kActiveUsersByRolePendingSql, "",
           true},
          {"users_by_role", kUsersByRoleSql, "", true},
          {"user_role", kUserRoleSql, kUserRoleBatchSql, true},
          {"exercises", kExercisesSql, "", true},
          {"exercises_by_language", kExercisesByLanguageSql, "", true},
          {"streak", kStreakSql, kStreakBatchSql, true},
          {"activity", kActivitySql, "", true},
          {"ping", kPingSql, "", true},
      };
  return *statements;
}

absl::StatusOr<DatabasePooler> ParseDatabasePooler(absl::string_view text) {
  if (text == "none" || text == "session") return DatabasePooler::kNone;
  if (text == "transaction") return DatabasePooler::kTransaction;
  return absl::InvalidArgumentError(absl::StrCat(
      "database pooler must be none, session or transaction, got \"", text,
      "\""));
}

PoolOptions PgRepository::ConfigurePool(PoolOptions options,
                                        absl::Duration statement_timeout,
                                        DatabasePooler pooler) {
  if (pooler == DatabasePooler::kNone) {
    return ConfigurePool(std::move(options), statement_timeout);
  }
  options.statements = Statements();
  options.unnamed_statements = true;
  return options;
}

PoolOptions PgRepository::ConfigurePool(PoolOptions options,
                                        absl::Duration statement_timeout) {
  options.statements = Statements();
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
  std::vector<std::string> params;
  Statement statement;
  if (filter.role.has_value()) {
    statement = filter.pending_onboarding_only ? kActiveUsersByRolePending
                                               : kActiveUsersByRole;
    params = {RoleName(*filter.role), absl::StrCat(page.after_id),
              absl::StrCat(page.limit)};
  } else {
    statement =
        filter.pending_onboarding_only ? kActiveUsersPending : kActiveUsers;
    params = {absl::StrCat(page.after_id), absl::StrCat(page.limit)};
  }
  Run<std::vector<UserRow>>(pool_, std::move(call), statement,
                            std::move(params), ToUsers, std::move(done));
}

void PgRepository::ListUsersByRole(UserRole role, const KeysetPage& page,
                                   std::shared_ptr<CallContext> call,
                                   Callback<std::vector<UserRow>> done) {
  Run<std::vector<UserRow>>(
      pool_, std::move(call), kUsersByRole,
      {RoleName(role), absl::StrCat(page.after_id), absl::StrCat(page.limit)},
      ToUsers, std::move(done));
}

void PgRepository::GetUserRole(int64_t user_id,
                               std::shared_ptr<CallContext> call,
                               Callback<UserRoleRow> done) {
  Run<UserRoleRow>(
      pool_, std::move(call), kUserRole, {absl::StrCat(user_id)},
      [user_id](const QueryResult& result) -> absl::StatusOr<UserRoleRow> {
        if (result.rows() == 0) {
          return absl::NotFoundError(
              absl::StrCat("user ", user_id, " does not exist"));
        }
        UserRoleRow row;
        ASSIGN_OR_RETURN(row.role, ParseRole(result.Get(0, 0)));
        ASSIGN_OR_RETURN(row.is_active, ReadBool(result.Get(0, 1)));
        return row;
      },
      std::move(done));
}

void PgRepository::ListExercises(const ExercisesFilter& filter,
                                 const KeysetPage& page,
                                 std::shared_ptr<CallContext> call,
                                 Callback<std::vector<ExerciseRow>> done) {
  const std::string difficulty = DifficultyName(filter.difficulty);
  if (filter.programming_language.empty()) {
    Run<std::vector<ExerciseRow>>(
        pool_, std::move(call), kExercises,
        {difficulty, absl::StrCat(page.after_id), absl::StrCat(page.limit)},
        ToExercises, std::move(done));
    return;
  }
  Run<std::vector<ExerciseRow>>(
      pool_, std::move(call), kExercisesByLanguage,
      {difficulty, filter.programming_language, absl::StrCat(page.after_id),
       absl::StrCat(page.limit)},
      ToExercises, std::move(done));
}

void PgRepository::GetActivity(std::vector<int64_t> user_ids,
                               std::string time_zone, absl::Time as_of,
                               std::shared_ptr<CallContext> call,
                               Callback<std::vector<UserActivity>> done) {
  if (user_ids.size() == 1) {
    // One user (GetStreak): the statement the pool may coalesce with other
    // calls', whatever their zones and instants.
    const int64_t user_id = user_ids[0];
    Run<std::vector<UserActivity>>(
        pool_, std::move(call), kStreak,
        {absl::StrCat(user_id), std::move(time_zone), ToPgTimestamp(as_of)},
        [user_id](const QueryResult& result)
            -> absl::StatusOr<std::vector<UserActivity>> {
          if (result.rows() != 1) {
            return absl::InternalError(absl::StrCat(
                "streak query returned ", result.rows(), " rows for one user"));
          }
          std::vector<UserActivity> activity(1);
          activity[0].user_id = user_id;
          RETURN_IF_ERROR(ToActivity(result, 0, 0, activity[0]));
          return activity;
        },
        std::move(done));
    return;
  }
  Run<std::vector<UserActivity>>(
      pool_, std::move(call), kActivity,
      {absl::StrCat("{", absl::StrJoin(user_ids, ","), "}"),
       std::move(time_zone), ToPgTimestamp(as_of)},
      [](const QueryResult& result)
          -> absl::StatusOr<std::vector<UserActivity>> {
        std::vector<UserActivity> activity(result.rows());
        for (int row = 0; row < result.rows(); ++row) {
          ASSIGN_OR_RETURN(activity[row].user_id, ReadInt8(result.Get(row, 0)));
          RETURN_IF_ERROR(ToActivity(result, row, 1, activity[row]));
        }
        return activity;
      },
      std::move(done));
}

void PgRepository::Ping(std::shared_ptr<CallContext> call,
                        absl::AnyInvocable<void(absl::Status)> done) {
  pool_.Execute(
      std::move(call), kPing, {},
      [done = std::move(done)](absl::StatusOr<QueryResult> result) mutable {
        done(result.status());
      },
      StatementExecutor::Priority::kHigh);
}

}  // namespace tutoring::db
