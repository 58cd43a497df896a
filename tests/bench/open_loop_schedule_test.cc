#include "bench/loadgen/open_loop_schedule.h"

#include <cstdint>
#include <random>

#include "gtest/gtest.h"

namespace tutoring::bench {
namespace {

constexpr int64_t kStart = 5'000'000'000;  // any monotonic instant

// Counts indexes with intended time <= now by walking the schedule.
uint64_t BruteForceDueCount(const OpenLoopSchedule& schedule, int64_t now) {
  uint64_t count = 0;
  while (schedule.IntendedTimeNs(count) <= now) ++count;
  return count;
}

TEST(OpenLoopSchedule, OneWorkerSendsAtTheRate) {
  const OpenLoopSchedule schedule(1000.0, kStart, 0, 1);
  for (uint64_t i = 0; i < 100; ++i) {
    EXPECT_EQ(schedule.IntendedTimeNs(i), kStart + int64_t(i) * 1'000'000);
  }
}

TEST(OpenLoopSchedule, WorkersInterleaveIntoTheWholeRate) {
  const OpenLoopSchedule first(1000.0, kStart, 0, 2);
  const OpenLoopSchedule second(1000.0, kStart, 1, 2);
  for (uint64_t i = 0; i < 50; ++i) {
    EXPECT_EQ(first.IntendedTimeNs(i), kStart + int64_t(2 * i) * 1'000'000);
    EXPECT_EQ(second.IntendedTimeNs(i),
              kStart + int64_t(2 * i + 1) * 1'000'000);
  }
}

TEST(OpenLoopSchedule, FractionalPeriodsDoNotDrift) {
  // 3 calls per second: a period of 333,333,333.3 ns.
  const OpenLoopSchedule schedule(3.0, kStart, 0, 1);
  EXPECT_EQ(schedule.IntendedTimeNs(3), kStart + 1'000'000'000);
  EXPECT_EQ(schedule.IntendedTimeNs(3000), kStart + 1'000'000'000'000);
  EXPECT_EQ(schedule.IntendedTimeNs(1), kStart + 333'333'333);
}

TEST(OpenLoopSchedule, NothingIsDueBeforeTheFirstCall) {
  const OpenLoopSchedule first(100.0, kStart, 0, 3);
  const OpenLoopSchedule third(100.0, kStart, 2, 3);
  EXPECT_EQ(first.DueCount(kStart - 1), 0u);
  EXPECT_EQ(first.DueCount(kStart), 1u);
  // Worker 2's first call is the run's third: 20 ms in.
  EXPECT_EQ(third.DueCount(kStart + 19'999'999), 0u);
  EXPECT_EQ(third.DueCount(kStart + 20'000'000), 1u);
}

TEST(OpenLoopSchedule, DueCountAgreesWithIntendedTimes) {
  std::mt19937_64 random(42);
  for (const double rate : {1.0, 3.0, 997.0, 20000.0, 123456.7}) {
    for (int workers = 1; workers <= 3; ++workers) {
      for (int worker = 0; worker < workers; ++worker) {
        const OpenLoopSchedule schedule(rate, kStart, worker, workers);
        // Around, exactly at, and just before intended times.
        for (uint64_t i = 0; i < 200; ++i) {
          const int64_t t = schedule.IntendedTimeNs(i);
          EXPECT_EQ(schedule.DueCount(t), i + 1);
          EXPECT_EQ(schedule.DueCount(t - 1), i);
        }
        std::uniform_int_distribution<int64_t> offset(
            0, schedule.IntendedTimeNs(300) - kStart);
        for (int k = 0; k < 200; ++k) {
          const int64_t now = kStart + offset(random);
          EXPECT_EQ(schedule.DueCount(now), BruteForceDueCount(schedule, now))
              << "rate " << rate << " worker " << worker << "/" << workers;
        }
      }
    }
  }
}

}  // namespace
}  // namespace tutoring::bench
