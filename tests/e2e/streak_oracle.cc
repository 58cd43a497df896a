#include "tests/e2e/streak_oracle.h"

#include <algorithm>
#include <set>

#include "absl/strings/str_format.h"
#include "absl/time/civil_time.h"
#include "gtest/gtest.h"

namespace tutoring::testing {

std::ostream& operator<<(std::ostream& out, const Expected& e) {
  return out << "{current=" << e.current_days << " longest=" << e.longest_days
             << " last='" << e.last_active_date
             << "' active=" << e.active_on_as_of_date << "}";
}

Expected FromProto(const v1::Streak& streak) {
  return {streak.current_days(), streak.longest_days(),
          streak.last_active_date(), streak.active_on_as_of_date()};
}

// The contract's definition, computed naively: collect the activity days,
// then count backwards from T (or T-1) and test every day for run starts.
Expected Oracle(const std::vector<RawRow>& rows, const std::string& zone_name,
                absl::Time as_of) {
  absl::TimeZone zone;
  EXPECT_TRUE(absl::LoadTimeZone(zone_name, &zone)) << zone_name;
  const absl::CivilDay today = absl::ToCivilDay(as_of, zone);
  std::set<absl::CivilDay> days;
  for (const RawRow& row : rows) {
    if (row.status != "completed" || row.created_at > as_of) continue;
    const absl::CivilDay day = absl::ToCivilDay(row.created_at, zone);
    if (day <= today) days.insert(day);
  }
  Expected e;
  if (days.empty()) return e;
  const absl::CivilDay last = *days.rbegin();
  e.last_active_date =
      absl::StrFormat("%04d-%02d-%02d", last.year(), last.month(), last.day());
  e.active_on_as_of_date = days.count(today) > 0;
  absl::CivilDay end = days.count(today) ? today : today - 1;
  while (days.count(end)) {
    ++e.current_days;
    --end;
  }
  for (const absl::CivilDay day : days) {
    if (days.count(day - 1)) continue;  // not the start of a run
    int length = 0;
    while (days.count(day + length)) ++length;
    e.longest_days = std::max(e.longest_days, length);
  }
  return e;
}

std::map<int64_t, std::vector<RawRow>> LoadRows(pqxx::connection& connection,
                                                const std::string& ids) {
  pqxx::nontransaction tx(connection);
  std::map<int64_t, std::vector<RawRow>> rows;
  for (const pqxx::row& row : tx.exec_params(
           "SELECT user_id, (extract(epoch FROM created_at) * 1000000)::int8,"
           " status::text FROM user_exercises WHERE user_id = ANY($1::int8[])",
           ids)) {
    rows[row[0].as<int64_t>()].push_back(
        {absl::FromUnixMicros(row[1].as<int64_t>()), row[2].c_str()});
  }
  return rows;
}

google::protobuf::Timestamp ToTimestamp(absl::Time t) {
  google::protobuf::Timestamp ts;
  const int64_t nanos = absl::ToUnixNanos(t);
  ts.set_seconds(absl::ToUnixSeconds(t));
  ts.set_nanos(static_cast<int32_t>(nanos - ts.seconds() * 1000000000));
  return ts;
}

}  // namespace tutoring::testing
