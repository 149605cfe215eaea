// Small value types shared by the Raft core, its driver and its users
// (metadata loader, controller): ids, epochs, offsets, committed batches.
#pragma once

#include <compare>
#include <cstdint>
#include <string>
#include <vector>

namespace flotilla::raft {

inline constexpr int32_t kNoLeader = -1;
inline constexpr int32_t kNotVoted = -1;
// The fixed topic id of __cluster_metadata (Kafka's Uuid.METADATA_TOPIC_ID, "AAAAAAAAAAAAAAAAAAAAAQ").
inline constexpr uint64_t kMetadataTopicIdHi = 0;
inline constexpr uint64_t kMetadataTopicIdLo = 1;
inline constexpr const char* kMetadataTopicName = "__cluster_metadata";
inline constexpr const char* kMetadataPartitionDir = "__cluster_metadata-0";

// An (offset, epoch) pair: a log position tagged with the epoch of the record
// before it (Kafka's OffsetAndEpoch). Ordered by epoch first, then offset,
// which is the order used to compare how up to date two logs are.
struct OffsetAndEpoch {
  int64_t offset = 0;
  int32_t epoch = 0;
  bool operator==(const OffsetAndEpoch&) const = default;
  std::strong_ordering operator<=>(const OffsetAndEpoch& o) const {
    if (auto c = epoch <=> o.epoch; c != 0) return c;
    return offset <=> o.offset;
  }
};

struct LeaderAndEpoch {
  int32_t leader_id = kNoLeader;
  int32_t epoch = 0;
  bool operator==(const LeaderAndEpoch&) const = default;
  bool has_leader() const { return leader_id >= 0; }
};

// One committed batch of the metadata log as delivered to listeners.
// `records` are the values of the batch's records (for data batches, framed
// metadata records; for control batches, the control record bodies).
struct CommittedBatch {
  int64_t base_offset = 0;
  int64_t last_offset = 0;
  int32_t epoch = 0;
  int64_t append_timestamp = 0;
  int32_t size_in_bytes = 0;  // of the whole batch as stored (the snapshot trigger counts these, as Kafka does)
  std::vector<std::vector<uint8_t>> records;
  bool is_control = false;
  // More committed batches follow in the same delivery (the driver is catching
  // a listener up, e.g. replaying the log at start-up): a listener may apply
  // them together and act once, on the last.
  bool more_follow = false;
};

// A voter set and the offset of the VotersRecord that introduced it (-1: the
// initial set, from controller.quorum.voters or the bootstrap checkpoint).
// KIP-853: a replica uses the latest set in its log, committed or not.
struct VoterSetEntry {
  int64_t offset = -1;
  std::vector<int32_t> voters;
};

// The roles of KIP-595, and Prospective (pre-vote, KIP-996) between
// Unattached/Voted/Follower/Resigned and Candidate.
enum class Role { Unattached, Voted, Prospective, Candidate, Leader, Follower, Resigned };
const char* role_name(Role r);

}  // namespace flotilla::raft
