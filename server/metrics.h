// Prometheus metrics beyond the calls' own (server/call_telemetry.h): the
// database layer's (DbMetrics, events from the pool, and PoolCollector,
// its counters read at scrape time), the process's (ProcessCollector:
// RSS, CPU, open fds, threads, the process_* names Prometheus' own clients
// use) and tutoring_build_info. All built on prometheus-cpp (Debian's
// prometheus-cpp-dev).
#ifndef TUTORING_SERVER_METRICS_H_
#define TUTORING_SERVER_METRICS_H_

#include <prometheus/collectable.h>
#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/histogram.h>
#include <prometheus/metric_family.h>
#include <prometheus/registry.h>

#include <memory>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/synchronization/mutex.h"
#include "db/connection_pool.h"
#include "db/replica_router.h"

namespace tutoring::server {

// The pool's events as metrics: tutoring_db_wait_seconds (time a call waited
// for room on a connection), tutoring_db_statement_seconds{statement,form}
// (execution time, form "single" or "batch"), tutoring_db_batch_size
// (calls one batch execution answered), tutoring_db_errors_total
// {sqlstate_class} and tutoring_db_connection_losses_total. Thread-safe;
// `registry` must outlive it.
class DbMetrics final : public db::PoolObserver {
 public:
  DbMetrics(prometheus::Registry& registry,
            const std::vector<db::StatementSpec>& statements);

  void CallSent(absl::Duration waited) override;
  void StatementDone(int statement, bool batch, int calls,
                     absl::Duration elapsed,
                     absl::string_view sqlstate) override;
  void ConnectionLost() override;

 private:
  // Constant after construction.
  prometheus::Histogram& wait_seconds_;
  prometheus::Histogram& batch_size_;
  prometheus::Counter& connection_losses_;
  prometheus::Family<prometheus::Counter>& errors_;
  // [2 * statement + batch]
  std::vector<prometheus::Histogram*> statement_seconds_;

  absl::Mutex mu_;
  absl::flat_hash_map<std::string, prometheus::Counter*> errors_by_class_
      ABSL_GUARDED_BY(mu_);
};

// The database endpoints' gauges and counters at scrape time, one series per
// endpoint (labels endpoint = host:port/dbname as DescribeConnectionString
// gives it, role = primary | replica): tutoring_db_connections{state="busy"|
// "idle"}, tutoring_db_connections_open, tutoring_db_queue_length,
// tutoring_db_connects_total, tutoring_db_connect_failures_total,
// tutoring_db_statements_sent_total, tutoring_db_batches_sent_total,
// tutoring_db_calls_batched_total, tutoring_db_cancels_sent_total, and the
// router's tutoring_db_endpoint_usable (1 when it takes reads),
// tutoring_db_replica_lag_seconds, tutoring_db_endpoint_outstanding_calls,
// tutoring_db_endpoint_calls_total, tutoring_db_endpoint_retried_elsewhere_total.
// `router` must outlive it.
class PoolCollector final : public prometheus::Collectable {
 public:
  explicit PoolCollector(const db::ReplicaRouter& router) : router_(router) {}
  std::vector<prometheus::MetricFamily> Collect() const override;

 private:
  const db::ReplicaRouter& router_;
};

// process_cpu_seconds_total, process_resident_memory_bytes,
// process_virtual_memory_bytes, process_open_fds, process_max_fds,
// process_threads and process_start_time_seconds, from /proc/self.
class ProcessCollector final : public prometheus::Collectable {
 public:
  std::vector<prometheus::MetricFamily> Collect() const override;
};

// tutoring_build_info{version=...} 1.
void RegisterBuildInfo(prometheus::Registry& registry,
                       const std::string& version);

}  // namespace tutoring::server

#endif  // TUTORING_SERVER_METRICS_H_
