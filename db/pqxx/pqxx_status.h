// The one place where libpqxx exceptions become absl::Status, for the
// programs that use libpqxx (the migrator, the seeder, tests). Nothing thrown
// by libpqxx crosses their boundaries: every public function catches and
// converts here.
#ifndef TUTORING_DB_PQXX_PQXX_STATUS_H_
#define TUTORING_DB_PQXX_PQXX_STATUS_H_

#include <exception>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace tutoring::db {

// Converts `error` (anything libpqxx or the standard library throws) into a
// Status whose message starts with `context`: a broken connection is
// ConnectionLossError (UNAVAILABLE), an SQL error goes through
// StatusFromSqlState (db/postgres/sql_state.h), anything else is INTERNAL.
absl::Status StatusFromException(const std::exception_ptr& error,
                                 absl::string_view context);

// Same, for the exception currently being handled (call inside `catch`).
absl::Status StatusFromCurrentException(absl::string_view context);

}  // namespace tutoring::db

#endif  // TUTORING_DB_PQXX_PQXX_STATUS_H_
