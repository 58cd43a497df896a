// tutorctl: the command-line client of tutoring.v1.TutoringService, one
// subcommand per RPC plus `health`. The logic lives here so that tests can
// drive it; main.cc only reads the environment and calls Run.
//
// Output: aligned tables by default; with --json, one JSON document (proto
// JSON mapping, every field printed) per response, one per line, so a
// multi-page walk prints one line per page.
//
// Exit status: 0 on success; kExitUsage for a malformed command line (usage
// on stderr); otherwise the gRPC status code number of the failed call
// (3 INVALID_ARGUMENT, 5 NOT_FOUND, 14 UNAVAILABLE, ...) with its message on
// stderr. `health` exits 14 (UNAVAILABLE) when the service is not SERVING.
#ifndef TUTORING_CLIENT_TUTORCTL_TUTORCTL_H_
#define TUTORING_CLIENT_TUTORCTL_TUTORCTL_H_

#include <google/protobuf/timestamp.pb.h>

#include <cstdint>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "absl/types/span.h"
#include "client/client.h"
#include "tutoring/v1/tutoring.pb.h"

namespace tutoring::tutorctl {

// Exit status for a malformed command line (EX_USAGE in <sysexits.h>).
inline constexpr int kExitUsage = 64;

// Where tutorctl connects without --target or TUTORING_TARGET.
inline constexpr char kDefaultTarget[] = "127.0.0.1:50051";

enum class Subcommand {
  kListActiveUsers,
  kListUsersByRole,
  kGetUserRole,
  kListExercises,
  kGetStreak,
  kBatchGetStreaks,
  kHealth,
};

// A parsed command line. Fields a subcommand does not use keep their
// defaults.
struct Invocation {
  // --help or -h anywhere: print the usage and do nothing else.
  bool help = false;
  Subcommand subcommand = Subcommand::kHealth;
  std::string target;
  // --deadline: each call's deadline; unset means ClientOptions' default.
  std::optional<absl::Duration> deadline;
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
};

// The usage text printed by --help and after usage errors.
std::string Usage();

// Parses `args` (argv without the program name). Flags may come before or
// after the subcommand, as --name=value or --name value, with dashes or
// underscores. `default_target` is used when --target is absent.
// INVALID_ARGUMENT (naming the offending argument) for an unknown flag or
// subcommand, a flag the subcommand does not take, a malformed value, or
// missing or extra arguments. Values the server judges (ids <= 0, page sizes,
// page tokens, time zone names) are passed through unchecked.
absl::StatusOr<Invocation> ParseInvocation(absl::Span<const std::string> args,
                                           absl::string_view default_target);

// Makes the calls `invocation` asks for through `client` and writes the
// answers to `out`. Returns the first failed call's status (pages printed
// before it stay printed in --json mode; a table is printed only once
// complete), or UNAVAILABLE when `health` gets an answer other than SERVING
// (after printing it).
absl::Status Execute(const Invocation& invocation, const Client& client,
                     std::ostream& out);

// The whole program: parse, connect, execute. Writes results to `out`,
// usage and errors to `err`; returns the exit status described at the top.
int Run(absl::Span<const std::string> args, absl::string_view default_target,
        std::ostream& out, std::ostream& err);

// `header` and `rows` as left-aligned columns two spaces apart, one line
// each, without trailing spaces. Widths count UTF-8 code points. Every row
// must have header.size() cells.
std::string FormatTable(const std::vector<std::string>& header,
                        const std::vector<std::vector<std::string>>& rows);

}  // namespace tutoring::tutorctl

#endif  // TUTORING_CLIENT_TUTORCTL_TUTORCTL_H_
