// Keeps grpc.health.v1.Health in step with the database: "" and
// "tutoring.v1.TutoringService" are SERVING only while a periodic probe
// through the connection pool succeeds, and flip back by themselves.
#ifndef TUTORING_SERVER_HEALTH_H_
#define TUTORING_SERVER_HEALTH_H_

#include <grpcpp/health_check_service_interface.h>

#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "common/clock.h"
#include "db/call_context.h"
#include "db/repository.h"

namespace tutoring::server {

// Health service names kept in step with the database.
inline constexpr char kTutoringServiceName[] = "tutoring.v1.TutoringService";
// SERVING from start until shutdown whatever the database does: for
// liveness probes, which must not restart pods during a database outage.
inline constexpr char kLivenessServiceName[] = "liveness";

struct HealthOptions {
  // Time between probes. A stall is noticed within interval + timeout, so
  // the interval is short: a probe is one SELECT 1 (10 a second, nothing
  // next to the calls), and NOT_SERVING comes within timeout + 100 ms.
  absl::Duration interval = absl::Milliseconds(100);
  // A probe that has not answered by then counts as failed.
  absl::Duration timeout = absl::Seconds(1);
};

// Thread-safe. `health` and `repository` must outlive the reporter.
class HealthReporter {
 public:
  HealthReporter(grpc::HealthCheckServiceInterface& health,
                 db::Repository& repository, const Clock& clock,
                 HealthOptions options);
  HealthReporter(const HealthReporter&) = delete;
  HealthReporter& operator=(const HealthReporter&) = delete;
  ~HealthReporter();

  // Stops probing and reports NOT_SERVING for every name from now on
  // (graceful shutdown). Idempotent.
  void Stop() ABSL_LOCKS_EXCLUDED(mu_);

  // What the health service reports for kTutoringServiceName (readiness:
  // serving and not stopped) and for kLivenessServiceName (not stopped).
  bool ready() const ABSL_LOCKS_EXCLUDED(mu_);
  bool live() const ABSL_LOCKS_EXCLUDED(mu_);

 private:
  void Loop() ABSL_LOCKS_EXCLUDED(mu_);
  void Report(bool serving) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  // Constant after construction.
  grpc::HealthCheckServiceInterface& health_;
  db::Repository& repository_;
  const Clock& clock_;
  const HealthOptions options_;

  mutable absl::Mutex mu_;
  absl::CondVar cv_;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  bool serving_ ABSL_GUARDED_BY(mu_) = false;
  // Whether a probe's outcome was logged yet: the first one is, SERVING or
  // not, so a server started while the database is down says so.
  bool reported_ ABSL_GUARDED_BY(mu_) = false;
  // Results of probes, by sequence number; a late answer to an older probe
  // is ignored.
  uint64_t probe_ ABSL_GUARDED_BY(mu_) = 0;
  bool answered_ ABSL_GUARDED_BY(mu_) = false;
  absl::Status answer_ ABSL_GUARDED_BY(mu_);
  // Probes whose callback has not run yet; Stop waits for them, since the
  // callbacks touch this object, after cancelling the newest (so that a
  // stalled database does not hold the shutdown up for a probe timeout).
  int in_flight_ ABSL_GUARDED_BY(mu_) = 0;
  std::shared_ptr<db::CallContext> probe_call_ ABSL_GUARDED_BY(mu_);

  std::thread thread_;
};

}  // namespace tutoring::server

#endif  // TUTORING_SERVER_HEALTH_H_
