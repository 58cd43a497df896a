// The one place where libpqxx exceptions become absl::Status. Nothing thrown
// by libpqxx crosses the db/ boundary: every public db/ function catches and
// converts here.
#ifndef TUTORING_DB_PG_ERROR_H_
#define TUTORING_DB_PG_ERROR_H_

#include <exception>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace tutoring::db {

// SQLSTATE of a statement cancelled by a cancel request or by
// statement_timeout. libpqxx 6.4 has no exception class for it.
inline constexpr absl::string_view kSqlStateQueryCanceled = "57014";

// Converts `error` (anything libpqxx or the standard library throws) into a
// Status whose message starts with `context`:
//   broken connection, SQLSTATE classes 08, 53, 57P0x -> UNAVAILABLE
//   57014 (cancel, statement timeout)                 -> DEADLINE_EXCEEDED
//   40001, 40P01                                      -> ABORTED
//   23505                                             -> ALREADY_EXISTS
//   other class 23, 42P01, 25006                      -> FAILED_PRECONDITION
//   class 22                                          -> INVALID_ARGUMENT
//   anything else                                     -> INTERNAL
// The SQLSTATE, when there is one, is kept in the message.
absl::Status StatusFromException(const std::exception_ptr& error,
                                 absl::string_view context);

// Same, for the exception currently being handled (call inside `catch`).
absl::Status StatusFromCurrentException(absl::string_view context);

// True if `status` came from a connection that broke (as opposed to a
// statement that failed on a healthy connection).
bool IsConnectionLoss(const absl::Status& status);

}  // namespace tutoring::db

#endif  // TUTORING_DB_PG_ERROR_H_
