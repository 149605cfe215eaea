// Link stubs for the http fuzz target (and its replay): broker/broker_metrics.cc,
// which /metrics needs (BrokerMetrics, replica_counts), also holds
// BrokerSnapshotTaker, whose ReplicaManager and group coordinator live in
// libraries built on asio coroutines (which clang 14 does not compile against
// Debian's libstdc++). The target never takes a snapshot that way (its
// NodeView answers a fixed one): these are never called.
#include <cstdlib>

#include "broker/replica_manager.h"
#include "coordinator/consumer_group.h"
#include "coordinator/group_coordinator.h"

namespace flotilla {

std::shared_ptr<const broker::PartitionListing> broker::ReplicaManager::partition_keys() const { std::abort(); }

ErrorCode coordinator::GroupCoordinator::fetch_offsets(
    const std::string&, const std::optional<std::vector<std::pair<std::string, std::vector<int32_t>>>>&,
    std::vector<FetchedOffset>&, bool) {
  std::abort();
}

ErrorCode coordinator::GroupCoordinator::list_groups(const std::vector<std::string>&, std::vector<ListedGroup>&) {
  std::abort();
}

std::vector<coordinator::CgListedGroup> coordinator::ConsumerGroupCoordinator::list() const { std::abort(); }

bool coordinator::ConsumerGroupCoordinator::has_group(const std::string&) const { std::abort(); }

}  // namespace flotilla
