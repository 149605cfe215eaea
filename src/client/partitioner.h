// The Java client's default partitioning: murmur2 of the key bytes for keyed
// records (Utils.toPositive(Utils.murmur2(key)) % numPartitions), and a sticky
// partition for records without a key that moves on after each batch.
// Invariant: a keyed record's partition depends on its key bytes and the
// partition count only, so Java and Flotilla producers agree on it.
// Threading: a StickyPartitioner belongs to one producer (one thread).
#pragma once

#include <cstdint>
#include <random>
#include <span>

namespace flotilla::client {

// Kafka's Utils.murmur2 (seed 0x9747b28c), returned as Java's signed int.
int32_t murmur2(std::span<const uint8_t> data);
// Utils.toPositive: clears the sign bit.
inline int32_t to_positive(int32_t n) { return n & 0x7fffffff; }
// The partition for a keyed record.
inline int32_t partition_for_key(std::span<const uint8_t> key, int32_t num_partitions) {
  return to_positive(murmur2(key)) % num_partitions;
}

// Sticky partitioning for null keys: the same partition until next_batch().
class StickyPartitioner {
 public:
  explicit StickyPartitioner(uint64_t seed = std::random_device{}()) : rng_(seed) {}
  int32_t partition(int32_t num_partitions);
  // The current batch was sent: pick another partition next time.
  void next_batch(int32_t num_partitions);

 private:
  std::mt19937_64 rng_;
  int32_t current_ = -1;
};

}  // namespace flotilla::client
