// The outputs of RaftCore: what the driver (or the simulator) must do, in
// order. The driver applies them strictly in sequence; PersistElection is a
// barrier (nothing after it may take effect before the state is durable),
// FlushLog is asynchronous (its completion comes back as on_log_flushed).
#pragma once

#include <cstdint>
#include <memory>
#include <variant>
#include <vector>

#include "raft/messages.h"
#include "raft/quorum_state.h"
#include "raft/types.h"

namespace flotilla::raft {

// Durably write the election state (quorum-state) before anything that follows.
struct PersistElection {
  ElectionState state;
};
// Append whole batches whose offsets are already assigned; base_offset must
// equal the log end offset.
struct AppendToLog {
  std::shared_ptr<const std::vector<uint8_t>> batches;
  int64_t base_offset = 0;
  int64_t last_offset = 0;
};
// Remove everything at and after `offset` (follower divergence).
struct TruncateLog {
  int64_t offset = 0;
};
// Make offsets < up_to durable; report back with RaftCore::on_log_flushed.
struct FlushLog {
  int64_t up_to = 0;
};
// KIP-630, follower: `bytes` of snapshot `id` at `position` (position 0
// starts a new `.checkpoint.part` file).
struct WriteSnapshotChunk {
  OffsetAndEpoch id;
  int64_t position = 0;
  std::shared_ptr<const std::vector<uint8_t>> bytes;
};
// Snapshot `id` is complete: make it durable under its final name, then
// replace the whole log with it (empty, starting at id.offset). The core's
// view of the log is already reset when this is emitted.
struct InstallSnapshot {
  OffsetAndEpoch id;
};
struct SendRequest {
  int32_t destination = -1;
  RaftRequest request;
  // Given back with the response (RaftCore::handle_response): a response to
  // an older request than the one in flight (a late answer after a timeout,
  // a duplicate) must not be applied as the current one.
  uint64_t correlation_id = 0;
};
struct SendResponse {
  uint64_t request_id = 0;
  RaftResponse response;
};
// Offsets < high_watermark are committed.
struct HighWatermarkChanged {
  int64_t high_watermark = 0;
};
// The known leader or epoch changed. When this replica became leader,
// epoch_start_offset is the offset of its LeaderChangeMessage: listeners
// are told only once they have consumed everything before it.
struct LeaderChanged {
  LeaderAndEpoch leader;
  bool is_self = false;
  int64_t epoch_start_offset = -1;
};

using Action = std::variant<PersistElection, AppendToLog, TruncateLog, FlushLog, WriteSnapshotChunk, InstallSnapshot, SendRequest,
                            SendResponse, HighWatermarkChanged, LeaderChanged>;

}  // namespace flotilla::raft
