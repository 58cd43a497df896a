// Command-line handling shared by every binary's main.cc: absl flags, with an
// environment variable standing in for each flag that was not given.
#ifndef TUTORING_COMMON_COMMAND_LINE_H_
#define TUTORING_COMMON_COMMAND_LINE_H_

#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "absl/types/span.h"

namespace tutoring {

// Names an environment variable that supplies a flag's value when the flag is
// absent from the command line (the command line always wins).
struct FlagFromEnv {
  const char* flag;  // absl flag name, without dashes
  const char* env;   // environment variable name
};

// Sets the usage message, applies `env` bindings, then parses argv (so the
// command line wins). Flag names may be spelled with dashes or underscores
// (`--database-url` and `--database_url` are the same flag). `--help` (or
// `-h`) prints `usage` and every flag of the program with its help text and
// default, then exits with status 0. Returns the positional arguments (argv[0]
// excluded). On a malformed environment value, prints one line naming it to
// stderr and exits with status 2; on a malformed flag, absl prints the error
// and exits with status 1. Call once, from main.
std::vector<std::string> ParseCommandLine(int argc, char** argv,
                                          absl::string_view usage,
                                          absl::Span<const FlagFromEnv> env);

// `message` on a single line, for the one-line errors the command-line tools
// promise: libpq's messages span several ("...failed: Connection refused\n\t
// Is the server running..."); line breaks and tabs become single spaces.
std::string OneLine(absl::string_view message);

}  // namespace tutoring

#endif  // TUTORING_COMMON_COMMAND_LINE_H_
