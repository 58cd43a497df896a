// What PostgreSQL itself says a client is doing, for tests that check that
// the service's queries ran, waited or were cancelled: pg_stat_activity,
// asked over a separate connection.
#ifndef TUTORING_TESTS_SUPPORT_PG_ACTIVITY_H_
#define TUTORING_TESTS_SUPPORT_PG_ACTIVITY_H_

#include <string>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace tutoring::testing {

// Statements running (state 'active') for sessions whose application_name
// is `application_name`, on the server `database_url` points at, leaving out
// the health probe ("SELECT 1"). -1 (and a test failure) if the server
// cannot be asked.
int ActiveQueries(const std::string& database_url,
                  absl::string_view application_name);

// Polls ActiveQueries until it equals `want` or `timeout` passes; returns
// the last count seen.
int WaitForActiveQueries(const std::string& database_url,
                         absl::string_view application_name, int want,
                         absl::Duration timeout);

// Statements of `application_name` waiting for a lock (a table lock or an
// advisory lock a test holds): unlike ActiveQueries, never a statement
// being prepared or one that is about to finish.
int LockWaiters(const std::string& database_url,
                absl::string_view application_name);

// Polls LockWaiters until it equals `want` or `timeout` passes; returns the
// last count seen.
int WaitForLockWaiters(const std::string& database_url,
                       absl::string_view application_name, int want,
                       absl::Duration timeout);

// Sessions (any state) of `application_name`.
int Sessions(const std::string& database_url,
             absl::string_view application_name);

// One line per session of `application_name`: pid, state, wait event and
// the start of its query. For failure messages.
std::string DescribeSessions(const std::string& database_url,
                             absl::string_view application_name);

}  // namespace tutoring::testing

#endif  // TUTORING_TESTS_SUPPORT_PG_ACTIVITY_H_
