// The pipeline's random numbers: a portable 64-bit generator seeded from (seed, epoch, position), so
// a sample's label choice, box jitter and augmentation depend only on where it sits in the epoch —
// never on thread count, world size or decode order. Conversions are written out (the standard
// distributions are implementation-defined), so streams are identical on every platform.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <random>

namespace medsam::data {

class SampleRng {
 public:
  // Mixes the words with SplitMix64 (Steele et al. 2014) into a Mersenne Twister seed.
  SampleRng(std::initializer_list<std::uint64_t> words) : engine_(mix(words)) {}

  std::uint64_t next() { return engine_(); }
  // Uniform in [0, 1) with 53 random bits.
  double uniform() { return static_cast<double>(engine_() >> 11) * (1.0 / 9007199254740992.0); }
  double uniform(double lo, double hi) { return lo + (hi - lo) * uniform(); }
  // Uniform integer in [0, n) (n >= 1), without modulo bias (rejection).
  std::uint64_t below(std::uint64_t n) {
    const std::uint64_t limit = ~std::uint64_t{0} - (~std::uint64_t{0} % n);
    std::uint64_t x;
    do x = engine_(); while (x >= limit);
    return x % n;
  }
  // Uniform integer in [lo, hi], both ends included (Python's random.randint).
  std::int64_t randint(std::int64_t lo, std::int64_t hi) {
    return lo + static_cast<std::int64_t>(below(static_cast<std::uint64_t>(hi - lo + 1)));
  }
  bool bernoulli(double p) { return uniform() < p; }

  static std::uint64_t splitmix(std::uint64_t x) {
    x += 0x9E3779B97F4A7C15ULL;
    x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ULL;
    x = (x ^ (x >> 27)) * 0x94D049BB133111EBULL;
    return x ^ (x >> 31);
  }

 private:
  static std::uint64_t mix(std::initializer_list<std::uint64_t> words) {
    std::uint64_t h = 0x6D656473616D0001ULL;  // "medsam" tag
    for (auto w : words) h = splitmix(h ^ w);
    return h;
  }
  std::mt19937_64 engine_;
};

}  // namespace medsam::data
