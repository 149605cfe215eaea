// What the layers above Raft (metadata loader, quorum controller) see of it:
// a listener interface for committed batches and leader changes, and a
// client interface to append and observe. RaftDriver implements RaftClient;
// tests and the simulator may provide their own.
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

#include "raft/types.h"

namespace flotilla::raft {

struct SnapshotId;
struct SnapshotContents;

// Called on the driver's io_context thread only.
//  - handle_commit: every committed batch exactly once, in offset order,
//    starting from the log start (a newly registered listener first gets the
//    whole committed history, then live commits).
//  - handle_load_snapshot: the committed state below `id.end_offset` as a
//    snapshot (KIP-630), replacing whatever the listener held; commits then
//    continue at id.end_offset. Delivered first when a snapshot exists at
//    registration, and whenever the listener's next offset falls below the
//    log start (a snapshot fetched from the leader, the log cleaned).
//  - handle_leader_change: the leader or epoch changed. When this node became
//    the leader it is called only after the listener has received every batch
//    up to and including the epoch's LeaderChangeMessage, so state built from
//    the commits is complete when a controller activates.
class RaftListener {
 public:
  virtual void handle_commit(const CommittedBatch& batch) = 0;
  virtual void handle_leader_change(LeaderAndEpoch leader) = 0;
  virtual void handle_load_snapshot(const SnapshotId& id, const SnapshotContents& contents) = 0;
  virtual ~RaftListener() = default;
};

class RaftClient {
 public:
  virtual ~RaftClient() = default;
  // Registering a listener that is already registered does nothing.
  virtual void register_listener(RaftListener* listener) = 0;
  virtual void unregister_listener(RaftListener* listener) = 0;
  // Leader only, for `epoch` only: the records go into one batch (never
  // split), in the order of the calls. Returns the offset of the last record;
  // nullopt if not the leader of `epoch`.
  virtual std::optional<int64_t> append(std::vector<std::vector<uint8_t>> record_values, int32_t epoch) = 0;
  // Offsets < high_watermark() are committed.
  virtual int64_t high_watermark() const = 0;
  virtual LeaderAndEpoch leader_and_epoch() const = 0;
  virtual int32_t node_id() const = 0;
  // The offset the next appended record will get (meaningful on the leader).
  virtual int64_t next_offset() const = 0;
};

}  // namespace flotilla::raft
