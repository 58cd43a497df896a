// An independent oracle for streaks: raw rows from SQL, dates computed with
// absl's time zone library (the server computes them in PostgreSQL), and the
// API contract's rules written out again, naively.
#ifndef TUTORING_TESTS_E2E_STREAK_ORACLE_H_
#define TUTORING_TESTS_E2E_STREAK_ORACLE_H_

#include <cstdint>
#include <map>
#include <ostream>
#include <string>
#include <vector>

#include <pqxx/pqxx>

#include "absl/time/time.h"
#include "tutoring/v1/tutoring.pb.h"

namespace tutoring::testing {

struct RawRow {
  absl::Time created_at;
  std::string status;
};

// The four fields of a Streak besides user_id.
struct Expected {
  int current_days = 0;
  int longest_days = 0;
  std::string last_active_date;
  bool active_on_as_of_date = false;

  bool operator==(const Expected& o) const {
    return current_days == o.current_days && longest_days == o.longest_days &&
           last_active_date == o.last_active_date &&
           active_on_as_of_date == o.active_on_as_of_date;
  }
};

std::ostream& operator<<(std::ostream& out, const Expected& e);

Expected FromProto(const v1::Streak& streak);

// The contract's streak of a user with `rows`, in IANA zone `zone_name`, as
// of `as_of`.
Expected Oracle(const std::vector<RawRow>& rows, const std::string& zone_name,
                absl::Time as_of);

// Every user_exercises row of the users in `ids` ("{1,2,3}"), by user.
std::map<int64_t, std::vector<RawRow>> LoadRows(pqxx::connection& connection,
                                                const std::string& ids);

google::protobuf::Timestamp ToTimestamp(absl::Time t);

}  // namespace tutoring::testing

#endif  // TUTORING_TESTS_E2E_STREAK_ORACLE_H_
