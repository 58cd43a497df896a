// What the fault scenarios share: load from several client threads with
// every call's outcome recorded, a health watcher, and a sampler of the
// server's PostgreSQL sessions asked over a direct connection (never
// through the fault proxy).
#ifndef TUTORING_TESTS_FAULTS_FAULT_HARNESS_H_
#define TUTORING_TESTS_FAULTS_FAULT_HARNESS_H_

#include <grpcpp/grpcpp.h>

#include <atomic>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "tutoring/v1/tutoring.pb.h"

namespace tutoring::testing {

// One call's outcome.
struct CallRecord {
  absl::Time start;
  absl::Time end;
  absl::Duration deadline;  // the timeout the call was given
  grpc::StatusCode code = grpc::StatusCode::OK;
  std::string message;
  // OK answers only: the answer equals the database's (plain SQL).
  bool correct = true;
  // Past its deadline by this much (zero when it ended in time).
  absl::Duration Overshoot() const;
};

// The role and activity of each user, read with plain SQL: the truth the
// service's answers are compared with.
using UserTruth = std::map<int64_t, v1::GetUserRoleResponse>;

// GetUserRole calls for random users from `threads` threads, each call
// with `timeout`, back to back (a short pause after a failure) until
// Stop(). Thread-safe.
class CallLoad {
 public:
  CallLoad(const std::string& target, const UserTruth& truth, int threads,
           absl::Duration timeout);
  CallLoad(const CallLoad&) = delete;
  CallLoad& operator=(const CallLoad&) = delete;
  ~CallLoad();  // Stop()

  void Stop();
  // Calls that ended so far.
  std::vector<CallRecord> Records() const ABSL_LOCKS_EXCLUDED(mu_);
  // Calls started but not ended.
  int in_flight() const { return in_flight_.load(); }

 private:
  void Loop(int seed);

  const std::string target_;
  const UserTruth& truth_;
  const absl::Duration timeout_;
  std::atomic<bool> stopping_{false};
  std::atomic<int> in_flight_{0};
  mutable absl::Mutex mu_;
  std::vector<CallRecord> records_ ABSL_GUARDED_BY(mu_);
  std::vector<std::thread> threads_;
};

// What a scenario asserts on the calls of a time window.
struct CallSummary {
  int total = 0;
  std::map<grpc::StatusCode, int> by_code;
  int wrong_answers = 0;
  absl::Duration max_overshoot;
  absl::Duration max_elapsed;
  int Count(grpc::StatusCode code) const {
    const auto it = by_code.find(code);
    return it == by_code.end() ? 0 : it->second;
  }
  // First call that ended with `code` (InfiniteFuture when none).
  absl::Time FirstEnd(grpc::StatusCode code) const;
  std::map<grpc::StatusCode, absl::Time> first_end;
  std::string ToString() const;
};

// The calls that started in [from, to).
CallSummary Summarize(const std::vector<CallRecord>& records, absl::Time from,
                      absl::Time to);

// Polls grpc.health.v1 Check("") every 20 ms and records each change of
// status with its time. Thread-safe.
class HealthWatcher {
 public:
  explicit HealthWatcher(const std::string& target);
  HealthWatcher(const HealthWatcher&) = delete;
  HealthWatcher& operator=(const HealthWatcher&) = delete;
  ~HealthWatcher();

  // First time at or after `since` that the status was `serving` (true:
  // SERVING; false: anything else), or nullopt.
  std::optional<absl::Time> FirstSince(absl::Time since, bool serving) const
      ABSL_LOCKS_EXCLUDED(mu_);
  // Waits up to `timeout` for FirstSince(since, serving).
  std::optional<absl::Time> WaitFor(absl::Time since, bool serving,
                                    absl::Duration timeout) const;

 private:
  struct Change {
    absl::Time at;
    bool serving;
  };
  std::atomic<bool> stopping_{false};
  mutable absl::Mutex mu_;
  std::vector<Change> changes_ ABSL_GUARDED_BY(mu_);
  std::thread thread_;
};

// Counts the sessions of `application_name` in pg_stat_activity every
// 100 ms over its own direct connections to `database_url` while not
// paused (pause it while the cluster itself is stopped). Thread-safe.
class SessionSampler {
 public:
  SessionSampler(const std::string& database_url,
                 const std::string& application_name);
  SessionSampler(const SessionSampler&) = delete;
  SessionSampler& operator=(const SessionSampler&) = delete;
  ~SessionSampler();

  void set_paused(bool paused) { paused_.store(paused); }
  // The highest count seen, and how many samples were taken.
  int max() const { return max_.load(); }
  int samples() const { return samples_.load(); }

 private:
  std::atomic<bool> stopping_{false};
  std::atomic<bool> paused_{false};
  std::atomic<int> max_{0};
  std::atomic<int> samples_{0};
  std::thread thread_;
};

// Sessions of `application_name` now, over a direct connection that gives
// up after 2 s; nullopt if the database does not answer.
std::optional<int> TrySessions(const std::string& database_url,
                               const std::string& application_name);

// Lines in `text` (the server's JSON stderr) other than access log lines of
// OK calls: those come with traffic, at the rate --access-log-sample sets,
// outage or not (the health checks of a watcher among them); what an
// outage must not multiply is the rest.
int CountLinesBesidesOkCalls(const std::string& text);

}  // namespace tutoring::testing

#endif  // TUTORING_TESTS_FAULTS_FAULT_HARNESS_H_
