#pragma once
/// \file
/// Random numbers for the SDE Monte Carlo: one independent stream per path, derived from
/// (seed, path index) by a counter-based hash, so results never depend on the thread count or on
/// the order in which paths are simulated.
///
/// - `splitmix64` (Steele, Lea & Flood 2014) is the hash/seeder.
/// - `Xoshiro256pp` (Blackman & Vigna 2019, xoshiro256++) is the per-path engine; it models the
///   UniformRandomNumberGenerator concept, so Boost.Random distributions accept it.
/// - `StdNormal` wraps boost::random::normal_distribution (a ziggurat sampler in Boost >= 1.56).

#include <cstdint>
#include <limits>

#include <boost/random/normal_distribution.hpp>
#include <boost/random/uniform_01.hpp>

namespace flatmin::theory {

/// One SplitMix64 step: advances `state` and returns a well-mixed 64-bit value.
inline std::uint64_t splitmix64(std::uint64_t& state) {
  std::uint64_t z = (state += 0x9E3779B97F4A7C15ULL);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
  return z ^ (z >> 31);
}

/// xoshiro256++: 256-bit state, period 2^256 − 1.
class Xoshiro256pp {
 public:
  using result_type = std::uint64_t;
  static constexpr result_type min() { return 0; }
  static constexpr result_type max() { return std::numeric_limits<result_type>::max(); }

  /// Stream for path `path` of a run seeded with `seed`: the state is filled by SplitMix64 started
  /// from hash(seed, path) — a pure function of the pair (counter-based seeding).
  Xoshiro256pp(std::uint64_t seed, std::uint64_t path) {
    std::uint64_t h = seed;
    std::uint64_t mix = splitmix64(h) ^ (path * 0xD1342543DE82EF95ULL + 0x2545F4914F6CDD1DULL);
    for (auto& w : s_) w = splitmix64(mix);
  }

  result_type operator()() {
    const std::uint64_t result = rotl(s_[0] + s_[3], 23) + s_[0];
    const std::uint64_t t = s_[1] << 17;
    s_[2] ^= s_[0];
    s_[3] ^= s_[1];
    s_[1] ^= s_[2];
    s_[0] ^= s_[3];
    s_[2] ^= t;
    s_[3] = rotl(s_[3], 45);
    return result;
  }

 private:
  static std::uint64_t rotl(std::uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }
  std::uint64_t s_[4];
};

/// N(0, 1) draws from a borrowed engine (the engine is held by reference: copies share it).
class StdNormal {
 public:
  explicit StdNormal(Xoshiro256pp& rng) : rng_(&rng) {}
  double operator()() { return dist_(*rng_); }

 private:
  Xoshiro256pp* rng_;
  boost::random::normal_distribution<double> dist_{0.0, 1.0};
};

}  // namespace flatmin::theory
