// Ground truth for the client tests: the answers to each RPC computed from
// the database with plain SQL (written independently of db/ and server/),
// as the proto messages the server should return.
#ifndef TUTORING_TESTS_CLIENT_SQL_TRUTH_H_
#define TUTORING_TESTS_CLIENT_SQL_TRUTH_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "tutoring/v1/tutoring.pb.h"

namespace tutoring::testing {

// Reads one database; every call opens its own connection and fails the
// current test (ADD_FAILURE) on an SQL error, returning what it has.
class SqlTruth {
 public:
  explicit SqlTruth(std::string database_url)
      : database_url_(std::move(database_url)) {}

  // Active users, id ascending; `role` ROLE_UNSPECIFIED means any.
  std::vector<v1::User> ActiveUsers(v1::Role role,
                                    bool pending_onboarding_only) const;
  // Users of `role`, active or not, id ascending.
  std::vector<v1::User> UsersByRole(v1::Role role) const;
  // Every user id, ascending.
  std::vector<int64_t> UserIds() const;
  // nullopt when the user does not exist.
  std::optional<v1::GetUserRoleResponse> UserRole(int64_t user_id) const;
  // Exercises of `difficulty`, of exactly `language` unless it is "", id
  // ascending.
  std::vector<v1::Exercise> Exercises(v1::Difficulty difficulty,
                                      absl::string_view language) const;
  // The streak by the contract's definition (gaps and islands over the
  // distinct completion dates in `zone`), `as_of` in RFC 3339.
  v1::Streak Streak(int64_t user_id, absl::string_view zone,
                    absl::string_view as_of) const;

 private:
  const std::string database_url_;
};

// "ROLE_STUDENT" for the user_role value "student"; the same for
// difficulties.
v1::Role RoleFromSql(absl::string_view value);
v1::Difficulty DifficultyFromSql(absl::string_view value);

}  // namespace tutoring::testing

#endif  // TUTORING_TESTS_CLIENT_SQL_TRUTH_H_
