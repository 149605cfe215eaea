// The transaction coordinator on a broker (KIP-98): the TxnCoordinator state
// machine (txn_coordinator.h) with
//  - its store on the replica manager's __transaction_state partitions,
//    loaded when this broker becomes a partition's leader;
//  - TxnMarkerChannel, which writes a completed transaction's markers into
//    every partition of the transaction: locally when this broker leads the
//    partition, else with WriteTxnMarkers to the leader (Kafka's
//    TransactionMarkerChannelManager), retrying until written;
//  - producer ids from the controller (ProducerIdManager), also for
//    idempotent producers;
//  - a 100 ms tick that aborts transactions past their timeout.
//
// Partition leaders write markers with `write_local` (the WriteTxnMarkers
// handler and the channel's local path): the END_TXN control batch is
// appended, and the answer waits until the high watermark passes it (acks =
// all). A marker on __consumer_offsets then completes the producer's pending
// transactional offset commits in the group coordinator.
//
// Threading: the broker's io_context thread.
#pragma once

#include <asio.hpp>
#include <map>
#include <memory>

#include "broker/internal_log.h"
#include "broker/txn_coordinator.h"

namespace flotilla::broker {

class ReplicaManager;
class ProducerIdManager;
class GroupCoordinatorService;
class ControllerChannel;
struct BrokerConfig;

// Writes markers into partitions this broker leads.
class LocalMarkerWriter {
 public:
  LocalMarkerWriter(asio::io_context& io, ReplicaManager& replicas, int64_t timeout_ms) : io_(io), replicas_(replicas), timeout_ms_(timeout_ms) {}
  ~LocalMarkerWriter() { *alive_ = false; }
  void set_group_coordinator(GroupCoordinatorService* groups) { groups_ = groups; }
  // `done` (never inside the call): NONE once the marker is committed, or
  // the append's error (NOT_LEADER_OR_FOLLOWER, INVALID_PRODUCER_EPOCH,
  // TRANSACTION_COORDINATOR_FENCED, REQUEST_TIMED_OUT, ...).
  void write_local(int64_t producer_id, int16_t producer_epoch, int32_t coordinator_epoch, bool commit, const TopicPartitionKey& tp,
                   std::function<void(ErrorCode)> done);

 private:
  asio::io_context& io_;
  ReplicaManager& replicas_;
  int64_t timeout_ms_;
  GroupCoordinatorService* groups_ = nullptr;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

class TxnCoordinatorService {
 public:
  TxnCoordinatorService(asio::io_context& io, ReplicaManager& replicas, ControllerChannel* controller, const BrokerConfig& broker,
                        TxnCoordinatorConfig config, int32_t state_log_replication_factor, int32_t state_log_min_isr, int32_t state_log_segment_bytes);
  ~TxnCoordinatorService();
  void shutdown();

  TxnCoordinator& coordinator() { return *coordinator_; }
  LocalMarkerWriter& local_markers() { return *local_; }
  void set_group_coordinator(GroupCoordinatorService* groups) { local_->set_group_coordinator(groups); }

  int32_t replication_factor() const { return replication_factor_; }
  int32_t min_isr() const { return min_isr_; }
  int32_t segment_bytes() const { return segment_bytes_; }
  // FindCoordinator's first step: creates __transaction_state through the
  // controller if it does not exist yet (once at a time).
  bool topic_creation_in_flight = false;

 private:
  class Store;
  class Markers;
  class Ids;
  void arm();

  asio::io_context& io_;
  ReplicaManager& replicas_;
  int32_t replication_factor_, min_isr_, segment_bytes_;
  std::shared_ptr<ProducerIdManager> producer_ids_;
  std::unique_ptr<LocalMarkerWriter> local_;
  std::unique_ptr<Store> store_;
  std::unique_ptr<Markers> markers_;
  std::unique_ptr<Ids> ids_;
  std::unique_ptr<TxnCoordinator> coordinator_;
  asio::steady_timer timer_;
  bool stopped_ = false;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace flotilla::broker
