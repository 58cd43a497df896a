// Read routing over a primary and its streaming replicas: one
// ConnectionPool per endpoint, and a router that sends each call to a
// usable replica, or to the primary when none is usable.
//
// Choice among usable replicas: least outstanding calls (calls submitted to
// the endpoint and not yet answered), ties broken round robin. Outstanding
// work reflects what a replica is doing right now: one that slows down
// (replaying a burst of WAL, a cold cache, a noisy neighbour) answers later,
// keeps more calls outstanding and gets fewer new ones, where round robin
// would keep feeding it an equal share. With equal replicas it degenerates
// to round robin.
//
// Health, per replica, every check_interval, on its own pool ahead of queued
// calls: a replica is usable when it answers the probe within check_timeout
// and its replay lag is at most max_lag. A replica that has replayed
// everything it received (pg_last_wal_receive_lsn() <=
// pg_last_wal_replay_lsn()) has no lag, and neither has a server that is not
// in recovery (a promoted replica). One with WAL still to replay is at most
// as stale as the smaller of two ages: now() -
// pg_last_xact_replay_timestamp() (the last commit it replayed), and the
// time since the last probe that found it caught up (it has replayed all it
// received since then). The second matters after a quiet spell: the last
// replayed commit is old, and a checkpoint or vacuum record that arrives
// would otherwise count the whole quiet spell as lag while it is replayed.
// The primary is never probed here: it serves when no replica is usable,
// whatever its state (its own health is the server's health check).
//
// Retry: a call that fails UNAVAILABLE on a replica (the replica died or
// was unreachable: every call is a read, so sending it again is safe) is
// sent once more to another endpoint (another usable replica, else the
// primary) if its deadline has not passed and it was not cancelled; the
// replica is marked unusable until its next successful probe.
#ifndef TUTORING_DB_REPLICA_ROUTER_H_
#define TUTORING_DB_REPLICA_ROUTER_H_

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "common/clock.h"
#include "db/connection_pool.h"

namespace tutoring::db {

struct ReplicaRouterOptions {
  // Time between two probes of one replica.
  absl::Duration check_interval = absl::Seconds(1);
  // A probe not answered within this marks the replica unusable.
  absl::Duration check_timeout = absl::Seconds(1);
  // A replica whose replay lag exceeds this is not used until it is back
  // under it.
  absl::Duration max_lag = absl::Seconds(10);
};

struct EndpointStatus;
// Told when a replica becomes usable or unusable (for logs), on the thread
// that noticed (the prober, or a pool's thread for a call that failed); must
// not block or call back into the router.
using EndpointChangeListener =
    std::function<void(const EndpointStatus& status)>;

// One endpoint as the router sees it.
struct EndpointStatus {
  enum class Role { kPrimary, kReplica };
  // host, port, dbname and user (DescribeConnectionString): no password.
  std::string name;
  Role role = Role::kPrimary;
  // Replicas: the last probe found it reachable and within max_lag (false
  // before the first probe answered). The primary: always true.
  bool usable = false;
  // Why it is not usable ("" when usable).
  std::string reason;
  // Replicas: replay lag at the last successful probe.
  absl::Duration lag;
  // Calls submitted and not yet answered.
  int outstanding = 0;
  // Calls routed here, and calls that failed here and were sent elsewhere.
  int64_t calls = 0;
  int64_t retried_elsewhere = 0;
  PoolStats pool;
};

class ReplicaRouter final : public StatementExecutor {
 public:
  // `options` configures every pool (PgRepository::ConfigurePool); the
  // primary's pool uses options.database_url, each replica's one of
  // `replica_urls` (invalid ones are INVALID_ARGUMENT). The router adds its
  // probe to each pool's statements, after the caller's: Execute's indices
  // are unchanged. Replicas start unusable and are probed at once.
  static absl::StatusOr<std::unique_ptr<ReplicaRouter>> Create(
      PoolOptions options, const std::vector<std::string>& replica_urls,
      ReplicaRouterOptions router_options, const Clock& clock,
      EndpointChangeListener on_change = nullptr);

  ReplicaRouter(const ReplicaRouter&) = delete;
  ReplicaRouter& operator=(const ReplicaRouter&) = delete;
  ~ReplicaRouter() override;

  // ConnectionPool::Execute's contract, on the endpoint chosen as above.
  void Execute(std::shared_ptr<CallContext> call, int statement,
               std::vector<std::string> params, Done done,
               Priority priority = Priority::kNormal) override;

  // Stops the probes and shuts every pool down. Idempotent.
  void Shutdown();

  // The primary first, then the replicas in the order given. Thread-safe.
  std::vector<EndpointStatus> Endpoints() const;

  // Every pool's counters added up (what ConnectionPool::Stats() gives for
  // a single pool).
  PoolStats Stats() const;

  ConnectionPool& primary() { return *endpoints_[0]->pool; }
  int replicas() const { return static_cast<int>(endpoints_.size()) - 1; }

 private:
  struct Endpoint {
    std::string name;
    EndpointStatus::Role role = EndpointStatus::Role::kPrimary;
    std::unique_ptr<ConnectionPool> pool;
    std::atomic<int> outstanding{0};
    std::atomic<int64_t> calls{0};
    std::atomic<int64_t> retried_elsewhere{0};
    // Replicas: written by probes and by calls that found it dead.
    std::atomic<bool> usable{false};
    size_t index = 0;
  };

  ReplicaRouter(ReplicaRouterOptions options, const Clock& clock,
                int probe_statement);

  // The endpoint for a call: a usable replica other than `avoid` with the
  // least outstanding calls, else the primary.
  Endpoint& Choose(const Endpoint* avoid);
  void Send(Endpoint& endpoint, std::shared_ptr<CallContext> call,
            int statement, std::vector<std::string> params, Done done,
            Priority priority, bool retried);
  // Records a replica's verdict; tells on_change_ if its usability changed.
  void SetUsable(size_t index, bool usable, std::string reason,
                 absl::Duration lag) ABSL_LOCKS_EXCLUDED(mu_);
  EndpointStatus StatusOf(size_t index) const
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void ProbeLoop() ABSL_LOCKS_EXCLUDED(mu_);
  void ProbeAll() ABSL_LOCKS_EXCLUDED(mu_);

  // Constant after construction.
  const ReplicaRouterOptions options_;
  const Clock& clock_;
  const int probe_statement_;
  EndpointChangeListener on_change_;
  std::vector<std::unique_ptr<Endpoint>> endpoints_;

  std::atomic<uint64_t> next_{0};
  std::atomic<bool> shut_down_{false};

  mutable absl::Mutex mu_;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  // Per endpoint (index as endpoints_): why unusable, and the last lag.
  std::vector<std::string> reasons_ ABSL_GUARDED_BY(mu_);
  std::vector<absl::Duration> lags_ ABSL_GUARDED_BY(mu_);
  // Per endpoint: when the last probe that found it caught up was sent
  // (InfinitePast: none yet). Written by the probes' callbacks.
  std::vector<absl::Time> caught_up_at_ ABSL_GUARDED_BY(mu_);
  std::thread prober_;
};

}  // namespace tutoring::db

#endif  // TUTORING_DB_REPLICA_ROUTER_H_
