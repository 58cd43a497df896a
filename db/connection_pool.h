// A pool of libpqxx connections that is asynchronous as its callers see it:
// Run() hands a task to the pool and returns at once; the task runs later on
// one of the pool's threads, each of which owns at most one connection, and
// a completion callback reports its status.
//
// Sizing. Callers (gRPC handlers) never block on the database, so the pool
// size is not tied to how many threads or requests the server has; the old
// rule "workers x threads x 2 + overhead" sized for frameworks that park a
// thread per request. What bounds useful concurrency here is the database:
// a PostgreSQL server runs about (2 x cores + effective disks) queries at a
// time before latency only grows. Size the sum over all replicas to that
// (e.g. 4 replicas against a 16-core server on SSD: 2 x 16 + 4 = 36, so
// pool_size 9 each), keep it well under max_connections, and let the bounded
// queue absorb bursts. max_overflow adds short-lived connections for bursts of
// slow queries; max_waiting turns overload into RESOURCE_EXHAUSTED at once
// instead of unbounded latency.
#ifndef TUTORING_DB_CONNECTION_POOL_H_
#define TUTORING_DB_CONNECTION_POOL_H_

#include <atomic>
#include <cstdint>
#include <deque>
#include <memory>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/functional/any_invocable.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "common/clock.h"
#include "db/call_context.h"

namespace tutoring::db {

class ConnectionPool;
class Session;  // A live connection lent to a task; see db/session.h.

// A named SQL statement prepared once on every connection of a pool.
struct PreparedStatement {
  std::string name;
  std::string sql;
};

struct PoolOptions {
  // libpq connection string, URI (postgresql://...) or key=value form.
  // connect_timeout and fallback_application_name are added when absent.
  std::string database_url;
  // Connections kept open once opened (also the number of pool threads that
  // never let their connection go, except at max_connection_lifetime).
  int pool_size = 20;
  // Extra connections opened while every pooled one is busy, each closed
  // again after overflow_idle_timeout without work.
  int max_overflow = 10;
  absl::Duration overflow_idle_timeout = absl::Seconds(30);
  // Longest a task waits in the queue for a connection (the call's own
  // deadline also applies): RESOURCE_EXHAUSTED after that.
  absl::Duration acquire_timeout = absl::Seconds(2);
  // Tasks allowed to wait in the queue; Run() beyond that answers
  // RESOURCE_EXHAUSTED at once. High-priority tasks are not counted.
  int max_waiting = 1000;
  // A connection older than this is closed and reopened before its next task
  // (spreads load after failovers, bounds per-backend memory growth).
  absl::Duration max_connection_lifetime = absl::Minutes(30);
  // libpq connect_timeout (rounded up to whole seconds, at least 2).
  absl::Duration connect_timeout = absl::Seconds(3);
  // After a failed connection attempt, further attempts within this window
  // fail at once with the same error instead of queueing up behind a
  // database that is down.
  absl::Duration reconnect_backoff = absl::Milliseconds(200);
  // Reported as application_name in pg_stat_activity.
  std::string application_name = "tutoring";
  // Statements run once after each connect (e.g. SET ...).
  std::vector<std::string> session_setup;
  // Statements prepared on each connection.
  std::vector<PreparedStatement> prepared_statements;
};

// Counters for tests and logs.
struct PoolStats {
  int open_connections = 0;
  int busy = 0;
  int waiting = 0;
  int64_t connects = 0;  // successful connects since start
  int64_t connect_failures = 0;
};

class ConnectionPool final : public CancelListener {
 public:
  // Work done on a pooled connection. It may throw anything libpqxx throws;
  // the pool converts exceptions to Status (db/pg_error.h). It may run twice
  // (see Run), so it must be a read or otherwise idempotent.
  using Task = absl::AnyInvocable<absl::Status(Session&)>;
  // Completion; called exactly once.
  using Done = absl::AnyInvocable<void(absl::Status)>;

  enum class Priority { kNormal, kHigh };

  // Checks the options (connection string syntax, sizes) and starts the
  // pool's threads. Connections open lazily, on first use. INVALID_ARGUMENT
  // for bad options. `clock` must outlive the pool.
  static absl::StatusOr<std::unique_ptr<ConnectionPool>> Create(
      PoolOptions options, const Clock& clock);

  ConnectionPool(const ConnectionPool&) = delete;
  ConnectionPool& operator=(const ConnectionPool&) = delete;
  // Shuts down (see Shutdown) if not done yet.
  ~ConnectionPool();

  // Runs `task` on a pooled connection and then calls `done` with its status,
  // on a pool thread; or calls `done` inline, before returning, when the
  // call is rejected at once (so callers must not hold locks `done` takes).
  // Outcomes besides the task's own:
  //   RESOURCE_EXHAUSTED  max_waiting tasks already queued, or no connection
  //                       became free within acquire_timeout
  //   DEADLINE_EXCEEDED   call->deadline() passed while waiting or running
  //                       (a running query is cancelled on the server)
  //   CANCELLED           call->Cancel() was called
  //   UNAVAILABLE         no connection could be opened, or shutting down
  // A task that fails because a previously used connection broke (server
  // restart, killed backend) is retried once on a fresh connection.
  // kHigh puts the task at the head of the queue (health probes).
  // Thread-safe. The pool must outlive every call submitted to it.
  void Run(std::shared_ptr<CallContext> call, Task task, Done done,
           Priority priority = Priority::kNormal) ABSL_LOCKS_EXCLUDED(mu_);

  // Stops taking tasks (Run answers UNAVAILABLE), fails queued tasks with
  // UNAVAILABLE, lets running tasks finish (their deadlines still apply),
  // closes every connection and joins the threads. Idempotent.
  void Shutdown() ABSL_LOCKS_EXCLUDED(mu_);

  PoolStats Stats() const ABSL_LOCKS_EXCLUDED(mu_);

 private:
  struct Job;
  struct Worker;

  ConnectionPool(PoolOptions options, std::string connection_string,
                 const Clock& clock);

  void WorkerLoop(Worker* worker) ABSL_LOCKS_EXCLUDED(mu_);
  absl::Status Execute(Worker* worker, Job& job) ABSL_LOCKS_EXCLUDED(mu_);
  absl::Status Connect(Worker* worker) ABSL_LOCKS_EXCLUDED(mu_);
  void CloseConnection(Worker* worker) ABSL_LOCKS_EXCLUDED(mu_);
  void HousekeeperLoop() ABSL_LOCKS_EXCLUDED(mu_);
  void SendCancel(Worker* worker, uint64_t job_id);
  void WakeHousekeeper() ABSL_LOCKS_EXCLUDED(mu_);
  // Picks an idle worker (pooled connections first), or nullptr.
  Worker* TakeIdleWorker() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  // CancelListener: wakes the housekeeper to answer or cancel at once.
  void OnCallCancelled() override ABSL_LOCKS_EXCLUDED(mu_);

  // Constant after construction.
  const PoolOptions options_;
  const std::string connection_string_;
  const Clock& clock_;

  mutable absl::Mutex mu_;
  // Protected by mu_.
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::deque<std::unique_ptr<Job>> queue_ ABSL_GUARDED_BY(mu_);
  // Queued jobs of Priority::kNormal (what max_waiting bounds).
  int waiting_normal_ ABSL_GUARDED_BY(mu_) = 0;
  // Idle workers, most recently idle at the back.
  std::vector<Worker*> idle_pooled_ ABSL_GUARDED_BY(mu_);
  std::vector<Worker*> idle_overflow_ ABSL_GUARDED_BY(mu_);
  uint64_t next_job_id_ ABSL_GUARDED_BY(mu_) = 1;
  absl::Time housekeeper_wake_ ABSL_GUARDED_BY(mu_) = absl::InfiniteFuture();
  absl::CondVar housekeeper_cv_;
  absl::Time reconnect_blocked_until_ ABSL_GUARDED_BY(mu_) =
      absl::InfinitePast();
  absl::Status last_connect_error_ ABSL_GUARDED_BY(mu_);
  PoolStats stats_ ABSL_GUARDED_BY(mu_);

  // Created in the constructor, joined in Shutdown.
  std::vector<std::unique_ptr<Worker>> workers_;
  std::thread housekeeper_;
  std::atomic<bool> shut_down_{false};
};

}  // namespace tutoring::db

#endif  // TUTORING_DB_CONNECTION_POOL_H_
