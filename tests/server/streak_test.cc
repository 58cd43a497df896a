#include "server/streak.h"

#include <vector>

#include "gtest/gtest.h"

namespace tutoring::server {
namespace {

using absl::CivilDay;

const CivilDay kToday(2026, 3, 10);

TEST(SummarizeStreak, NoActivityIsAllZero) {
  const StreakSummary s = SummarizeStreak({}, kToday);
  EXPECT_EQ(s.current_days, 0);
  EXPECT_EQ(s.longest_days, 0);
  EXPECT_FALSE(s.last_active_day.has_value());
  EXPECT_FALSE(s.active_on_as_of_date);
}

TEST(SummarizeStreak, ActiveOnlyTodayCountsOneDay) {
  const std::vector<CivilDay> days = {kToday};
  const StreakSummary s = SummarizeStreak(days, kToday);
  EXPECT_EQ(s.current_days, 1);
  EXPECT_EQ(s.longest_days, 1);
  EXPECT_EQ(s.last_active_day, kToday);
  EXPECT_TRUE(s.active_on_as_of_date);
}

TEST(SummarizeStreak, RunEndingYesterdayIsStillAlive) {
  const std::vector<CivilDay> days = {kToday - 3, kToday - 2, kToday - 1};
  const StreakSummary s = SummarizeStreak(days, kToday);
  EXPECT_EQ(s.current_days, 3);
  EXPECT_EQ(s.longest_days, 3);
  EXPECT_EQ(s.last_active_day, kToday - 1);
  EXPECT_FALSE(s.active_on_as_of_date);
}

TEST(SummarizeStreak, RunEndingTwoDaysAgoIsBroken) {
  const std::vector<CivilDay> days = {kToday - 4, kToday - 3, kToday - 2};
  const StreakSummary s = SummarizeStreak(days, kToday);
  EXPECT_EQ(s.current_days, 0);
  EXPECT_EQ(s.longest_days, 3);
  EXPECT_EQ(s.last_active_day, kToday - 2);
}

TEST(SummarizeStreak, OneDayGapSplitsRuns) {
  const std::vector<CivilDay> days = {kToday - 5, kToday - 4, kToday - 3,
                                      kToday - 1, kToday};
  const StreakSummary s = SummarizeStreak(days, kToday);
  EXPECT_EQ(s.current_days, 2);
  EXPECT_EQ(s.longest_days, 3);
  EXPECT_TRUE(s.active_on_as_of_date);
}

TEST(SummarizeStreak, DaysAfterAsOfAreIgnored) {
  const std::vector<CivilDay> days = {kToday - 1, kToday + 1, kToday + 2,
                                      kToday + 3};
  const StreakSummary s = SummarizeStreak(days, kToday);
  EXPECT_EQ(s.current_days, 1);
  EXPECT_EQ(s.longest_days, 1);
  EXPECT_EQ(s.last_active_day, kToday - 1);
  EXPECT_FALSE(s.active_on_as_of_date);
}

TEST(SummarizeStreak, LongestRunMayLieInThePast) {
  std::vector<CivilDay> days;
  for (int i = 0; i < 30; ++i) days.push_back(CivilDay(2025, 12, 1) + i);
  days.push_back(kToday);
  const StreakSummary s = SummarizeStreak(days, kToday);
  EXPECT_EQ(s.current_days, 1);
  EXPECT_EQ(s.longest_days, 30);
}

TEST(SummarizeStreak, RunAcrossMonthAndLeapDay) {
  const std::vector<CivilDay> days = {CivilDay(2024, 2, 28), CivilDay(2024, 2, 29),
                                      CivilDay(2024, 3, 1)};
  const StreakSummary s = SummarizeStreak(days, CivilDay(2024, 3, 2));
  EXPECT_EQ(s.current_days, 3);
  EXPECT_EQ(s.longest_days, 3);
}

}  // namespace
}  // namespace tutoring::server
