#include "bench/loadgen/histogram.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <random>
#include <vector>

#include "gtest/gtest.h"

namespace tutoring::bench {
namespace {

constexpr double kQuantiles[] = {0.0,  0.001, 0.01, 0.1,   0.25,   0.5,
                                 0.75, 0.9,   0.99, 0.999, 0.9999, 1.0};

// The value of rank ceil(q * n) (at least 1), as Histogram defines it.
int64_t OracleQuantile(const std::vector<int64_t>& sorted, double q) {
  const int64_t n = static_cast<int64_t>(sorted.size());
  const int64_t rank = std::max<int64_t>(
      1, static_cast<int64_t>(std::ceil(q * static_cast<double>(n))));
  return sorted[std::min(rank, n) - 1];
}

// Latency-like values: log-uniform from 1 us to 10 s, in ns.
std::vector<int64_t> LogUniformValues(int count, uint32_t seed) {
  std::mt19937_64 random(seed);
  std::uniform_real_distribution<double> exponent(3.0, 10.0);
  std::vector<int64_t> values;
  for (int i = 0; i < count; ++i) {
    values.push_back(static_cast<int64_t>(std::pow(10.0, exponent(random))));
  }
  return values;
}

TEST(Histogram, EmptyReportsZeros) {
  Histogram h;
  EXPECT_EQ(h.count(), 0);
  EXPECT_EQ(h.min(), 0);
  EXPECT_EQ(h.max(), 0);
  EXPECT_EQ(h.mean(), 0.0);
  EXPECT_EQ(h.ValueAtQuantile(0.5), 0);
}

TEST(Histogram, SmallValuesAreExact) {
  Histogram h;
  std::vector<int64_t> values;
  for (int64_t v = 0; v < 256; ++v) {
    h.Record(v);
    values.push_back(v);
  }
  for (const double q : kQuantiles) {
    EXPECT_EQ(h.ValueAtQuantile(q), OracleQuantile(values, q)) << "q=" << q;
  }
}

TEST(Histogram, QuantilesWithinPrecisionOfSortedOracle) {
  std::vector<int64_t> values = LogUniformValues(200000, 7);
  Histogram h;
  for (const int64_t v : values) h.Record(v);
  std::sort(values.begin(), values.end());
  for (const double q : kQuantiles) {
    const int64_t exact = OracleQuantile(values, q);
    const int64_t reported = h.ValueAtQuantile(q);
    EXPECT_LE(std::abs(reported - exact), exact / 256 + 1)
        << "q=" << q << " exact=" << exact << " reported=" << reported;
  }
}

TEST(Histogram, ExtremesAndMeanAreExact) {
  const std::vector<int64_t> values = LogUniformValues(10000, 11);
  Histogram h;
  long double sum = 0;
  for (const int64_t v : values) {
    h.Record(v);
    sum += v;
  }
  EXPECT_EQ(h.count(), 10000);
  EXPECT_EQ(h.min(), *std::min_element(values.begin(), values.end()));
  EXPECT_EQ(h.max(), *std::max_element(values.begin(), values.end()));
  EXPECT_NEAR(h.mean(), static_cast<double>(sum / 10000), 1e-6 * h.mean());
  EXPECT_EQ(h.ValueAtQuantile(0.0), h.min());
  EXPECT_EQ(h.ValueAtQuantile(1.0), h.max());
}

TEST(Histogram, MergeEqualsRecordingEverything) {
  const std::vector<int64_t> values = LogUniformValues(50000, 3);
  Histogram all;
  Histogram first;
  Histogram second;
  for (size_t i = 0; i < values.size(); ++i) {
    all.Record(values[i]);
    (i % 3 == 0 ? first : second).Record(values[i]);
  }
  first.Merge(second);
  EXPECT_EQ(first.count(), all.count());
  EXPECT_EQ(first.min(), all.min());
  EXPECT_EQ(first.max(), all.max());
  EXPECT_NEAR(first.mean(), all.mean(), 1e-9 * all.mean());
  for (const double q : kQuantiles) {
    EXPECT_EQ(first.ValueAtQuantile(q), all.ValueAtQuantile(q)) << "q=" << q;
  }
}

TEST(Histogram, MergeIntoEmptyAndFromEmpty) {
  Histogram empty;
  Histogram h;
  h.Record(500);
  h.Record(7000);
  h.Merge(empty);
  EXPECT_EQ(h.count(), 2);
  empty.Merge(h);
  EXPECT_EQ(empty.count(), 2);
  EXPECT_EQ(empty.min(), 500);
  EXPECT_EQ(empty.max(), 7000);
}

TEST(Histogram, HugeValuesShareTheTopBucketButMaxStaysExact) {
  Histogram h;
  h.Record(int64_t{1} << 50);
  h.Record((int64_t{1} << 50) + 12345);
  EXPECT_EQ(h.max(), (int64_t{1} << 50) + 12345);
  EXPECT_EQ(h.min(), int64_t{1} << 50);
  // Clamped into [min, max] even though the bucket is far below.
  EXPECT_EQ(h.ValueAtQuantile(0.5), int64_t{1} << 50);
}

TEST(Histogram, NegativeValuesCountAsZero) {
  Histogram h;
  h.Record(-5);
  EXPECT_EQ(h.count(), 1);
  EXPECT_EQ(h.min(), 0);
  EXPECT_EQ(h.ValueAtQuantile(1.0), 0);
}

TEST(Histogram, ClearForgetsEverything) {
  Histogram h;
  h.Record(123456);
  h.Clear();
  EXPECT_EQ(h.count(), 0);
  EXPECT_EQ(h.ValueAtQuantile(0.5), 0);
  h.Record(10);
  EXPECT_EQ(h.min(), 10);
  EXPECT_EQ(h.max(), 10);
}

}  // namespace
}  // namespace tutoring::bench
