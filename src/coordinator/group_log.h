// The classic group coordinator's state in __consumer_offsets: the record
// formats (Kafka's: key = int16 version + struct, value = int16 version +
// struct, a null value is a tombstone), the state a partition loads to (last
// record per key wins), and the GroupStore that appends records to the
// partition as its leader and loads a partition when this broker becomes its
// leader.
//
//   OffsetCommitKey    key version 1: group, topic, partition
//   OffsetCommitValue  version 3 (1 when an expire timestamp is given)
//   GroupMetadataKey   key version 2: group
//   GroupMetadataValue version 3
//   KIP-848 consumer groups (Kafka 4.0's records, every value version 0):
//     ConsumerGroupMetadataKey                key version 3: group -> group epoch
//     ConsumerGroupPartitionMetadataKey       key version 4: group -> subscribed topics
//     ConsumerGroupMemberMetadataKey          key version 5: group, member -> member metadata
//     ConsumerGroupTargetAssignmentMetadataKey key version 6: group -> assignment epoch
//     ConsumerGroupTargetAssignmentMemberKey  key version 7: group, member -> target partitions
//     ConsumerGroupCurrentMemberAssignmentKey key version 8: group, member -> epochs, state, partitions
//
// Threading: ReplicaGroupStore runs on the broker's io_context thread; a load
// reads the log in slices, posting itself back between them (internal_log.h).
#pragma once

#include <asio.hpp>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/bytes.h"
#include "common/error.h"
#include "coordinator/internal_log.h"
#include "protocol/messages.h"

namespace flotilla::coordinator {

inline constexpr const char* kGroupMetadataTopic = "__consumer_offsets";

struct OffsetValue {
  int64_t offset = -1;
  int32_t leader_epoch = -1;
  std::string metadata;
  int64_t commit_timestamp = -1;
  int64_t expire_timestamp = -1;  // -1: none (written as version 3, else version 1)
  bool operator==(const OffsetValue&) const = default;
};

using TopicPartitionKey = std::pair<std::string, int32_t>;

// One record of __consumer_offsets, decoded.
struct GroupLogRecord {
  enum Kind {
    kOffset,
    kGroup,
    kCgMetadata,           // key version 3
    kCgPartitionMetadata,  // 4
    kCgMemberMetadata,     // 5
    kCgTargetMetadata,     // 6
    kCgTargetMember,       // 7
    kCgCurrentAssignment,  // 8
    kUnknown
  } kind = kUnknown;
  std::string group;
  std::string member_id;  // kCgMemberMetadata, kCgTargetMember, kCgCurrentAssignment
  std::string topic;  // kOffset
  int32_t partition = -1;
  std::optional<OffsetValue> offset;                   // kOffset; nullopt: tombstone
  std::optional<msg::GroupMetadataValue> group_value;  // kGroup; nullopt: tombstone
  // The consumer group records' values (of their kind); nullopt: tombstone.
  std::optional<msg::ConsumerGroupMetadataValue> cg_metadata;
  std::optional<msg::ConsumerGroupPartitionMetadataValue> cg_partition_metadata;
  std::optional<msg::ConsumerGroupMemberMetadataValue> cg_member;
  std::optional<msg::ConsumerGroupTargetAssignmentMetadataValue> cg_target_metadata;
  std::optional<msg::ConsumerGroupTargetAssignmentMemberValue> cg_target_member;
  std::optional<msg::ConsumerGroupCurrentMemberAssignmentValue> cg_current_assignment;
};

// Key versions of the KIP-848 consumer group records.
inline constexpr int16_t kCgMetadataKeyVersion = 3;
inline constexpr int16_t kCgPartitionMetadataKeyVersion = 4;
inline constexpr int16_t kCgMemberMetadataKeyVersion = 5;
inline constexpr int16_t kCgTargetMetadataKeyVersion = 6;
inline constexpr int16_t kCgTargetMemberKeyVersion = 7;
inline constexpr int16_t kCgCurrentAssignmentKeyVersion = 8;

// A consumer group record's key: `version` (3..8) and the group, plus the
// member id for versions 5, 7 and 8.
std::vector<uint8_t> encode_cg_key(int16_t version, const std::string& group, const std::string& member_id = "");
// (A consumer group value is encode_versioned_value(m): Kafka 4.0 writes
// version 0 of every consumer group value.)
std::vector<uint8_t> encode_offset_key(const std::string& group, const std::string& topic, int32_t partition);
std::vector<uint8_t> encode_offset_value(const OffsetValue& v);
std::vector<uint8_t> encode_group_key(const std::string& group);
std::vector<uint8_t> encode_group_value(const msg::GroupMetadataValue& v, int16_t version = 3);
// Throws DecodeError on a malformed record; an unknown key version gives kUnknown.
GroupLogRecord decode_group_log_record(std::span<const uint8_t> key, const std::optional<std::vector<uint8_t>>& value);

// Offsets per group and partition.
using GroupOffsets = std::map<std::string, std::map<TopicPartitionKey, OffsetValue>>;

// A KIP-848 consumer group as its records left it (last record per key).
struct LoadedConsumerGroup {
  std::optional<msg::ConsumerGroupMetadataValue> metadata;
  std::optional<msg::ConsumerGroupPartitionMetadataValue> partition_metadata;
  std::optional<msg::ConsumerGroupTargetAssignmentMetadataValue> target_metadata;
  std::map<std::string, msg::ConsumerGroupMemberMetadataValue> members;  // by member id
  std::map<std::string, msg::ConsumerGroupTargetAssignmentMemberValue> targets;
  std::map<std::string, msg::ConsumerGroupCurrentMemberAssignmentValue> assignments;
  bool empty() const {
    return !metadata && !partition_metadata && !target_metadata && members.empty() && targets.empty() && assignments.empty();
  }
};

// The state of one __consumer_offsets partition after loading it.
struct LoadedPartition {
  std::map<std::string, msg::GroupMetadataValue> groups;
  std::map<std::string, LoadedConsumerGroup> consumer_groups;  // KIP-848
  GroupOffsets offsets;
  // TxnOffsetCommit records whose transaction has no marker yet, by producer id.
  std::map<int64_t, GroupOffsets> pending_txn_offsets;
  void apply(const GroupLogRecord& r);
  // A record of a transactional batch: pending until the producer's marker.
  void apply_txn(int64_t producer_id, const GroupLogRecord& r);
  // The producer's transaction marker: its pending offsets become committed
  // offsets (commit) or are dropped (abort).
  void complete_txn(int64_t producer_id, bool commit);
};

// Kafka's group partition: Utils.abs(groupId.hashCode()) % partitions, with
// Java's String.hashCode over UTF-16 code units and abs(INT_MIN) = 0.
int32_t java_string_hash(const std::string& utf8);
int32_t group_partition(const std::string& group_id, int32_t partitions);

using GroupRecord = InternalRecord;

// Where the coordinator's state lives.
class GroupStore {
 public:
  virtual ~GroupStore() = default;
  // Appends the records to the partition (as its leader at `leader_epoch`);
  // `done` runs once they are committed (high watermark) or failed, with
  // Kafka's append error (NOT_LEADER_OR_FOLLOWER, REQUEST_TIMED_OUT, ...).
  virtual void append(int32_t partition, int32_t leader_epoch, std::vector<GroupRecord> records, std::function<void(ErrorCode)> done) = 0;
  // The same as a transactional batch of `producer` (TxnOffsetCommit).
  virtual void append_txn(int32_t partition, int32_t leader_epoch, std::vector<GroupRecord> records, TxnProducer producer,
                          std::function<void(ErrorCode)> done) {
    (void)producer;
    append(partition, leader_epoch, std::move(records), std::move(done));
  }
  // Reads the partition from its log start to its end; `done` gets the state
  // (or nullopt if the partition stopped being led at that epoch meanwhile).
  // Never calls `done` inside the call.
  virtual void load(int32_t partition, int32_t leader_epoch, std::function<void(std::optional<LoadedPartition>)> done) = 0;
};

// The GroupStore on the broker's __consumer_offsets partitions (PartitionHost).
class ReplicaGroupStore : public GroupStore {
 public:
  ReplicaGroupStore(asio::io_context& io, PartitionHost& host, int64_t commit_timeout_ms)
      : log_(io, host, kGroupMetadataTopic, commit_timeout_ms, "GroupMetadataManager") {}
  void append(int32_t partition, int32_t leader_epoch, std::vector<GroupRecord> records, std::function<void(ErrorCode)> done) override {
    log_.append(partition, leader_epoch, std::move(records), std::nullopt, std::move(done));
  }
  void append_txn(int32_t partition, int32_t leader_epoch, std::vector<GroupRecord> records, TxnProducer producer,
                  std::function<void(ErrorCode)> done) override {
    log_.append(partition, leader_epoch, std::move(records), producer, std::move(done));
  }
  void load(int32_t partition, int32_t leader_epoch, std::function<void(std::optional<LoadedPartition>)> done) override;

 private:
  InternalTopicLog log_;
};

}  // namespace flotilla::coordinator
