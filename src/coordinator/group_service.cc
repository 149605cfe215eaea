#include "coordinator/group_service.h"

#include <spdlog/spdlog.h>

#include "common/clock.h"
#include "coordinator/consumer_group.h"
#include "coordinator/service_loop.h"

namespace flotilla::coordinator {

GroupCoordinatorService::GroupCoordinatorService(asio::io_context& io, PartitionHost& host, GroupCoordinatorConfig config) {
  store_ = std::make_unique<ReplicaGroupStore>(io, host, config.offsets_commit_timeout_ms);
  coordinator_ = std::make_unique<GroupCoordinator>(config, *store_, [] { return monotonic_ms(); }, [] { return wall_clock_ms(); });
  ConsumerGroupConfig cg_config;  // KIP-848
  cg_config.offsets_topic_num_partitions = config.offsets_topic_num_partitions;
  cg_config.session_timeout_ms = config.consumer_session_timeout_ms;
  cg_config.heartbeat_interval_ms = config.consumer_heartbeat_interval_ms;
  cg_config.max_size = config.consumer_max_size;
  consumer_groups_ = std::make_unique<ConsumerGroupCoordinator>(cg_config, [] { return monotonic_ms(); });
  // KIP-848 persistence: records of timeouts and deletions are appended
  // without anyone waiting; a loaded partition rebuilds its consumer groups.
  consumer_groups_->set_record_sink([this, alive = alive_](int32_t partition, std::vector<GroupRecord> records) {
    if (!*alive) return;
    coordinator_->append_consumer_group_records(partition, std::move(records), [partition](ErrorCode e) {
      if (e != ErrorCode::NONE)
        spdlog::warn("[GroupCoordinator] Failed to write consumer group records to partition {}: {}", partition, error_name(e));
    });
  });
  coordinator_->on_consumer_groups_loaded = [this, alive = alive_](int32_t partition, const std::map<std::string, LoadedConsumerGroup>& groups) {
    if (*alive) consumer_groups_->load_partition(partition, groups);
  };
  loop_ = std::make_unique<ServiceLoop>(
      io, host, kGroupMetadataTopic, std::chrono::milliseconds(50),
      [this](int32_t partition, int32_t epoch, bool leader) {
        consumer_groups_->on_leadership(partition, epoch, leader);  // KIP-848
        coordinator_->on_leadership(partition, epoch, leader);
      },
      [this] {
        coordinator_->tick();
        consumer_groups_->tick();  // KIP-848
      });
}

GroupCoordinatorService::~GroupCoordinatorService() { *alive_ = false; }

void GroupCoordinatorService::shutdown() { loop_->shutdown(); }

}  // namespace flotilla::coordinator
