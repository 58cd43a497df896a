#include "tests/client/sql_truth.h"

#include <google/protobuf/util/time_util.h>

#include <pqxx/pqxx>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "gtest/gtest.h"

namespace tutoring::testing {
namespace {

using google::protobuf::util::TimeUtil;

// created_at as whole microseconds since the epoch (timestamptz's
// resolution), so timestamps compare exactly.
constexpr char kUserColumns[] =
    "id, email, display_name, role::text, is_active, onboarding_completed, "
    "(extract(epoch FROM created_at) * 1000000)::bigint";

constexpr char kActiveUsersSql[] =
    "FROM users WHERE is_active AND ($1 = '' OR role::text = $1) "
    "AND (NOT $2 OR NOT onboarding_completed) ORDER BY id";

constexpr char kUsersByRoleSql[] =
    "FROM users WHERE role::text = $1 ORDER BY id";

constexpr char kUserIdsSql[] = "SELECT id FROM users ORDER BY id";

constexpr char kUserRoleSql[] =
    "SELECT id, role::text, is_active FROM users WHERE id = $1";

constexpr char kExercisesSql[] =
    "SELECT id, title, difficulty::text, programming_language, "
    "(extract(epoch FROM created_at) * 1000000)::bigint FROM exercises "
    "WHERE difficulty::text = $1 AND ($2 = '' OR programming_language = $2) "
    "ORDER BY id";

// Activity days are the distinct local dates of completions at or before
// as_of; a run's days minus their rank are constant (the "island"); the
// current run is the one ending today or yesterday (at most one can).
constexpr char kStreakSql[] = R"(
WITH params AS (
  SELECT $1::bigint AS user_id, $2::text AS zone, $3::timestamptz AS as_of
), t AS (
  SELECT (as_of AT TIME ZONE zone)::date AS day FROM params
), days AS (
  SELECT DISTINCT (ue.created_at AT TIME ZONE p.zone)::date AS day
  FROM user_exercises ue, params p
  WHERE ue.user_id = p.user_id AND ue.status = 'completed'
    AND ue.created_at <= p.as_of
), runs AS (
  SELECT max(day) AS last_day, count(*) AS length
  FROM (SELECT day, day - (row_number() OVER (ORDER BY day))::int AS island
        FROM days) numbered
  GROUP BY island
)
SELECT
  coalesce((SELECT r.length FROM runs r, t WHERE r.last_day >= t.day - 1), 0),
  coalesce((SELECT max(length) FROM runs), 0),
  coalesce((SELECT max(day)::text FROM days), ''),
  EXISTS (SELECT 1 FROM days, t WHERE days.day = t.day))";

std::string RoleToSql(v1::Role role) {
  if (role == v1::ROLE_UNSPECIFIED) return "";
  return absl::AsciiStrToLower(absl::StripPrefix(v1::Role_Name(role), "ROLE_"));
}

std::string DifficultyToSql(v1::Difficulty difficulty) {
  return absl::AsciiStrToLower(
      absl::StripPrefix(v1::Difficulty_Name(difficulty), "DIFFICULTY_"));
}

v1::User UserFromRow(const pqxx::row& row) {
  v1::User user;
  user.set_id(row[0].as<int64_t>());
  user.set_email(row[1].as<std::string>());
  user.set_display_name(row[2].as<std::string>());
  user.set_role(RoleFromSql(row[3].as<std::string>()));
  user.set_is_active(row[4].as<bool>());
  user.set_onboarding_completed(row[5].as<bool>());
  *user.mutable_create_time() =
      TimeUtil::MicrosecondsToTimestamp(row[6].as<int64_t>());
  return user;
}

template <typename... Args>
pqxx::result Query(const std::string& url, const std::string& sql,
                   Args&&... args) {
  try {
    pqxx::connection connection(url);
    pqxx::read_transaction tx(connection);
    return tx.exec_params(sql, std::forward<Args>(args)...);
  } catch (const std::exception& e) {
    ADD_FAILURE() << "truth query failed: " << e.what() << "\n" << sql;
    return pqxx::result();
  }
}

}  // namespace

v1::Role RoleFromSql(absl::string_view value) {
  v1::Role role = v1::ROLE_UNSPECIFIED;
  EXPECT_TRUE(v1::Role_Parse(
      absl::StrCat("ROLE_", absl::AsciiStrToUpper(value)), &role))
      << value;
  return role;
}

v1::Difficulty DifficultyFromSql(absl::string_view value) {
  v1::Difficulty difficulty = v1::DIFFICULTY_UNSPECIFIED;
  EXPECT_TRUE(v1::Difficulty_Parse(
      absl::StrCat("DIFFICULTY_", absl::AsciiStrToUpper(value)), &difficulty))
      << value;
  return difficulty;
}

std::vector<v1::User> SqlTruth::ActiveUsers(
    v1::Role role, bool pending_onboarding_only) const {
  std::vector<v1::User> users;
  for (const pqxx::row& row :
       Query(database_url_,
             absl::StrCat("SELECT ", kUserColumns, " ", kActiveUsersSql),
             RoleToSql(role), pending_onboarding_only)) {
    users.push_back(UserFromRow(row));
  }
  return users;
}

std::vector<v1::User> SqlTruth::UsersByRole(v1::Role role) const {
  std::vector<v1::User> users;
  for (const pqxx::row& row :
       Query(database_url_,
             absl::StrCat("SELECT ", kUserColumns, " ", kUsersByRoleSql),
             RoleToSql(role))) {
    users.push_back(UserFromRow(row));
  }
  return users;
}

std::vector<int64_t> SqlTruth::UserIds() const {
  std::vector<int64_t> ids;
  for (const pqxx::row& row : Query(database_url_, kUserIdsSql)) {
    ids.push_back(row[0].as<int64_t>());
  }
  return ids;
}

std::optional<v1::GetUserRoleResponse> SqlTruth::UserRole(
    int64_t user_id) const {
  const pqxx::result rows = Query(database_url_, kUserRoleSql, user_id);
  if (rows.empty()) return std::nullopt;
  v1::GetUserRoleResponse response;
  response.set_user_id(rows[0][0].as<int64_t>());
  response.set_role(RoleFromSql(rows[0][1].as<std::string>()));
  response.set_is_active(rows[0][2].as<bool>());
  return response;
}

std::vector<v1::Exercise> SqlTruth::Exercises(
    v1::Difficulty difficulty, absl::string_view language) const {
  std::vector<v1::Exercise> exercises;
  for (const pqxx::row& row :
       Query(database_url_, kExercisesSql, DifficultyToSql(difficulty),
             std::string(language))) {
    v1::Exercise exercise;
    exercise.set_id(row[0].as<int64_t>());
    exercise.set_title(row[1].as<std::string>());
    exercise.set_difficulty(DifficultyFromSql(row[2].as<std::string>()));
    exercise.set_programming_language(row[3].as<std::string>());
    *exercise.mutable_create_time() =
        TimeUtil::MicrosecondsToTimestamp(row[4].as<int64_t>());
    exercises.push_back(std::move(exercise));
  }
  return exercises;
}

v1::Streak SqlTruth::Streak(int64_t user_id, absl::string_view zone,
                            absl::string_view as_of) const {
  v1::Streak streak;
  streak.set_user_id(user_id);
  const pqxx::result rows = Query(database_url_, kStreakSql, user_id,
                                  std::string(zone), std::string(as_of));
  if (rows.size() != 1) {
    ADD_FAILURE() << "streak query returned " << rows.size() << " rows";
    return streak;
  }
  streak.set_current_days(rows[0][0].as<int32_t>());
  streak.set_longest_days(rows[0][1].as<int32_t>());
  streak.set_last_active_date(rows[0][2].as<std::string>());
  streak.set_active_on_as_of_date(rows[0][3].as<bool>());
  return streak;
}

}  // namespace tutoring::testing
