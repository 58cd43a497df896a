// Wiring: a gRPC server with the tutoring service, health, and reflection
// (v1 and v1alpha, server/reflection.h) on one listening port. Used by
// main.cc and by end-to-end tests, which listen on port 0.
#ifndef TUTORING_SERVER_SERVER_H_
#define TUTORING_SERVER_SERVER_H_

#include <grpcpp/grpcpp.h>

#include <memory>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "common/clock.h"
#include "db/repository.h"
#include "server/admission.h"
#include "server/call_telemetry.h"
#include "server/connection_options.h"
#include "server/grpc_async_service.h"
#include "server/grpc_service.h"
#include "server/health.h"
#include "server/page_token.h"
#include "server/reflection.h"
#include "server/security.h"
#include "server/service.h"
#include "server/time_zones.h"

namespace tutoring::server {

// Which of gRPC's server APIs carries the calls (both run the same
// TutoringService; docs/PERFORMANCE.md compares them).
enum class GrpcApi {
  kCallback,  // grpc::CallbackService reactors (server/grpc_service.h)
  kAsync,     // completion queues, one thread each (grpc_async_service.h)
};

struct ServerOptions {
  // host:port ([v6-address]:port) to listen on; port 0 picks a free port
  // (see port()).
  std::string listen_address = "127.0.0.1:50051";
  GrpcServiceOptions service;
  GrpcApi grpc_api = GrpcApi::kAsync;
  // kAsync: completion-queue threads; 0 means one per CPU core.
  int grpc_threads = 0;
  HealthOptions health;
  // On shutdown, health reports NOT_SERVING this long before the listener
  // closes, so load balancers stop sending calls first.
  absl::Duration drain_delay = absl::ZeroDuration();
  // In-flight calls get this long to finish after the listener closes;
  // then they are cancelled.
  absl::Duration shutdown_grace = absl::Seconds(10);
  // Metrics, request ids and the access log for every call (not owned; must
  // outlive the server). Null: none of that, and callers see the raw
  // messages of INTERNAL and UNAVAILABLE answers (tests only).
  CallTelemetry* telemetry = nullptr;
  // TLS, mTLS, authorization policy and bearer tokens (server/security.h);
  // plaintext by default.
  SecurityOptions security;
  // Maximum connection age, keepalive, streams per connection, request size
  // (server/connection_options.h).
  ConnectionOptions connection;
  // Limits on calls in flight (server/admission.h).
  AdmissionOptions admission;
  // Serve grpc.reflection.v1 and v1alpha (server/reflection.h).
  bool reflection = true;
};

class TutoringServer {
 public:
  // Builds and starts the server. The collaborators must outlive it.
  // INVALID_ARGUMENT for a listen address that is not host:port with a port
  // in 0..65535, and for options that MakeServerSecurity,
  // ValidateConnectionOptions or ValidateAdmissionOptions reject;
  // UNAVAILABLE when the address cannot be bound (in use, not local). A
  // second server on the same port fails rather than sharing it
  // (SO_REUSEPORT is off).
  static absl::StatusOr<std::unique_ptr<TutoringServer>> Start(
      const ServerOptions& options, db::Repository& repository,
      const PageTokenCodec& tokens, const TimeZoneNames& zones,
      const Clock& clock);

  TutoringServer(const TutoringServer&) = delete;
  TutoringServer& operator=(const TutoringServer&) = delete;
  ~TutoringServer();

  // The port the server listens on (the chosen one when asked for 0).
  int port() const { return port_; }

  // Readiness (the database answers and no shutdown began) and liveness
  // (no shutdown began), as the health service reports them.
  bool ready() const { return health_->ready(); }
  bool live() const { return health_->live(); }

  // Graceful stop, bounded by drain_delay + shutdown_grace:
  //  1. health reports NOT_SERVING; calls are still served for drain_delay;
  //  2. new calls are held, never started, while those in flight finish
  //     (for at most a second);
  //  3. the listener closes and every connection gets GOAWAY; the held
  //     calls are refused with UNAVAILABLE shortly after (once the clients
  //     have read the GOAWAY, so that they retry on a new connection);
  //  4. calls still running when the grace period ends are cancelled.
  // Holding instead of refusing at once keeps clients from sending new calls
  // while GOAWAY is on its way: gRPC cancels (CANCELLED, which clients do
  // not retry) a call that arrives after its shutdown began.
  // Idempotent; thread-safe.
  void Shutdown() ABSL_LOCKS_EXCLUDED(mu_);

 private:
  TutoringServer(const ServerOptions& options, const Clock& clock,
                 std::unique_ptr<CallAdmission> admission,
                 std::unique_ptr<TutoringService> service,
                 std::unique_ptr<GrpcTutoringService> grpc_service,
                 std::unique_ptr<GrpcAsyncTutoringService> async_service,
                 std::unique_ptr<ReflectionServices> reflection,
                 std::unique_ptr<grpc::Server> server, int port,
                 std::unique_ptr<HealthReporter> health);

  // Constant after construction; all set, or Start fails.
  const ServerOptions options_;
  const Clock& clock_;
  const std::unique_ptr<CallAdmission> admission_;
  const std::unique_ptr<TutoringService> service_;
  // One of the two, as options_.grpc_api says.
  const std::unique_ptr<GrpcTutoringService> grpc_service_;
  const std::unique_ptr<GrpcAsyncTutoringService> async_service_;
  const std::unique_ptr<ReflectionServices> reflection_;
  const std::unique_ptr<grpc::Server> server_;
  const int port_;
  const std::unique_ptr<HealthReporter> health_;

  absl::Mutex mu_;
  bool shut_down_ ABSL_GUARDED_BY(mu_) = false;
};

}  // namespace tutoring::server

#endif  // TUTORING_SERVER_SERVER_H_
