#include "db/connection_pool.h"

#include <libpq-fe.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <deque>
#include <queue>
#include <thread>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "db/binary_values.h"
#include "db/canceller.h"
#include "db/pg_connection.h"
#include "db/postgres/connection_string.h"
#include "db/postgres/sql_state.h"

namespace tutoring::db {
namespace {

// How many times a call's statement is sent again after a cancel request
// meant for another statement hit it.
constexpr int kMaxRetries = 3;

// A cancel request travels on a connection of its own and may reach the
// backend this long after it was sent: a statement cancelled within this
// window of a request of ours is taken to be its victim.
constexpr absl::Duration kCancelReach = absl::Seconds(5);
// A statement running longer than this is a slow one (a thousand-id
// BatchGetStreaks runs for a few hundred milliseconds; point lookups take
// well under a millisecond): new statements go to another connection, or a
// new one, rather than into the pipeline behind it.
constexpr absl::Duration kSlowHead = absl::Milliseconds(2);

// Longest Shutdown waits for cancel requests on their way.
constexpr absl::Duration kMaxCancelDrain = absl::Milliseconds(300);

// The highest $n in `sql`: the number of parameters a statement takes.
int CountParameters(absl::string_view sql) {
  int highest = 0;
  for (size_t i = 0; i < sql.size(); ++i) {
    if (sql[i] != '$') continue;
    size_t j = i + 1;
    while (j < sql.size() && absl::ascii_isdigit(sql[j])) ++j;
    int n = 0;
    if (j > i + 1 && absl::SimpleAtoi(sql.substr(i + 1, j - i - 1), &n)) {
      highest = std::max(highest, n);
    }
  }
  return highest;
}

// `values` as a PostgreSQL array literal of quoted elements, which any
// element type accepts: {"1","2"} for int8[], {"a \"b\""} for text[].
std::string ArrayLiteral(const std::vector<const std::string*>& values) {
  std::string out = "{";
  for (size_t i = 0; i < values.size(); ++i) {
    if (i > 0) out.push_back(',');
    out.push_back('"');
    for (const char c : *values[i]) {
      if (c == '"' || c == '\\') out.push_back('\\');
      out.push_back(c);
    }
    out.push_back('"');
  }
  out.push_back('}');
  return out;
}

// Parameters as one string, to find calls that ask the same thing.
std::string ParamsKey(const std::vector<std::string>& params) {
  std::string key;
  for (const std::string& p : params) {
    absl::StrAppend(&key, p.size(), ":", p, ";");
  }
  return key;
}

// A failed result's SQLSTATE ("XX000", internal error, when libpq has none)
// and its message.
absl::string_view SqlStateOf(const pg_result* result) {
  const char* state = PQresultErrorField(result, PG_DIAG_SQLSTATE);
  return state != nullptr ? state : "XX000";
}
absl::string_view ErrorMessageOf(const pg_result* result) {
  return absl::StripTrailingAsciiWhitespace(PQresultErrorMessage(result));
}

int ToMilliseconds(absl::Duration d) {
  if (d <= absl::ZeroDuration()) return 0;
  if (d >= absl::Hours(1)) return 3600 * 1000;
  return static_cast<int>(
      absl::ToInt64Milliseconds(absl::Ceil(d, absl::Milliseconds(1))));
}

}  // namespace

// One shard: an event-loop thread with its share of the connections, the
// calls submitted to it, and the statements in flight on its connections.
// Everything but the atomics belongs to the
// shard's thread.
class ConnectionPool::Shard final : public CancelListener {
 public:
  struct Job;
  struct Sent;
  struct Conn;

  Shard(ConnectionPool& pool, int index, int connections, int overflow,
        Canceller& canceller);
  Shard(const Shard&) = delete;
  Shard& operator=(const Shard&) = delete;
  ~Shard() override;

  // Thread-safe.
  void Submit(std::unique_ptr<Job> job);
  void Stop();
  void AddStats(PoolStats& stats) const;

  void OnCallCancelled() override;

 private:
  struct Timer {
    absl::Time at;
    uint64_t job_id;
    bool operator>(const Timer& other) const { return at > other.at; }
  };

  void Run();
  void Wake();
  void TakeIncoming();
  void Enqueue(std::unique_ptr<Job> job, bool at_front);
  void ScanCancelled();
  void RunTimers(absl::Time now);
  void Dispatch(absl::Time now);
  // The ready connection with the fewest statements in flight and room
  // for one more; with `behind_slow` false, not one whose oldest statement
  // has run longer than kSlowHead (a new statement would wait for it).
  Conn* PickConnection(absl::Time now, bool behind_slow);
  void OpenConnection(bool overflow, absl::Time now);
  bool TakeBatch(int statement, std::deque<std::unique_ptr<Job>>& queue,
                 std::unique_ptr<Sent>& sent);
  void Send(Conn& conn, std::unique_ptr<Sent> sent, absl::Time now);
  void HandleIo(Conn& conn, absl::Time now);
  void OnResult(Conn& conn, pg_result* result, absl::Time now);
  void OnStatementResult(Conn& conn, std::unique_ptr<Sent> sent,
                         pg_result* result);
  void FailStatement(Conn& conn, Sent& sent, absl::string_view state,
                     absl::string_view message);
  // Tells options_.observer how the execution went.
  void ObserveStatement(const Sent& sent, const pg_result* result);
  void OnConnectFailed(Conn& conn, const absl::Status& error, absl::Time now);
  void CloseConnection(Conn& conn);
  // The session setup is done: the connection takes statements.
  void MarkReady(Conn& conn, absl::Time now);
  void MaintainConnections(absl::Time now);
  void CancelHeadIfDead(Conn& conn, absl::Time now);
  void Requeue(Sent& sent, const absl::Status& if_exhausted);
  void FailWaiting(const absl::Status& status);
  void Finish(Job& job, absl::StatusOr<QueryResult> result);
  void UpdateRegistration(Conn& conn);
  absl::Time NextWake(absl::Time now) const;
  bool HasWaiting() const;
  bool Drained() const;
  int CountConnections(bool overflow) const;

  // Constant after construction.
  ConnectionPool& pool_;
  const PoolOptions& options_;
  const Clock& clock_;
  [[maybe_unused]] const int index_;  // which shard: read only in a debugger
  const int max_pooled_;
  const int max_overflow_;
  Canceller& canceller_;
  int epoll_fd_ = -1;
  int event_fd_ = -1;

  // Calls submitted by other threads, newest first (a lock-free stack the
  // shard's thread takes whole): Submit never waits for the shard.
  std::atomic<Job*> incoming_{nullptr};
  // Set by the shard's thread before it blocks in epoll_wait; a Submit that
  // finds it set (and the stack empty before its push) wakes the thread.
  std::atomic<bool> sleeping_{false};
  std::atomic<bool> stopping_{false};
  // Submits between their check of stopping_ and their push: the shard's
  // last look at incoming_ waits for them.
  std::atomic<int> submitting_{0};
  std::atomic<bool> cancel_scan_{false};

  // Read by Stats() from any thread.
  std::atomic<int> open_connections_{0};
  std::atomic<int> busy_connections_{0};
  std::atomic<int> waiting_{0};
  std::atomic<int64_t> connects_{0};
  std::atomic<int64_t> connect_failures_{0};
  std::atomic<int64_t> statements_sent_{0};
  std::atomic<int64_t> batches_sent_{0};
  std::atomic<int64_t> calls_batched_{0};
  std::atomic<int64_t> cancels_sent_{0};

  // The shard thread's own state.
  bool stopping_seen_ = false;
  // Waiting calls: high priority first, then one queue per statement.
  std::deque<std::unique_ptr<Job>> high_;
  std::vector<std::deque<std::unique_ptr<Job>>> pending_;
  // Calls not finished yet, by id: the timers' and cancel scan's view.
  absl::flat_hash_map<uint64_t, Job*> live_;
  std::priority_queue<Timer, std::vector<Timer>, std::greater<Timer>> timers_;
  std::vector<std::unique_ptr<Conn>> conns_;

  std::thread thread_;
};

// One call.
struct ConnectionPool::Shard::Job {
  std::shared_ptr<CallContext> call;
  int statement = 0;
  std::vector<std::string> params;
  ConnectionPool::Done done;
  ConnectionPool::Priority priority = ConnectionPool::Priority::kNormal;
  absl::Time enqueued;
  uint64_t id = 0;
  uint64_t order = 0;  // arrival order in its shard
  // Counted in the pool's waiting_ (normal priority, not yet sent).
  bool counted_waiting = false;
  bool waiting = true;  // not yet sent
  bool finished = false;
  int retries = 0;
  // The execution answering it, while in flight.
  Sent* sent = nullptr;
  // The next older call in the shard's incoming stack.
  Job* next_incoming = nullptr;
};

// One execution in flight: the calls it answers, grouped by identical
// parameters ("entries": the batch form's array positions, 1-based in SQL).
struct ConnectionPool::Shard::Sent {
  int statement = 0;
  bool batch = false;
  std::vector<std::vector<std::unique_ptr<Job>>> entries;
  int live = 0;  // calls not finished
  absl::Time sent_at;
  // Its statement was prepared on the connection right before it: that
  // answer comes first. A failed PREPARE fails the execution behind it.
  bool preparing = false;
  std::string prepare_error_state;
  std::string prepare_error_message;
};

struct ConnectionPool::Shard::Conn {
  std::unique_ptr<PgConnection> pg;
  bool overflow = false;
  // Epoll registration.
  int registered_fd = -1;
  uint32_t registered_events = 0;
  absl::Time started;
  absl::Time connected_at = absl::InfiniteFuture();
  absl::Time idle_since;
  // Session setup and PREPAREs sent but not answered; usable at zero.
  int setup_left = -1;
  bool ready = false;
  // Past its lifetime: no new statements; closed once idle.
  bool retiring = false;
  std::deque<std::unique_ptr<Sent>> in_flight;
  absl::Time last_cancel_at = absl::InfinitePast();
  absl::Time next_cancel_at = absl::InfiniteFuture();
  bool closed = false;
  // Which statements (2 * index, + 1 for the batch form) are prepared on
  // this connection, or on their way.
  std::vector<bool> prepared;
};

ConnectionPool::Shard::Shard(ConnectionPool& pool, int index, int connections,
                             int overflow, Canceller& canceller)
    : pool_(pool),
      options_(pool.options_),
      clock_(pool.clock_),
      index_(index),
      max_pooled_(connections),
      max_overflow_(overflow),
      canceller_(canceller),
      pending_(pool.options_.statements.size()) {
  epoll_fd_ = epoll_create1(EPOLL_CLOEXEC);
  event_fd_ = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  epoll_event event{};
  event.events = EPOLLIN;
  event.data.ptr = nullptr;  // the wake-up descriptor
  epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, event_fd_, &event);
  thread_ = std::thread([this] { Run(); });
}

ConnectionPool::Shard::~Shard() {
  Stop();
  close(event_fd_);
  close(epoll_fd_);
}

void ConnectionPool::Shard::Stop() {
  stopping_.store(true, std::memory_order_seq_cst);
  Wake();
  if (thread_.joinable()) thread_.join();
}

void ConnectionPool::Shard::Wake() {
  const uint64_t one = 1;
  // A full counter already means "wake up".
  (void)!write(event_fd_, &one, sizeof(one));
}

void ConnectionPool::Shard::Submit(std::unique_ptr<Job> job) {
  submitting_.fetch_add(1, std::memory_order_seq_cst);
  if (stopping_.load(std::memory_order_seq_cst)) {
    submitting_.fetch_sub(1, std::memory_order_seq_cst);
    if (job->counted_waiting) pool_.waiting_.fetch_sub(1);
    job->done(absl::UnavailableError("database pool is shutting down"));
    return;
  }
  Job* raw = job.release();
  Job* head = incoming_.load(std::memory_order_relaxed);
  do {
    raw->next_incoming = head;
  } while (!incoming_.compare_exchange_weak(
      head, raw, std::memory_order_seq_cst, std::memory_order_relaxed));
  submitting_.fetch_sub(1, std::memory_order_seq_cst);
  // Only the push onto an empty stack may find the thread asleep: later
  // ones know it has been told.
  if (head == nullptr && sleeping_.load(std::memory_order_seq_cst)) Wake();
}

void ConnectionPool::Shard::OnCallCancelled() {
  cancel_scan_.store(true, std::memory_order_release);
  Wake();
}

void ConnectionPool::Shard::AddStats(PoolStats& stats) const {
  stats.open_connections += open_connections_.load();
  stats.busy += busy_connections_.load();
  stats.waiting += waiting_.load();
  stats.connects += connects_.load();
  stats.connect_failures += connect_failures_.load();
  stats.statements_sent += statements_sent_.load();
  stats.batches_sent += batches_sent_.load();
  stats.calls_batched += calls_batched_.load();
  stats.cancels_sent += cancels_sent_.load();
}

void ConnectionPool::Shard::TakeIncoming() {
  if (stopping_.load(std::memory_order_seq_cst)) {
    stopping_seen_ = true;
    // Submits that passed their check of stopping_ finish their push first.
    while (submitting_.load(std::memory_order_seq_cst) > 0) {
      std::this_thread::yield();
    }
  }
  Job* taken = incoming_.exchange(nullptr, std::memory_order_acquire);
  // The stack is newest first: reverse it into arrival order.
  Job* oldest = nullptr;
  while (taken != nullptr) {
    Job* next = taken->next_incoming;
    taken->next_incoming = oldest;
    oldest = taken;
    taken = next;
  }
  while (oldest != nullptr) {
    std::unique_ptr<Job> job(oldest);
    oldest = oldest->next_incoming;
    live_[job->id] = job.get();
    timers_.push(Timer{std::min(job->call->deadline(),
                                job->enqueued + options_.acquire_timeout),
                       job->id});
    if (job->priority == Priority::kNormal) {
      waiting_.fetch_add(1, std::memory_order_relaxed);
    }
    // A call cancelled before it got here is answered by the next scan.
    if (job->call->IsCancelled()) cancel_scan_.store(true);
    Enqueue(std::move(job), /*at_front=*/false);
  }
}

void ConnectionPool::Shard::Enqueue(std::unique_ptr<Job> job, bool at_front) {
  job->waiting = true;
  std::deque<std::unique_ptr<Job>>& queue =
      job->priority == Priority::kHigh ? high_ : pending_[job->statement];
  if (at_front) {
    queue.push_front(std::move(job));
  } else {
    queue.push_back(std::move(job));
  }
}

void ConnectionPool::Shard::Finish(Job& job,
                                   absl::StatusOr<QueryResult> result) {
  if (job.finished) return;
  job.finished = true;
  live_.erase(job.id);
  if (job.sent != nullptr) --job.sent->live;
  if (job.waiting && job.priority == Priority::kNormal) {
    waiting_.fetch_sub(1, std::memory_order_relaxed);
  }
  if (job.counted_waiting) {
    pool_.waiting_.fetch_sub(1, std::memory_order_relaxed);
    job.counted_waiting = false;
  }
  job.call->SetCancelListener(nullptr);
  ConnectionPool::Done done = std::move(job.done);
  done(std::move(result));
}

bool ConnectionPool::Shard::HasWaiting() const {
  if (!high_.empty()) return true;
  for (const auto& queue : pending_) {
    if (!queue.empty()) return true;
  }
  return false;
}

int ConnectionPool::Shard::CountConnections(bool overflow) const {
  int count = 0;
  for (const auto& conn : conns_) count += conn->overflow == overflow ? 1 : 0;
  return count;
}

bool ConnectionPool::Shard::Drained() const {
  if (HasWaiting()) return false;
  // A statement no live call needs any more (its calls ended at their
  // deadline or were cancelled) does not hold the shutdown up: on a stalled
  // server its answer may never come. Its connection is closed unanswered.
  for (const auto& conn : conns_) {
    for (const auto& sent : conn->in_flight) {
      if (sent->live > 0) return false;
    }
  }
  return true;
}

void ConnectionPool::Shard::Run() {
  epoll_event events[64];
  while (true) {
    TakeIncoming();
    absl::Time now = clock_.Now();
    if (stopping_seen_) {
      FailWaiting(absl::UnavailableError("database pool is shutting down"));
    }
    if (cancel_scan_.exchange(false, std::memory_order_acq_rel)) {
      ScanCancelled();
    }
    RunTimers(now);
    MaintainConnections(now);
    Dispatch(now);
    for (auto& conn : conns_) {
      if (conn->closed) continue;
      conn->pg->Flush();
      UpdateRegistration(*conn);
    }
    if (stopping_seen_ && Drained()) break;

    const absl::Time wake = NextWake(now);
    int timeout_ms = -1;
    if (wake != absl::InfiniteFuture()) {
      timeout_ms = ToMilliseconds(RealWaitUntil(clock_, wake));
    } else if (clock_.MaxRealWait() != absl::InfiniteDuration()) {
      timeout_ms = ToMilliseconds(clock_.MaxRealWait());
    }
    // Announce the sleep, then look once more: a Submit either sees the
    // announcement (and wakes the thread) or its call is seen here.
    if (timeout_ms != 0) sleeping_.store(true, std::memory_order_seq_cst);
    if (incoming_.load(std::memory_order_seq_cst) != nullptr ||
        stopping_.load(std::memory_order_seq_cst) != stopping_seen_) {
      timeout_ms = 0;
    }
    const int n = epoll_wait(epoll_fd_, events, 64, timeout_ms);
    sleeping_.store(false, std::memory_order_relaxed);
    now = clock_.Now();
    for (int i = 0; i < n; ++i) {
      if (events[i].data.ptr == nullptr) {
        uint64_t ignored;
        (void)!read(event_fd_, &ignored, sizeof(ignored));
        continue;
      }
      Conn* conn = static_cast<Conn*>(events[i].data.ptr);
      if (!conn->closed) HandleIo(*conn, now);
    }
    // Connections closed while handling events go now that no event of this
    // round refers to them.
    conns_.erase(std::remove_if(conns_.begin(), conns_.end(),
                                [](const auto& c) { return c->closed; }),
                 conns_.end());
  }
  for (auto& conn : conns_) CloseConnection(*conn);
  conns_.clear();
}

absl::Time ConnectionPool::Shard::NextWake(absl::Time now) const {
  absl::Time wake = absl::InfiniteFuture();
  if (!timers_.empty()) wake = timers_.top().at;
  for (const auto& conn : conns_) {
    if (conn->closed) continue;
    if (!conn->ready) {
      wake = std::min(wake, conn->started + options_.connect_timeout);
    }
    wake = std::min(wake, conn->next_cancel_at);
    if (conn->in_flight.empty()) {
      if (conn->overflow) {
        wake =
            std::min(wake, conn->idle_since + options_.overflow_idle_timeout);
      }
      if (conn->ready) {
        wake = std::min(wake,
                        conn->connected_at + options_.max_connection_lifetime);
      }
    }
  }
  if (HasWaiting()) {
    const absl::Time blocked_until = pool_.ReconnectBlockedUntil();
    if (blocked_until > now) wake = std::min(wake, blocked_until);
  }
  return wake;
}

void ConnectionPool::Shard::ScanCancelled() {
  std::vector<Job*> cancelled;
  for (const auto& [id, job] : live_) {
    if (job->call->IsCancelled()) cancelled.push_back(job);
  }
  const absl::Time now = clock_.Now();
  for (Job* job : cancelled) {
    Finish(*job, absl::CancelledError(
                     job->waiting ? "call cancelled while waiting for a "
                                    "database connection"
                                  : "call cancelled; its query is cancelled"));
  }
  if (!cancelled.empty()) {
    for (auto& conn : conns_) CancelHeadIfDead(*conn, now);
  }
}

void ConnectionPool::Shard::RunTimers(absl::Time now) {
  bool any_expired = false;
  while (!timers_.empty() && timers_.top().at <= now) {
    const Timer timer = timers_.top();
    timers_.pop();
    const auto it = live_.find(timer.job_id);
    if (it == live_.end()) continue;
    Job& job = *it->second;
    if (now >= job.call->deadline()) {
      any_expired = true;
      Finish(job,
             absl::DeadlineExceededError(
                 job.waiting ? "deadline passed while waiting for a database "
                               "connection"
                             : "deadline passed; the query is cancelled"));
    } else if (job.waiting && now >= job.enqueued + options_.acquire_timeout) {
      Finish(job, absl::ResourceExhaustedError(absl::StrCat(
                      "no database connection had room within ",
                      absl::FormatDuration(options_.acquire_timeout))));
    } else {
      // Sent meanwhile: only its deadline is left to watch.
      timers_.push(Timer{job.call->deadline(), job.id});
    }
  }
  if (any_expired) {
    for (auto& conn : conns_) CancelHeadIfDead(*conn, now);
  }
  for (auto& conn : conns_) {
    if (conn->next_cancel_at <= now) CancelHeadIfDead(*conn, now);
  }
}

void ConnectionPool::Shard::CancelHeadIfDead(Conn& conn, absl::Time now) {
  if (conn.in_flight.empty() || conn.in_flight.front()->live > 0 ||
      conn.closed) {
    conn.next_cancel_at = absl::InfiniteFuture();
    return;
  }
  if (now < conn.next_cancel_at &&
      conn.next_cancel_at != absl::InfiniteFuture()) {
    return;  // one already went out; the next is due later
  }
  // The statement at the head of the pipeline is the one the backend runs
  // (or will run next) and no live call needs it.
  if (canceller_.Send(conn.pg->cancel_handle())) {
    cancels_sent_.fetch_add(1, std::memory_order_relaxed);
  }
  conn.last_cancel_at = now;
  conn.next_cancel_at = now + options_.cancel_repeat;
}

void ConnectionPool::Shard::MaintainConnections(absl::Time now) {
  for (auto& conn_ptr : conns_) {
    Conn& conn = *conn_ptr;
    if (conn.closed) continue;
    if (!conn.ready && now >= conn.started + options_.connect_timeout) {
      OnConnectFailed(conn,
                      absl::UnavailableError(absl::StrCat(
                          "connecting to the database: no answer within ",
                          absl::FormatDuration(options_.connect_timeout))),
                      now);
      continue;
    }
    if (!conn.ready || !conn.in_flight.empty()) continue;
    if (now >= conn.connected_at + options_.max_connection_lifetime) {
      conn.retiring = true;
    }
    if (conn.retiring ||
        (conn.overflow &&
         now >= conn.idle_since + options_.overflow_idle_timeout)) {
      CloseConnection(conn);
    }
  }
  conns_.erase(std::remove_if(conns_.begin(), conns_.end(),
                              [](const auto& c) { return c->closed; }),
               conns_.end());
}

ConnectionPool::Shard::Conn* ConnectionPool::Shard::PickConnection(
    absl::Time now, bool behind_slow) {
  Conn* best = nullptr;
  for (auto& conn_ptr : conns_) {
    Conn& conn = *conn_ptr;
    if (!conn.ready || conn.retiring || conn.closed) continue;
    if (now >= conn.connected_at + options_.max_connection_lifetime) {
      conn.retiring = true;
      continue;
    }
    const int depth = static_cast<int>(conn.in_flight.size());
    if (depth >= options_.pipeline_depth) continue;
    // A dead statement still running at the head would hold new ones up.
    if (depth > 0 && conn.in_flight.front()->live == 0) continue;
    if (depth > 0 && !behind_slow &&
        now - conn.in_flight.front()->sent_at > kSlowHead) {
      continue;
    }
    if (best == nullptr || depth < static_cast<int>(best->in_flight.size()) ||
        (depth == static_cast<int>(best->in_flight.size()) && best->overflow &&
         !conn.overflow)) {
      best = &conn;
    }
  }
  return best;
}

void ConnectionPool::Shard::OpenConnection(bool overflow, absl::Time now) {
  auto conn = std::make_unique<Conn>();
  conn->pg = PgConnection::Start(pool_.connection_string_);
  conn->overflow = overflow;
  conn->prepared.assign(2 * options_.statements.size(), false);
  conn->started = now;
  conn->idle_since = now;
  Conn& added = *conn;
  conns_.push_back(std::move(conn));
  if (added.pg->phase() == PgConnection::Phase::kBroken) {
    OnConnectFailed(added, added.pg->error(), now);
    return;
  }
  UpdateRegistration(added);
}

void ConnectionPool::Shard::Dispatch(absl::Time now) {
  while (HasWaiting()) {
    // The oldest waiting call decides which statement goes next; finished
    // calls at the heads of the queues are dropped on the way.
    std::deque<std::unique_ptr<Job>>* queue = nullptr;
    int statement = -1;
    while (!high_.empty() && high_.front()->finished) high_.pop_front();
    if (!high_.empty()) {
      queue = &high_;
      statement = high_.front()->statement;
    } else {
      for (size_t s = 0; s < pending_.size(); ++s) {
        auto& q = pending_[s];
        while (!q.empty() && q.front()->finished) q.pop_front();
        if (!q.empty() &&
            (queue == nullptr || q.front()->order < queue->front()->order)) {
          queue = &q;
          statement = static_cast<int>(s);
        }
      }
    }
    if (queue == nullptr) return;

    Conn* conn = PickConnection(now, /*behind_slow=*/false);
    if (conn == nullptr) {
      // Connections on their way bring room for pipeline_depth statements
      // each; open more only when the waiting calls need more than that.
      int connecting = 0;
      for (const auto& c : conns_) {
        if (!c->ready && !c->closed) ++connecting;
      }
      if (connecting > 0 &&
          connecting * options_.pipeline_depth >= waiting_.load()) {
        return;
      }
      const int pooled = CountConnections(false);
      const int overflow = CountConnections(true);
      if (pooled < max_pooled_ || overflow < max_overflow_) {
        if (absl::Status blocked = pool_.ReconnectBlocked(now); !blocked.ok()) {
          // The database was unreachable a moment ago: calls that have no
          // connection to wait for fail now rather than at their deadline.
          if (conns_.empty()) FailWaiting(blocked);
          return;
        }
        OpenConnection(/*overflow=*/pooled >= max_pooled_, now);
        continue;
      }
      // No connection to open: pipelining behind a slow statement beats
      // waiting for one to finish.
      conn = PickConnection(now, /*behind_slow=*/true);
      if (conn == nullptr) return;  // every pipeline is full: wait for room
    }
    std::unique_ptr<Sent> sent;
    if (!TakeBatch(statement, *queue, sent)) continue;
    Send(*conn, std::move(sent), now);
  }
}

bool ConnectionPool::Shard::TakeBatch(int statement,
                                      std::deque<std::unique_ptr<Job>>& queue,
                                      std::unique_ptr<Sent>& sent) {
  const StatementSpec& spec = options_.statements[statement];
  const bool high = &queue == &high_;
  sent = std::make_unique<Sent>();
  sent->statement = statement;
  absl::flat_hash_map<std::string, int> entry_of;
  // Calls asking exactly the same thing share an entry, whatever the
  // statement; different ones join only a statement with a batch form.
  const int limit = spec.batch_sql.empty() ? 1 : options_.max_batch;
  int taken = 0;
  for (auto it = queue.begin();
       it != queue.end() && taken < options_.max_batch;) {
    Job& job = **it;
    if (job.finished) {
      it = queue.erase(it);
      continue;
    }
    if (high && job.statement != statement) {
      ++it;
      continue;
    }
    std::string key = ParamsKey(job.params);
    auto found = entry_of.find(key);
    if (found == entry_of.end()) {
      if (static_cast<int>(sent->entries.size()) >= limit) {
        ++it;
        continue;
      }
      found = entry_of.emplace(std::move(key), sent->entries.size()).first;
      sent->entries.emplace_back();
    }
    sent->entries[found->second].push_back(std::move(*it));
    it = queue.erase(it);
    ++taken;
  }
  sent->live = taken;
  sent->batch = sent->entries.size() > 1;
  return taken > 0;
}

void ConnectionPool::Shard::Send(Conn& conn, std::unique_ptr<Sent> sent,
                                 absl::Time now) {
  const StatementSpec& spec = options_.statements[sent->statement];
  int calls = 0;
  for (auto& entry : sent->entries) {
    for (auto& job : entry) {
      job->sent = sent.get();
      job->waiting = false;
      if (job->priority == Priority::kNormal) {
        waiting_.fetch_sub(1, std::memory_order_relaxed);
      }
      if (job->counted_waiting) {
        pool_.waiting_.fetch_sub(1, std::memory_order_relaxed);
        job->counted_waiting = false;
      }
      if (options_.observer != nullptr) {
        options_.observer->CallSent(now - job->enqueued);
      }
      ++calls;
    }
  }
  const int key = 2 * sent->statement + (sent->batch ? 1 : 0);
  const std::string name = sent->batch ? spec.name + "__batch" : spec.name;
  bool ok = true;
  if (options_.unnamed_statements) {
    conn.prepared[key] = true;  // nothing to prepare
  } else if (!conn.prepared[key]) {
    ok = conn.pg->SendPrepare(name, sent->batch ? spec.batch_sql : spec.sql);
    conn.prepared[key] = true;
    sent->preparing = true;
  }
  if (!sent->batch) {
    const std::vector<std::string>& params = sent->entries[0][0]->params;
    std::vector<const char*> values;
    values.reserve(params.size());
    for (const std::string& p : params) values.push_back(p.c_str());
    ok = ok && (options_.unnamed_statements
                    ? conn.pg->SendUnnamed(spec.sql, values,
                                           spec.binary_results)
                    : conn.pg->SendPrepared(name, values, spec.binary_results));
  } else {
    const size_t arity = sent->entries[0][0]->params.size();
    std::vector<std::string> arrays(arity);
    for (size_t p = 0; p < arity; ++p) {
      std::vector<const std::string*> column;
      column.reserve(sent->entries.size());
      for (const auto& entry : sent->entries) {
        column.push_back(&entry[0]->params[p]);
      }
      arrays[p] = ArrayLiteral(column);
    }
    std::vector<const char*> values;
    for (const std::string& a : arrays) values.push_back(a.c_str());
    ok = ok && (options_.unnamed_statements
                    ? conn.pg->SendUnnamed(spec.batch_sql, values,
                                           spec.binary_results)
                    : conn.pg->SendPrepared(name, values, spec.binary_results));
    batches_sent_.fetch_add(1, std::memory_order_relaxed);
    calls_batched_.fetch_add(calls, std::memory_order_relaxed);
  }
  statements_sent_.fetch_add(1, std::memory_order_relaxed);
  sent->sent_at = now;
  if (conn.in_flight.empty()) busy_connections_.fetch_add(1);
  conn.in_flight.push_back(std::move(sent));
  if (!ok) HandleIo(conn, now);  // reports the loss to every call on it
}

void ConnectionPool::Shard::HandleIo(Conn& conn, absl::Time now) {
  const bool was_connecting =
      conn.pg->phase() == PgConnection::Phase::kConnecting;
  conn.pg->Continue(
      [this, &conn, now](pg_result* result) { OnResult(conn, result, now); });
  if (conn.closed) return;
  switch (conn.pg->phase()) {
    case PgConnection::Phase::kConnecting:
      break;
    case PgConnection::Phase::kOpen:
      if (was_connecting) {
        // Session settings; the connection is usable once they are
        // answered. Statements are prepared on first use, in the same
        // pipeline as their first execution, so a lock on a table one
        // statement reads holds up only that statement.
        conn.setup_left = 0;
        bool sent = true;
        for (const std::string& command : options_.session_setup) {
          sent = sent && conn.pg->SendCommand(command);
          ++conn.setup_left;
        }
        conn.pg->Flush();
        if (!sent || conn.setup_left == 0) {
          if (!sent) {
            OnConnectFailed(conn, conn.pg->error(), now);
            return;
          }
          MarkReady(conn, now);
        }
      }
      break;
    case PgConnection::Phase::kBroken:
      if (!conn.ready) {
        OnConnectFailed(conn, conn.pg->error(), now);
      } else {
        if (options_.observer != nullptr) options_.observer->ConnectionLost();
        CloseConnection(conn);
      }
      return;
  }
  UpdateRegistration(conn);
}

void ConnectionPool::Shard::MarkReady(Conn& conn, absl::Time now) {
  conn.ready = true;
  conn.connected_at = now;
  conn.idle_since = now;
  connects_.fetch_add(1);
  open_connections_.fetch_add(1);
  pool_.UnblockReconnects();
}

void ConnectionPool::Shard::OnResult(Conn& conn, pg_result* result,
                                     absl::Time now) {
  if (conn.closed) {
    if (result != nullptr) PQclear(result);
    return;
  }
  if (!conn.ready) {
    // An answer to the session setup.
    const bool ok =
        result != nullptr && PQresultStatus(result) == PGRES_COMMAND_OK;
    absl::Status error;
    if (!ok) {
      error = result == nullptr
                  ? conn.pg->error()
                  : StatusFromSqlState(SqlStateOf(result),
                                       "setting up a database connection",
                                       ErrorMessageOf(result));
    }
    if (result != nullptr) PQclear(result);
    if (conn.setup_left > 0) --conn.setup_left;
    if (!ok) {
      OnConnectFailed(conn, error, now);
      return;
    }
    if (conn.setup_left == 0) MarkReady(conn, now);
    return;
  }
  if (conn.in_flight.empty()) {
    if (result != nullptr) PQclear(result);
    return;
  }
  if (Sent& head = *conn.in_flight.front(); head.preparing) {
    // The PREPARE sent ahead of the head's execution.
    head.preparing = false;
    if (result == nullptr) return;  // the execution is reported lost next
    if (PQresultStatus(result) != PGRES_COMMAND_OK) {
      head.prepare_error_state = std::string(SqlStateOf(result));
      head.prepare_error_message = std::string(ErrorMessageOf(result));
      conn.prepared[2 * head.statement + (head.batch ? 1 : 0)] = false;
    }
    PQclear(result);
    return;
  }
  std::unique_ptr<Sent> sent = std::move(conn.in_flight.front());
  conn.in_flight.pop_front();
  if (conn.in_flight.empty()) {
    busy_connections_.fetch_sub(1);
    conn.idle_since = now;
    conn.next_cancel_at = absl::InfiniteFuture();
  }
  OnStatementResult(conn, std::move(sent), result);
  // The next statement now runs on the backend; if nobody needs it any
  // more, cancel it.
  conn.next_cancel_at = absl::InfiniteFuture();
  CancelHeadIfDead(conn, now);
}

void ConnectionPool::Shard::OnStatementResult(Conn& conn,
                                              std::unique_ptr<Sent> sent,
                                              pg_result* result) {
  if (options_.observer != nullptr) ObserveStatement(*sent, result);
  if (result == nullptr) {
    const absl::Status lost =
        conn.pg->error().ok()
            ? ConnectionLossError("database query", "no answer")
            : conn.pg->error();
    for (auto& entry : sent->entries) {
      for (auto& job : entry) Finish(*job, lost);
    }
    return;
  }
  auto owned = std::make_shared<const PgResult>(result);
  if (!sent->prepare_error_state.empty()) {
    // The execution failed because its PREPARE did: report why.
    FailStatement(conn, *sent, sent->prepare_error_state,
                  sent->prepare_error_message);
    return;
  }
  const ExecStatusType status = PQresultStatus(result);
  if (status == PGRES_TUPLES_OK || status == PGRES_COMMAND_OK) {
    if (!sent->batch) {
      const QueryResult rows(owned);
      for (auto& job : sent->entries[0]) Finish(*job, rows);
      return;
    }
    std::vector<std::vector<int>> rows_of(sent->entries.size());
    const int n = PQntuples(result);
    const bool binary = options_.statements[sent->statement].binary_results;
    for (int row = 0; row < n; ++row) {
      const absl::string_view cell(PQgetvalue(result, row, 0),
                                   PQgetlength(result, row, 0));
      int64_t position = 0;
      bool parsed;
      if (binary) {
        absl::StatusOr<int64_t> value = ReadInt8(cell);
        parsed = value.ok();
        if (parsed) position = *value;
      } else {
        parsed = absl::SimpleAtoi(cell, &position);
      }
      if (!parsed || position < 1 ||
          position > static_cast<int64_t>(rows_of.size())) {
        const absl::Status bad = absl::InternalError(absl::StrCat(
            "batch statement ", options_.statements[sent->statement].name,
            " returned a row for entry ", position));
        for (auto& entry : sent->entries) {
          for (auto& job : entry) Finish(*job, bad);
        }
        return;
      }
      rows_of[position - 1].push_back(row);
    }
    for (size_t e = 0; e < sent->entries.size(); ++e) {
      const QueryResult rows(owned, std::move(rows_of[e]), 1);
      for (auto& job : sent->entries[e]) Finish(*job, rows);
    }
    return;
  }
  if (status == PGRES_PIPELINE_ABORTED) {
    // It never ran: send it again.
    Requeue(*sent, absl::UnavailableError(
                       "database query aborted by an earlier failure"));
    return;
  }
  FailStatement(conn, *sent, SqlStateOf(result), ErrorMessageOf(result));
}

void ConnectionPool::Shard::ObserveStatement(const Sent& sent,
                                             const pg_result* result) {
  absl::string_view state;
  if (result == nullptr) {
    state = kSqlStateConnectionFailure;
  } else if (!sent.prepare_error_state.empty()) {
    state = sent.prepare_error_state;
  } else {
    const ExecStatusType status = PQresultStatus(result);
    if (status == PGRES_PIPELINE_ABORTED) return;  // it never ran
    if (status != PGRES_TUPLES_OK && status != PGRES_COMMAND_OK) {
      state = SqlStateOf(result);
    }
  }
  int calls = 0;
  for (const auto& entry : sent.entries) calls += static_cast<int>(entry.size());
  options_.observer->StatementDone(sent.statement, sent.batch, calls,
                                   clock_.Now() - sent.sent_at, state);
}

void ConnectionPool::Shard::FailStatement(Conn& conn, Sent& sent,
                                          absl::string_view state,
                                          absl::string_view message) {
  if (state == kSqlStateQueryCanceled) {
    if (conn.last_cancel_at + kCancelReach >= sent.sent_at) {
      // A cancel request of ours, meant for a statement nobody needed, hit
      // this one: its live calls get it sent again.
      Requeue(sent, absl::DeadlineExceededError(
                        "database query cancelled repeatedly"));
      return;
    }
    // Nobody here asked: statement_timeout (or an operator's cancel).
    const absl::Status timeout = absl::DeadlineExceededError(absl::StrCat(
        "database query cancelled by the server (statement_timeout or an "
        "operator): ",
        message));
    for (auto& entry : sent.entries) {
      for (auto& job : entry) Finish(*job, timeout);
    }
    return;
  }
  const absl::Status error =
      StatusFromSqlState(state, "database query", message);
  for (auto& entry : sent.entries) {
    for (auto& job : entry) Finish(*job, error);
  }
}

void ConnectionPool::Shard::Requeue(Sent& sent,
                                    const absl::Status& if_exhausted) {
  // Back to the front of their queue, in their order.
  for (auto entry = sent.entries.rbegin(); entry != sent.entries.rend();
       ++entry) {
    for (auto job = entry->rbegin(); job != entry->rend(); ++job) {
      if ((*job)->finished) continue;
      if (++(*job)->retries > kMaxRetries) {
        Finish(**job, if_exhausted);
        continue;
      }
      (*job)->sent = nullptr;
      if ((*job)->priority == Priority::kNormal) {
        waiting_.fetch_add(1, std::memory_order_relaxed);
      }
      (*job)->enqueued = clock_.Now();
      timers_.push(Timer{std::min((*job)->call->deadline(),
                                  (*job)->enqueued + options_.acquire_timeout),
                         (*job)->id});
      Enqueue(std::move(*job), /*at_front=*/true);
    }
  }
}

void ConnectionPool::Shard::OnConnectFailed(Conn& conn,
                                            const absl::Status& error,
                                            absl::Time now) {
  connect_failures_.fetch_add(1);
  // Any connect failure means "database unreachable" to callers.
  const absl::Status unavailable =
      error.code() == absl::StatusCode::kUnavailable
          ? error
          : absl::UnavailableError(error.message());
  pool_.BlockReconnects(now + options_.reconnect_backoff, unavailable);
  CloseConnection(conn);
  bool others = false;
  for (const auto& c : conns_) others = others || !c->closed;
  if (!others) FailWaiting(unavailable);
}

void ConnectionPool::Shard::CloseConnection(Conn& conn) {
  if (conn.closed) return;
  conn.closed = true;
  if (conn.registered_fd >= 0) {
    epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, conn.registered_fd, nullptr);
    conn.registered_fd = -1;
  }
  if (conn.ready) open_connections_.fetch_sub(1);
  if (!conn.in_flight.empty()) busy_connections_.fetch_sub(1);
  const absl::Status lost =
      conn.pg->error().ok()
          ? absl::UnavailableError("database connection closed")
          : conn.pg->error();
  for (auto& sent : conn.in_flight) {
    for (auto& entry : sent->entries) {
      for (auto& job : entry) Finish(*job, lost);
    }
  }
  conn.in_flight.clear();
  // The PgConnection itself (and its socket) goes when the shard drops the
  // Conn: this may run inside one of its own callbacks.
}

void ConnectionPool::Shard::FailWaiting(const absl::Status& status) {
  auto fail = [&](std::deque<std::unique_ptr<Job>>& queue) {
    for (auto& job : queue) Finish(*job, status);
    queue.clear();
  };
  fail(high_);
  for (auto& queue : pending_) fail(queue);
}

void ConnectionPool::Shard::UpdateRegistration(Conn& conn) {
  if (conn.closed) return;
  const int fd = conn.pg->socket();
  const uint32_t wanted = conn.pg->WantedEvents();
  // While connecting, libpq may close a socket and open another that gets
  // the same number (one per address it tries); the kernel dropped the old
  // registration with the old socket, so register again every time.
  const bool connecting = !conn.ready;
  if (fd != conn.registered_fd || connecting) {
    if (conn.registered_fd >= 0) {
      // libpq may have closed it already (a new socket per address tried).
      epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, conn.registered_fd, nullptr);
    }
    conn.registered_fd = -1;
    if (fd >= 0 && wanted != 0) {
      epoll_event event{};
      event.events = wanted;
      event.data.ptr = &conn;
      if (epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, fd, &event) == 0) {
        conn.registered_fd = fd;
        conn.registered_events = wanted;
      }
    }
    return;
  }
  if (fd >= 0 && wanted != conn.registered_events) {
    epoll_event event{};
    event.events = wanted;
    event.data.ptr = &conn;
    epoll_ctl(epoll_fd_, EPOLL_CTL_MOD, fd, &event);
    conn.registered_events = wanted;
  }
}

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
  if (options.io_threads < 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        "database io threads must be >= 0, got ", options.io_threads));
  }
  if (options.pipeline_depth < 1) {
    return absl::InvalidArgumentError(absl::StrCat(
        "pipeline depth must be >= 1, got ", options.pipeline_depth));
  }
  if (options.max_batch < 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("max batch must be >= 1, got ", options.max_batch));
  }
  if (options.acquire_timeout <= absl::ZeroDuration() ||
      options.connect_timeout <= absl::ZeroDuration() ||
      options.max_connection_lifetime <= absl::ZeroDuration() ||
      options.overflow_idle_timeout <= absl::ZeroDuration() ||
      options.cancel_repeat <= absl::ZeroDuration() ||
      options.reconnect_backoff < absl::ZeroDuration()) {
    return absl::InvalidArgumentError(
        "pool timeouts must be positive (reconnect backoff: not negative)");
  }
  if (options.unnamed_statements && !options.session_setup.empty()) {
    return absl::InvalidArgumentError(
        "a pool of unnamed statements (for a transaction pooler) cannot run "
        "session setup commands: session state does not outlive a "
        "transaction there");
  }
  for (const StatementSpec& spec : options.statements) {
    if (spec.name.empty() || spec.sql.empty()) {
      return absl::InvalidArgumentError("a statement needs a name and SQL");
    }
    if (!spec.batch_sql.empty() &&
        CountParameters(spec.batch_sql) != CountParameters(spec.sql)) {
      return absl::InvalidArgumentError(
          absl::StrCat("statement ", spec.name,
                       ": its batch form must take one array per parameter"));
    }
  }
  absl::StatusOr<std::string> connection_string = WithConnectionDefaults(
      options.database_url,
      {{"connect_timeout", ConnectTimeoutSeconds(options.connect_timeout)},
       {"fallback_application_name", options.application_name}});
  if (!connection_string.ok()) return connection_string.status();
  return std::unique_ptr<ConnectionPool>(new ConnectionPool(
      std::move(options), *std::move(connection_string), clock));
}

// Shared by the shards; created before them and destroyed after.
struct CancellerHolder {
  static Canceller& Get() {
    static Canceller* canceller = new Canceller();
    return *canceller;
  }
};

ConnectionPool::ConnectionPool(PoolOptions options,
                               std::string connection_string,
                               const Clock& clock)
    : options_(std::move(options)),
      connection_string_(std::move(connection_string)),
      clock_(clock) {
  for (const StatementSpec& spec : options_.statements) {
    param_counts_.push_back(CountParameters(spec.sql));
  }
  int threads = options_.io_threads > 0
                    ? options_.io_threads
                    : static_cast<int>(std::thread::hardware_concurrency());
  threads = std::max(1, std::min(threads, options_.pool_size));
  for (int i = 0; i < threads; ++i) {
    const int pooled =
        options_.pool_size / threads + (i < options_.pool_size % threads);
    const int overflow =
        options_.max_overflow / threads + (i < options_.max_overflow % threads);
    shards_.push_back(std::make_unique<Shard>(*this, i, pooled, overflow,
                                              CancellerHolder::Get()));
  }
}

ConnectionPool::~ConnectionPool() { Shutdown(); }

void ConnectionPool::BlockReconnects(absl::Time until, absl::Status error) {
  absl::MutexLock lock(&backoff_mu_);
  reconnect_blocked_until_ = until;
  last_connect_error_ = std::move(error);
}

void ConnectionPool::UnblockReconnects() {
  absl::MutexLock lock(&backoff_mu_);
  reconnect_blocked_until_ = absl::InfinitePast();
}

absl::Status ConnectionPool::ReconnectBlocked(absl::Time now) const {
  absl::MutexLock lock(&backoff_mu_);
  return now < reconnect_blocked_until_ ? last_connect_error_
                                        : absl::OkStatus();
}

absl::Time ConnectionPool::ReconnectBlockedUntil() const {
  absl::MutexLock lock(&backoff_mu_);
  return reconnect_blocked_until_;
}

void ConnectionPool::Execute(std::shared_ptr<CallContext> call, int statement,
                             std::vector<std::string> params, Done done,
                             Priority priority) {
  if (statement < 0 ||
      statement >= static_cast<int>(options_.statements.size())) {
    return done(absl::InvalidArgumentError(
        absl::StrCat("no statement number ", statement)));
  }
  if (static_cast<int>(params.size()) != param_counts_[statement]) {
    return done(absl::InvalidArgumentError(absl::StrCat(
        "statement ", options_.statements[statement].name, " takes ",
        param_counts_[statement], " parameters, got ", params.size())));
  }
  if (shut_down_.load(std::memory_order_acquire)) {
    return done(absl::UnavailableError("database pool is shutting down"));
  }
  if (call->IsCancelled()) {
    return done(absl::CancelledError("call cancelled before it started"));
  }
  const absl::Time now = clock_.Now();
  if (now >= call->deadline()) {
    return done(absl::DeadlineExceededError(
        "deadline passed before the database was asked"));
  }
  auto job = std::make_unique<Shard::Job>();
  if (priority == Priority::kNormal) {
    if (waiting_.fetch_add(1, std::memory_order_acq_rel) >=
        options_.max_waiting) {
      waiting_.fetch_sub(1, std::memory_order_acq_rel);
      return done(absl::ResourceExhaustedError(
          absl::StrCat("database pool queue is full (", options_.max_waiting,
                       " calls waiting)")));
    }
    job->counted_waiting = true;
  }
  static std::atomic<uint64_t> next_id{1};
  job->id = next_id.fetch_add(1, std::memory_order_relaxed);
  job->order = job->id;
  job->statement = statement;
  job->params = std::move(params);
  job->done = std::move(done);
  job->priority = priority;
  job->enqueued = now;
  Shard& shard = *shards_[next_shard_.fetch_add(1, std::memory_order_relaxed) %
                          shards_.size()];
  call->SetCancelListener(&shard);
  job->call = std::move(call);
  shard.Submit(std::move(job));
}

void ConnectionPool::Shutdown() {
  if (shut_down_.exchange(true)) return;
  for (auto& shard : shards_) shard->Stop();
  // Cancel requests still on their way finish first: a process that exits
  // in the middle of one breaks PgBouncer 1.18 (db/canceller.h). Bounded
  // tightly: on a stalled server they never finish, and the shutdown must
  // not wait for it.
  CancellerHolder::Get().Drain(
      std::min(options_.connect_timeout, kMaxCancelDrain));
}

PoolStats ConnectionPool::Stats() const {
  PoolStats stats;
  for (const auto& shard : shards_) shard->AddStats(stats);
  return stats;
}

}  // namespace tutoring::db
