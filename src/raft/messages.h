// The Raft RPCs as the core sees them: one struct per request/response of
// KIP-595 (Vote, BeginQuorumEpoch, EndQuorumEpoch, Fetch) and KIP-630
// (FetchSnapshot), reduced to the single partition __cluster_metadata-0.
// The driver converts between these and the generated wire messages
// (msg::VoteRequest, ...); the simulator passes them around directly.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "common/error.h"
#include "raft/types.h"

namespace flotilla::raft {

// What every response of these RPCs starts with, as on the wire: the
// top-level error, then the partition's error and the leader the responder
// knows (its id and epoch).
struct ResponseHeader {
  ErrorCode error = ErrorCode::NONE;            // top level (e.g. INCONSISTENT_CLUSTER_ID)
  ErrorCode partition_error = ErrorCode::NONE;  // e.g. FENCED_LEADER_EPOCH
  int32_t leader_id = kNoLeader;
  int32_t leader_epoch = 0;
};

struct VoteRequest {
  std::string cluster_id;
  int32_t candidate_epoch = 0;
  int32_t candidate_id = -1;
  int32_t last_offset_epoch = 0;  // epoch of the candidate's last record
  int64_t last_offset = 0;        // the candidate's log end offset
  bool pre_vote = false;          // KIP-996: a pre-vote changes no state on the receiver
};
struct VoteResponse : ResponseHeader {
  bool vote_granted = false;
};

// A leader announcing its epoch (BeginQuorumEpoch) or resigning it (EndQuorumEpoch).
struct QuorumEpochRequest {
  std::string cluster_id;
  int32_t leader_id = -1;
  int32_t leader_epoch = 0;
};
struct BeginQuorumEpochRequest : QuorumEpochRequest {};
struct BeginQuorumEpochResponse : ResponseHeader {};

struct EndQuorumEpochRequest : QuorumEpochRequest {
  std::vector<int32_t> preferred_successors;
};
struct EndQuorumEpochResponse : ResponseHeader {};

struct FetchRequest {
  std::string cluster_id;
  int32_t replica_id = -1;  // -1: an observer without id
  int32_t current_leader_epoch = 0;
  int64_t fetch_offset = 0;
  int32_t last_fetched_epoch = 0;
  int64_t log_start_offset = 0;
  int32_t max_wait_ms = 0;
  int32_t max_bytes = 8 * 1024 * 1024;
};

// Where the driver must read the records of a leader's fetch response from.
struct ReadSpec {
  int64_t offset = 0;
  int32_t max_bytes = 0;
};

struct FetchResponse : ResponseHeader {
  int64_t high_watermark = -1;
  int64_t log_start_offset = 0;
  std::optional<OffsetAndEpoch> diverging_epoch;  // end offset + epoch to truncate to
  std::optional<OffsetAndEpoch> snapshot_id;      // fetch offset is before the log start
  // Inbound (follower side): the record batches received.
  std::shared_ptr<const std::vector<uint8_t>> records;
  // Outbound (leader side): filled in by the driver from the log before sending.
  std::optional<ReadSpec> read;
};

struct FetchSnapshotRequest {
  std::string cluster_id;
  int32_t replica_id = -1;
  int32_t current_leader_epoch = 0;
  OffsetAndEpoch snapshot_id;
  int64_t position = 0;
  int32_t max_bytes = 0;
};
// Where the driver must read a FetchSnapshot answer from: the snapshot file
// of `id`, `max_bytes` from `position`. The driver answers SNAPSHOT_NOT_FOUND
// or POSITION_OUT_OF_RANGE itself when the file or position does not exist.
struct SnapshotReadSpec {
  OffsetAndEpoch id;
  int64_t position = 0;
  int32_t max_bytes = 0;
};

struct FetchSnapshotResponse : ResponseHeader {
  OffsetAndEpoch snapshot_id;
  int64_t size = 0;      // of the whole snapshot file
  int64_t position = 0;  // of `bytes` in it
  std::shared_ptr<const std::vector<uint8_t>> bytes;
  // Outbound (leader side): filled in by the driver before sending.
  std::optional<SnapshotReadSpec> read;
};

using RaftRequest = std::variant<VoteRequest, BeginQuorumEpochRequest, EndQuorumEpochRequest, FetchRequest, FetchSnapshotRequest>;
using RaftResponse =
    std::variant<VoteResponse, BeginQuorumEpochResponse, EndQuorumEpochResponse, FetchResponse, FetchSnapshotResponse>;

}  // namespace flotilla::raft
