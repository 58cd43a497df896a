#include "tests/support/pg_activity.h"

#include <exception>
#include <pqxx/pqxx>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "gtest/gtest.h"
#include "tests/support/eventually.h"

namespace tutoring::testing {
namespace {

constexpr char kActiveQueriesSql[] =
    "SELECT count(*) FROM pg_stat_activity WHERE application_name = $1"
    " AND state = 'active' AND query NOT LIKE 'SELECT 1%'";

constexpr char kLockWaitersSql[] =
    "SELECT count(*) FROM pg_stat_activity WHERE application_name = $1"
    " AND state = 'active' AND wait_event_type = 'Lock'";

constexpr char kSessionsSql[] =
    "SELECT count(*) FROM pg_stat_activity WHERE application_name = $1";

int Count(const std::string& database_url, const char* sql,
          absl::string_view application_name) {
  try {
    pqxx::connection connection(database_url);
    pqxx::nontransaction tx(connection);
    return tx.exec_params1(sql, std::string(application_name))[0].as<int>();
  } catch (const std::exception& e) {
    ADD_FAILURE() << "pg_stat_activity: " << e.what();
    return -1;
  }
}

}  // namespace

int ActiveQueries(const std::string& database_url,
                  absl::string_view application_name) {
  return Count(database_url, kActiveQueriesSql, application_name);
}

int WaitForActiveQueries(const std::string& database_url,
                         absl::string_view application_name, int want,
                         absl::Duration timeout) {
  int active = -1;
  Eventually(
      [&] {
        active = ActiveQueries(database_url, application_name);
        return active == want || active < 0;
      },
      timeout, absl::Milliseconds(10));
  return active;
}

int LockWaiters(const std::string& database_url,
                absl::string_view application_name) {
  return Count(database_url, kLockWaitersSql, application_name);
}

int WaitForLockWaiters(const std::string& database_url,
                       absl::string_view application_name, int want,
                       absl::Duration timeout) {
  int waiting = -1;
  Eventually(
      [&] {
        waiting = LockWaiters(database_url, application_name);
        return waiting == want || waiting < 0;
      },
      timeout, absl::Milliseconds(10));
  return waiting;
}

int Sessions(const std::string& database_url,
             absl::string_view application_name) {
  return Count(database_url, kSessionsSql, application_name);
}

std::string DescribeSessions(const std::string& database_url,
                             absl::string_view application_name) {
  try {
    pqxx::connection connection(database_url);
    pqxx::nontransaction tx(connection);
    const pqxx::result rows = tx.exec_params(
        "SELECT pid || ' ' || coalesce(state, '-') || ' ' ||"
        " coalesce(wait_event_type || ':' || wait_event, '-') || ' ' ||"
        " left(regexp_replace(query, '\\s+', ' ', 'g'), 80)"
        " FROM pg_stat_activity WHERE application_name = $1 ORDER BY pid",
        std::string(application_name));
    std::string lines;
    for (const auto& row : rows) {
      absl::StrAppend(&lines, row[0].c_str(), "\n");
    }
    return lines;
  } catch (const std::exception& e) {
    return absl::StrCat("pg_stat_activity: ", e.what(), "\n");
  }
}

}  // namespace tutoring::testing
