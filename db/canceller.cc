#include "db/canceller.h"

#include <deque>
#include <thread>
#include <utility>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"

namespace tutoring::db {

// Shared with the threads, which may outlive the Canceller.
struct Canceller::State {
  explicit State(int max_queued) : max_queued(max_queued) {}

  // Constant after construction.
  const int max_queued;

  absl::Mutex mu;
  // Signalled when a request is queued or the Canceller goes. (A CondVar
  // rather than Mutex::Await: each thread evaluates its own wait.)
  absl::CondVar work;
  bool stopping ABSL_GUARDED_BY(mu) = false;
  std::deque<std::shared_ptr<CancelHandle>> queue ABSL_GUARDED_BY(mu);
  // Requests being sent now.
  int active ABSL_GUARDED_BY(mu) = 0;
};

Canceller::Canceller(int threads, int max_queued)
    : state_(std::make_shared<State>(max_queued)) {
  for (int i = 0; i < threads; ++i) {
    std::thread([state = state_] {
      while (true) {
        std::shared_ptr<CancelHandle> handle;
        {
          absl::MutexLock lock(&state->mu);
          while (!state->stopping && state->queue.empty()) {
            state->work.Wait(&state->mu);
          }
          if (state->stopping) return;
          handle = std::move(state->queue.front());
          state->queue.pop_front();
          ++state->active;
        }
        // Best effort: a failed request leaves the statement to its
        // statement_timeout.
        (void)handle->Send();
        absl::MutexLock lock(&state->mu);
        --state->active;
      }
    }).detach();
  }
}

Canceller::~Canceller() {
  absl::MutexLock lock(&state_->mu);
  state_->stopping = true;
  state_->queue.clear();
  state_->work.SignalAll();
}

bool Canceller::Send(std::shared_ptr<CancelHandle> handle) {
  absl::MutexLock lock(&state_->mu);
  if (state_->stopping ||
      static_cast<int>(state_->queue.size()) >= state_->max_queued) {
    return false;
  }
  // A request already waiting for this connection cancels the same thing:
  // while the server stalls, repeats pile up no further than that, and no
  // storm of stale requests hits the connection once it answers again.
  for (const auto& queued : state_->queue) {
    if (queued == handle) return false;
  }
  state_->queue.push_back(std::move(handle));
  state_->work.Signal();
  return true;
}

bool Canceller::Drain(absl::Duration timeout) {
  absl::MutexLock lock(&state_->mu);
  State* state = state_.get();
  return state_->mu.AwaitWithTimeout(
      absl::Condition(
          +[](State* s) ABSL_NO_THREAD_SAFETY_ANALYSIS {
            return s->queue.empty() && s->active == 0;
          },
          state),
      timeout);
}

}  // namespace tutoring::db
