// A latency histogram with log-linear buckets, in the manner of
// HdrHistogram: values below 256 get a bucket each, and every power-of-two
// range above is split into 128 equal buckets. A reported quantile is
// therefore within 1/256 (0.4%) of a value that was recorded at that rank.
#ifndef TUTORING_BENCH_LOADGEN_HISTOGRAM_H_
#define TUTORING_BENCH_LOADGEN_HISTOGRAM_H_

#include <cstdint>
#include <vector>

namespace tutoring::bench {

// Counts non-negative integer values (tutoring-bench records nanoseconds).
// Values up to 2^42 - 1 (about 73 minutes in ns) keep the stated precision;
// larger ones share the top bucket, though min() and max() stay exact.
// Recording is O(1) and allocation-free. Not thread-safe: keep one per
// thread and Merge() them afterwards.
class Histogram {
 public:
  Histogram();

  // Adds one value; negative values are recorded as 0.
  void Record(int64_t value);

  // Adds every value recorded in `other`.
  void Merge(const Histogram& other);

  // Forgets every value.
  void Clear();

  int64_t count() const { return count_; }
  // Exact extremes; 0 when empty.
  int64_t min() const { return count_ == 0 ? 0 : min_; }
  int64_t max() const { return count_ == 0 ? 0 : max_; }
  // Exact mean; 0 when empty.
  double mean() const;

  // The value at quantile `q` (clamped to [0, 1]): the value of rank
  // ceil(q * count) (at least 1) in sorted order, within the precision above
  // and never outside [min(), max()]; exactly min() and max() for the first
  // and last rank. 0 when empty.
  int64_t ValueAtQuantile(double q) const;

 private:
  static int BucketIndex(int64_t value);
  // The value reported for a bucket: the middle of its range.
  static int64_t BucketMidpoint(int index);

  std::vector<uint64_t> counts_;
  int64_t count_ = 0;
  int64_t min_ = 0;
  int64_t max_ = 0;
  // Sum of the values, for the mean (long double: sums of ns overflow
  // nothing for any realistic run, and keep the mean exact enough).
  long double sum_ = 0;
};

}  // namespace tutoring::bench

#endif  // TUTORING_BENCH_LOADGEN_HISTOGRAM_H_
