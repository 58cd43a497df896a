// libpq connection strings, for every program that connects: validation,
// defaults, a loggable form, and keeping them (and their passwords) out of
// error messages. The one place that handles them.
#ifndef TUTORING_DB_POSTGRES_CONNECTION_STRING_H_
#define TUTORING_DB_POSTGRES_CONNECTION_STRING_H_

#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace tutoring::db {

// Checks `url` (URI "postgresql://..." or "key=value ..." form) with libpq's
// own parser, without connecting, and returns the same settings as a
// key/value string (keyword='value' ..., quoted and escaped) with each of
// `defaults` (keyword, value) added where the keyword is absent or empty.
// INVALID_ARGUMENT, with libpq's reason (the URL itself redacted), for an
// empty or malformed string or one holding a NUL character.
absl::StatusOr<std::string> WithConnectionDefaults(
    absl::string_view url,
    const std::vector<std::pair<std::string, std::string>>& defaults);

// A form of `url` safe to log: host, port, dbname and user only (never the
// password), e.g. "host=127.0.0.1 port=5432 dbname=tutoring user=app".
// "<invalid connection string>" if it does not parse.
std::string DescribeConnectionString(absl::string_view url);

// The value of libpq's connect_timeout for `timeout`: whole seconds, rounded
// up, at least 2 (libpq treats 1 as 2).
std::string ConnectTimeoutSeconds(absl::Duration timeout);

// `status` with every occurrence of `url` in its message replaced by
// "<database URL>" (payloads kept): libpq quotes a malformed URI in its
// error message, password included, and messages end up in logs.
absl::Status RedactConnectionString(const absl::Status& status,
                                    absl::string_view url);

}  // namespace tutoring::db

#endif  // TUTORING_DB_POSTGRES_CONNECTION_STRING_H_
