// Kafka's default partitioning of keyed records: Utils.murmur2 of the key
// bytes, made positive, modulo the partition count. Shared by the client's
// producer (client/partitioner.h) and the REST API's produce route
// (http/rest_records.cc), so both place a key where Java's producer would.
// Pure functions, header-only (no state, no I/O).
#pragma once

#include <cstdint>
#include <span>

namespace flotilla::protocol {

// Kafka's Utils.murmur2 (seed 0x9747b28c), returned as Java's signed int.
// Unsigned arithmetic gives Java's wrap-around; >>> is a logical shift.
inline int32_t murmur2(std::span<const uint8_t> data) {
  const uint32_t length = static_cast<uint32_t>(data.size());
  const uint32_t m = 0x5bd1e995u;
  const int r = 24;
  uint32_t h = 0x9747b28cu ^ length;
  const uint32_t length4 = length / 4;
  for (uint32_t i = 0; i < length4; ++i) {
    const uint32_t i4 = i * 4;
    uint32_t k = uint32_t(data[i4]) | (uint32_t(data[i4 + 1]) << 8) | (uint32_t(data[i4 + 2]) << 16) |
                 (uint32_t(data[i4 + 3]) << 24);
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

// Utils.toPositive: clears the sign bit.
inline int32_t to_positive(int32_t n) { return n & 0x7fffffff; }

// The partition for a keyed record.
inline int32_t partition_for_key(std::span<const uint8_t> key, int32_t num_partitions) {
  return to_positive(murmur2(key)) % num_partitions;
}

}  // namespace flotilla::protocol
