// When each call of an open-loop run is meant to be sent. An open-loop
// generator sends at a fixed rate whatever the server does, and measures
// each call's latency from its intended send time, so a stalled server shows
// up as latency instead of silently lowering the rate (no coordinated
// omission).
#ifndef TUTORING_BENCH_LOADGEN_OPEN_LOOP_SCHEDULE_H_
#define TUTORING_BENCH_LOADGEN_OPEN_LOOP_SCHEDULE_H_

#include <cstdint>

namespace tutoring::bench {

// A constant-rate schedule of `rate` calls per second over all `workers`,
// starting at `start_ns` (any monotonic clock, in nanoseconds). Call k of the
// whole run is due at start_ns + k / rate; worker w owns the calls
// k = w, w + workers, w + 2 * workers, ..., which it numbers 0, 1, 2, ...
// Immutable and thread-safe.
class OpenLoopSchedule {
 public:
  // rate > 0; 0 <= worker < workers.
  OpenLoopSchedule(double rate, int64_t start_ns, int worker, int workers);

  // Intended send time of this worker's call `index` (0-based).
  int64_t IntendedTimeNs(uint64_t index) const;

  // How many of this worker's calls are due at `now_ns`: the number of
  // indexes whose intended time is <= now_ns.
  uint64_t DueCount(int64_t now_ns) const;

 private:
  // Nanoseconds between two calls of the whole run.
  const double period_ns_;
  const int64_t start_ns_;
  const int worker_;
  const int workers_;
};

}  // namespace tutoring::bench

#endif  // TUTORING_BENCH_LOADGEN_OPEN_LOOP_SCHEDULE_H_
