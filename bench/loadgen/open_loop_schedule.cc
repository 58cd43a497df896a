#include "bench/loadgen/open_loop_schedule.h"

#include <cmath>

namespace tutoring::bench {

OpenLoopSchedule::OpenLoopSchedule(double rate, int64_t start_ns, int worker,
                                   int workers)
    : period_ns_(1e9 / rate),
      start_ns_(start_ns),
      worker_(worker),
      workers_(workers) {}

int64_t OpenLoopSchedule::IntendedTimeNs(uint64_t index) const {
  const double k = static_cast<double>(index) * workers_ + worker_;
  return start_ns_ + std::llround(k * period_ns_);
}

uint64_t OpenLoopSchedule::DueCount(int64_t now_ns) const {
  if (now_ns < IntendedTimeNs(0)) return 0;
  // Estimate from the rate, then correct for rounding so the answer agrees
  // exactly with IntendedTimeNs.
  const double global =
      std::floor(static_cast<double>(now_ns - start_ns_) / period_ns_);
  double local = std::floor((global - worker_) / workers_) + 1;
  uint64_t count = local < 1 ? 1 : static_cast<uint64_t>(local);
  while (count > 1 && IntendedTimeNs(count - 1) > now_ns) --count;
  while (IntendedTimeNs(count) <= now_ns) ++count;
  return count;
}

}  // namespace tutoring::bench
