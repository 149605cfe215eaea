#include "client/partitioner.h"

namespace flotilla::client {

int32_t murmur2(std::span<const uint8_t> data) {
  // Unsigned arithmetic with Java's wrap-around; >>> is a logical shift.
  const uint32_t length = static_cast<uint32_t>(data.size());
  const uint32_t seed = 0x9747b28cu;
  const uint32_t m = 0x5bd1e995u;
  const int r = 24;
  uint32_t h = seed ^ length;
  const uint32_t length4 = length / 4;
  for (uint32_t i = 0; i < length4; ++i) {
    const uint32_t i4 = i * 4;
    uint32_t k = uint32_t(data[i4]) | (uint32_t(data[i4 + 1]) << 8) | (uint32_t(data[i4 + 2]) << 16) | (uint32_t(data[i4 + 3]) << 24);
    k *= m;
    k ^= k >> r;
    k *= m;
    h *= m;
    h ^= k;
  }
  const uint32_t tail = length & ~3u;
  switch (length % 4) {
    case 3:
      h ^= uint32_t(data[tail + 2]) << 16;
      [[fallthrough]];
    case 2:
      h ^= uint32_t(data[tail + 1]) << 8;
      [[fallthrough]];
    case 1:
      h ^= uint32_t(data[tail]);
      h *= m;
  }
  h ^= h >> 13;
  h *= m;
  h ^= h >> 15;
  return static_cast<int32_t>(h);
}

int32_t StickyPartitioner::partition(int32_t num_partitions) {
  if (num_partitions <= 0) return 0;
  if (current_ < 0 || current_ >= num_partitions) current_ = static_cast<int32_t>(rng_() % static_cast<uint64_t>(num_partitions));
  return current_;
}

void StickyPartitioner::next_batch(int32_t num_partitions) {
  if (num_partitions <= 1) {
    current_ = 0;
    return;
  }
  int32_t next = static_cast<int32_t>(rng_() % static_cast<uint64_t>(num_partitions - 1));
  if (current_ >= 0 && next >= current_) ++next;  // a different partition
  current_ = next;
}

}  // namespace flotilla::client
