// What the coordinators (the classic group coordinator, KIP-848 consumer
// groups, the transaction coordinator and its producer ids) need of the broker
// they run on, and no more: this node's identity and metadata image, its
// partitions — leadership, appends as the leader, the high watermark passing
// an append, reading a log back for a load — the notifications of leadership
// changes, and the way to the active controller for producer-id blocks. The
// broker implements it over its replica manager (broker/coordinator_host.h),
// so that coordinator/ never includes broker/.
//
// Why leadership and epochs everywhere: a coordinator owns the state of an
// internal-topic partition (__consumer_offsets, __transaction_state) exactly
// while this node leads it, at the leader epoch it loaded it at (Kafka's
// coordinator epoch). Every write names that epoch; a write or a load that
// finds another leader or epoch fails (NOT_LEADER_OR_FOLLOWER, or a load
// answers "not led"), because the state it would change now belongs to the
// next coordinator. A write is durable — and answered — once the high
// watermark passes it.
//
// Threading: every method is called on the broker's io_context thread and
// every callback runs there. await_committed's `done` never runs inside the
// call; allocate_producer_ids answers as the broker's controller channel does
// (later, except where the channel answers at once). Leadership listeners
// run from the broker's image updates, never inside add_leadership_listener.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "common/error.h"
#include "metadata/image.h"
#include "protocol/messages.h"

namespace flotilla::coordinator {

// Who appends (Kafka's AppendOrigin): a producer, whose sequences are checked,
// or a coordinator writing a transactional producer's batch on its behalf
// (TxnOffsetCommit): its epoch is checked, its sequences are not.
enum class AppendOrigin { Client, Coordinator };

class PartitionHost {
 public:
  virtual ~PartitionHost() = default;

  // ---------------------------------------------------------------- this node
  virtual int32_t node_id() const = 0;
  // From the broker's registration; -1 before it registered.
  virtual int64_t broker_epoch() const = 0;
  // The metadata image the broker serves from (never null while it runs).
  virtual std::shared_ptr<const metadata::MetadataImage> image() const = 0;

  // ---------------------------------------------------------------- partitions
  // This node's part in topic-partition: NONE and the leader epoch when it
  // leads it, NOT_LEADER_OR_FOLLOWER when it hosts a follower replica,
  // UNKNOWN_TOPIC_OR_PARTITION when it hosts no replica of it.
  struct Leadership {
    ErrorCode error = ErrorCode::UNKNOWN_TOPIC_OR_PARTITION;
    int32_t leader_epoch = -1;
  };
  virtual Leadership leadership(const std::string& topic, int32_t partition) const = 0;

  // What an append did: NONE and the offset of its last record, or the error
  // the broker answers a producer with (validation, producer state, storage).
  struct Appended {
    ErrorCode error = ErrorCode::NONE;
    int64_t last_offset = -1;
  };
  // Appends a batch (v2, offsets assigned in place) to a partition this node
  // leads (the caller checked leadership() just before).
  virtual Appended append(const std::string& topic, int32_t partition, std::span<uint8_t> batch, AppendOrigin origin) = 0;
  // WriteTxnMarkers on the leader: one END_TXN control batch of the producer
  // (commit or abort) at the log end of a partition this node leads.
  virtual Appended append_marker(const std::string& topic, int32_t partition, int64_t producer_id, int16_t producer_epoch,
                                 int32_t coordinator_epoch, bool commit) = 0;
  // `done` (on a later turn, never inside the call): NONE once the high
  // watermark passes `offset` while this node still leads the partition at
  // `leader_epoch`; NOT_LEADER_OR_FOLLOWER as soon as it does not;
  // REQUEST_TIMED_OUT after `timeout_ms`. Exactly once.
  virtual void await_committed(const std::string& topic, int32_t partition, int32_t leader_epoch, int64_t offset, int64_t timeout_ms,
                               std::function<void(ErrorCode)> done) = 0;

  // For a load, of a partition this node hosts: where its log starts and ends now.
  struct LogRange {
    int64_t start = 0;
    int64_t end = 0;
  };
  virtual LogRange log_range(const std::string& topic, int32_t partition) const = 0;
  // Its batches from `offset` on, as stored: about `max_bytes` (at least one
  // whole batch), none at or past `max_offset`. Throws storage errors.
  virtual std::vector<uint8_t> read(const std::string& topic, int32_t partition, int64_t offset, int32_t max_bytes, int64_t max_offset) = 0;

  // Called when this node becomes the leader of a partition (leader = true, at
  // `leader_epoch`) or stops leading it (a new leader or epoch, or the
  // partition is deleted here). Listeners stay for the host's life: one that
  // may be destroyed earlier checks its own liveness.
  using LeadershipListener = std::function<void(const std::string& topic, int32_t partition, int32_t leader_epoch, bool leader)>;
  virtual void add_leadership_listener(LeadershipListener fn) = 0;

  // ---------------------------------------------------------------- the controller
  // AllocateProducerIds (KIP-730) to the active controller: a block of
  // producer ids for this broker (InitProducerId).
  virtual void allocate_producer_ids(msg::AllocateProducerIdsRequest req, std::function<void(msg::AllocateProducerIdsResponse)> done) = 0;
};

}  // namespace flotilla::coordinator
