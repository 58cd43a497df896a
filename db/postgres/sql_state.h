// The one mapping from PostgreSQL's SQLSTATE codes to absl::Status, shared
// by the serving path (libpq) and the tools (libpqxx, db/pqxx/).
#ifndef TUTORING_DB_POSTGRES_SQL_STATE_H_
#define TUTORING_DB_POSTGRES_SQL_STATE_H_

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace tutoring::db {

// SQLSTATE of a statement ended by a cancel request or by statement_timeout
// (the server sends the same code for both; only the sender of the cancel
// request knows which it was). libpqxx 6.4 has no exception class for it.
inline constexpr absl::string_view kSqlStateQueryCanceled = "57014";
// connection_failure: what a connection that broke mid-statement reports.
inline constexpr absl::string_view kSqlStateConnectionFailure = "08006";

// A Status for a statement that failed with SQLSTATE `state`; the message is
// "<context>: <what> (SQLSTATE <state>)":
//   classes 08, 53, 57P (connection, resources, shutdown) -> UNAVAILABLE
//   57014 (cancel, statement timeout)                    -> DEADLINE_EXCEEDED
//   40001, 40P01                                         -> ABORTED
//   23505                                                -> ALREADY_EXISTS
//   other class 23, 42P01, 25006                         -> FAILED_PRECONDITION
//   class 22                                             -> INVALID_ARGUMENT
//   anything else                                        -> INTERNAL
absl::Status StatusFromSqlState(absl::string_view state,
                                absl::string_view context,
                                absl::string_view what);

// UNAVAILABLE for a connection that broke (or could not be opened), marked
// so that IsConnectionLoss can tell it from a server that answered "not now"
// (e.g. SQLSTATE 57P03).
absl::Status ConnectionLossError(absl::string_view context,
                                 absl::string_view what);

// True if `status` came from ConnectionLossError.
bool IsConnectionLoss(const absl::Status& status);

}  // namespace tutoring::db

#endif  // TUTORING_DB_POSTGRES_SQL_STATE_H_
