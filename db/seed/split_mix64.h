// The seeded dataset's source of randomness: SplitMix64 (Steele, Lea and
// Flood, "Fast splittable pseudorandom number generators", 2014) and the
// uniform and weighted draws built on it. Only integer arithmetic, no
// library distributions: the same state gives the same numbers with any
// compiler and standard library, which the dataset's determinism rests on.
// Changing any function here changes every seeded table.
#ifndef TUTORING_DB_SEED_SPLIT_MIX64_H_
#define TUTORING_DB_SEED_SPLIT_MIX64_H_

#include <array>
#include <cstddef>
#include <cstdint>

namespace tutoring::db {

// A SplitMix64 generator. A value type: copies continue independently from
// the same state. Not thread-safe (each thread uses its own).
class SplitMix64 {
 public:
  // The increment of the state per draw (the golden ratio in 64 bits).
  static constexpr uint64_t kGolden = 0x9e3779b97f4a7c15;

  // SplitMix64's output function, a bijection of 64-bit values.
  static constexpr uint64_t Mix(uint64_t z) {
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9;
    z = (z ^ (z >> 27)) * 0x94d049bb133111eb;
    return z ^ (z >> 31);
  }

  // The generator whose first Next() is Mix(state + kGolden).
  explicit constexpr SplitMix64(uint64_t state) : state_(state) {}

  // An independent stream per (seed, stream, index): the dataset draws each
  // table's row `index` from its own stream, so that drawing one row or
  // table differently never shifts the numbers of another.
  static constexpr SplitMix64 ForStream(uint64_t seed, uint64_t stream,
                                        uint64_t index) {
    return SplitMix64(Mix(Mix(seed + kGolden * stream) ^ Mix(index)));
  }

  // The next 64 random bits.
  uint64_t Next() {
    state_ += kGolden;
    return Mix(state_);
  }

  // Uniform in [0, n) for n > 0 (multiply-shift: one draw, bias below
  // n / 2^64).
  uint64_t Below(uint64_t n) {
    return static_cast<uint64_t>((static_cast<unsigned __int128>(Next()) * n) >>
                                 64);
  }

  // Uniform in [lo, hi]; requires lo <= hi.
  int64_t Between(int64_t lo, int64_t hi) {
    return lo + static_cast<int64_t>(Below(static_cast<uint64_t>(hi - lo) + 1));
  }

  // True with probability per_10000 / 10000 (one draw).
  bool Chance(int per_10000) {
    return Below(10000) < static_cast<uint64_t>(per_10000);
  }

  // An index into `weights` with probability proportional to its weight (one
  // draw). Requires non-negative weights with a positive sum.
  template <size_t N>
  int Pick(const std::array<int, N>& weights) {
    int total = 0;
    for (int w : weights) total += w;
    int r = static_cast<int>(Below(static_cast<uint64_t>(total)));
    for (size_t i = 0; i < N; ++i) {
      if (r < weights[i]) return static_cast<int>(i);
      r -= weights[i];
    }
    return static_cast<int>(N - 1);
  }

 private:
  uint64_t state_;
};

}  // namespace tutoring::db

#endif  // TUTORING_DB_SEED_SPLIT_MIX64_H_
