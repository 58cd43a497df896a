// JSON string escaping shared by the server's log and the load generator's
// report.
#ifndef TUTORING_COMMON_JSON_ESCAPE_H_
#define TUTORING_COMMON_JSON_ESCAPE_H_

#include <string>

#include "absl/strings/string_view.h"

namespace tutoring {

// Appends `text` to `out` as the inside of a JSON string: quotes,
// backslashes and control characters escaped, bytes that are not UTF-8
// replaced by U+FFFD, so that any input gives one line that parses.
void AppendJsonEscaped(absl::string_view text, std::string& out);

// `text` as a whole JSON string, quotes included.
std::string JsonQuoted(absl::string_view text);

}  // namespace tutoring

#endif  // TUTORING_COMMON_JSON_ESCAPE_H_
