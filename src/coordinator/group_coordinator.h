// The classic group coordinator (Kafka 3.9's GroupCoordinator): consumer
// groups with the JoinGroup/SyncGroup/Heartbeat/LeaveGroup protocol, static
// membership (KIP-345), MEMBER_ID_REQUIRED (KIP-394), and committed offsets.
//
// Group states: Empty → PreparingRebalance → CompletingRebalance → Stable,
// and Dead (deleted or unloaded). The coordinator only relays the leader's
// assignment. Its state is persisted in __consumer_offsets (group_log.h);
// this broker coordinates the groups whose partition it leads, after loading
// that partition (COORDINATOR_LOAD_IN_PROGRESS meanwhile, NOT_COORDINATOR
// for partitions it does not lead).
//
// The coordinator is IO-free: time comes from `now_ms()` (monotonic, for
// timeouts) and `wall_ms()` (timestamps); timers are checked by tick();
// persistence goes through a GroupStore. Callbacks never run inside the call
// that registered them unless the answer is immediate. On a broker it runs
// inside GroupCoordinatorService (group_service.h); its implementation is
// split along its seams (classic_group.h lists the files).
//
// Threading: everything runs on the broker's io_context thread.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <tuple>
#include <vector>

#include "common/error.h"
#include "coordinator/group_log.h"

namespace flotilla::coordinator {

struct GroupCoordinatorConfig {
  int32_t group_min_session_timeout_ms = 6000;       // group.min.session.timeout.ms
  int32_t group_max_session_timeout_ms = 1800000;    // group.max.session.timeout.ms
  int32_t group_initial_rebalance_delay_ms = 3000;   // group.initial.rebalance.delay.ms
  int32_t group_max_size = INT32_MAX;                // group.max.size
  int32_t consumer_session_timeout_ms = 45000;       // group.consumer.session.timeout.ms (KIP-848, consumer_group.h)
  int32_t consumer_heartbeat_interval_ms = 5000;     // group.consumer.heartbeat.interval.ms
  int32_t consumer_max_size = INT32_MAX;             // group.consumer.max.size
  int32_t offsets_topic_num_partitions = 50;         // offsets.topic.num.partitions
  int16_t offsets_topic_replication_factor = 3;      // offsets.topic.replication.factor
  int32_t offsets_topic_segment_bytes = 104857600;   // offsets.topic.segment.bytes
  int32_t offset_metadata_max_bytes = 4096;          // offset.metadata.max.bytes
  int32_t offsets_commit_timeout_ms = 5000;          // offsets.commit.timeout.ms
  int64_t offsets_retention_ms = 7LL * 24 * 3600 * 1000;  // offsets.retention.minutes
  int64_t offsets_retention_check_interval_ms = 600000;   // offsets.retention.check.interval.ms
};

enum class GroupState { Empty, PreparingRebalance, CompletingRebalance, Stable, Dead };
const char* group_state_name(GroupState s);

struct JoinParams {
  std::string group_id;
  std::string member_id;
  std::optional<std::string> group_instance_id;
  bool require_known_member_id = false;  // JoinGroup v4+
  std::string client_id;
  std::string client_host;
  int32_t rebalance_timeout_ms = -1;
  int32_t session_timeout_ms = 0;
  std::string protocol_type;
  std::vector<std::pair<std::string, std::vector<uint8_t>>> protocols;
  std::string reason;
};

struct JoinMember {
  std::string member_id;
  std::optional<std::string> group_instance_id;
  std::vector<uint8_t> metadata;
};

struct JoinResult {
  ErrorCode error = ErrorCode::NONE;
  int32_t generation_id = -1;
  std::optional<std::string> protocol_type;
  std::optional<std::string> protocol_name;
  std::string leader;
  bool skip_assignment = false;
  std::string member_id;
  std::vector<JoinMember> members;
};

struct SyncParams {
  std::string group_id;
  int32_t generation_id = -1;
  std::string member_id;
  std::optional<std::string> group_instance_id;
  std::optional<std::string> protocol_type;
  std::optional<std::string> protocol_name;
  std::vector<std::pair<std::string, std::vector<uint8_t>>> assignments;
};

struct SyncResult {
  ErrorCode error = ErrorCode::NONE;
  std::optional<std::string> protocol_type;
  std::optional<std::string> protocol_name;
  std::vector<uint8_t> assignment;
};

struct LeaveMember {
  std::string member_id;
  std::optional<std::string> group_instance_id;
  ErrorCode error = ErrorCode::NONE;
};

struct CommitPartition {
  std::string topic;
  int32_t partition = 0;
  int64_t offset = 0;
  int32_t leader_epoch = -1;
  std::optional<std::string> metadata;
  int64_t commit_timestamp = -1;  // v1 only; -1: now
  ErrorCode error = ErrorCode::NONE;
};

struct FetchedOffset {
  std::string topic;
  int32_t partition = 0;
  int64_t offset = -1;
  int32_t leader_epoch = -1;
  std::string metadata;
  ErrorCode error = ErrorCode::NONE;
};

struct DescribedMember {
  std::string member_id;
  std::optional<std::string> group_instance_id;
  std::string client_id, client_host;
  std::vector<uint8_t> metadata, assignment;
};

struct DescribedGroup {
  ErrorCode error = ErrorCode::NONE;
  std::string group_id;
  std::string state;
  std::string protocol_type;
  std::string protocol;
  std::vector<DescribedMember> members;
};

struct ListedGroup {
  std::string group_id;
  std::string protocol_type;
  std::string state;
};

class GroupCoordinator {
 public:
  GroupCoordinator(GroupCoordinatorConfig config, GroupStore& store, std::function<int64_t()> now_ms, std::function<int64_t()> wall_ms);
  ~GroupCoordinator();

  const GroupCoordinatorConfig& config() const { return config_; }
  int32_t partition_for(const std::string& group_id) const { return group_partition(group_id, config_.offsets_topic_num_partitions); }

  // Leadership of __consumer_offsets-`partition` (at `epoch`) gained or lost.
  void on_leadership(int32_t partition, int32_t epoch, bool leader);
  // Heartbeat expiry, rebalance and initial-delay timeouts; every
  // offsets.retention.check.interval.ms, cleanup_group_metadata().
  void tick();
  // Kafka's GroupMetadataManager.cleanupGroupMetadata: removes the expired
  // offsets of every loaded group (tombstones in __consumer_offsets) and
  // makes a group that is Empty without offsets Dead (its metadata
  // tombstoned). Returns the number of offsets removed.
  size_t cleanup_group_metadata();

  void join_group(JoinParams p, std::function<void(JoinResult)> done);
  void sync_group(SyncParams p, std::function<void(SyncResult)> done);
  ErrorCode heartbeat(const std::string& group_id, const std::string& member_id, const std::optional<std::string>& instance_id,
                      int32_t generation);
  // Fills each member's error; returns the group-level error.
  ErrorCode leave_group(const std::string& group_id, std::vector<LeaveMember>& members);
  // Fills each partition's error; `done` runs once the commit is persisted (or failed).
  void commit_offsets(const std::string& group_id, const std::string& member_id, const std::optional<std::string>& instance_id,
                      int32_t generation, int64_t retention_ms, std::vector<CommitPartition> parts,
                      std::function<void(ErrorCode, std::vector<CommitPartition>)> done);
  // TxnOffsetCommit: the offsets are written in a transactional batch of
  // the producer and stay pending (invisible to OffsetFetch) until its
  // transaction's marker reaches this partition (complete_txn). Member
  // checks (KIP-447) only when a generation is given.
  void txn_commit_offsets(const std::string& group_id, TxnProducer producer, const std::string& member_id,
                          const std::optional<std::string>& instance_id, int32_t generation, std::vector<CommitPartition> parts,
                          std::function<void(std::vector<CommitPartition>)> done);
  // The marker of `producer_id`'s transaction is committed on
  // __consumer_offsets-`partition` (WriteTxnMarkers): its pending offsets
  // there become the groups' offsets (commit) or are dropped (abort).
  void complete_txn(int64_t producer_id, int32_t partition, bool commit);
  // topics nullopt: every committed offset of the group. Returns the
  // group-level error. `require_stable` (OffsetFetch v7+): a partition with
  // a pending transactional commit answers UNSTABLE_OFFSET_COMMIT.
  ErrorCode fetch_offsets(const std::string& group_id, const std::optional<std::vector<std::pair<std::string, std::vector<int32_t>>>>& topics,
                          std::vector<FetchedOffset>& out, bool require_stable = false);
  DescribedGroup describe_group(const std::string& group_id);
  // The groups of loaded partitions; error COORDINATOR_LOAD_IN_PROGRESS if some partition is loading.
  ErrorCode list_groups(const std::vector<std::string>& states_filter, std::vector<ListedGroup>& out);
  void delete_groups(std::vector<std::string> group_ids, std::function<void(std::vector<std::pair<std::string, ErrorCode>>)> done);
  // Per partition errors filled; returns the group-level error via done.
  void delete_offsets(const std::string& group_id, std::vector<std::pair<std::string, std::vector<int32_t>>> topics,
                      std::function<void(ErrorCode, std::vector<std::tuple<std::string, int32_t, ErrorCode>>)> done);

  // Appends records of a KIP-848 consumer group (consumer_group.h) to
  // __consumer_offsets-`partition` at this node's leader epoch; `done` gets
  // NONE once they are committed, else the error mapped as for group writes
  // (NOT_COORDINATOR, COORDINATOR_NOT_AVAILABLE, ...).
  void append_consumer_group_records(int32_t partition, std::vector<GroupRecord> records, std::function<void(ErrorCode)> done);
  // Called when a partition has been loaded (before it answers requests)
  // with its KIP-848 consumer groups; GroupCoordinatorService installs it.
  std::function<void(int32_t partition, const std::map<std::string, LoadedConsumerGroup>&)> on_consumer_groups_loaded;

  // NONE, NOT_COORDINATOR or COORDINATOR_LOAD_IN_PROGRESS for a group id.
  ErrorCode check_coordinator(const std::string& group_id) const;

  // For tests and DescribeGroups.
  std::optional<GroupState> state_of(const std::string& group_id) const;
  int32_t generation_of(const std::string& group_id) const;

 private:
  struct Member;
  struct Group;
  Group* find_group(const std::string& id);
  Group& get_or_create_group(const std::string& id);
  void add_member_and_rebalance(Group& g, const JoinParams& p, const std::string& member_id, std::function<void(JoinResult)> done);
  void update_member_and_rebalance(Group& g, Member& m, const JoinParams& p, std::function<void(JoinResult)> done);
  void prepare_rebalance(Group& g, const std::string& reason);
  void maybe_complete_join(Group& g);
  void complete_join(Group& g);
  void remove_member_and_update(Group& g, const std::string& member_id, const std::string& reason);
  void static_member_join(Group& g, const JoinParams& p, const std::string& new_member_id, std::function<void(JoinResult)> done);
  void reset_and_propagate_sync_error(Group& g, ErrorCode e);
  void propagate_assignment(Group& g, ErrorCode e);
  JoinResult join_result_for(Group& g, Member& m, bool leader_view);
  void heartbeat_member(Group& g, Member& m);
  void store_group(Group& g, std::map<std::string, std::vector<uint8_t>> assignment, std::function<void(ErrorCode)> done);
  msg::GroupMetadataValue group_value(const Group& g, const std::map<std::string, std::vector<uint8_t>>* assignment) const;
  void transition(Group& g, GroupState s);
  std::string select_protocol(const Group& g) const;
  bool supports_protocols(const Group& g, const std::string& type, const std::vector<std::pair<std::string, std::vector<uint8_t>>>& protos) const;
  void load_partition_state(int32_t partition, int32_t epoch, LoadedPartition state);
  void unload_partition(int32_t partition);
  std::vector<TopicPartitionKey> expired_offsets(const Group& g, int64_t now) const;
  // The member checks of OffsetCommit and TxnOffsetCommit; NONE or the error for every partition.
  ErrorCode validate_commit(Group& g, const std::string& member_id, const std::optional<std::string>& instance_id, int32_t generation);
  bool has_pending_txn_offset(const std::string& group_id, const TopicPartitionKey& tp) const;
  // The records of an offset commit and the values they carry (v1 commit
  // timestamps, retention); a partition with too large metadata gets
  // OFFSET_METADATA_TOO_LARGE and no record.
  void offset_records(const std::string& group_id, int64_t retention_ms, std::vector<CommitPartition>& parts, std::vector<GroupRecord>& recs,
                      std::vector<std::pair<TopicPartitionKey, OffsetValue>>& values) const;

  GroupCoordinatorConfig config_;
  GroupStore& store_;
  std::function<int64_t()> now_ms_;
  std::function<int64_t()> wall_ms_;
  LedPartitions partitions_;  // the partitions this node leads
  std::map<std::string, std::unique_ptr<Group>> groups_;
  std::map<std::string, std::map<TopicPartitionKey, OffsetValue>> offsets_;
  // Commits being appended, per group and partition (Kafka's pendingOffsetCommits): not expired meanwhile.
  std::map<std::string, std::map<TopicPartitionKey, int>> pending_commits_;
  // Transactional commits written but not completed by a marker, by producer id (Kafka's pendingTransactionalOffsetCommits).
  std::map<int64_t, GroupOffsets> pending_txn_offsets_;
  uint64_t next_id_ = 0;
  int64_t next_cleanup_ms_ = 0;  // now_ms() of the next cleanup_group_metadata() from tick()
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace flotilla::coordinator
