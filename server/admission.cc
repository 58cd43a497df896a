#include "server/admission.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"

namespace tutoring::server {

absl::Status ValidateAdmissionOptions(const AdmissionOptions& options) {
  if (options.max_calls_in_flight < 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("--max-calls-in-flight must be >= 1, got ",
                     options.max_calls_in_flight));
  }
  if (options.max_batch_ids_in_flight < 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("--max-batch-ids-in-flight must be >= 1, got ",
                     options.max_batch_ids_in_flight));
  }
  return absl::OkStatus();
}

absl::Status StoppingStatus() {
  return absl::UnavailableError(
      "the server is shutting down and takes no new calls; retry on another "
      "replica");
}

CallAdmission::Verdict CallAdmission::Admit(
    int batch_ids, absl::Status* refusal,
    std::function<void(absl::Status)> on_refused) {
  absl::MutexLock lock(&mu_);
  switch (state_) {
    case State::kOpen:
      break;
    case State::kHolding:
      held_.push_back(std::move(on_refused));
      last_arrival_ = clock_.Now();
      return Verdict::kHeld;
    case State::kRefusing:
      *refusal = StoppingStatus();
      return Verdict::kRefused;
  }
  if (in_flight_ >= options_.max_calls_in_flight) {
    *refusal = absl::ResourceExhaustedError(absl::StrCat(
        "the server is at its limit of ", options_.max_calls_in_flight,
        " calls in flight; retry later with backoff"));
    return Verdict::kRefused;
  }
  if (batch_ids > 0 && batch_ids_in_flight_ > 0 &&
      batch_ids_in_flight_ + batch_ids > options_.max_batch_ids_in_flight) {
    *refusal = absl::ResourceExhaustedError(absl::StrCat(
        "BatchGetStreaks calls in flight already ask for ",
        batch_ids_in_flight_, " of at most ",
        options_.max_batch_ids_in_flight,
        " user ids; retry later with backoff"));
    return Verdict::kRefused;
  }
  ++in_flight_;
  batch_ids_in_flight_ += batch_ids;
  return Verdict::kAdmitted;
}

void CallAdmission::Finished(int batch_ids) {
  absl::MutexLock lock(&mu_);
  --in_flight_;
  batch_ids_in_flight_ -= batch_ids;
}

void CallAdmission::StartHolding() {
  absl::MutexLock lock(&mu_);
  if (state_ == State::kOpen) {
    state_ = State::kHolding;
    last_arrival_ = clock_.Now();
  }
}

bool CallAdmission::AwaitQuiet(absl::Duration quiet, absl::Time deadline) {
  absl::MutexLock lock(&mu_);
  while (true) {
    const absl::Time now = clock_.Now();
    if (!mu_.AwaitWithTimeout(
            absl::Condition(
                +[](int* in_flight) { return *in_flight == 0; }, &in_flight_),
            deadline - now)) {
      return false;
    }
    const absl::Time quiet_at = last_arrival_ + quiet;
    const absl::Time after = clock_.Now();
    if (after >= quiet_at) return true;
    if (after >= deadline) return false;
    // Wait out the rest of the quiet period (a held call only shortens it,
    // so nothing needs to wake this wait).
    mu_.Unlock();
    SleepUntil(clock_, std::min(quiet_at, deadline));
    mu_.Lock();
  }
}

void CallAdmission::RefuseHeld() {
  std::vector<std::function<void(absl::Status)>> held;
  {
    absl::MutexLock lock(&mu_);
    state_ = State::kRefusing;
    held.swap(held_);
  }
  for (auto& refuse : held) refuse(StoppingStatus());
}

int CallAdmission::in_flight() const {
  absl::MutexLock lock(&mu_);
  return in_flight_;
}

int CallAdmission::held() const {
  absl::MutexLock lock(&mu_);
  return static_cast<int>(held_.size());
}

}  // namespace tutoring::server
