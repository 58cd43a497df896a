// tutoring-bench: a load generator for servers of the tutoring.v1 contract,
// in the spirit of ghz (see bench/README.md). The only place that reads
// flags; the load itself is tutoring_loadgen's (load_generator.h).
//
// Exit status: 0 when the run completed (failed calls are data, not a
// failure); tutoring::kExitUsage (64) for a bad command line, reported on one
// line by the common command-line layer; 1 when the target cannot be reached.
#include <cstdint>
#include <cstdio>
#include <string>
#include <utility>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "bench/loadgen/load_generator.h"
#include "bench/loadgen/load_report.h"
#include "bench/loadgen/request_mix.h"
#include "common/command_line.h"
#include "common/files.h"

ABSL_FLAG(std::string, target, "127.0.0.1:50051",
          "host:port of the server (plaintext HTTP/2, as gRPC without TLS, "
          "unless --tls or a --tls-* flag is given)");
ABSL_FLAG(bool, tls, false,
          "connect with TLS (ALPN h2), trusting OpenSSL's default CA roots "
          "(implied by the other --tls-* flags)");
ABSL_FLAG(std::string, tls_ca, "",
          "TLS: PEM CA bundle the server's certificate must chain to");
ABSL_FLAG(std::string, tls_cert, "",
          "TLS: PEM client certificate (mTLS), with --tls-key");
ABSL_FLAG(std::string, tls_key, "", "TLS: PEM private key of --tls-cert");
ABSL_FLAG(std::string, tls_server_name, "",
          "TLS: name or IP the server's certificate must carry (default: "
          "the target's host)");
ABSL_FLAG(std::string, token_file, "",
          "file whose first line is a bearer token, sent on every call as "
          "authorization: Bearer <token>");
ABSL_FLAG(std::string, call, "",
          "the one RPC to call: GetUserRole, GetStreak, BatchGetStreaks, "
          "ListActiveUsers, ListUsersByRole, ListExercises, or Health "
          "(grpc.health.v1.Health/Check, service \"\"); full method names "
          "such as tutoring.v1.TutoringService/GetStreak work too");
ABSL_FLAG(std::string, mix, "",
          "instead of --call, RPCs with weights, e.g. "
          "GetStreak:5,GetUserRole:3,ListExercises:1");
ABSL_FLAG(int, concurrency, 50,
          "calls in flight at most, over all connections (closed loop: "
          "always this many)");
ABSL_FLAG(int, connections, 1,
          "HTTP/2 connections to open; each carries concurrency/connections "
          "calls");
ABSL_FLAG(int, threads, 1,
          "event-loop threads (1..connections); one is enough for well over "
          "100k calls/s");
ABSL_FLAG(absl::Duration, duration, absl::ZeroDuration(),
          "length of the measured phase; 0 means the default, 10s, unless "
          "--total is given");
ABSL_FLAG(int64_t, total, 0,
          "number of calls to measure, instead of --duration");
ABSL_FLAG(absl::Duration, warmup, absl::ZeroDuration(),
          "calls during this first period are made but not counted; >= 0");
ABSL_FLAG(double, rps, 0,
          "open loop: send this many calls per second whatever the server "
          "does, measuring latency from each call's intended send time; 0 "
          "means closed loop");
ABSL_FLAG(absl::Duration, timeout, absl::Seconds(10),
          "deadline of each call (sent as grpc-timeout, enforced locally); "
          "0 means none");
ABSL_FLAG(absl::Duration, connect_timeout, absl::Seconds(5),
          "time allowed to open one connection; > 0");
ABSL_FLAG(uint64_t, seed, 1,
          "seed of the request parameters; the same seed repeats the same "
          "requests");
ABSL_FLAG(int64_t, users, tutoring::bench::RequestSpace().user_id_max,
          "user ids are drawn from [--user-id-min, --users]: set it to the "
          "number of seeded users");
ABSL_FLAG(int64_t, user_id_min, tutoring::bench::RequestSpace().user_id_min,
          "lowest user id drawn (ids <= 0 make INVALID_ARGUMENT calls)");
ABSL_FLAG(std::vector<std::string>, time_zones,
          tutoring::bench::RequestSpace().time_zones,
          "comma-separated IANA zones drawn for GetStreak and "
          "BatchGetStreaks");
ABSL_FLAG(std::vector<std::string>, languages,
          tutoring::bench::RequestSpace().languages,
          "comma-separated programming languages drawn for ListExercises; "
          "empty means any language");
ABSL_FLAG(int, page_size, tutoring::bench::RequestSpace().page_size,
          "page_size of the List calls (first pages only)");
ABSL_FLAG(int, batch_size, tutoring::bench::RequestSpace().batch_size,
          "user ids per BatchGetStreaks call");
ABSL_FLAG(bool, json, false, "print the report as one JSON object");

namespace {

constexpr char kUsage[] =
    "Drives a tutoring.v1 server (or anything serving "
    "grpc.health.v1.Health) with unary calls and reports QPS, latency "
    "percentiles and status codes.\n"
    "Usage: tutoring-bench --target=host:port (--call=RPC | --mix=RPC:w,...) "
    "[--concurrency=N] [--connections=N] [--duration=10s | --total=N] "
    "[--rps=R] [--json] ...";

// The calls to make, from --call or --mix (exactly one of them).
std::vector<tutoring::bench::WeightedRpc> WorkloadOrExit() {
  const std::string call = absl::GetFlag(FLAGS_call);
  const std::string mix = absl::GetFlag(FLAGS_mix);
  if (call.empty() == mix.empty()) {
    tutoring::ExitUsageError("give exactly one of --call and --mix");
  }
  if (!call.empty()) {
    absl::StatusOr<tutoring::bench::Rpc> rpc = tutoring::bench::ParseRpc(call);
    tutoring::ExitIfUsageError(rpc.status());
    return {{*rpc, 1}};
  }
  absl::StatusOr<std::vector<tutoring::bench::WeightedRpc>> parsed =
      tutoring::bench::ParseMix(mix);
  tutoring::ExitIfUsageError(parsed.status());
  return *std::move(parsed);
}

}  // namespace

int main(int argc, char** argv) {
  const std::vector<std::string> args =
      tutoring::ParseCommandLine(argc, argv, kUsage, {}).positional;
  if (!args.empty()) {
    tutoring::ExitUsageError(
        absl::StrCat("unexpected argument \"", args[0], "\""));
  }

  tutoring::bench::LoadOptions options;
  options.target = absl::GetFlag(FLAGS_target);
  options.mix = WorkloadOrExit();
  options.concurrency = absl::GetFlag(FLAGS_concurrency);
  options.connections = absl::GetFlag(FLAGS_connections);
  options.threads = absl::GetFlag(FLAGS_threads);
  options.total = absl::GetFlag(FLAGS_total);
  const absl::Duration duration = absl::GetFlag(FLAGS_duration);
  options.warmup = absl::GetFlag(FLAGS_warmup);
  options.rps = absl::GetFlag(FLAGS_rps);
  options.timeout = absl::GetFlag(FLAGS_timeout);
  options.connect_timeout = absl::GetFlag(FLAGS_connect_timeout);
  for (const absl::Status& check : {
           tutoring::RequireAtLeast("connections", options.connections, 1),
           tutoring::RequireAtLeast("concurrency", options.concurrency,
                                    options.connections),
           tutoring::RequireAtLeast("threads", options.threads, 1),
           tutoring::RequireAtLeast("total", options.total, 0),
           // 0 stands for the default (see the flag).
           tutoring::RequireNonNegative("duration", duration),
           tutoring::RequireNonNegative("warmup", options.warmup),
           // 0 means no deadline.
           tutoring::RequireNonNegative("timeout", options.timeout),
           tutoring::RequirePositive("connect-timeout",
                                     options.connect_timeout),
       }) {
    tutoring::ExitIfUsageError(check);
  }
  if (options.total > 0 && duration != absl::ZeroDuration()) {
    tutoring::ExitUsageError("give at most one of --duration and --total");
  }
  options.duration = options.total > 0 || duration == absl::ZeroDuration()
                         ? absl::Seconds(10)
                         : duration;
  options.seed = absl::GetFlag(FLAGS_seed);
  options.requests.user_id_min = absl::GetFlag(FLAGS_user_id_min);
  options.requests.user_id_max = absl::GetFlag(FLAGS_users);
  options.requests.time_zones = absl::GetFlag(FLAGS_time_zones);
  options.requests.languages = absl::GetFlag(FLAGS_languages);
  options.requests.page_size = absl::GetFlag(FLAGS_page_size);
  options.requests.batch_size = absl::GetFlag(FLAGS_batch_size);
  // The rules that span several flags (threads <= connections, the user id
  // range, --rps, ...).
  tutoring::ExitIfUsageError(tutoring::bench::ValidateLoadOptions(options));
  if (absl::GetFlag(FLAGS_tls) || !absl::GetFlag(FLAGS_tls_ca).empty() ||
      !absl::GetFlag(FLAGS_tls_cert).empty() ||
      !absl::GetFlag(FLAGS_tls_key).empty() ||
      !absl::GetFlag(FLAGS_tls_server_name).empty()) {
    options.tls = tutoring::bench::TlsSettings{
        absl::GetFlag(FLAGS_tls_ca), absl::GetFlag(FLAGS_tls_cert),
        absl::GetFlag(FLAGS_tls_key), absl::GetFlag(FLAGS_tls_server_name)};
  }
  if (const std::string path = absl::GetFlag(FLAGS_token_file);
      !path.empty()) {
    absl::StatusOr<std::string> token =
        tutoring::ReadTokenFile("--token-file", path);
    tutoring::ExitIfUsageError(token.status());
    options.bearer_token = *std::move(token);
  }

  absl::StatusOr<tutoring::bench::LoadReport> report =
      tutoring::bench::RunLoad(options);
  if (!report.ok()) {
    if (report.status().code() == absl::StatusCode::kInvalidArgument) {
      tutoring::ExitUsageError(report.status().message());
    }
    std::fprintf(stderr, "tutoring-bench: %s\n",
                 tutoring::OneLine(report.status().message()).c_str());
    return 1;
  }
  const std::string text = absl::GetFlag(FLAGS_json)
                               ? tutoring::bench::FormatJson(*report)
                               : tutoring::bench::FormatText(*report);
  std::fwrite(text.data(), 1, text.size(), stdout);
  return 0;
}
