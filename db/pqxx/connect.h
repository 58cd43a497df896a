// Opening a libpqxx connection the way every tool does: the connection
// string checked and given a connect_timeout, server notices kept off
// stderr, and the string (with any password) kept out of error messages.
#ifndef TUTORING_DB_PQXX_CONNECT_H_
#define TUTORING_DB_PQXX_CONNECT_H_

#include <memory>
#include <pqxx/pqxx>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace tutoring::db {

// An open connection. INVALID_ARGUMENT for a malformed `database_url`,
// UNAVAILABLE when the server cannot be reached in `connect_timeout`
// (rounded up to whole seconds, at least 2; a connect_timeout in the URL
// wins). Messages never contain the URL.
absl::StatusOr<std::unique_ptr<pqxx::connection>> ConnectPqxx(
    absl::string_view database_url, absl::Duration connect_timeout);

}  // namespace tutoring::db

#endif  // TUTORING_DB_PQXX_CONNECT_H_
