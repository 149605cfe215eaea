// The Raft core's only source of randomness (election timeouts, backoff):
// a seeded SplitMix64, so that a seed reproduces a run exactly in the
// simulator. Not thread-safe; owned by one core.
#pragma once

#include <cstdint>

namespace flotilla::raft {

class Rng {
 public:
  explicit Rng(uint64_t seed = 0x9e3779b97f4a7c15ULL) : state_(seed) {}
  uint64_t next() {
    uint64_t z = (state_ += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
  }
  // Uniform in [0, bound); 0 if bound <= 0. (Modulo bias is irrelevant at these sizes.)
  int64_t uniform(int64_t bound) { return bound <= 0 ? 0 : static_cast<int64_t>(next() % static_cast<uint64_t>(bound)); }

 private:
  uint64_t state_;
};

}  // namespace flotilla::raft
