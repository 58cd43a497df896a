// Admission of tutoring.v1 calls before any work is done for them: the
// limits that keep one greedy client from taking the service from everyone
// (a cap on calls in flight, and a separate budget for BatchGetStreaks,
// whose thousand-id calls cost the database a thousand point lookups
// each), and the drain at shutdown (calls that arrive once the server has
// decided to stop are held, never started, and refused with UNAVAILABLE
// once the listener is closed; see TutoringServer::Shutdown).
//
// Refusing at the door is what keeps the rest fast: a refused call costs a
// few microseconds and no database work, while the database's own queue is
// first come, first served, so heavy calls let in without bound would put
// every cheap call behind them.
#ifndef TUTORING_SERVER_ADMISSION_H_
#define TUTORING_SERVER_ADMISSION_H_

#include <functional>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "common/clock.h"

namespace tutoring::server {

struct AdmissionOptions {
  // Calls admitted and not finished yet, at most (waiting for the database
  // or in it). Further calls are RESOURCE_EXHAUSTED at once. >= 1.
  int max_calls_in_flight = 1000;
  // User ids of BatchGetStreaks calls admitted and not finished yet, at
  // most; a call that alone exceeds it is admitted when no other batch runs.
  // Further calls are RESOURCE_EXHAUSTED at once. >= 1.
  int max_batch_ids_in_flight = 2000;
};

// INVALID_ARGUMENT naming the flag (--max-calls-in-flight, ...) and rule.
absl::Status ValidateAdmissionOptions(const AdmissionOptions& options);

// Thread-safe.
class CallAdmission {
 public:
  enum class Verdict {
    // Run the call; call Finished(batch_ids) once when it ends.
    kAdmitted,
    // Answer the call with the status Admit stored (RESOURCE_EXHAUSTED, or
    // UNAVAILABLE once the server stops).
    kRefused,
    // Do nothing yet: the server is stopping, and `on_refused` will be run
    // once, from another thread, with UNAVAILABLE (RefuseHeld).
    kHeld,
  };

  // `clock` must outlive it.
  CallAdmission(const AdmissionOptions& options, const Clock& clock)
      : options_(options), clock_(clock) {}
  CallAdmission(const CallAdmission&) = delete;
  CallAdmission& operator=(const CallAdmission&) = delete;

  // Decides on a call with `batch_ids` user ids (0 for calls other than
  // BatchGetStreaks). `*refusal` gets the status to answer on kRefused;
  // `on_refused` is kept only on kHeld.
  Verdict Admit(int batch_ids, absl::Status* refusal,
                std::function<void(absl::Status)> on_refused)
      ABSL_LOCKS_EXCLUDED(mu_);

  // An admitted call ended (whatever its outcome).
  void Finished(int batch_ids) ABSL_LOCKS_EXCLUDED(mu_);

  // From now on calls are held instead of admitted. Idempotent.
  void StartHolding() ABSL_LOCKS_EXCLUDED(mu_);
  // Waits until no admitted call is in flight and no call has arrived (to
  // be held) for `quiet` (true), or until `deadline` (false). Closed-loop
  // clients send their next call as soon as one finishes: once all their
  // calls are held, nothing of theirs is on its way.
  bool AwaitQuiet(absl::Duration quiet, absl::Time deadline)
      ABSL_LOCKS_EXCLUDED(mu_);
  // Refuses every held call with UNAVAILABLE, and every later one at once.
  void RefuseHeld() ABSL_LOCKS_EXCLUDED(mu_);

  int in_flight() const ABSL_LOCKS_EXCLUDED(mu_);
  int held() const ABSL_LOCKS_EXCLUDED(mu_);

 private:
  enum class State { kOpen, kHolding, kRefusing };

  // Constant after construction.
  const AdmissionOptions options_;
  const Clock& clock_;

  mutable absl::Mutex mu_;
  State state_ ABSL_GUARDED_BY(mu_) = State::kOpen;
  int in_flight_ ABSL_GUARDED_BY(mu_) = 0;
  int batch_ids_in_flight_ ABSL_GUARDED_BY(mu_) = 0;
  std::vector<std::function<void(absl::Status)>> held_ ABSL_GUARDED_BY(mu_);
  // When the last call was held (or holding began).
  absl::Time last_arrival_ ABSL_GUARDED_BY(mu_) = absl::InfinitePast();
};

// The status of a call refused because the server is stopping.
absl::Status StoppingStatus();

}  // namespace tutoring::server

#endif  // TUTORING_SERVER_ADMISSION_H_
