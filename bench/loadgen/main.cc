// tutoring-bench: a load generator for servers of the tutoring.v1 contract,
// in the spirit of ghz. The only place that reads flags.
#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

#include "absl/flags/commandlineflag.h"
#include "absl/flags/flag.h"
#include "absl/flags/reflection.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "absl/time/time.h"
#include "bench/loadgen/load_generator.h"
#include "bench/loadgen/load_report.h"
#include "bench/loadgen/request_mix.h"
#include "common/command_line.h"

ABSL_FLAG(std::string, target, "127.0.0.1:50051",
          "host:port of the server (plaintext HTTP/2, as gRPC without TLS)");
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
          "length of the measured phase; default 10s unless --total is given");
ABSL_FLAG(int64_t, total, 0,
          "number of calls to measure, instead of --duration");
ABSL_FLAG(absl::Duration, warmup, absl::ZeroDuration(),
          "calls during this first period are made but not counted");
ABSL_FLAG(double, rps, 0,
          "open loop: send this many calls per second whatever the server "
          "does, measuring latency from each call's intended send time; 0 "
          "means closed loop");
ABSL_FLAG(absl::Duration, timeout, absl::Seconds(10),
          "deadline of each call (sent as grpc-timeout, enforced locally); "
          "0 means none");
ABSL_FLAG(absl::Duration, connect_timeout, absl::Seconds(5),
          "time allowed to open one connection");
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

constexpr int kExitUsage = 64;  // EX_USAGE

constexpr char kUsage[] =
    "Drives a tutoring.v1 server (or anything serving "
    "grpc.health.v1.Health) with unary calls and reports QPS, latency "
    "percentiles and status codes.\n"
    "Usage: tutoring-bench --target=host:port (--call=RPC | --mix=RPC:w,...) "
    "[--concurrency=N] [--connections=N] [--duration=10s | --total=N] "
    "[--rps=R] [--json] ...";

[[noreturn]] void UsageError(const std::string& message) {
  std::fprintf(stderr,
               "tutoring-bench: %s\n%s\nRun with --help for every flag.\n",
               message.c_str(), kUsage);
  std::exit(kExitUsage);
}

// absl exits with status 1 on a bad flag; tutoring-bench promises 64
// (EX_USAGE), so every flag is checked here first, the way absl will parse
// it: --name=value, --name value (non-boolean flags), --name / --noname
// (booleans), with dashes or underscores in names.
void CheckFlagsOrExit(int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--") break;
    if (arg.size() < 2 || arg[0] != '-') {
      UsageError(absl::StrCat("unexpected argument \"", arg, "\""));
    }
    std::string body = arg.substr(arg[1] == '-' ? 2 : 1);
    const size_t equals = body.find('=');
    std::string name =
        absl::StrReplaceAll(body.substr(0, equals), {{"-", "_"}});
    if (name == "help" || name == "h" || name == "helpfull") continue;
    absl::CommandLineFlag* flag = absl::FindCommandLineFlag(name);
    bool negated = false;
    if (flag == nullptr && absl::StartsWith(name, "no")) {
      flag = absl::FindCommandLineFlag(name.substr(2));
      negated = flag != nullptr && flag->IsOfType<bool>();
      if (!negated) flag = nullptr;
    }
    if (flag == nullptr) UsageError(absl::StrCat("unknown flag ", arg));
    std::string value;
    if (negated) {
      if (equals != std::string::npos) {
        UsageError(absl::StrCat("--no", flag->Name(), " takes no value"));
      }
      value = "false";
    } else if (equals != std::string::npos) {
      value = body.substr(equals + 1);
    } else if (flag->IsOfType<bool>()) {
      value = "true";
    } else if (i + 1 < argc) {
      value = argv[++i];
    } else {
      UsageError(absl::StrCat("flag ", arg, " needs a value"));
    }
    std::string error;
    if (!flag->ParseFrom(value, &error)) {
      UsageError(absl::StrCat("bad value for --", flag->Name(), ": ", error));
    }
  }
}

}  // namespace

int main(int argc, char** argv) {
  CheckFlagsOrExit(argc, argv);
  const std::vector<std::string> args =
      tutoring::ParseCommandLine(argc, argv, kUsage, {}).positional;
  if (!args.empty()) {
    UsageError(absl::StrCat("unexpected argument \"", args[0], "\""));
  }

  tutoring::bench::LoadOptions options;
  options.target = absl::GetFlag(FLAGS_target);
  const std::string call = absl::GetFlag(FLAGS_call);
  const std::string mix = absl::GetFlag(FLAGS_mix);
  if (call.empty() == mix.empty()) {
    UsageError("give exactly one of --call and --mix");
  }
  if (!call.empty()) {
    absl::StatusOr<tutoring::bench::Rpc> rpc = tutoring::bench::ParseRpc(call);
    if (!rpc.ok()) UsageError(std::string(rpc.status().message()));
    options.mix = {{*rpc, 1}};
  } else {
    absl::StatusOr<std::vector<tutoring::bench::WeightedRpc>> parsed =
        tutoring::bench::ParseMix(mix);
    if (!parsed.ok()) UsageError(std::string(parsed.status().message()));
    options.mix = *std::move(parsed);
  }
  options.concurrency = absl::GetFlag(FLAGS_concurrency);
  options.connections = absl::GetFlag(FLAGS_connections);
  options.threads = absl::GetFlag(FLAGS_threads);
  options.total = absl::GetFlag(FLAGS_total);
  const absl::Duration duration = absl::GetFlag(FLAGS_duration);
  if (options.total > 0 && duration != absl::ZeroDuration()) {
    UsageError("give at most one of --duration and --total");
  }
  options.duration = options.total > 0 || duration == absl::ZeroDuration()
                         ? absl::Seconds(10)
                         : duration;
  options.warmup = absl::GetFlag(FLAGS_warmup);
  options.rps = absl::GetFlag(FLAGS_rps);
  options.timeout = absl::GetFlag(FLAGS_timeout);
  options.connect_timeout = absl::GetFlag(FLAGS_connect_timeout);
  options.seed = absl::GetFlag(FLAGS_seed);
  options.requests.user_id_min = absl::GetFlag(FLAGS_user_id_min);
  options.requests.user_id_max = absl::GetFlag(FLAGS_users);
  options.requests.time_zones = absl::GetFlag(FLAGS_time_zones);
  options.requests.languages = absl::GetFlag(FLAGS_languages);
  options.requests.page_size = absl::GetFlag(FLAGS_page_size);
  options.requests.batch_size = absl::GetFlag(FLAGS_batch_size);
  if (absl::Status valid = tutoring::bench::ValidateLoadOptions(options);
      !valid.ok()) {
    UsageError(std::string(valid.message()));
  }

  absl::StatusOr<tutoring::bench::LoadReport> report =
      tutoring::bench::RunLoad(options);
  if (!report.ok()) {
    std::fprintf(stderr, "tutoring-bench: %s\n",
                 std::string(report.status().message()).c_str());
    return 1;
  }
  const std::string text = absl::GetFlag(FLAGS_json)
                               ? tutoring::bench::FormatJson(*report)
                               : tutoring::bench::FormatText(*report);
  std::fwrite(text.data(), 1, text.size(), stdout);
  return 0;
}
