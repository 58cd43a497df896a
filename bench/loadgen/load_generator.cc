#include "bench/loadgen/load_generator.h"

#include <errno.h>
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cstring>
#include <map>
#include <memory>
#include <optional>
#include <thread>
#include <utility>

#include "absl/strings/str_cat.h"
#include "bench/loadgen/h2_connection.h"
#include "bench/loadgen/open_loop_schedule.h"

namespace tutoring::bench {
namespace {

constexpr int kStatusDeadlineExceeded = 4;
constexpr int kStatusUnavailable = 14;

constexpr int64_t kNanosPerMilli = 1000000;
// How often calls in flight are checked against their deadline.
constexpr int64_t kDeadlineScanPeriodNs = 10 * kNanosPerMilli;
constexpr int64_t kMinReconnectBackoffNs = 100 * kNanosPerMilli;
constexpr int64_t kMaxReconnectBackoffNs = 1000 * kNanosPerMilli;
constexpr int64_t kNever = INT64_MAX;

// CLOCK_MONOTONIC. Read once per event, never
// through absl::Now() (a slower, wall-clock read).
int64_t NowNs() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return int64_t{ts.tv_sec} * 1000000000 + ts.tv_nsec;
}

class Worker;

struct Connection;

// One call's worth of state; reused call after call.
struct Slot {
  UnaryCall call;
  Connection* connection = nullptr;
  Rpc rpc = Rpc::kHealthCheck;
  int64_t intended_ns = 0;
  int64_t sent_ns = 0;
  bool measured = false;
};

// A connection and the slots that send on it. `h2` is null while down.
struct Connection {
  std::unique_ptr<H2Connection> h2;
  std::vector<std::unique_ptr<Slot>> slots;
  std::vector<Slot*> free_slots;
  bool write_armed = false;
  int64_t reconnect_at_ns = kNever;
  int64_t backoff_ns = kMinReconnectBackoffNs;
  std::string last_error;

  bool usable() const { return h2 != nullptr && h2->accepting(); }
};

// One event-loop thread: its connections, its generators, its statistics.
// Everything is touched by that thread only (construction and Connect()
// happen before it starts; results are read after it is joined).
class Worker final : public CallObserver {
 public:
  Worker(const LoadOptions& options, const Endpoint& endpoint,
         const H2ConnectionOptions& h2_options, int index,
         const std::vector<int>& capacities, int64_t total_share)
      : options_(options),
        endpoint_(endpoint),
        h2_options_(h2_options),
        index_(index),
        total_share_(total_share),
        grpc_timeout_(FormatGrpcTimeout(options.timeout)),
        timeout_ns_(options.timeout == absl::InfiniteDuration()
                        ? 0
                        : absl::ToInt64Nanoseconds(options.timeout)),
        generator_(options.mix, options.requests,
                   WorkerSeed(options.seed, index, false)),
        warmup_generator_(options.mix, options.requests,
                          WorkerSeed(options.seed, index, true)) {
    for (const int capacity : capacities) {
      auto connection = std::make_unique<Connection>();
      for (int i = 0; i < capacity; ++i) {
        auto slot = std::make_unique<Slot>();
        slot->connection = connection.get();
        slot->call.owner_data = slot.get();
        connection->free_slots.push_back(slot.get());
        connection->slots.push_back(std::move(slot));
      }
      connections_.push_back(std::move(connection));
    }
  }

  ~Worker() override {
    if (epoll_fd_ >= 0) ::close(epoll_fd_);
  }

  absl::Status Connect() {
    epoll_fd_ = ::epoll_create1(EPOLL_CLOEXEC);
    if (epoll_fd_ < 0) {
      return absl::InternalError(
          absl::StrCat("epoll_create1: ", std::strerror(errno)));
    }
    for (auto& connection : connections_) {
      absl::StatusOr<std::unique_ptr<H2Connection>> h2 =
          H2Connection::Connect(endpoint_, options_.connect_timeout, *this,
                              h2_options_);
      if (!h2.ok()) return h2.status();
      connection->h2 = *std::move(h2);
      Register(*connection);
    }
    return absl::OkStatus();
  }

  // The event loop; returns when every call is done.
  void Run(int64_t start_ns) {
    start_ns_ = start_ns;
    measure_start_ns_ = start_ns + absl::ToInt64Nanoseconds(options_.warmup);
    measure_end_ns_ =
        options_.total > 0
            ? kNever
            : measure_start_ns_ + absl::ToInt64Nanoseconds(options_.duration);
    if (options_.rps > 0) {
      schedule_.emplace(options_.rps, start_ns, index_, options_.threads);
      // Open-loop sends are timed by epoll's timeout; the default 50 us
      // timer slack would make each one up to that late.
      ::prctl(PR_SET_TIMERSLACK, 1UL, 0UL, 0UL, 0UL);
    }
    now_ns_ = NowNs();
    if (!schedule_) {
      for (auto& connection : connections_) FillClosedLoop(*connection);
    }
    std::array<epoll_event, 64> events;
    int64_t next_scan_ns = now_ns_ + kDeadlineScanPeriodNs;
    for (;;) {
      now_ns_ = NowNs();
      if (schedule_) IssueDue();
      FlushAll();
      Maintain();
      if (Finished()) break;

      int64_t wake_ns = kNever;
      if (in_flight_ > 0 && timeout_ns_ > 0) wake_ns = next_scan_ns;
      for (const auto& connection : connections_) {
        wake_ns = std::min(wake_ns, connection->reconnect_at_ns);
      }
      if (schedule_) wake_ns = std::min(wake_ns, NextSendNs());
      const int n = Wait(events.data(), events.size(), wake_ns);
      now_ns_ = NowNs();
      for (int i = 0; i < n; ++i) {
        Connection& connection = *static_cast<Connection*>(events[i].data.ptr);
        if (connection.h2 == nullptr) continue;
        if (events[i].events & (EPOLLIN | EPOLLERR | EPOLLHUP)) {
          now_ns_ = NowNs();
          connection.h2->OnReadable();
        }
      }
      if (timeout_ns_ > 0 && now_ns_ >= next_scan_ns) {
        ExpireCalls();
        next_scan_ns = now_ns_ + kDeadlineScanPeriodNs;
      }
    }
  }

  // Results, read after Run.
  const std::array<CallStats, kRpcCount>& stats() const { return stats_; }
  const std::map<int, std::string>& error_messages() const {
    return error_messages_;
  }
  int64_t last_completion_ns() const { return last_completion_ns_; }

 private:
  void OnCallDone(UnaryCall& call) override {
    Slot& slot = *static_cast<Slot*>(call.owner_data);
    --in_flight_;
    now_ns_ = NowNs();
    Record(slot, call.status_code(), call.status_message(), now_ns_);
    Connection& connection = *slot.connection;
    connection.free_slots.push_back(&slot);
    if (schedule_) {
      IssueDue();
    } else if (connection.usable() && MayIssue()) {
      IssueOn(connection, now_ns_);
    }
  }

  void Record(const Slot& slot, int code, const std::string& message,
              int64_t done_ns) {
    if (!slot.measured) return;
    CallStats& stats = stats_[static_cast<int>(slot.rpc)];
    ++stats.codes[code];
    stats.latency.Record(done_ns - slot.intended_ns);
    last_completion_ns_ = std::max(last_completion_ns_, done_ns);
    if (code != 0 && error_messages_.count(code) == 0) {
      error_messages_[code] = message;
    }
  }

  // Whether another call may start now (budget and time).
  bool MayIssue() const {
    if (options_.total > 0) return measured_issued_ < total_share_;
    if (schedule_) {
      return schedule_->IntendedTimeNs(next_index_) < measure_end_ns_;
    }
    return now_ns_ < measure_end_ns_;
  }

  bool Finished() const {
    if (in_flight_ > 0) return false;
    return !MayIssue();
  }

  // Draws the next request for a call intended at `intended_ns` into `slot`.
  void Prepare(Slot& slot, int64_t intended_ns) {
    slot.measured = intended_ns >= measure_start_ns_;
    RequestGenerator& generator =
        slot.measured ? generator_ : warmup_generator_;
    slot.rpc = generator.Next(&slot.call.message);
    slot.call.path = RpcPath(slot.rpc);
    slot.intended_ns = intended_ns;
    slot.sent_ns = now_ns_;
    if (slot.measured) ++measured_issued_;
  }

  // Starts one call on `connection` (which must be usable and have a free
  // slot).
  void IssueOn(Connection& connection, int64_t intended_ns) {
    Slot& slot = *connection.free_slots.back();
    connection.free_slots.pop_back();
    Prepare(slot, intended_ns);
    ++in_flight_;
    if (!connection.h2->StartCall(slot.call, grpc_timeout_)) {
      // The connection stopped taking streams (ids used up); it is replaced
      // by Maintain().
      --in_flight_;
      Record(slot, kStatusUnavailable, "connection takes no new streams",
             now_ns_);
      connection.free_slots.push_back(&slot);
    }
  }

  // Counts one call that could not be sent, as a gRPC client without
  // wait-for-ready would: UNAVAILABLE at once.
  void FailUnsent(Connection& connection, int64_t intended_ns,
                  const std::string& reason) {
    Slot& slot = *connection.free_slots.back();
    Prepare(slot, intended_ns);
    Record(slot, kStatusUnavailable, reason, now_ns_);
  }

  void FillClosedLoop(Connection& connection) {
    while (!connection.free_slots.empty() && connection.usable() &&
           MayIssue()) {
      IssueOn(connection, now_ns_);
    }
  }

  // Open loop: starts every call that is due, round robin over connections
  // with a free slot; calls that find none stay due (and their latency
  // grows). With every connection down they fail at once.
  void IssueDue() {
    const uint64_t due = schedule_->DueCount(now_ns_);
    while (next_index_ < due && MayIssue()) {
      Connection* target = nullptr;
      bool any_up = false;
      for (size_t i = 0; i < connections_.size(); ++i) {
        Connection& candidate =
            *connections_[(next_connection_ + i) % connections_.size()];
        if (!candidate.usable()) continue;
        any_up = true;
        if (!candidate.free_slots.empty()) {
          target = &candidate;
          next_connection_ = (next_connection_ + i + 1) % connections_.size();
          break;
        }
      }
      const int64_t intended = schedule_->IntendedTimeNs(next_index_);
      if (target != nullptr) {
        IssueOn(*target, intended);
      } else if (!any_up) {
        Connection& any = *connections_[0];
        if (any.free_slots.empty()) return;
        FailUnsent(any, intended, any.last_error);
      } else {
        return;  // all busy: wait for a completion
      }
      ++next_index_;
    }
  }

  // Open loop: the next call's intended time if it could be sent then (a
  // usable connection has a free slot, or none is usable and it would fail);
  // otherwise a completion or reconnect wakes the loop.
  int64_t NextSendNs() const {
    if (!MayIssue()) return kNever;
    bool any_up = false;
    bool room = false;
    for (const auto& connection : connections_) {
      if (!connection->usable()) continue;
      any_up = true;
      room = room || !connection->free_slots.empty();
    }
    if (!room && any_up) return kNever;
    return schedule_->IntendedTimeNs(next_index_);
  }

  // Waits for socket events until `wake_ns` (kNever: no limit), with
  // nanosecond resolution where the kernel has epoll_pwait2 (Linux 5.11),
  // else rounded up to milliseconds.
  int Wait(epoll_event* events, int capacity, int64_t wake_ns) {
    if (wake_ns == kNever) {
      return ::epoll_wait(epoll_fd_, events, capacity, -1);
    }
    const int64_t wait_ns = std::max<int64_t>(0, wake_ns - now_ns_);
    if (have_epoll_pwait2_) {
      timespec timeout;
      timeout.tv_sec = wait_ns / 1000000000;
      timeout.tv_nsec = wait_ns % 1000000000;
      const int n =
          ::epoll_pwait2(epoll_fd_, events, capacity, &timeout, nullptr);
      if (n >= 0 || errno != ENOSYS) return n;
      have_epoll_pwait2_ = false;
    }
    const int64_t wait_ms = std::min<int64_t>(
        (wait_ns + kNanosPerMilli - 1) / kNanosPerMilli, 1000);
    return ::epoll_wait(epoll_fd_, events, capacity, static_cast<int>(wait_ms));
  }

  void FlushAll() {
    for (auto& connection : connections_) {
      if (connection->h2 == nullptr || !connection->h2->wants_write()) {
        if (connection->write_armed) SetWriteInterest(*connection, false);
        continue;
      }
      const bool pending = connection->h2->Flush();
      if (pending != connection->write_armed) {
        SetWriteInterest(*connection, pending);
      }
    }
  }

  // Replaces closed or drained connections and retries failed ones.
  void Maintain() {
    for (auto& connection : connections_) {
      if (connection->h2 != nullptr &&
          (connection->h2->closed() || connection->h2->drained())) {
        const bool failed = connection->h2->closed();
        connection->last_error =
            failed ? connection->h2->close_reason() : "GOAWAY";
        connection->h2->Close("replaced");
        ::epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, connection->h2->fd(), nullptr);
        connection->h2.reset();
        connection->write_armed = false;
        connection->reconnect_at_ns =
            failed ? now_ns_ + connection->backoff_ns : now_ns_;
      }
      if (connection->h2 == nullptr && now_ns_ >= connection->reconnect_at_ns) {
        Reconnect(*connection);
      }
    }
  }

  void Reconnect(Connection& connection) {
    if (!MayIssue()) {
      connection.reconnect_at_ns = kNever;
      return;
    }
    absl::StatusOr<std::unique_ptr<H2Connection>> h2 =
        H2Connection::Connect(endpoint_, options_.connect_timeout, *this,
                              h2_options_);
    now_ns_ = NowNs();
    if (h2.ok()) {
      connection.h2 = *std::move(h2);
      connection.reconnect_at_ns = kNever;
      connection.backoff_ns = kMinReconnectBackoffNs;
      Register(connection);
      if (!schedule_) FillClosedLoop(connection);
      return;
    }
    connection.last_error = std::string(h2.status().message());
    connection.reconnect_at_ns = now_ns_ + connection.backoff_ns;
    connection.backoff_ns =
        std::min(connection.backoff_ns * 2, kMaxReconnectBackoffNs);
    if (!schedule_) {
      // Each slot fails one call per attempt, so a dead server costs a
      // bounded number of errors instead of a spin.
      for (size_t i = 0; i < connection.free_slots.size() && MayIssue(); ++i) {
        FailUnsent(connection, now_ns_, connection.last_error);
      }
    }
  }

  void ExpireCalls() {
    for (auto& connection : connections_) {
      if (connection->h2 == nullptr) continue;
      for (UnaryCall* call : connection->h2->calls_in_flight()) {
        const Slot& slot = *static_cast<const Slot*>(call->owner_data);
        if (now_ns_ - slot.sent_ns >= timeout_ns_) {
          connection->h2->Cancel(*call, kStatusDeadlineExceeded);
        }
      }
    }
  }

  void Register(Connection& connection) {
    epoll_event event{};
    event.events = EPOLLIN;
    event.data.ptr = &connection;
    ::epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, connection.h2->fd(), &event);
    connection.write_armed = false;
  }

  void SetWriteInterest(Connection& connection, bool on) {
    epoll_event event{};
    event.events = on ? (EPOLLIN | EPOLLOUT) : EPOLLIN;
    event.data.ptr = &connection;
    ::epoll_ctl(epoll_fd_, EPOLL_CTL_MOD, connection.h2->fd(), &event);
    connection.write_armed = on;
  }

  // Constant after construction.
  const LoadOptions& options_;
  const Endpoint& endpoint_;
  const H2ConnectionOptions h2_options_;
  const int index_;
  const int64_t total_share_;
  const std::string grpc_timeout_;
  const int64_t timeout_ns_;

  RequestGenerator generator_;
  RequestGenerator warmup_generator_;
  std::vector<std::unique_ptr<Connection>> connections_;
  int epoll_fd_ = -1;
  bool have_epoll_pwait2_ = true;

  int64_t start_ns_ = 0;
  int64_t measure_start_ns_ = 0;
  int64_t measure_end_ns_ = 0;
  int64_t now_ns_ = 0;
  std::optional<OpenLoopSchedule> schedule_;
  uint64_t next_index_ = 0;
  size_t next_connection_ = 0;
  int64_t measured_issued_ = 0;
  int in_flight_ = 0;

  std::array<CallStats, kRpcCount> stats_;
  std::map<int, std::string> error_messages_;
  int64_t last_completion_ns_ = 0;
};

}  // namespace

absl::Status ValidateLoadOptions(const LoadOptions& options) {
  if (options.mix.empty()) {
    return absl::InvalidArgumentError("nothing to call: the mix is empty");
  }
  if (options.connections < 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("connections must be >= 1, got ", options.connections));
  }
  if (options.concurrency < options.connections) {
    return absl::InvalidArgumentError(
        absl::StrCat("concurrency must be >= connections (",
                     options.connections, "), got ", options.concurrency));
  }
  if (options.threads < 1 || options.threads > options.connections) {
    return absl::InvalidArgumentError(absl::StrCat(
        "threads must be in [1, connections = ", options.connections, "], got ",
        options.threads));
  }
  if (options.total < 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("total must be >= 0, got ", options.total));
  }
  if (options.total == 0 && options.duration <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "duration must be > 0, got ", absl::FormatDuration(options.duration)));
  }
  if (options.warmup < absl::ZeroDuration()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "warmup must be >= 0, got ", absl::FormatDuration(options.warmup)));
  }
  if (!(options.rps >= 0) || options.rps > 1e9) {
    return absl::InvalidArgumentError(
        absl::StrCat("rps must be in [0, 1e9], got ", options.rps));
  }
  if (options.timeout < absl::ZeroDuration()) {
    return absl::InvalidArgumentError(
        absl::StrCat("timeout must be >= 0 (0: none), got ",
                     absl::FormatDuration(options.timeout)));
  }
  if (options.connect_timeout <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError("connect_timeout must be > 0");
  }
  return ValidateRequestSpace(options.requests);
}

uint64_t WorkerSeed(uint64_t seed, int worker, bool warmup) {
  // Distinct streams per (worker, phase); Random's splitmix64 seeding
  // decorrelates neighbouring seeds.
  return seed ^ (static_cast<uint64_t>(worker) << 32) ^
         (warmup ? 0x5bd1e9955bd1e995ULL : 0);
}

absl::StatusOr<LoadReport> RunLoad(const LoadOptions& options) {
  if (absl::Status valid = ValidateLoadOptions(options); !valid.ok()) {
    return valid;
  }
  absl::StatusOr<Endpoint> endpoint = ResolveTarget(options.target);
  if (!endpoint.ok()) return endpoint.status();
  H2ConnectionOptions h2_options;
  h2_options.bearer_token = options.bearer_token;
  if (options.tls.has_value()) {
    absl::StatusOr<std::shared_ptr<const TlsContext>> tls =
        TlsContext::Create(*options.tls);
    if (!tls.ok()) return tls.status();
    h2_options.tls = *std::move(tls);
  }

  // Connection c carries concurrency / connections calls (the first
  // concurrency % connections carry one more) and belongs to thread
  // c % threads.
  std::vector<std::unique_ptr<Worker>> workers;
  for (int w = 0; w < options.threads; ++w) {
    std::vector<int> capacities;
    for (int c = w; c < options.connections; c += options.threads) {
      capacities.push_back(options.concurrency / options.connections +
                           (c < options.concurrency % options.connections));
    }
    const int64_t share = options.total / options.threads +
                          (w < options.total % options.threads ? 1 : 0);
    workers.push_back(
        std::make_unique<Worker>(options, *endpoint, h2_options, w, capacities,
                                 share));
    if (absl::Status connected = workers.back()->Connect(); !connected.ok()) {
      return connected;
    }
  }

  const int64_t start_ns = NowNs();
  std::vector<std::thread> threads;
  for (auto& worker : workers) {
    threads.emplace_back([&worker, start_ns] { worker->Run(start_ns); });
  }
  for (std::thread& thread : threads) thread.join();

  LoadReport report;
  report.target = options.target;
  report.workload = options.mix.size() == 1
                        ? std::string(RpcName(options.mix[0].rpc))
                        : FormatMix(options.mix);
  report.concurrency = options.concurrency;
  report.connections = options.connections;
  report.threads = options.threads;
  report.target_rps = options.rps;
  report.seed = options.seed;
  std::array<CallStats, kRpcCount> by_rpc;
  int64_t last_completion_ns = 0;
  for (const auto& worker : workers) {
    for (int r = 0; r < kRpcCount; ++r) by_rpc[r].Merge(worker->stats()[r]);
    for (const auto& [code, message] : worker->error_messages()) {
      report.error_messages.emplace(code, message);
    }
    last_completion_ns =
        std::max(last_completion_ns, worker->last_completion_ns());
  }
  for (const WeightedRpc& entry : options.mix) {
    const CallStats& stats = by_rpc[static_cast<int>(entry.rpc)];
    report.all.Merge(stats);
    report.by_rpc.emplace_back(entry.rpc, stats);
  }
  const int64_t measure_start_ns =
      start_ns + absl::ToInt64Nanoseconds(options.warmup);
  report.elapsed_seconds =
      last_completion_ns > measure_start_ns
          ? static_cast<double>(last_completion_ns - measure_start_ns) / 1e9
          : 0.0;
  return report;
}

}  // namespace tutoring::bench
