// The outcome of a tutoring-bench run and its two renderings: text for
// people, JSON for scripts. Plain values; the functions are pure (and so
// thread-safe).
#ifndef TUTORING_BENCH_LOADGEN_LOAD_REPORT_H_
#define TUTORING_BENCH_LOADGEN_LOAD_REPORT_H_

#include <array>
#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/string_view.h"
#include "bench/loadgen/histogram.h"
#include "bench/loadgen/request_mix.h"

namespace tutoring::bench {

// gRPC status codes 0 (OK) .. 16 (UNAUTHENTICATED).
inline constexpr int kStatusCodeCount = 17;

// The canonical name of a gRPC status code ("OK", "NOT_FOUND"); "UNKNOWN"
// for numbers outside 0..16.
absl::string_view StatusCodeName(int code);

// Calls counted by status code, and their latencies in nanoseconds.
struct CallStats {
  std::array<int64_t, kStatusCodeCount> codes{};
  Histogram latency;

  int64_t calls() const;
  int64_t errors() const { return calls() - codes[0]; }
  void Merge(const CallStats& other);
};

struct LoadReport {
  // How the run was set up.
  std::string target;
  std::string workload;  // "Health", or a mix "GetStreak:5,GetUserRole:3"
  int concurrency = 0;
  int connections = 0;
  int threads = 0;
  double target_rps = 0;  // 0: closed loop
  uint64_t seed = 0;

  // What happened in the measured phase (after the warmup): from its start
  // to the completion of its last call.
  double elapsed_seconds = 0;
  CallStats all;
  // Per RPC of the workload, in the workload's order.
  std::vector<std::pair<Rpc, CallStats>> by_rpc;
  // The first grpc-message seen for each failing status code.
  std::map<int, std::string> error_messages;

  // Completed calls per second.
  double qps() const;
};

// Multi-line, human-readable summary: totals, QPS, latency percentiles,
// counts by status code (with a sample message per error code), and a line
// per RPC.
std::string FormatText(const LoadReport& report);

// One JSON object (keys: target, workload, mode, target_rps, concurrency,
// connections, threads, seed, elapsed_seconds, total, errors, qps,
// status_codes {NAME: count}, latency_ms {min, mean, p50, p90, p99, p99_9,
// max}, rpcs {Name: {total, errors, status_codes, latency_ms}},
// error_messages {NAME: text}), followed by a newline.
std::string FormatJson(const LoadReport& report);

}  // namespace tutoring::bench

#endif  // TUTORING_BENCH_LOADGEN_LOAD_REPORT_H_
