// The state of one call as the database layer sees it: its deadline and
// whether the caller gave up on it. Shared by the caller (who may cancel)
// and the layer running the call's query (which watches for it).
#ifndef TUTORING_DB_CALL_CONTEXT_H_
#define TUTORING_DB_CALL_CONTEXT_H_

#include <atomic>

#include "absl/time/time.h"

namespace tutoring::db {

// Told when a call it runs is cancelled, so that it can stop waiting or
// cancel the query at once rather than at its next look.
class CancelListener {
 public:
  virtual ~CancelListener() = default;
  // Called on the thread that called CallContext::Cancel, at most once per
  // registration. Must not block.
  virtual void OnCallCancelled() = 0;
};

// Thread-safe.
class CallContext {
 public:
  explicit CallContext(absl::Time deadline) : deadline_(deadline) {}
  CallContext(const CallContext&) = delete;
  CallContext& operator=(const CallContext&) = delete;

  // After this instant the call is DEADLINE_EXCEEDED: no query starts for it
  // and a running one is cancelled.
  absl::Time deadline() const { return deadline_; }

  // Abandons the call: if its query has not started it never will; if it
  // runs, the database layer cancels it (unless other live calls share the
  // statement). Idempotent; any thread.
  void Cancel();
  bool IsCancelled() const {
    return cancelled_.load(std::memory_order_acquire);
  }

  // For the layer that runs the call: `listener` (which must outlive the
  // call's registration) hears of a later Cancel. One listener at a time;
  // nullptr unregisters.
  void SetCancelListener(CancelListener* listener) {
    listener_.store(listener, std::memory_order_release);
  }

 private:
  // Constant after construction.
  const absl::Time deadline_;

  std::atomic<bool> cancelled_{false};
  std::atomic<CancelListener*> listener_{nullptr};
};

}  // namespace tutoring::db

#endif  // TUTORING_DB_CALL_CONTEXT_H_
