// The group coordinators on a broker: the classic GroupCoordinator
// (group_coordinator.h) and the KIP-848 ConsumerGroupCoordinator
// (consumer_group.h), side by side on the same __consumer_offsets partitions,
// with
//  - the store on the broker's __consumer_offsets partitions (PartitionHost),
//    loaded when this broker becomes a partition's leader; a loaded
//    partition's consumer groups are handed to the KIP-848 side;
//  - the KIP-848 side's records of timeouts and deletions appended through
//    the classic side (nobody waits for them);
//  - the leadership notifications (KIP-848 side first) and a 50 ms tick.
//
// Threading: the broker's io_context thread.
#pragma once

#include <asio.hpp>
#include <memory>

#include "coordinator/group_coordinator.h"

namespace flotilla::coordinator {

class PartitionHost;
class ConsumerGroupCoordinator;  // consumer_group.h (KIP-848)
class ServiceLoop;

class GroupCoordinatorService {
 public:
  GroupCoordinatorService(asio::io_context& io, PartitionHost& host, GroupCoordinatorConfig config);
  ~GroupCoordinatorService();
  GroupCoordinator& coordinator() { return *coordinator_; }
  // KIP-848 groups (consumer_group.h), on the same partitions as the classic ones.
  ConsumerGroupCoordinator& consumer_groups() { return *consumer_groups_; }
  void shutdown();

  // FindCoordinator's first step: creates __consumer_offsets through the
  // controller if it does not exist yet (once at a time).
  bool topic_creation_in_flight = false;

 private:
  std::unique_ptr<ReplicaGroupStore> store_;
  std::unique_ptr<GroupCoordinator> coordinator_;
  std::unique_ptr<ConsumerGroupCoordinator> consumer_groups_;  // KIP-848
  std::unique_ptr<ServiceLoop> loop_;  // leadership of __consumer_offsets, the tick
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace flotilla::coordinator
