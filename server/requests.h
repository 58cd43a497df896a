// Validation of request fields, shared by the service's handlers. Each
// function checks one field against the API contract and, on failure,
// returns INVALID_ARGUMENT with a message naming the field and the rule,
// e.g. "page_size must be >= 0, got -3".
#ifndef TUTORING_SERVER_REQUESTS_H_
#define TUTORING_SERVER_REQUESTS_H_

#include <cstdint>
#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "db/repository.h"
#include "tutoring/v1/tutoring.pb.h"

namespace tutoring::server {

inline constexpr int kDefaultPageSize = 50;
inline constexpr int kMaxPageSize = 1000;
inline constexpr int kMaxBatchSize = 1000;
// Matches exercises.programming_language varchar(50).
inline constexpr int kMaxProgrammingLanguageLength = 50;

// 0 -> 50, above 1000 -> 1000, negative -> INVALID_ARGUMENT.
absl::StatusOr<int> ResolvePageSize(int32_t page_size);

// `id` must be > 0.
absl::Status ValidateId(absl::string_view field, int64_t id);

// A role that must be set: UNSPECIFIED and unknown numbers are invalid.
absl::StatusOr<db::UserRole> RequiredRole(absl::string_view field,
                                          v1::Role role);
// A role filter: UNSPECIFIED means any (nullopt); unknown numbers invalid.
absl::StatusOr<std::optional<db::UserRole>> OptionalRole(
    absl::string_view field, v1::Role role);

// A difficulty that must be set.
absl::StatusOr<db::Difficulty> RequiredDifficulty(absl::string_view field,
                                                  v1::Difficulty difficulty);

// At most 50 characters (code points), no NUL (PostgreSQL text cannot hold
// one, and libpq would cut the string there).
absl::Status ValidateProgrammingLanguage(absl::string_view field,
                                         absl::string_view language);

// The instant a streak is computed at: `as_of` when set, else `now`.
// INVALID_ARGUMENT when `as_of` lies outside the Timestamp range
// (0001-01-01T00:00:00Z .. 9999-12-31T23:59:59.999999999Z, nanos in
// 0..999999999).
absl::StatusOr<absl::Time> ResolveAsOf(absl::string_view field,
                                       const google::protobuf::Timestamp* as_of,
                                       absl::Time now);

// `text` in double quotes for an error message: control characters escaped,
// cut at 64 bytes.
std::string QuoteForMessage(absl::string_view text);

}  // namespace tutoring::server

#endif  // TUTORING_SERVER_REQUESTS_H_
