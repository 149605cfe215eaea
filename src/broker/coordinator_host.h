// The broker's side of the coordinators' PartitionHost
// (coordinator/partition_host.h): their view of this broker's partitions is
// the replica manager's (leadership, appends, the purgatory for "committed"),
// their way to the controller is the broker's controller channel.
//
// Threading: the broker's io_context thread, as the replica manager.
// Lifetime: outlives the coordinator services that use it and lives no
// longer than the replica manager (a node holds it between the two).
#pragma once

#include <asio.hpp>
#include <memory>

#include "broker/controller_channel.h"
#include "broker/replica_manager.h"
#include "coordinator/partition_host.h"

namespace flotilla::broker {

class CoordinatorHost : public coordinator::PartitionHost {
 public:
  CoordinatorHost(asio::io_context& io, ReplicaManager& replicas) : io_(io), replicas_(replicas) {}
  ~CoordinatorHost() override { *alive_ = false; }
  // The way to the active controller (producer-id blocks); until it is set,
  // allocate_producer_ids answers UNKNOWN_SERVER_ERROR, as a channel without
  // the API does.
  void set_controller(ControllerChannel* controller) { controller_ = controller; }

  int32_t node_id() const override { return replicas_.node_id(); }
  int64_t broker_epoch() const override { return replicas_.broker_epoch(); }
  std::shared_ptr<const metadata::MetadataImage> image() const override { return replicas_.image(); }

  Leadership leadership(const std::string& topic, int32_t partition) const override;
  Appended append(const std::string& topic, int32_t partition, std::span<uint8_t> batch, coordinator::AppendOrigin origin) override;
  Appended append_marker(const std::string& topic, int32_t partition, int64_t producer_id, int16_t producer_epoch, int32_t coordinator_epoch,
                         bool commit) override;
  void await_committed(const std::string& topic, int32_t partition, int32_t leader_epoch, int64_t offset, int64_t timeout_ms,
                       std::function<void(ErrorCode)> done) override;
  LogRange log_range(const std::string& topic, int32_t partition) const override;
  std::vector<uint8_t> read(const std::string& topic, int32_t partition, int64_t offset, int32_t max_bytes, int64_t max_offset) override;
  void add_leadership_listener(LeadershipListener fn) override { replicas_.add_leadership_listener(std::move(fn)); }
  void allocate_producer_ids(msg::AllocateProducerIdsRequest req, std::function<void(msg::AllocateProducerIdsResponse)> done) override;

 private:
  // The hosted partition (a precondition of the calls that use it).
  Partition& partition(const std::string& topic, int32_t index) const;

  asio::io_context& io_;
  ReplicaManager& replicas_;
  ControllerChannel* controller_ = nullptr;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace flotilla::broker
