// An in-process tutoring server on a real socket (port 0), with a real
// connection pool against a real database, and a client channel to it.
#ifndef TUTORING_TESTS_E2E_SERVER_HARNESS_H_
#define TUTORING_TESTS_E2E_SERVER_HARNESS_H_

#include <grpcpp/grpcpp.h>

#include <memory>
#include <string>

#include "absl/time/time.h"
#include "common/clock.h"
#include "db/connection_pool.h"
#include "db/pg_repository.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "server/page_token.h"
#include "server/server.h"
#include "server/time_zones.h"
#include "tutoring/v1/tutoring.grpc.pb.h"

namespace tutoring::testing {

struct HarnessOptions {
  int pool_size = 8;
  int max_overflow = 4;
  int io_threads = 0;  // one per core
  int pipeline_depth = db::PoolOptions().pipeline_depth;
  int max_waiting = 1000;
  absl::Duration acquire_timeout = absl::Seconds(2);
  absl::Duration default_deadline = absl::Seconds(10);
  absl::Duration health_interval = absl::Milliseconds(100);
  absl::Duration health_timeout = absl::Milliseconds(500);
  // Reported in pg_stat_activity, to find the server's queries.
  std::string application_name = "tutoring-e2e";
};

class ServerHarness {
 public:
  // Starts the server against `database_url`; fails the current test (and
  // returns nullptr) if it cannot.
  static std::unique_ptr<ServerHarness> Start(const std::string& database_url,
                                              HarnessOptions options = {});
  ~ServerHarness();

  int port() const { return server_->port(); }
  std::string target() const;
  v1::TutoringService::Stub& stub() { return *stub_; }
  grpc::health::v1::Health::Stub& health() { return *health_; }
  std::shared_ptr<grpc::Channel> channel() { return channel_; }
  db::ConnectionPool& pool() { return *pool_; }
  const HarnessOptions& options() const { return options_; }

  // Health status of `service` ("" = whole server), or an error.
  absl::StatusOr<grpc::health::v1::HealthCheckResponse::ServingStatus>
  CheckHealth(const std::string& service);
  // Polls CheckHealth until it returns `want` or `timeout` passes.
  bool WaitForHealth(const std::string& service,
                     grpc::health::v1::HealthCheckResponse::ServingStatus want,
                     absl::Duration timeout);

 private:
  ServerHarness() = default;

  HarnessOptions options_;
  RealClock clock_;
  std::unique_ptr<server::TimeZoneNames> zones_;
  std::unique_ptr<server::PageTokenCodec> tokens_;
  std::unique_ptr<db::ConnectionPool> pool_;
  std::unique_ptr<db::PgRepository> repository_;
  std::unique_ptr<server::TutoringServer> server_;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<v1::TutoringService::Stub> stub_;
  std::unique_ptr<grpc::health::v1::Health::Stub> health_;
};

// A client context with a deadline `timeout` from now.
std::unique_ptr<grpc::ClientContext> ContextWithDeadline(
    absl::Duration timeout = absl::Seconds(30));

}  // namespace tutoring::testing

#endif  // TUTORING_TESTS_E2E_SERVER_HARNESS_H_
