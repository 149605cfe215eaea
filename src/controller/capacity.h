// Partition capacity (issue 21): how many partition replicas each broker
// hosts and how many partitions the cluster has, kept up to date from the
// metadata deltas the controller applies, so that CreateTopics and
// CreatePartitions can be checked against the brokers' budgets
// (BrokerRegistration::max_partitions, from max.broker.partitions or derived
// by each broker from its RLIMIT_NOFILE and memory) and the cluster's
// max.partitions without recounting every partition per request.
//
// Invariant: after recount(image), or after apply(before, after, delta) for
// every delta turning the image counted into `after`, replicas(b) is the
// number of partitions of `after` whose replica list names b (reassignment
// targets included: they are in the list), and partitions() their number.
//
// Threading: a value owned by the QuorumController, used on its thread only.
#pragma once

#include <cstdint>
#include <string>
#include <unordered_map>

#include "metadata/delta.h"
#include "metadata/image.h"

namespace flotilla::controller {

class ReplicaCounts {
 public:
  // Counts every partition of `image` (a snapshot load: O(partitions)).
  void recount(const metadata::MetadataImage& image);
  // Follows `d`, which turned `before` into `after`: O(partitions it touched).
  void apply(const metadata::MetadataImage& before, const metadata::MetadataImage& after, const metadata::MetadataDelta& d);

  int64_t replicas(int32_t broker) const {
    auto it = per_broker_.find(broker);
    return it == per_broker_.end() ? 0 : it->second;
  }
  int64_t partitions() const { return partitions_; }

 private:
  void add(const metadata::PartitionRegistration& p, int64_t sign);

  std::unordered_map<int32_t, int64_t> per_broker_;
  int64_t partitions_ = 0;
};

// 1234567 -> "1,234,567" (capacity messages).
std::string with_thousands(int64_t n);

}  // namespace flotilla::controller
