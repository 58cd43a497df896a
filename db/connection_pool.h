// The service's connection pool: asynchronous all the way down.
//
// A few event-loop threads ("shards", one per core by default) each own
// some of the pool's connections and drive them with libpq's non-blocking
// API on epoll: no thread blocks on a socket, and there is no thread per
// connection. Each connection runs in pipeline mode, so several statements
// are in flight on it at once (up to pipeline_depth), each followed by its
// own sync point: a statement that fails aborts nothing else.
//
// A call hands the pool one prepared statement and its parameters
// (Execute) and returns at once; the statement's rows reach the call's
// callback on the shard's thread. While calls wait for room on a
// connection, calls of the same statement that has a batch form are
// coalesced: one execution of the batch form answers all of them (and
// identical parameters are asked once), and each call gets exactly its own
// rows. A call that finds room goes out at once, alone: coalescing never
// waits for company.
//
// Bounds and promises:
// - max_waiting calls may wait for room; beyond that, RESOURCE_EXHAUSTED
//   at once. A call that waits longer than acquire_timeout ends
//   RESOURCE_EXHAUSTED.
// - The call's deadline bounds its wait and its statement: past it the call
//   ends DEADLINE_EXCEEDED at once; a call the caller cancels ends
//   CANCELLED at once. The statement is then cancelled in PostgreSQL
//   (cancel request) unless another live call still needs it; the
//   statement_timeout set per connection is the backstop.
// - A connection that breaks fails every call in flight on it with
//   UNAVAILABLE at once; later calls use a new connection. After a failed
//   connect, further connects wait reconnect_backoff, and calls that find
//   no usable connection meanwhile fail UNAVAILABLE at once.
// - Connections older than max_connection_lifetime are replaced once idle.
//   Overflow connections (up to max_overflow) open while every pooled
//   connection's pipeline is full and close after overflow_idle_timeout.
// - High-priority calls (health probes) go ahead of waiting calls and are
//   not counted against max_waiting.
//
// Sizing: with pipelining a few connections per database core carry the
// whole load; the sum of pool_size over all replicas of the service should
// stay near the database's core count times two and well below
// max_connections.
#ifndef TUTORING_DB_CONNECTION_POOL_H_
#define TUTORING_DB_CONNECTION_POOL_H_

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/functional/any_invocable.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "common/clock.h"
#include "db/call_context.h"
#include "db/query_result.h"

namespace tutoring::db {

// A statement prepared on every connection of a pool.
struct StatementSpec {
  // The prepared statement's name.
  std::string name;
  // Its SQL, with $1..$n parameters (sent as text).
  std::string sql;
  // Optional batch form, which answers many calls of this statement in one
  // execution: it takes one array per parameter of `sql` ($k becomes the
  // array of every call's k-th parameter, in PostgreSQL's text form) and
  // returns, as its first column, the 1-based position in those arrays of
  // the call a row answers, followed by the columns `sql` returns. Empty:
  // calls of this statement are never coalesced.
  std::string batch_sql;
  // Rows come back in PostgreSQL's binary format (read them with
  // db/binary_values.h): nothing to format on the server, nothing to parse
  // here. The batch form's first column is then an int8.
  bool binary_results = false;
};

// Receives the pool's events, for metrics. Called on the shards' threads,
// so it must be thread-safe and quick: no blocking, no calls into the pool.
class PoolObserver {
 public:
  virtual ~PoolObserver() = default;
  // A call's statement was sent after the call waited `waited` for room.
  virtual void CallSent(absl::Duration waited) = 0;
  // Execution of statement number `statement` (an index into
  // PoolOptions::statements; `batch`: its batch form, answering `calls`
  // calls) ended after `elapsed` on the connection. `sqlstate` is empty when
  // it succeeded, else the error's SQLSTATE ("08006" when the connection
  // broke before the answer).
  virtual void StatementDone(int statement, bool batch, int calls,
                             absl::Duration elapsed,
                             absl::string_view sqlstate) = 0;
  // An open connection broke (one the pool closes itself is not reported).
  virtual void ConnectionLost() = 0;
};

struct PoolOptions {
  // libpq connection string, URI (postgresql://...) or key=value form.
  // connect_timeout and fallback_application_name are added when absent.
  std::string database_url;
  // Connections kept open once opened (they open on first use).
  int pool_size = 8;
  // Extra connections opened while every pooled connection's pipeline is
  // full and calls wait; each closes after overflow_idle_timeout idle.
  int max_overflow = 4;
  absl::Duration overflow_idle_timeout = absl::Seconds(30);
  // Event-loop threads (each owns an even share of the connections); 0 means
  // one per CPU core. Never more than pool_size. (On a box where the gRPC
  // threads need the cores, fewer can serve more: docs/PERFORMANCE.md.)
  int io_threads = 0;
  // Statements in flight on one connection at most. Two hide the round trip;
  // more only split batches that would otherwise coalesce
  // (docs/PERFORMANCE.md).
  int pipeline_depth = 2;
  // Calls one coalesced statement answers at most.
  int max_batch = 256;
  // Longest a call waits for room on a connection (its own deadline also
  // applies): RESOURCE_EXHAUSTED after that.
  absl::Duration acquire_timeout = absl::Seconds(2);
  // Calls allowed to wait for room; Execute beyond that answers
  // RESOURCE_EXHAUSTED at once. High-priority calls are not counted.
  int max_waiting = 1000;
  // A connection older than this is closed and reopened once idle.
  absl::Duration max_connection_lifetime = absl::Minutes(30);
  // Longest one connection attempt may take.
  absl::Duration connect_timeout = absl::Seconds(3);
  // After a failed connect, the wait before the next attempt; calls that
  // find no usable connection meanwhile fail UNAVAILABLE at once.
  absl::Duration reconnect_backoff = absl::Milliseconds(200);
  // How often a cancel request is repeated while the statement it is meant
  // for still runs (one that reaches the server between statements is
  // dropped by it).
  absl::Duration cancel_repeat = absl::Milliseconds(100);
  // Told about waits, statements and lost connections; not owned, may be
  // null, must outlive the pool.
  PoolObserver* observer = nullptr;
  // Reported as application_name in pg_stat_activity.
  std::string application_name = "tutoring";
  // Commands run once on each new connection (e.g. SET ...).
  std::vector<std::string> session_setup;
  // Statements prepared on each connection; Execute names them by index.
  std::vector<StatementSpec> statements;
  // Send every execution as an unnamed extended-protocol statement (SQL,
  // parameters and execution in one sync group, PQsendQueryParams) instead
  // of preparing named statements once per connection: what a
  // transaction-pooling PgBouncer needs, since consecutive transactions of
  // one client connection may run on different server sessions. Costs a
  // parse and plan per execution (docs/PERFORMANCE.md). session_setup must
  // then be empty: session state does not survive a transaction either.
  bool unnamed_statements = false;
};

// Counters for tests, logs and benchmarks.
struct PoolStats {
  int open_connections = 0;
  // Connections with statements in flight.
  int busy = 0;
  // Calls of normal priority waiting for room (not yet sent): what
  // max_waiting bounds.
  int waiting = 0;
  int64_t connects = 0;  // successful connects since start
  int64_t connect_failures = 0;
  // Executions sent to PostgreSQL, and how many of them were batch forms
  // answering several calls; calls answered by batch forms.
  int64_t statements_sent = 0;
  int64_t batches_sent = 0;
  int64_t calls_batched = 0;
  // Cancel requests sent to PostgreSQL.
  int64_t cancels_sent = 0;
};

// What runs statements for a repository: one pool, or a router choosing
// among the pools of a primary and its replicas (db/replica_router.h).
// Execute's contract is ConnectionPool::Execute's.
class StatementExecutor {
 public:
  using Done = absl::AnyInvocable<void(absl::StatusOr<QueryResult>)>;
  enum class Priority { kNormal, kHigh };

  virtual ~StatementExecutor() = default;
  virtual void Execute(std::shared_ptr<CallContext> call, int statement,
                       std::vector<std::string> params, Done done,
                       Priority priority = Priority::kNormal) = 0;
};

class ConnectionPool final : public StatementExecutor {
 public:
  // The call's rows, or why there are none. Called exactly once.
  using Done = StatementExecutor::Done;
  using Priority = StatementExecutor::Priority;

  // Checks the options (connection string syntax, sizes, statements) and
  // starts the shards' threads. Connections open lazily, on first use.
  // INVALID_ARGUMENT for bad options. `clock` must outlive the pool.
  static absl::StatusOr<std::unique_ptr<ConnectionPool>> Create(
      PoolOptions options, const Clock& clock);

  ConnectionPool(const ConnectionPool&) = delete;
  ConnectionPool& operator=(const ConnectionPool&) = delete;
  // Shuts down (see Shutdown) if not done yet.
  ~ConnectionPool();

  // Runs statement number `statement` (an index into options.statements)
  // with `params` (text) for `call`, then calls `done` with its rows: on a
  // shard's thread, or inline, before returning, when the call is refused
  // at once (so callers must not hold locks `done` takes). Outcomes besides
  // the statement's own (StatusFromSqlState):
  //   RESOURCE_EXHAUSTED  max_waiting calls already wait, or no room came
  //                       within acquire_timeout
  //   DEADLINE_EXCEEDED   call->deadline() passed while waiting or running
  //   CANCELLED           call->Cancel() was called
  //   UNAVAILABLE         the database cannot be reached, the connection
  //                       broke, or the pool is shutting down
  //   INVALID_ARGUMENT    `statement` or the number of `params` is wrong
  // Thread-safe. The pool must outlive every call submitted to it.
  void Execute(std::shared_ptr<CallContext> call, int statement,
               std::vector<std::string> params, Done done,
               Priority priority = Priority::kNormal) override;

  // Stops taking calls (Execute answers UNAVAILABLE), fails waiting calls
  // with UNAVAILABLE, lets calls in flight finish (their deadlines still
  // apply, and cancelling them ends them at once), closes every connection
  // and joins the threads. Statements whose calls have all ended are not
  // waited for (a stalled server may never answer them), and cancel
  // requests on their way get at most a few hundred milliseconds. So,
  // once no call is live, Shutdown returns promptly whatever the database
  // does. Idempotent.
  void Shutdown();

  PoolStats Stats() const;

  // The shards' threads (for tests and the server's start-up log).
  int io_threads() const { return static_cast<int>(shards_.size()); }

 private:
  class Shard;

  ConnectionPool(PoolOptions options, std::string connection_string,
                 const Clock& clock);

  // The reconnect backoff, shared by the shards: after a failed connect no
  // shard tries again before it ends, and a successful one ends it for all.
  void BlockReconnects(absl::Time until, absl::Status error)
      ABSL_LOCKS_EXCLUDED(backoff_mu_);
  void UnblockReconnects() ABSL_LOCKS_EXCLUDED(backoff_mu_);
  // The error of the last failed connect while reconnects are blocked at
  // `now`; OK when a connect may be tried.
  absl::Status ReconnectBlocked(absl::Time now) const
      ABSL_LOCKS_EXCLUDED(backoff_mu_);
  absl::Time ReconnectBlockedUntil() const ABSL_LOCKS_EXCLUDED(backoff_mu_);

  // Constant after construction.
  const PoolOptions options_;
  const std::string connection_string_;
  const Clock& clock_;
  // Parameters each statement takes.
  std::vector<int> param_counts_;
  std::vector<std::unique_ptr<Shard>> shards_;

  // Calls of Priority::kNormal waiting for room in any shard (what
  // max_waiting bounds).
  std::atomic<int> waiting_{0};
  // Round-robin choice of a shard for each call.
  std::atomic<uint64_t> next_shard_{0};
  std::atomic<bool> shut_down_{false};

  mutable absl::Mutex backoff_mu_;
  absl::Time reconnect_blocked_until_ ABSL_GUARDED_BY(backoff_mu_) =
      absl::InfinitePast();
  absl::Status last_connect_error_ ABSL_GUARDED_BY(backoff_mu_);
};

}  // namespace tutoring::db

#endif  // TUTORING_DB_CONNECTION_POOL_H_
