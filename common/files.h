// Reading the small files the binaries are pointed at by flags: PEM
// certificates, policies, token files.
#ifndef TUTORING_COMMON_FILES_H_
#define TUTORING_COMMON_FILES_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace tutoring {

// The whole file at `path`. INVALID_ARGUMENT naming `what` (the flag or
// option that gave the path), the path and the system's reason when it
// cannot be read.
absl::StatusOr<std::string> ReadFileToString(absl::string_view what,
                                             const std::string& path);

// The bearer token on the first line of the file at `path`, without
// surrounding whitespace. INVALID_ARGUMENT when the file cannot be read or
// its first line is blank.
absl::StatusOr<std::string> ReadTokenFile(absl::string_view what,
                                          const std::string& path);

}  // namespace tutoring

#endif  // TUTORING_COMMON_FILES_H_
