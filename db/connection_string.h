// libpq connection strings: validation, defaults, and a loggable form.
#ifndef TUTORING_DB_CONNECTION_STRING_H_
#define TUTORING_DB_CONNECTION_STRING_H_

#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace tutoring::db {

// Checks `url` (URI "postgresql://..." or "key=value ..." form) with libpq's
// own parser, without connecting, and returns it with each of `defaults`
// (keyword, value) added where the keyword is absent. INVALID_ARGUMENT, with
// libpq's reason, for an empty or malformed string. Values must not need
// quoting or escaping (numbers and simple names).
absl::StatusOr<std::string> WithConnectionDefaults(
    absl::string_view url,
    const std::vector<std::pair<std::string, std::string>>& defaults);

// A form of `url` safe to log: host, port, dbname and user only (never the
// password), e.g. "host=127.0.0.1 port=5432 dbname=tutoring user=app".
// "<invalid connection string>" if it does not parse.
std::string DescribeConnectionString(absl::string_view url);

}  // namespace tutoring::db

#endif  // TUTORING_DB_CONNECTION_STRING_H_
