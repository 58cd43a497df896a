#include "db/connection_pool.h"

#include <algorithm>
#include <cmath>
#include <pqxx/pqxx>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "db/postgres/connection_string.h"
#include "db/postgres/sql_state.h"
#include "db/pqxx/pqxx_status.h"
#include "db/session.h"

namespace tutoring::db {
namespace {

// How often a cancel request is repeated while a cancelled or expired job
// keeps running.
constexpr absl::Duration kCancelRepeat = absl::Milliseconds(100);

}  // namespace

struct ConnectionPool::Job {
  std::shared_ptr<CallContext> call;
  Task task;
  Done done;
  absl::Time enqueued;
  uint64_t id = 0;
  ConnectionPool::Priority priority = ConnectionPool::Priority::kNormal;
};

struct ConnectionPool::Worker {
  explicit Worker(bool is_overflow) : overflow(is_overflow) {}

  // Constant after construction.
  const bool overflow;
  std::thread thread;

  // Protected by the pool's mu_.
  absl::CondVar cv;               // signalled when a job is assigned
  std::unique_ptr<Job> assigned;  // set by the dispatcher for this worker
  std::shared_ptr<CallContext> running_call;  // housekeeper's view
  uint64_t running_job_id = 0;
  // Cancel requests sent for the running job; the next one is due at
  // next_cancel_at while the job keeps running.
  int cancels_sent = 0;
  absl::Time next_cancel_at;
  bool has_connection = false;
  absl::Time idle_since;

  // Protected by cancel_mu: which job the connection is running, so that a
  // cancel request never hits a later job or a closed connection.
  absl::Mutex cancel_mu;
  uint64_t cancellable_job_id ABSL_GUARDED_BY(cancel_mu) = 0;
  // Written by the worker thread only while cancellable_job_id == 0 and
  // under cancel_mu; read by the worker thread freely and by SendCancel
  // under cancel_mu.
  std::unique_ptr<pqxx::connection> connection;

  // Owned by the worker thread.
  absl::Time connected_at;
  bool used = false;
};

absl::StatusOr<std::unique_ptr<ConnectionPool>> ConnectionPool::Create(
    PoolOptions options, const Clock& clock) {
  if (options.pool_size < 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("pool size must be >= 1, got ", options.pool_size));
  }
  if (options.max_overflow < 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("max overflow must be >= 0, got ", options.max_overflow));
  }
  if (options.max_waiting < 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("max waiting must be >= 0, got ", options.max_waiting));
  }
  if (options.acquire_timeout <= absl::ZeroDuration() ||
      options.connect_timeout <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError(
        "acquire and connect timeouts must be positive");
  }
  absl::StatusOr<std::string> connection_string = WithConnectionDefaults(
      options.database_url,
      {{"connect_timeout", ConnectTimeoutSeconds(options.connect_timeout)},
       {"fallback_application_name", options.application_name}});
  if (!connection_string.ok()) return connection_string.status();
  return std::unique_ptr<ConnectionPool>(new ConnectionPool(
      std::move(options), *std::move(connection_string), clock));
}

ConnectionPool::ConnectionPool(PoolOptions options,
                               std::string connection_string,
                               const Clock& clock)
    : options_(std::move(options)),
      connection_string_(std::move(connection_string)),
      clock_(clock) {
  const int total = options_.pool_size + options_.max_overflow;
  workers_.reserve(total);
  for (int i = 0; i < total; ++i) {
    workers_.push_back(std::make_unique<Worker>(i >= options_.pool_size));
  }
  {
    absl::MutexLock lock(&mu_);
    for (int i = total - 1; i >= 0; --i) {
      workers_[i]->idle_since = clock_.Now();
      (workers_[i]->overflow ? idle_overflow_ : idle_pooled_)
          .push_back(workers_[i].get());
    }
  }
  for (auto& worker : workers_) {
    Worker* w = worker.get();
    w->thread = std::thread([this, w] { WorkerLoop(w); });
  }
  housekeeper_ = std::thread([this] { HousekeeperLoop(); });
}

ConnectionPool::~ConnectionPool() { Shutdown(); }

ConnectionPool::Worker* ConnectionPool::TakeIdleWorker() {
  // Most recently idle first (warm connection, warm backend caches); overflow
  // workers only when every pooled one is busy, so they drain and close.
  for (std::vector<Worker*>* idle : {&idle_pooled_, &idle_overflow_}) {
    if (!idle->empty()) {
      Worker* worker = idle->back();
      idle->pop_back();
      return worker;
    }
  }
  return nullptr;
}

void ConnectionPool::Run(std::shared_ptr<CallContext> call, Task task,
                         Done done, Priority priority) {
  absl::Status rejection;
  {
    absl::MutexLock lock(&mu_);
    const absl::Time now = clock_.Now();
    if (stopping_) {
      rejection = absl::UnavailableError("database pool is shutting down");
    } else if (call->IsCancelled()) {
      rejection = absl::CancelledError("call cancelled before it started");
    } else if (now >= call->deadline()) {
      rejection = absl::DeadlineExceededError(
          "deadline passed before the database was asked");
    } else {
      call->SetCancelListener(this);
      auto job = std::make_unique<Job>();
      job->call = std::move(call);
      job->task = std::move(task);
      job->done = std::move(done);
      job->enqueued = now;
      job->id = next_job_id_++;
      job->priority = priority;
      if (Worker* worker = TakeIdleWorker()) {
        worker->assigned = std::move(job);
        worker->cv.Signal();
        return;
      }
      // Health probes neither count against nor are refused by the bound:
      // they must not crowd out calls, nor be turned away by them.
      if (priority == Priority::kNormal &&
          waiting_normal_ >= options_.max_waiting) {
        rejection = absl::ResourceExhaustedError(absl::StrCat(
            "database pool queue is full (", options_.max_waiting,
            " calls waiting for ", workers_.size(), " connections)"));
        done = std::move(job->done);
      } else {
        const absl::Time expiry =
            std::min(job->call->deadline(), now + options_.acquire_timeout);
        if (priority == Priority::kHigh) {
          queue_.push_front(std::move(job));
        } else {
          queue_.push_back(std::move(job));
          ++waiting_normal_;
        }
        if (expiry < housekeeper_wake_) housekeeper_cv_.Signal();
        ++stats_.waiting;
        return;
      }
    }
  }
  done(rejection);
}

void ConnectionPool::WorkerLoop(Worker* worker) {
  while (true) {
    std::unique_ptr<Job> job;
    bool close_idle_connection = false;
    {
      absl::MutexLock lock(&mu_);
      while (worker->assigned == nullptr && !stopping_) {
        if (worker->overflow && worker->has_connection) {
          const absl::Time close_at =
              worker->idle_since + options_.overflow_idle_timeout;
          const absl::Duration left = close_at - clock_.Now();
          if (left <= absl::ZeroDuration()) {
            close_idle_connection = true;
            break;
          }
          worker->cv.WaitWithTimeout(&mu_, left);
        } else {
          worker->cv.Wait(&mu_);
        }
      }
      if (worker->assigned == nullptr && stopping_) break;
      job = std::move(worker->assigned);
    }
    if (close_idle_connection) {
      CloseConnection(worker);
      continue;
    }

    absl::Status status = Execute(worker, *job);
    job->done(std::move(status));
    job.reset();

    absl::MutexLock lock(&mu_);
    // Take the oldest queued job, or go idle.
    if (!queue_.empty()) {
      worker->assigned = std::move(queue_.front());
      queue_.pop_front();
      --stats_.waiting;
      if (worker->assigned->priority == Priority::kNormal) --waiting_normal_;
    } else {
      worker->idle_since = clock_.Now();
      (worker->overflow ? idle_overflow_ : idle_pooled_).push_back(worker);
    }
  }
  CloseConnection(worker);
}

absl::Status ConnectionPool::Connect(Worker* worker) {
  {
    absl::MutexLock lock(&mu_);
    if (clock_.Now() < reconnect_blocked_until_) return last_connect_error_;
  }
  std::unique_ptr<pqxx::connection> connection;
  absl::Status status;
  try {
    connection = std::make_unique<pqxx::connection>(connection_string_);
    {
      pqxx::nontransaction tx(*connection);
      for (const std::string& sql : options_.session_setup) tx.exec0(sql);
    }
    for (const PreparedStatement& statement : options_.prepared_statements) {
      connection->prepare(statement.name, statement.sql);
    }
  } catch (...) {
    status = StatusFromCurrentException("connecting to the database");
  }
  absl::MutexLock lock(&mu_);
  if (!status.ok()) {
    // Any connect failure means "database unreachable" to callers.
    if (status.code() != absl::StatusCode::kUnavailable) {
      status = absl::UnavailableError(status.message());
    }
    last_connect_error_ = status;
    reconnect_blocked_until_ = clock_.Now() + options_.reconnect_backoff;
    ++stats_.connect_failures;
    return status;
  }
  reconnect_blocked_until_ = absl::InfinitePast();
  ++stats_.connects;
  ++stats_.open_connections;
  worker->has_connection = true;
  {
    absl::MutexLock cancel_lock(&worker->cancel_mu);
    worker->connection = std::move(connection);
  }
  worker->connected_at = clock_.Now();
  worker->used = false;
  return absl::OkStatus();
}

void ConnectionPool::CloseConnection(Worker* worker) {
  std::unique_ptr<pqxx::connection> closing;
  {
    absl::MutexLock cancel_lock(&worker->cancel_mu);
    closing = std::move(worker->connection);
  }
  if (closing == nullptr) return;
  closing.reset();  // closes the socket; may take a moment, so no locks held
  absl::MutexLock lock(&mu_);
  worker->has_connection = false;
  --stats_.open_connections;
}

absl::Status ConnectionPool::Execute(Worker* worker, Job& job) {
  const CallContext& call = *job.call;
  for (int attempt = 0; attempt < 2; ++attempt) {
    if (call.IsCancelled()) {
      return absl::CancelledError("call cancelled before its query ran");
    }
    if (clock_.Now() >= call.deadline()) {
      return absl::DeadlineExceededError(
          "deadline passed while waiting for a database connection");
    }
    if (worker->connection != nullptr && clock_.Now() - worker->connected_at >=
                                             options_.max_connection_lifetime) {
      CloseConnection(worker);
    }
    if (worker->connection == nullptr) {
      absl::Status connected = Connect(worker);
      if (!connected.ok()) return connected;
    }
    const bool reused = worker->used;
    {
      absl::MutexLock lock(&mu_);
      worker->running_call = job.call;
      worker->running_job_id = job.id;
      worker->cancels_sent = 0;
      ++stats_.busy;
      if (call.deadline() < housekeeper_wake_) housekeeper_cv_.Signal();
    }
    {
      absl::MutexLock cancel_lock(&worker->cancel_mu);
      worker->cancellable_job_id = job.id;
    }
    absl::Status status;
    try {
      Session session(*worker->connection, call);
      status = job.task(session);
    } catch (...) {
      status = StatusFromCurrentException("database query");
    }
    {
      absl::MutexLock cancel_lock(&worker->cancel_mu);
      worker->cancellable_job_id = 0;
    }
    {
      absl::MutexLock lock(&mu_);
      worker->running_call.reset();
      worker->running_job_id = 0;
      --stats_.busy;
    }
    worker->used = true;
    if (status.ok()) return status;

    if (IsConnectionLoss(status)) {
      CloseConnection(worker);
      // A connection that worked before broke (server restart, killed
      // backend): the query is a read, so try once more on a new one.
      if (reused && attempt == 0) continue;
      return status;
    }
    if (status.code() == absl::StatusCode::kDeadlineExceeded) {
      // SQLSTATE 57014: our cancel request, statement_timeout, or a cancel
      // meant for the previous job that reached the server late.
      if (call.IsCancelled()) {
        return absl::CancelledError("call cancelled; its query was cancelled");
      }
      if (clock_.Now() >= call.deadline()) {
        return absl::DeadlineExceededError(
            "deadline passed; the query was cancelled");
      }
      if (!absl::StrContains(status.message(), "statement timeout") &&
          attempt == 0) {
        continue;
      }
    }
    return status;
  }
  return absl::InternalError("unreachable: retry loop ended");
}

void ConnectionPool::SendCancel(Worker* worker, uint64_t job_id) {
  absl::MutexLock cancel_lock(&worker->cancel_mu);
  if (worker->cancellable_job_id != job_id || worker->connection == nullptr) {
    return;  // finished meanwhile
  }
  try {
    // PQcancel over a separate connection; waits for the server to take it.
    worker->connection->cancel_query();
  } catch (...) {
    // Nothing to do: the query ends by its statement_timeout or finishes.
  }
}

void ConnectionPool::OnCallCancelled() { WakeHousekeeper(); }

void ConnectionPool::WakeHousekeeper() {
  absl::MutexLock lock(&mu_);
  housekeeper_cv_.Signal();
}

void ConnectionPool::HousekeeperLoop() {
  absl::MutexLock lock(&mu_);
  while (true) {
    const absl::Time now = clock_.Now();
    absl::Time wake = absl::InfiniteFuture();
    std::vector<std::pair<std::unique_ptr<Job>, absl::Status>> expired;
    for (auto it = queue_.begin(); it != queue_.end();) {
      Job& job = **it;
      const absl::Time acquire_limit = job.enqueued + options_.acquire_timeout;
      absl::Status status;
      if (job.call->IsCancelled()) {
        status = absl::CancelledError(
            "call cancelled while waiting for a database connection");
      } else if (now >= job.call->deadline()) {
        status = absl::DeadlineExceededError(
            "deadline passed while waiting for a database connection");
      } else if (now >= acquire_limit) {
        status = absl::ResourceExhaustedError(
            absl::StrCat("no database connection became free within ",
                         absl::FormatDuration(options_.acquire_timeout)));
      }
      if (status.ok()) {
        wake = std::min({wake, job.call->deadline(), acquire_limit});
        ++it;
      } else {
        if (job.priority == Priority::kNormal) --waiting_normal_;
        expired.emplace_back(std::move(*it), std::move(status));
        it = queue_.erase(it);
        --stats_.waiting;
      }
    }
    std::vector<std::pair<Worker*, uint64_t>> to_cancel;
    for (auto& worker : workers_) {
      Worker* w = worker.get();
      if (w->running_call == nullptr) continue;
      if (w->running_call->IsCancelled() ||
          now >= w->running_call->deadline()) {
        // A cancel request only stops a statement the server is running; one
        // that arrives before the task sends its query (or between two of
        // its statements) is lost, so repeat it until the job ends.
        if (w->cancels_sent == 0 || now >= w->next_cancel_at) {
          ++w->cancels_sent;
          w->next_cancel_at = now + kCancelRepeat;
          to_cancel.emplace_back(w, w->running_job_id);
        }
        wake = std::min(wake, w->next_cancel_at);
      } else {
        wake = std::min(wake, w->running_call->deadline());
      }
    }
    if (!expired.empty() || !to_cancel.empty()) {
      mu_.Unlock();
      for (auto& [job, status] : expired) job->done(std::move(status));
      expired.clear();
      for (const auto& [w, job_id] : to_cancel) SendCancel(w, job_id);
      mu_.Lock();
      continue;
    }
    // Runs until every worker has exited (Shutdown joins workers first), so
    // deadlines keep being enforced while running jobs drain.
    if (stopping_ && shut_down_.load()) break;
    housekeeper_wake_ = wake;
    if (wake == absl::InfiniteFuture()) {
      housekeeper_cv_.Wait(&mu_);
    } else {
      housekeeper_cv_.WaitWithTimeout(&mu_, wake - now);
    }
    housekeeper_wake_ = absl::InfinitePast();
  }
}

void ConnectionPool::Shutdown() {
  std::deque<std::unique_ptr<Job>> abandoned;
  {
    absl::MutexLock lock(&mu_);
    if (stopping_) return;
    stopping_ = true;
    abandoned.swap(queue_);
    stats_.waiting = 0;
    waiting_normal_ = 0;
    for (auto& worker : workers_) worker->cv.Signal();
  }
  for (auto& job : abandoned) {
    job->done(absl::UnavailableError("database pool is shutting down"));
  }
  for (auto& worker : workers_) {
    if (worker->thread.joinable()) worker->thread.join();
  }
  {
    absl::MutexLock lock(&mu_);
    shut_down_.store(true);
    housekeeper_cv_.Signal();
  }
  if (housekeeper_.joinable()) housekeeper_.join();
}

PoolStats ConnectionPool::Stats() const {
  absl::MutexLock lock(&mu_);
  return stats_;
}

}  // namespace tutoring::db
