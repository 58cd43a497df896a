// Values of PostgreSQL's binary wire format (what a statement with
// StatementSpec::binary_results returns), read into C++ types. Cheaper on
// both sides than text: the server formats nothing and the service parses
// nothing. Every reader checks the length it is given and answers INTERNAL
// for a value that is not of its type.
#ifndef TUTORING_DB_BINARY_VALUES_H_
#define TUTORING_DB_BINARY_VALUES_H_

#include <cstdint>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace tutoring::db {

// int8 / bigint.
absl::StatusOr<int64_t> ReadInt8(absl::string_view value);
// int4 / integer.
absl::StatusOr<int32_t> ReadInt4(absl::string_view value);
// bool.
absl::StatusOr<bool> ReadBool(absl::string_view value);
// timestamptz: microseconds since 2000-01-01 00:00:00 UTC; +-infinity map to
// absl's infinite future and past.
absl::StatusOr<absl::Time> ReadTimestamptz(absl::string_view value);
// int4[] of one dimension without NULL elements (an empty array has no
// dimension).
absl::StatusOr<std::vector<int32_t>> ReadInt4Array(absl::string_view value);

}  // namespace tutoring::db

#endif  // TUTORING_DB_BINARY_VALUES_H_
