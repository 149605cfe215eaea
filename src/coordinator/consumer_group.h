// The new consumer group protocol (KIP-848, as Kafka 4.0 ships it): the
// ConsumerGroupHeartbeat state machine with server-side assignment ("uniform"
// and "range" assignors) and Kafka's incremental reconciliation, and the data
// ConsumerGroupDescribe reports.
//
// A group lives with the coordinator of its __consumer_offsets partition (the
// classic coordinator's partition_for and leadership). Its state is persisted
// there with Kafka 4.0's records (group_log.h: ConsumerGroupMetadata,
// PartitionMetadata, MemberMetadata, TargetAssignmentMetadata,
// TargetAssignmentMember, CurrentMemberAssignment; tombstones for a member
// that leaves and for a deleted group). Every change of a group yields the
// records that differ from what was last written for it: heartbeat() returns
// them in its result (the handler appends them and answers once they are
// committed); tick() and delete_group() hand theirs to the record sink. The
// in-memory state is applied at once (Kafka applies it to a timeline and
// reverts it if the append fails; we do not). When the classic coordinator
// has loaded a partition, load_partition() rebuilds its groups: members keep
// their ids, epochs and assignments (sessions restart), so they heartbeat on.
// Committed offsets go through the classic coordinator's OffsetCommit path;
// validate_offset_commit() is what that path asks for KIP-848 groups.
//
// Epochs: the group epoch is bumped whenever membership, a subscription, a
// member's rack or assignor, or the metadata of a subscribed topic changes;
// the target assignment is recomputed (at the group epoch, which becomes the
// assignment epoch) on the next heartbeat. Each member then converges towards
// its target: partitions it must give up are revoked first (the member stays
// at its epoch in UNREVOKED_PARTITIONS until its heartbeat's owned partitions
// no longer hold them); it receives a partition only once no other member owns
// it (UNRELEASED_PARTITIONS until then); when nothing is left to revoke it
// moves to the assignment epoch.
//
// IO-free and deterministic: time comes from now_ms(), member ids from an
// injectable generator, topics from a CgTopics view of the metadata image;
// timeouts are checked by tick(). The implementation is split along its
// seams (consumer_group_state.h lists the files). Threading: the broker's
// io_context thread.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "common/error.h"
#include "common/uuid.h"
#include "coordinator/group_log.h"

namespace flotilla::coordinator {

struct ConsumerGroupConfig {
  int32_t session_timeout_ms = 45000;    // group.consumer.session.timeout.ms
  int32_t heartbeat_interval_ms = 5000;  // group.consumer.heartbeat.interval.ms
  int32_t max_size = INT32_MAX;          // group.consumer.max.size
  // group.consumer.assignors: the first is the default.
  std::vector<std::string> assignors = {"uniform", "range"};
  int32_t offsets_topic_num_partitions = 50;  // offsets.topic.num.partitions
};

// A topic of the metadata image.
struct CgTopic {
  Uuid id;
  std::string name;
  int32_t partitions = 0;
};

// The topics of a metadata image. `version` must change whenever the topics do
// (the image's offset serves); groups re-check their subscribed topics then.
struct CgTopics {
  int64_t version = 0;
  std::map<std::string, CgTopic> by_name;
  std::map<Uuid, std::string> names;  // id -> name
  void add(const Uuid& id, const std::string& name, int32_t partitions) {
    by_name[name] = CgTopic{id, name, partitions};
    names[id] = name;
  }
};

using CgAssignment = std::map<Uuid, std::set<int32_t>>;

enum class CgMemberState { Stable, UnrevokedPartitions, UnreleasedPartitions };
const char* cg_member_state_name(CgMemberState s);
enum class CgGroupState { Empty, Assigning, Reconciling, Stable };
const char* cg_group_state_name(CgGroupState s);  // Kafka's names: "Empty", "Assigning", "Reconciling", "Stable"

struct CgHeartbeat {
  int16_t version = 1;
  std::string group_id;
  std::string member_id;
  int32_t member_epoch = 0;
  std::optional<std::string> instance_id;
  std::optional<std::string> rack_id;
  int32_t rebalance_timeout_ms = -1;
  std::optional<std::vector<std::string>> subscribed_topic_names;
  std::optional<std::string> subscribed_topic_regex;
  std::optional<std::string> server_assignor;
  std::optional<CgAssignment> owned;  // TopicPartitions
  std::string client_id;
  std::string client_host;
};

struct CgHeartbeatResult {
  ErrorCode error = ErrorCode::NONE;
  std::optional<std::string> error_message;
  std::optional<std::string> member_id;
  int32_t member_epoch = 0;
  int32_t heartbeat_interval_ms = 0;
  std::optional<CgAssignment> assignment;  // only when it changed (or on a full request)
  // The records to append to __consumer_offsets-`partition` before answering
  // (empty: nothing changed that is persisted).
  int32_t partition = -1;
  std::vector<GroupRecord> records;
};

struct CgDescribedMember {
  std::string member_id;
  std::optional<std::string> instance_id;
  std::optional<std::string> rack_id;
  int32_t member_epoch = 0;
  CgMemberState state = CgMemberState::Stable;
  std::string client_id, client_host;
  std::vector<std::string> subscribed_topic_names;
  std::optional<std::string> subscribed_topic_regex;
  CgAssignment assignment, target_assignment;
};

struct CgDescribedGroup {
  ErrorCode error = ErrorCode::NONE;
  std::optional<std::string> error_message;
  std::string group_id;
  std::string state;
  int32_t group_epoch = 0;
  int32_t assignment_epoch = 0;
  std::string assignor_name;
  std::vector<CgDescribedMember> members;  // by member id
};

struct CgListedGroup {
  std::string group_id;
  std::string state;
};

// A server-side assignor: the new target assignment of every member from the
// members' subscriptions (topic names that exist) and their previous target.
struct CgAssignorMember {
  std::set<std::string> topics;
  CgAssignment previous;
};
using CgAssignorInput = std::map<std::string, CgAssignorMember>;  // by member id
std::map<std::string, CgAssignment> cg_assign_uniform(const CgAssignorInput& members, const CgTopics& topics);
std::map<std::string, CgAssignment> cg_assign_range(const CgAssignorInput& members, const CgTopics& topics);

class ConsumerGroupCoordinator {
 public:
  ConsumerGroupCoordinator(ConsumerGroupConfig config, std::function<int64_t()> now_ms,
                           std::function<std::string()> new_member_id = nullptr);
  ~ConsumerGroupCoordinator();

  const ConsumerGroupConfig& config() const { return config_; }
  int32_t partition_for(const std::string& group_id) const;

  // The caller has checked that this node coordinates the group (and that no
  // classic group with members holds the id).
  CgHeartbeatResult heartbeat(const CgHeartbeat& req, const CgTopics& topics);
  // Session and revocation (rebalance) timeouts.
  void tick();

  // GROUP_ID_NOT_FOUND for an unknown group.
  CgDescribedGroup describe(const std::string& group_id, const CgTopics& topics) const;
  std::vector<CgListedGroup> list() const;
  bool has_group(const std::string& group_id) const;
  bool has_members(const std::string& group_id) const;
  // DeleteGroups: NON_EMPTY_GROUP while it has members, else forgets it (NONE);
  // GROUP_ID_NOT_FOUND if there is no such group.
  ErrorCode delete_group(const std::string& group_id);

  // OffsetCommit (api_version) / TxnOffsetCommit for a KIP-848 group, as
  // Kafka's ConsumerGroup.validateOffsetCommit: nullopt if the group is not
  // one of ours, else NONE or the error (UNKNOWN_MEMBER_ID, FENCED_INSTANCE_ID,
  // UNSUPPORTED_VERSION below v9, STALE_MEMBER_EPOCH).
  std::optional<ErrorCode> validate_offset_commit(const std::string& group_id, const std::string& member_id,
                                                  const std::optional<std::string>& instance_id, int32_t member_epoch,
                                                  int16_t api_version) const;
  // OffsetFetch v9+ with a member (epoch >= 0): nullopt if not ours, else NONE,
  // UNKNOWN_MEMBER_ID or STALE_MEMBER_EPOCH.
  std::optional<ErrorCode> validate_offset_fetch(const std::string& group_id, const std::string& member_id, int32_t member_epoch) const;

  // Where tick() and delete_group() put their records (appended without
  // anyone waiting): the partition and the records.
  void set_record_sink(std::function<void(int32_t, std::vector<GroupRecord>)> sink) { sink_ = std::move(sink); }
  // The consumer groups of a loaded __consumer_offsets partition (those of
  // other partitions are ignored) replace the ones held for it. A group
  // without members and without an epoch record is skipped.
  void load_partition(int32_t partition, const std::map<std::string, LoadedConsumerGroup>& groups);

  // Leadership of __consumer_offsets-`partition`: the groups of a partition
  // this node stops leading (or leads in a new epoch) are dropped.
  void on_leadership(int32_t partition, int32_t epoch, bool leader);
  void unload_partition(int32_t partition);

  // For tests.
  std::optional<int32_t> group_epoch(const std::string& group_id) const;
  std::optional<CgGroupState> group_state(const std::string& group_id) const;

 private:
  struct Member;
  struct Group;
  Group* find(const std::string& id);
  const Group* find(const std::string& id) const;
  void remove_member(Group& g, const std::string& member_id);
  bool refresh_subscriptions(Group& g, const CgTopics& topics);
  void compute_target(Group& g, const CgTopics& topics);
  void reconcile(Group& g, Member& m, const std::optional<CgAssignment>& owned);
  void next_assignment(Group& g, Member& m);
  bool owned_by_other(const Group& g, const std::string& member_id, const Uuid& topic, int32_t partition) const;
  std::string preferred_assignor(const Group& g) const;
  CgGroupState state_of(const Group& g) const;
  // The records of `g` (or of a deleted group: nullptr) that differ from
  // those last written, in Kafka's order; remembers the new state.
  std::vector<GroupRecord> flush(Group* g, const std::string& group_id);
  void emit(int32_t partition, std::vector<GroupRecord> records);

  ConsumerGroupConfig config_;
  std::function<int64_t()> now_ms_;
  std::function<std::string()> new_member_id_;
  std::map<std::string, std::unique_ptr<Group>> groups_;
  std::function<void(int32_t, std::vector<GroupRecord>)> sink_;
  LedPartitions led_;  // the __consumer_offsets partitions led, at their epochs (`loaded` is the classic side's business)
};

}  // namespace flotilla::coordinator
