#include "client/partitioner.h"

namespace flotilla::client {

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
