// The command-line layer of every binary's main.cc: absl flags, an
// environment variable standing in for each flag that was not given,
// `--help`, and one convention for usage errors: a single line on stderr and
// exit status 64 (EX_USAGE in <sysexits.h>), whether the fault is an unknown
// flag, a malformed value, a bad environment variable or a check of the
// program's own.
#ifndef TUTORING_COMMON_COMMAND_LINE_H_
#define TUTORING_COMMON_COMMAND_LINE_H_

#include <set>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "absl/types/span.h"

namespace tutoring {

// Exit status of every binary for a malformed command line or environment.
inline constexpr int kExitUsage = 64;

// Names an environment variable that supplies a flag's value when the flag is
// absent from the command line (the command line always wins).
struct FlagFromEnv {
  const char* flag;  // absl flag name, without dashes: "database_url"
  const char* env;   // environment variable name: "DATABASE_URL"
};

// What ParseCommandLine found besides the flag values (which absl holds).
struct CommandLine {
  // Positional arguments in order, argv[0] excluded.
  std::vector<std::string> positional;
  // absl names of the flags given on the command line (not those set from
  // the environment), for programs whose flags depend on a subcommand.
  std::set<std::string> given;
};

// Parses argv into the program's absl flags, after applying `env` bindings
// (so the command line wins), and returns the rest. Call once, from main.
//
// Flags: --name=value, --name value (non-boolean flags), --name and
// --noname (booleans); names with dashes or underscores (`--database-url` is
// `--database_url`); "--" ends the flags. A lone "-" and negative numbers
// ("-5") are positional arguments. A list flag (std::vector<std::string>,
// comma-separated) may be given several times: the values add up. `--help` (or -h) prints `usage` and every
// flag of the program with its help text and default, then exits 0.
// Any usage error exits through ExitUsageError.
CommandLine ParseCommandLine(int argc, char** argv, absl::string_view usage,
                             absl::Span<const FlagFromEnv> env);

// Prints "<program>: <message> (see --help)" as one line to stderr, then
// exits with kExitUsage. The program name is argv[0]'s last
// component once ParseCommandLine has run.
[[noreturn]] void ExitUsageError(absl::string_view message);

// Checks for mains: INVALID_ARGUMENT naming --`flag` (dashed) unless the
// value is in range. Pass the result to ExitIfUsageError.
absl::Status RequirePositive(absl::string_view flag, absl::Duration value);
absl::Status RequireNonNegative(absl::string_view flag, absl::Duration value);
absl::Status RequireAtLeast(absl::string_view flag, int64_t value,
                            int64_t minimum);

// ExitUsageError(status.message()) unless `status` is OK.
void ExitIfUsageError(const absl::Status& status);

// `message` on a single line, for the one-line errors the command-line tools
// promise: libpq's messages span several ("...failed: Connection refused\n\t
// Is the server running..."); line breaks and tabs become single spaces.
std::string OneLine(absl::string_view message);

}  // namespace tutoring

#endif  // TUTORING_COMMON_COMMAND_LINE_H_
