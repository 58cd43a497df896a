// tutorctl: command-line client of tutoring.v1.TutoringService (see
// client/tutorctl/tutorctl.h). The only place that reads flags and the
// environment: TUTORING_TARGET stands in for --target. Every usage error
// exits through the common command-line layer: one line on stderr, status
// tutoring::kExitUsage (64).
#include <cstdint>
#include <iostream>
#include <string>

#include "absl/flags/flag.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "client/tutorctl/tutorctl.h"
#include "common/command_line.h"

using tutoring::tutorctl::FlagValues;

ABSL_FLAG(std::string, target, FlagValues().target,
          "server: host:port or any gRPC target (environment: "
          "TUTORING_TARGET)");
ABSL_FLAG(absl::Duration, deadline, FlagValues().deadline,
          "deadline of each call, e.g. 500ms or 5s; UNAVAILABLE answers are "
          "retried within it (default: each method's timeout in the service "
          "config, 5s or 10s)");
ABSL_FLAG(bool, json, FlagValues().json,
          "print JSON (proto JSON mapping, one document per response and "
          "line) instead of a table");
ABSL_FLAG(bool, all_pages, FlagValues().all_pages,
          "list commands: follow next_page_token to the last page");
ABSL_FLAG(int32_t, page_size, FlagValues().page_size,
          "list commands: rows per page (0: the server's default of 50)");
ABSL_FLAG(std::string, page_token, FlagValues().page_token,
          "list commands: start at this page (next_page_token of an earlier "
          "one)");
ABSL_FLAG(std::string, role, FlagValues().role,
          "list-active-users, list-users-by-role: student, instructor or "
          "admin");
ABSL_FLAG(bool, pending_onboarding_only, FlagValues().pending_onboarding_only,
          "list-active-users: only users who have not completed onboarding");
ABSL_FLAG(std::string, difficulty, FlagValues().difficulty,
          "list-exercises: easy, medium or hard");
ABSL_FLAG(std::string, language, FlagValues().language,
          "list-exercises: exact programming language, e.g. python");
ABSL_FLAG(std::string, time_zone, FlagValues().time_zone,
          "get-streak, batch-get-streaks: IANA time zone name (default UTC)");
ABSL_FLAG(std::string, as_of, FlagValues().as_of,
          "get-streak, batch-get-streaks: RFC 3339 instant, e.g. "
          "2026-01-12T08:00:00Z (default: now)");

ABSL_FLAG(bool, tls, FlagValues().tls,
          "connect with TLS, trusting the system's CA roots (implied by the "
          "other --tls-* flags)");
ABSL_FLAG(std::string, tls_ca, FlagValues().tls_ca,
          "TLS: PEM CA bundle the server's certificate must chain to");
ABSL_FLAG(std::string, tls_cert, FlagValues().tls_cert,
          "TLS: PEM client certificate (mTLS), with --tls-key");
ABSL_FLAG(std::string, tls_key, FlagValues().tls_key,
          "TLS: PEM private key of --tls-cert");
ABSL_FLAG(std::string, tls_server_name, FlagValues().tls_server_name,
          "TLS: name the server's certificate must carry, instead of the "
          "target's host");
ABSL_FLAG(std::string, token_file, FlagValues().token_file,
          "file whose first line is a bearer token, sent as authorization: "
          "Bearer <token> (needs TLS)");

int main(int argc, char** argv) {
  constexpr tutoring::FlagFromEnv kEnv[] = {{"target", "TUTORING_TARGET"}};
  const tutoring::CommandLine command_line =
      tutoring::ParseCommandLine(argc, argv, tutoring::tutorctl::Usage(), kEnv);

  FlagValues flags;
  flags.target = absl::GetFlag(FLAGS_target);
  flags.deadline = absl::GetFlag(FLAGS_deadline);
  flags.json = absl::GetFlag(FLAGS_json);
  flags.all_pages = absl::GetFlag(FLAGS_all_pages);
  flags.page_size = absl::GetFlag(FLAGS_page_size);
  flags.page_token = absl::GetFlag(FLAGS_page_token);
  flags.role = absl::GetFlag(FLAGS_role);
  flags.pending_onboarding_only = absl::GetFlag(FLAGS_pending_onboarding_only);
  flags.difficulty = absl::GetFlag(FLAGS_difficulty);
  flags.language = absl::GetFlag(FLAGS_language);
  flags.time_zone = absl::GetFlag(FLAGS_time_zone);
  flags.as_of = absl::GetFlag(FLAGS_as_of);
  flags.tls = absl::GetFlag(FLAGS_tls);
  flags.tls_ca = absl::GetFlag(FLAGS_tls_ca);
  flags.tls_cert = absl::GetFlag(FLAGS_tls_cert);
  flags.tls_key = absl::GetFlag(FLAGS_tls_key);
  flags.tls_server_name = absl::GetFlag(FLAGS_tls_server_name);
  flags.token_file = absl::GetFlag(FLAGS_token_file);

  absl::StatusOr<tutoring::tutorctl::Invocation> invocation =
      tutoring::tutorctl::MakeInvocation(flags, command_line.positional,
                                         command_line.given);
  tutoring::ExitIfUsageError(invocation.status());
  return tutoring::tutorctl::Run(*invocation, std::cout, std::cerr);
}
