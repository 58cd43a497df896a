#include "bench/loadgen/histogram.h"

#include <algorithm>
#include <cmath>

namespace tutoring::bench {
namespace {

// Values below 2^kLinearBits get one bucket each; each range
// [2^e, 2^(e+1)) above is split into 2^(kLinearBits - 1) buckets.
constexpr int kLinearBits = 8;
constexpr int kSubBuckets = 1 << (kLinearBits - 1);  // 128
constexpr int kMaxBits = 42;
constexpr int64_t kMaxTracked = (int64_t{1} << kMaxBits) - 1;
// Highest shift is kMaxBits - kLinearBits; the last index is
// shift * kSubBuckets + (2 * kSubBuckets - 1).
constexpr int kBucketCount =
    (kMaxBits - kLinearBits) * kSubBuckets + 2 * kSubBuckets;

}  // namespace

Histogram::Histogram() : counts_(kBucketCount, 0) {}

int Histogram::BucketIndex(int64_t value) {
  if (value < (int64_t{1} << kLinearBits)) return static_cast<int>(value);
  value = std::min(value, kMaxTracked);
  const int msb = 63 - __builtin_clzll(static_cast<uint64_t>(value));
  const int shift = msb - (kLinearBits - 1);
  // value >> shift lies in [kSubBuckets, 2 * kSubBuckets).
  return shift * kSubBuckets + static_cast<int>(value >> shift);
}

int64_t Histogram::BucketMidpoint(int index) {
  if (index < (1 << kLinearBits)) return index;
  const int shift = index / kSubBuckets - 1;
  const int64_t sub = index - shift * kSubBuckets;
  return (sub << shift) + (int64_t{1} << (shift - 1));
}

void Histogram::Record(int64_t value) {
  value = std::max<int64_t>(value, 0);
  ++counts_[BucketIndex(value)];
  if (count_ == 0 || value < min_) min_ = value;
  if (count_ == 0 || value > max_) max_ = value;
  ++count_;
  sum_ += value;
}

void Histogram::Merge(const Histogram& other) {
  if (other.count_ == 0) return;
  for (int i = 0; i < kBucketCount; ++i) counts_[i] += other.counts_[i];
  if (count_ == 0 || other.min_ < min_) min_ = other.min_;
  if (count_ == 0 || other.max_ > max_) max_ = other.max_;
  count_ += other.count_;
  sum_ += other.sum_;
}

void Histogram::Clear() {
  std::fill(counts_.begin(), counts_.end(), 0);
  count_ = 0;
  min_ = 0;
  max_ = 0;
  sum_ = 0;
}

double Histogram::mean() const {
  return count_ == 0 ? 0.0 : static_cast<double>(sum_ / count_);
}

int64_t Histogram::ValueAtQuantile(double q) const {
  if (count_ == 0) return 0;
  q = std::clamp(q, 0.0, 1.0);
  const int64_t rank = std::max<int64_t>(
      1, static_cast<int64_t>(std::ceil(q * static_cast<double>(count_))));
  if (rank <= 1) return min_;
  if (rank >= count_) return max_;
  int64_t seen = 0;
  for (int i = 0; i < kBucketCount; ++i) {
    seen += static_cast<int64_t>(counts_[i]);
    if (seen >= rank) return std::clamp(BucketMidpoint(i), min_, max_);
  }
  return max_;
}

}  // namespace tutoring::bench
