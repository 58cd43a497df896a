// SplitMix64 (db/seed/split_mix64.h): the reference sequence, and the draws
// built on it staying in range and in proportion.
#include "db/seed/split_mix64.h"

#include <array>
#include <cstdint>

#include "gtest/gtest.h"

namespace tutoring::db {
namespace {

TEST(SplitMix64, GivesTheReferenceSequence) {
  // The first outputs of SplitMix64 from state 0, as published with the
  // algorithm (and computed by its reference C code).
  SplitMix64 rng(0);
  EXPECT_EQ(rng.Next(), 0xe220a8397b1dcdafu);
  EXPECT_EQ(rng.Next(), 0x6e789e6aa1b965f4u);
  EXPECT_EQ(rng.Next(), 0x06c45d188009454fu);
}

TEST(SplitMix64, StreamsDependOnSeedStreamAndIndex) {
  const uint64_t base = SplitMix64::ForStream(1, 2, 3).Next();
  EXPECT_EQ(SplitMix64::ForStream(1, 2, 3).Next(), base);
  EXPECT_NE(SplitMix64::ForStream(2, 2, 3).Next(), base);
  EXPECT_NE(SplitMix64::ForStream(1, 3, 3).Next(), base);
  EXPECT_NE(SplitMix64::ForStream(1, 2, 4).Next(), base);
}

TEST(SplitMix64, BelowAndBetweenStayInRangeAndReachBothEnds) {
  SplitMix64 rng(42);
  bool low = false;
  bool high = false;
  for (int i = 0; i < 10000; ++i) {
    ASSERT_LT(rng.Below(7), 7u);
    const int64_t value = rng.Between(-3, 3);
    ASSERT_GE(value, -3);
    ASSERT_LE(value, 3);
    low = low || value == -3;
    high = high || value == 3;
  }
  EXPECT_TRUE(low);
  EXPECT_TRUE(high);
  EXPECT_EQ(rng.Between(5, 5), 5);
  EXPECT_EQ(rng.Below(1), 0u);
}

TEST(SplitMix64, PickFollowsTheWeightsAndNeverPicksAZeroWeight) {
  SplitMix64 rng(7);
  const std::array<int, 4> weights = {50, 0, 30, 20};
  std::array<int, 4> counts = {};
  constexpr int kDraws = 100000;
  for (int i = 0; i < kDraws; ++i) ++counts[rng.Pick(weights)];
  EXPECT_EQ(counts[1], 0);
  EXPECT_NEAR(counts[0] / double{kDraws}, 0.50, 0.01);
  EXPECT_NEAR(counts[2] / double{kDraws}, 0.30, 0.01);
  EXPECT_NEAR(counts[3] / double{kDraws}, 0.20, 0.01);
}

TEST(SplitMix64, ChanceFollowsItsRate) {
  SplitMix64 rng(9);
  int hits = 0;
  constexpr int kDraws = 100000;
  for (int i = 0; i < kDraws; ++i) hits += rng.Chance(2500) ? 1 : 0;
  EXPECT_NEAR(hits / double{kDraws}, 0.25, 0.01);
  EXPECT_FALSE(rng.Chance(0));
  EXPECT_TRUE(rng.Chance(10000));
}

}  // namespace
}  // namespace tutoring::db
