#include "server/health.h"

#include <spdlog/spdlog.h>

#include <memory>

#include "db/call_context.h"

namespace tutoring::server {

HealthReporter::HealthReporter(grpc::HealthCheckServiceInterface& health,
                               db::Repository& repository, const Clock& clock,
                               HealthOptions options)
    : health_(health),
      repository_(repository),
      clock_(clock),
      options_(options) {
  {
    absl::MutexLock lock(&mu_);
    Report(false);
  }
  health_.SetServingStatus(kLivenessServiceName, true);
  thread_ = std::thread([this] { Loop(); });
}

HealthReporter::~HealthReporter() { Stop(); }

void HealthReporter::Stop() {
  {
    absl::MutexLock lock(&mu_);
    if (stopping_) return;
    stopping_ = true;
    cv_.SignalAll();
  }
  if (thread_.joinable()) thread_.join();
  std::shared_ptr<db::CallContext> probe;
  {
    absl::MutexLock lock(&mu_);
    probe = std::move(probe_call_);
  }
  // The pool ends a cancelled call at once, whatever the database does.
  if (probe != nullptr) probe->Cancel();
  {
    absl::MutexLock lock(&mu_);
    mu_.Await(absl::Condition(
        +[](int* in_flight) { return *in_flight == 0; }, &in_flight_));
  }
  // Every name NOT_SERVING, and later SetServingStatus calls ignored.
  health_.Shutdown();
}

bool HealthReporter::ready() const {
  absl::MutexLock lock(&mu_);
  return serving_ && !stopping_;
}

bool HealthReporter::live() const {
  absl::MutexLock lock(&mu_);
  return !stopping_;
}

void HealthReporter::Report(bool serving) {
  if (serving != serving_ || (!reported_ && probe_ > 0)) {
    if (serving) {
      spdlog::info("database answers: health SERVING");
    } else {
      spdlog::warn("database does not answer: health NOT_SERVING ({})",
                   answer_.ToString());
    }
    reported_ = probe_ > 0;
  }
  serving_ = serving;
  health_.SetServingStatus("", serving);
  health_.SetServingStatus(kTutoringServiceName, serving);
}

void HealthReporter::Loop() {
  absl::MutexLock lock(&mu_);
  bool first = true;
  while (!stopping_) {
    const uint64_t probe = ++probe_;
    answered_ = false;
    const absl::Time deadline = clock_.Now() + options_.timeout;
    ++in_flight_;
    auto call = std::make_shared<db::CallContext>(deadline);
    probe_call_ = call;
    mu_.Unlock();
    repository_.Ping(std::move(call),
                     [this, probe](absl::Status status) {
                       absl::MutexLock lock(&mu_);
                       --in_flight_;
                       cv_.SignalAll();
                       if (probe != probe_) return;
                       answered_ = true;
                       answer_ = std::move(status);
                       cv_.SignalAll();
                     });
    mu_.Lock();
    // The pool enforces the deadline; the margin only guards against a lost
    // answer.
    const absl::Time give_up = deadline + absl::Seconds(1);
    while (!answered_ && !stopping_) {
      if (WaitUntil(clock_, cv_, mu_, give_up)) break;
    }
    if (stopping_) break;
    if (!answered_)
      answer_ = absl::DeadlineExceededError("probe never answered");
    // A full queue means the database is answering others: keep the status.
    if (answer_.code() != absl::StatusCode::kResourceExhausted || first) {
      Report(answer_.ok());
    }
    first = false;
    const absl::Time next = clock_.Now() + options_.interval;
    while (!stopping_ && !WaitUntil(clock_, cv_, mu_, next)) {
    }
  }
}

}  // namespace tutoring::server
