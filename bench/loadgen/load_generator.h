// The load generator behind tutoring-bench: keeps a fixed number of unary
// gRPC calls in flight (closed loop) or sends them at a fixed rate (open
// loop) over several HTTP/2 connections, and reports what came back.
//
// Thread safety: the functions share no state; RunLoad may run concurrently
// with itself.
#ifndef TUTORING_BENCH_LOADGEN_LOAD_GENERATOR_H_
#define TUTORING_BENCH_LOADGEN_LOAD_GENERATOR_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "bench/loadgen/h2_connection.h"
#include "bench/loadgen/load_report.h"
#include "bench/loadgen/request_mix.h"

namespace tutoring::bench {

// What to run. Every field has a usable default except `mix`;
// ValidateLoadOptions states the ranges.
struct LoadOptions {
  // host:port of any server of the tutoring.v1 contract.
  std::string target = "127.0.0.1:50051";
  // TLS (OpenSSL, ALPN h2) when set, else plaintext HTTP/2.
  std::optional<TlsSettings> tls;
  // When not empty, every call carries "authorization: Bearer <token>".
  std::string bearer_token;
  // What to call, by weight; non-empty.
  std::vector<WeightedRpc> mix;
  // Where request parameters come from.
  RequestSpace requests;
  // Calls in flight at most, over all connections; >= connections. Each
  // connection gets an equal share.
  int concurrency = 50;
  // HTTP/2 connections (TCP connections), >= 1.
  int connections = 1;
  // Event-loop threads, 1..connections; connection i belongs to thread
  // i % threads.
  int threads = 1;
  // Calls to measure (after the warmup); 0 means: run for `duration`.
  int64_t total = 0;
  // Length of the measured phase when total is 0; > 0.
  absl::Duration duration = absl::Seconds(10);
  // Calls before this much time has passed are made but not counted.
  absl::Duration warmup = absl::ZeroDuration();
  // > 0: open loop, this many calls per second over all threads, latency
  // measured from each call's intended send time; calls that find no free
  // slot (concurrency reached) wait, and their wait counts as latency.
  // 0: closed loop, a new call as soon as one finishes.
  double rps = 0;
  // Deadline of each call, sent as grpc-timeout and enforced here
  // (DEADLINE_EXCEEDED). Zero (or infinite) means no deadline: no
  // grpc-timeout header, which spares the server a timer per call (h2load
  // sends none either).
  absl::Duration timeout = absl::Seconds(10);
  // Budget for opening one connection (TCP and HTTP/2 SETTINGS).
  absl::Duration connect_timeout = absl::Seconds(5);
  // Makes the requests repeatable: thread w draws its measured requests from
  // WorkerSeed(seed, w, false) and its warmup requests from
  // WorkerSeed(seed, w, true).
  uint64_t seed = 1;
};

// INVALID_ARGUMENT naming the first option out of range.
absl::Status ValidateLoadOptions(const LoadOptions& options);

// The seed of thread `worker`'s RequestGenerator. With one thread and no
// warmup, the measured calls are exactly the first `total` requests of
// RequestGenerator(mix, requests, WorkerSeed(seed, 0, false)).
uint64_t WorkerSeed(uint64_t seed, int worker, bool warmup);

// Connects every connection, runs the load on `options.threads` threads of
// its own, and reports the measured phase; blocks until done. Calls that fail
// count under their status code; connections that break are reopened (their
// calls fail UNAVAILABLE, and while a connection is down each of its free
// slots fails one call per reconnect attempt, 100 ms to 1 s apart).
// Errors: INVALID_ARGUMENT for options ValidateLoadOptions rejects or a
// malformed target; UNAVAILABLE when the target does not resolve or a
// connection cannot be opened at the start; INTERNAL when the event loop
// cannot be set up (epoll).
absl::StatusOr<LoadReport> RunLoad(const LoadOptions& options);

}  // namespace tutoring::bench

#endif  // TUTORING_BENCH_LOADGEN_LOAD_GENERATOR_H_
