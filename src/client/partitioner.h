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

#include "protocol/murmur2.h"

namespace flotilla::client {

// Kafka's murmur2 partitioning of keyed records lives in protocol/murmur2.h
// (the REST produce route uses it too).
using protocol::murmur2;
using protocol::partition_for_key;
using protocol::to_positive;

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
