#include "db/replica_router.h"

#include <algorithm>
#include <optional>
#include <utility>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "db/postgres/connection_string.h"

namespace tutoring::db {
namespace {

// What a replica's probe asks (text results): whether it is in recovery,
// whether it has replayed all the WAL it received, and the age of the last
// transaction it replayed in seconds (-1: none since it started).
constexpr char kProbeSql[] =
    "SELECT pg_is_in_recovery(),"
    " COALESCE(pg_last_wal_receive_lsn() <= pg_last_wal_replay_lsn(), false),"
    " COALESCE(EXTRACT(epoch FROM now() - pg_last_xact_replay_timestamp())"
    "   ::float8, -1)";

// What a probe found: reachable or not, caught up or not, and if not, how
// stale it is at most (see the header).
struct ProbeFinding {
  absl::Status status;  // not OK: unusable for this reason
  bool caught_up = false;
  absl::Duration lag;

  static ProbeFinding Unusable(absl::Status why) {
    ProbeFinding finding;
    finding.status = std::move(why);
    return finding;
  }
  static ProbeFinding Usable(bool caught_up, absl::Duration lag) {
    ProbeFinding finding;
    finding.caught_up = caught_up;
    finding.lag = lag;
    return finding;
  }
};

// The probe's verdict. `behind_for` is the time since the last probe that
// found the replica caught up was sent (InfiniteDuration: none yet).
ProbeFinding FindingOf(const absl::StatusOr<QueryResult>& result,
                       absl::Duration behind_for, absl::Duration max_lag) {
  if (!result.ok()) return ProbeFinding::Unusable(result.status());
  if (result->rows() != 1) {
    return ProbeFinding::Unusable(
        absl::InternalError("replica probe returned no row"));
  }
  const bool in_recovery = result->Get(0, 0) == "t";
  const bool caught_up = result->Get(0, 1) == "t";
  double seconds = -1;
  if (!absl::SimpleAtod(result->Get(0, 2), &seconds)) {
    return ProbeFinding::Unusable(
        absl::InternalError("replica probe returned a malformed lag"));
  }
  if (!in_recovery || caught_up)
    return ProbeFinding::Usable(true, absl::ZeroDuration());
  const absl::Duration lag =
      std::min(seconds < 0 ? absl::InfiniteDuration() : absl::Seconds(seconds),
               behind_for);
  if (lag == absl::InfiniteDuration()) {
    return ProbeFinding::Unusable(absl::UnavailableError(
        "replay lag unknown: WAL received but no transaction replayed yet"));
  }
  if (lag > max_lag) {
    return ProbeFinding::Unusable(absl::UnavailableError(absl::StrCat(
        "replay lag ",
        absl::FormatDuration(absl::Trunc(lag, absl::Milliseconds(1))),
        " exceeds the bound of ", absl::FormatDuration(max_lag))));
  }
  return ProbeFinding::Usable(false, lag);
}

}  // namespace

absl::StatusOr<std::unique_ptr<ReplicaRouter>> ReplicaRouter::Create(
    PoolOptions options, const std::vector<std::string>& replica_urls,
    ReplicaRouterOptions router_options, const Clock& clock,
    EndpointChangeListener on_change) {
  if (router_options.check_interval <= absl::ZeroDuration() ||
      router_options.check_timeout <= absl::ZeroDuration() ||
      router_options.max_lag < absl::ZeroDuration()) {
    return absl::InvalidArgumentError(
        "replica check interval and timeout must be positive, max lag not "
        "negative");
  }
  const int probe = static_cast<int>(options.statements.size());
  options.statements.push_back({"replica_probe", kProbeSql, "", false});
  std::unique_ptr<ReplicaRouter> router(
      new ReplicaRouter(router_options, clock, probe));
  router->on_change_ = std::move(on_change);
  std::vector<std::string> urls = {options.database_url};
  urls.insert(urls.end(), replica_urls.begin(), replica_urls.end());
  for (size_t i = 0; i < urls.size(); ++i) {
    PoolOptions endpoint_options = options;
    endpoint_options.database_url = urls[i];
    absl::StatusOr<std::unique_ptr<ConnectionPool>> pool =
        ConnectionPool::Create(std::move(endpoint_options), clock);
    if (!pool.ok()) {
      return absl::Status(
          pool.status().code(),
          absl::StrCat(i == 0 ? "primary" : absl::StrCat("replica ", i), ": ",
                       pool.status().message()));
    }
    auto endpoint = std::make_unique<Endpoint>();
    endpoint->name = DescribeConnectionString(urls[i]);
    endpoint->role = i == 0 ? EndpointStatus::Role::kPrimary
                            : EndpointStatus::Role::kReplica;
    endpoint->pool = *std::move(pool);
    endpoint->usable.store(i == 0);
    endpoint->index = i;
    router->endpoints_.push_back(std::move(endpoint));
  }
  {
    absl::MutexLock lock(&router->mu_);
    router->reasons_.assign(urls.size(), "not probed yet");
    router->reasons_[0] = "";
    router->lags_.assign(urls.size(), absl::ZeroDuration());
    router->caught_up_at_.assign(urls.size(), absl::InfinitePast());
  }
  if (router->replicas() > 0) {
    router->prober_ = std::thread([r = router.get()] { r->ProbeLoop(); });
  }
  return router;
}

ReplicaRouter::ReplicaRouter(ReplicaRouterOptions options, const Clock& clock,
                             int probe_statement)
    : options_(options), clock_(clock), probe_statement_(probe_statement) {}

ReplicaRouter::~ReplicaRouter() { Shutdown(); }

void ReplicaRouter::Shutdown() {
  if (shut_down_.exchange(true)) return;
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
  }
  if (prober_.joinable()) prober_.join();
  for (auto& endpoint : endpoints_) endpoint->pool->Shutdown();
}

ReplicaRouter::Endpoint& ReplicaRouter::Choose(const Endpoint* avoid) {
  const size_t n = endpoints_.size();
  Endpoint* best = nullptr;
  int best_outstanding = 0;
  // Start the scan at a rotating replica so that ties go round robin.
  const uint64_t start = next_.fetch_add(1, std::memory_order_relaxed);
  for (size_t k = 0; k + 1 < n; ++k) {
    Endpoint& e = *endpoints_[1 + (start + k) % (n - 1)];
    if (&e == avoid || !e.usable.load(std::memory_order_acquire)) continue;
    const int outstanding = e.outstanding.load(std::memory_order_relaxed);
    if (best == nullptr || outstanding < best_outstanding) {
      best = &e;
      best_outstanding = outstanding;
    }
  }
  return best != nullptr ? *best : *endpoints_[0];
}

void ReplicaRouter::Execute(std::shared_ptr<CallContext> call, int statement,
                            std::vector<std::string> params, Done done,
                            Priority priority) {
  if (statement == probe_statement_) {
    // Not the caller's to run.
    return done(absl::InvalidArgumentError(
        absl::StrCat("no statement number ", statement)));
  }
  Send(Choose(nullptr), std::move(call), statement, std::move(params),
       std::move(done), priority, /*retried=*/false);
}

void ReplicaRouter::Send(Endpoint& endpoint, std::shared_ptr<CallContext> call,
                         int statement, std::vector<std::string> params,
                         Done done, Priority priority, bool retried) {
  endpoint.outstanding.fetch_add(1, std::memory_order_relaxed);
  endpoint.calls.fetch_add(1, std::memory_order_relaxed);
  // A replica's call keeps its parameters for a retry elsewhere.
  std::vector<std::string> kept;
  const bool may_retry =
      !retried && endpoint.role == EndpointStatus::Role::kReplica;
  if (may_retry) kept = params;
  std::shared_ptr<CallContext> for_retry = may_retry ? call : nullptr;
  endpoint.pool->Execute(
      std::move(call), statement, std::move(params),
      [this, &endpoint, statement, priority, kept = std::move(kept),
       for_retry = std::move(for_retry),
       done = std::move(done)](absl::StatusOr<QueryResult> result) mutable {
        endpoint.outstanding.fetch_sub(1, std::memory_order_relaxed);
        if (for_retry != nullptr &&
            result.status().code() == absl::StatusCode::kUnavailable &&
            !shut_down_.load(std::memory_order_acquire)) {
          SetUsable(endpoint.index, false,
                    std::string(result.status().message()),
                    absl::ZeroDuration());
          if (!for_retry->IsCancelled() &&
              clock_.Now() < for_retry->deadline()) {
            endpoint.retried_elsewhere.fetch_add(1, std::memory_order_relaxed);
            Endpoint& other = Choose(&endpoint);
            Send(other, std::move(for_retry), statement, std::move(kept),
                 std::move(done), priority, /*retried=*/true);
            return;
          }
        }
        done(std::move(result));
      },
      priority);
}

void ReplicaRouter::SetUsable(size_t index, bool usable, std::string reason,
                              absl::Duration lag) {
  Endpoint& endpoint = *endpoints_[index];
  std::optional<EndpointStatus> changed;
  {
    absl::MutexLock lock(&mu_);
    if (usable) {
      lags_[index] = lag;
      reasons_[index].clear();
    } else {
      reasons_[index] = std::move(reason);
    }
    const bool was =
        endpoint.usable.exchange(usable, std::memory_order_acq_rel);
    if (was != usable && on_change_) changed = StatusOf(index);
  }
  if (changed.has_value()) on_change_(*changed);
}

void ReplicaRouter::ProbeLoop() {
  while (true) {
    ProbeAll();
    absl::MutexLock lock(&mu_);
    const absl::Time until = clock_.Now() + options_.check_interval;
    while (!stopping_ && clock_.Now() < until) {
      mu_.AwaitWithTimeout(
          absl::Condition(&stopping_),
          std::min(RealWaitUntil(clock_, until), clock_.MaxRealWait()));
    }
    if (stopping_) return;
  }
}

void ReplicaRouter::ProbeAll() {
  // One probe per replica, all at once; each answer is recorded as it
  // comes, and the round ends when every probe has answered (each within
  // check_timeout: the pool enforces the deadline).
  struct Round {
    absl::Mutex mu;
    int left ABSL_GUARDED_BY(mu) = 0;
  };
  auto round = std::make_shared<Round>();
  {
    absl::MutexLock lock(&round->mu);
    round->left = static_cast<int>(endpoints_.size()) - 1;
  }
  const absl::Time sent = clock_.Now();
  const absl::Time deadline = sent + options_.check_timeout;
  for (size_t i = 1; i < endpoints_.size(); ++i) {
    Endpoint& endpoint = *endpoints_[i];
    endpoint.pool->Execute(
        std::make_shared<CallContext>(deadline), probe_statement_, {},
        [this, i, round, sent](absl::StatusOr<QueryResult> result) {
          absl::Duration behind_for;
          {
            absl::MutexLock lock(&mu_);
            behind_for = clock_.Now() - caught_up_at_[i];
          }
          const ProbeFinding finding =
              FindingOf(result, behind_for, options_.max_lag);
          if (finding.caught_up) {
            absl::MutexLock lock(&mu_);
            caught_up_at_[i] = std::max(caught_up_at_[i], sent);
          }
          SetUsable(i, finding.status.ok(),
                    std::string(finding.status.message()), finding.lag);
          absl::MutexLock lock(&round->mu);
          --round->left;
        },
        Priority::kHigh);
  }
  absl::MutexLock lock(&round->mu);
  round->mu.Await(absl::Condition(
      +[](int* left) { return *left == 0; }, &round->left));
}

EndpointStatus ReplicaRouter::StatusOf(size_t index) const {
  const Endpoint& e = *endpoints_[index];
  EndpointStatus s;
  s.name = e.name;
  s.role = e.role;
  s.usable = e.usable.load(std::memory_order_acquire);
  s.reason = s.usable ? "" : reasons_[index];
  s.lag = lags_[index];
  s.outstanding = e.outstanding.load(std::memory_order_relaxed);
  s.calls = e.calls.load(std::memory_order_relaxed);
  s.retried_elsewhere = e.retried_elsewhere.load(std::memory_order_relaxed);
  s.pool = e.pool->Stats();
  return s;
}

std::vector<EndpointStatus> ReplicaRouter::Endpoints() const {
  std::vector<EndpointStatus> out;
  absl::MutexLock lock(&mu_);
  for (size_t i = 0; i < endpoints_.size(); ++i) out.push_back(StatusOf(i));
  return out;
}

PoolStats ReplicaRouter::Stats() const {
  PoolStats total;
  for (const auto& e : endpoints_) {
    const PoolStats s = e->pool->Stats();
    total.open_connections += s.open_connections;
    total.busy += s.busy;
    total.waiting += s.waiting;
    total.connects += s.connects;
    total.connect_failures += s.connect_failures;
    total.statements_sent += s.statements_sent;
    total.batches_sent += s.batches_sent;
    total.calls_batched += s.calls_batched;
    total.cancels_sent += s.cancels_sent;
  }
  return total;
}

}  // namespace tutoring::db
