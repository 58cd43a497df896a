// What the server records about every call, for every service it serves
// (tutoring, health, reflection), through one gRPC server interceptor:
//
// - Prometheus metrics with the names grpc-ecosystem's Prometheus
//   middlewares use: grpc_server_started_total and grpc_server_handled_total
//   (by grpc_type, grpc_service, grpc_method, and grpc_code for handled),
//   grpc_server_handling_seconds (a histogram, same labels as handled), and
//   tutoring_calls_in_flight, tutoring_calls_shed_total (RESOURCE_EXHAUSTED)
//   and tutoring_calls_deadline_exceeded_total by method.
// - A request id per call: the caller's `x-request-id` when it is a short
//   token of [A-Za-z0-9._-], else a random one; sent back in the trailing
//   metadata of every failed call.
// - No internals to callers: an answer whose code means "the server or the
//   database failed" (INTERNAL, UNAVAILABLE, UNKNOWN, DATA_LOSS, ABORTED,
//   FAILED_PRECONDITION) is sent with a message in the caller's words that
//   carries the request id (server/grpc_status.h, CallerMessage); the
//   original message (host, port, SQL state) is logged with that id only.
// - An access log line per call (method, code, duration, peer, request id,
//   response bytes, the W3C `traceparent` when the caller sent a valid
//   one), for a sampled share of the calls; failed calls are logged
//   whatever the sample, rate-limited per code (server/logging.h).
#ifndef TUTORING_SERVER_CALL_TELEMETRY_H_
#define TUTORING_SERVER_CALL_TELEMETRY_H_

#include <grpcpp/support/server_interceptor.h>
#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

#include <array>
#include <atomic>
#include <memory>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "common/clock.h"

namespace tutoring::server {

struct CallTelemetryOptions {
  // Share of the calls (0..1) that get an access log line; failed calls are
  // logged regardless (rate-limited). 0 turns the line off for OK calls.
  double access_log_sample = 1.0;
};

// Thread-safe. `registry` and `clock` must outlive it, and it must outlive
// every server built with its interceptor factory.
class CallTelemetry {
 public:
  CallTelemetry(prometheus::Registry& registry, const Clock& clock,
                CallTelemetryOptions options);
  CallTelemetry(const CallTelemetry&) = delete;
  CallTelemetry& operator=(const CallTelemetry&) = delete;

  // A factory for ServerBuilder::experimental().SetInterceptorCreators.
  std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>
  InterceptorFactory();

  // The metrics of one method (full name "/package.Service/Method"),
  // created on first use. Public for the interceptor in the .cc file.
  class MethodMetrics;
  MethodMetrics& ForMethod(const char* full_name,
                           grpc::experimental::ServerRpcInfo::Type type)
      ABSL_LOCKS_EXCLUDED(mu_);

  const Clock& clock() const { return clock_; }
  const CallTelemetryOptions& options() const { return options_; }

 private:
  // Constant after construction.
  const Clock& clock_;
  const CallTelemetryOptions options_;
  prometheus::Family<prometheus::Counter>& started_;
  prometheus::Family<prometheus::Counter>& handled_;
  prometheus::Family<prometheus::Histogram>& handling_seconds_;
  prometheus::Family<prometheus::Gauge>& in_flight_;
  prometheus::Family<prometheus::Counter>& shed_;
  prometheus::Family<prometheus::Counter>& deadline_exceeded_;

  absl::Mutex mu_;
  // By the method name's address: gRPC passes the same pointer (its
  // registered method's name) for every call of a method.
  absl::flat_hash_map<const char*, std::unique_ptr<MethodMetrics>> methods_
      ABSL_GUARDED_BY(mu_);
};

// One method's metric children, created once; the per-code ones on first
// use of a code.
class CallTelemetry::MethodMetrics {
 public:
  MethodMetrics(CallTelemetry& owner, std::string full_name,
                std::string type);

  const std::string& full_name() const { return full_name_; }
  void Started();
  void Finished(int code, double seconds);

 private:
  struct PerCode {
    prometheus::Counter* handled;
    prometheus::Histogram* seconds;
  };
  const PerCode& ForCode(int code);

  CallTelemetry& owner_;
  const std::string full_name_;
  const std::string type_;
  std::string service_;
  std::string method_;
  prometheus::Counter* started_;
  prometheus::Gauge* in_flight_;
  prometheus::Counter* shed_;
  prometheus::Counter* deadline_exceeded_;
  // Indexed by grpc::StatusCode (0..16); set once, read without a lock.
  std::array<std::atomic<const PerCode*>, 17> codes_{};
  absl::Mutex codes_mu_;
  std::vector<std::unique_ptr<PerCode>> owned_ ABSL_GUARDED_BY(codes_mu_);
};

// "/pkg.Service/Method" -> ("pkg.Service", "Method"); anything else ->
// ("unknown", the name).
std::pair<std::string, std::string> SplitMethodName(absl::string_view name);

// The caller's x-request-id when it is 1..64 characters of [A-Za-z0-9._-],
// else empty.
std::string AcceptedRequestId(absl::string_view header);
// A W3C traceparent ("00-<32 hex>-<16 hex>-<2 hex>") or empty.
std::string AcceptedTraceparent(absl::string_view header);
// A new random request id (16 hex digits).
std::string NewRequestId();

}  // namespace tutoring::server

#endif  // TUTORING_SERVER_CALL_TELEMETRY_H_
