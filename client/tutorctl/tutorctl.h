// tutorctl: the command-line client of tutoring.v1.TutoringService, one
// subcommand per RPC plus `health`. main.cc defines the flags and reads them
// (and TUTORING_TARGET) through the common command-line layer
// (common/command_line.h); this library holds the logic, so that tests can
// drive it: the subcommand and its arguments, which flags apply to which
// subcommand, the parsing of values such as --role and --as-of, the calls,
// and the output.
//
// Output: aligned tables by default; with --json, one JSON document (proto
// JSON mapping, every field printed) per response, one per line, so a
// multi-page walk prints one line per page.
//
// Exit status: 0 on success; tutoring::kExitUsage (64) for a malformed
// command line, with one line on stderr (main.cc exits through the common
// layer on an error of MakeInvocation); otherwise the gRPC status code
// number of the failed call (3 INVALID_ARGUMENT, 5 NOT_FOUND, 14 UNAVAILABLE,
// ...) with its message on stderr. `health` exits 14 (UNAVAILABLE) when the
// service is not SERVING.
//
// Thread safety: the functions share no state and may run concurrently.
#ifndef TUTORING_CLIENT_TUTORCTL_TUTORCTL_H_
#define TUTORING_CLIENT_TUTORCTL_TUTORCTL_H_

#include <google/protobuf/timestamp.pb.h>

#include <cstdint>
#include <optional>
#include <ostream>
#include <set>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "absl/types/span.h"
#include "client/client.h"
#include "tutoring/v1/tutoring.pb.h"

namespace tutoring::tutorctl {

// Where tutorctl connects without --target or TUTORING_TARGET.
inline constexpr char kDefaultTarget[] = "127.0.0.1:50051";

// The values of tutorctl's flags, as main.cc's absl flags hold them after
// parsing (the command line over TUTORING_TARGET over the defaults). The
// defaults here are the flags' defaults. An empty --role, --difficulty or
// --as-of counts as unset unless the flag was given (then it is malformed).
struct FlagValues {
  // --target: any gRPC target. Empty (an empty TUTORING_TARGET) counts as
  // unset unless --target was given.
  std::string target = kDefaultTarget;
  // --deadline: each call's deadline; must be positive and finite when
  // given. The default, infinite, stands for "not given": each method's
  // timeout in the service config (client/service_config.json).
  absl::Duration deadline = absl::InfiniteDuration();
  // --json: JSON instead of tables.
  bool json = false;
  // Paging of the list subcommands: --all-pages, --page-size, --page-token.
  bool all_pages = false;
  int32_t page_size = 0;
  std::string page_token;
  // --role: "student" or "ROLE_STUDENT" (any case), ...; "" for none.
  std::string role;
  // --pending-onboarding-only.
  bool pending_onboarding_only = false;
  // --difficulty: "easy" or "DIFFICULTY_EASY" (any case), ...; "" for none.
  std::string difficulty;
  // --language: exact programming language.
  std::string language;
  // --time-zone: IANA name; "" for the server's default (UTC).
  std::string time_zone;
  // --as-of: an RFC 3339 instant; "" for now.
  std::string as_of;
  // TLS: --tls (system roots), --tls-ca, --tls-cert, --tls-key,
  // --tls-server-name; any of them turns TLS on.
  bool tls = false;
  std::string tls_ca;
  std::string tls_cert;
  std::string tls_key;
  std::string tls_server_name;
  // --token-file: a file whose first line is the bearer token to send.
  std::string token_file;
};

enum class Subcommand {
  kListActiveUsers,
  kListUsersByRole,
  kGetUserRole,
  kListExercises,
  kGetStreak,
  kBatchGetStreaks,
  kHealth,
};

// A checked command line: what to call, and how. Fields a subcommand does
// not use keep their defaults.
struct Invocation {
  Subcommand subcommand = Subcommand::kHealth;
  std::string target = kDefaultTarget;
  // Each call's deadline (ClientOptions::default_deadline); > 0. Unset:
  // each method's timeout in the service config.
  std::optional<absl::Duration> deadline = ClientOptions().default_deadline;
  bool json = false;
  bool all_pages = false;
  int32_t page_size = 0;
  std::string page_token;
  v1::Role role = v1::ROLE_UNSPECIFIED;
  bool pending_onboarding_only = false;
  v1::Difficulty difficulty = v1::DIFFICULTY_UNSPECIFIED;
  std::string language;
  std::string time_zone;
  std::optional<google::protobuf::Timestamp> as_of;
  // get-user-role, get-streak: one id; batch-get-streaks: one or more.
  std::vector<int64_t> user_ids;
  // health: the service name asked about ("" = the whole server).
  std::string health_service;
  // ClientOptions::tls and ::bearer_token.
  std::optional<TlsOptions> tls;
  std::string bearer_token;
};

// The usage text --help prints before the list of flags: the subcommands,
// their arguments, and the exit status.
std::string Usage();

// Checks a command line and builds its invocation. `args` are the
// positional arguments, the subcommand first; `given` holds the absl names
// (with underscores: "page_size") of the flags given on the command line,
// as tutoring::CommandLine::given does. Each flag's value is used only by the
// subcommands it applies to; a flag in `given` that does not apply is an
// error.
//
// INVALID_ARGUMENT, naming the offending argument, for a missing or unknown
// subcommand; a given flag that the subcommand does not take (or that
// tutorctl does not have); a malformed value (--role, --difficulty, --as-of,
// a deadline that is not positive and finite, an empty --target given);
// list-users-by-role without --role or list-exercises without --difficulty;
// a wrong number of arguments, or a USER_ID that is not a 64-bit integer;
// --tls-cert without --tls-key or the reverse; a --token-file that cannot
// be read or holds no token; a token without TLS.
// Values the server judges (ids <= 0, page sizes, page tokens, time zone
// names) pass through unchecked.
absl::StatusOr<Invocation> MakeInvocation(const FlagValues& flags,
                                          absl::Span<const std::string> args,
                                          const std::set<std::string>& given);

// Makes the calls `invocation` asks for through `client` and writes the
// answers to `out`. Returns the first failed call's status (pages printed
// before it stay printed in --json mode; a table is printed only once
// complete), or UNAVAILABLE when `health` gets an answer other than SERVING
// (after printing it).
absl::Status Execute(const Invocation& invocation, const Client& client,
                     std::ostream& out);

// Connects to invocation.target and executes it: results go to `out`, a
// failed call's code and message to `err` as one line ("tutorctl:
// NOT_FOUND: ..."). Returns the exit status: 0, or the failed call's gRPC
// status code.
int Run(const Invocation& invocation, std::ostream& out, std::ostream& err);

// `header` and `rows` as left-aligned columns two spaces apart, one line
// each, without trailing spaces. Widths count UTF-8 code points. Every row
// must have header.size() cells.
std::string FormatTable(const std::vector<std::string>& header,
                        const std::vector<std::vector<std::string>>& rows);

}  // namespace tutoring::tutorctl

#endif  // TUTORING_CLIENT_TUTORCTL_TUTORCTL_H_
