// The transaction coordinator on a broker (KIP-98): the TxnCoordinator state
// machine (txn_coordinator.h) with
//  - its store on the broker's __transaction_state partitions (PartitionHost),
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
#include <string>

#include "coordinator/internal_log.h"
#include "coordinator/txn_coordinator.h"

namespace flotilla::net {
struct ClientSecurity;
}

namespace flotilla::coordinator {

class PartitionHost;
class ProducerIdManager;
class GroupCoordinatorService;
class ServiceLoop;

// Writes markers into partitions this broker leads.
class LocalMarkerWriter {
 public:
  LocalMarkerWriter(asio::io_context& io, PartitionHost& host, int64_t timeout_ms) : io_(io), host_(host), timeout_ms_(timeout_ms) {}
  ~LocalMarkerWriter() { *alive_ = false; }
  void set_group_coordinator(GroupCoordinatorService* groups) { groups_ = groups; }
  // `done` (never inside the call): NONE once the marker is committed, or
  // the append's error (NOT_LEADER_OR_FOLLOWER, INVALID_PRODUCER_EPOCH,
  // TRANSACTION_COORDINATOR_FENCED, REQUEST_TIMED_OUT, ...).
  void write_local(int64_t producer_id, int16_t producer_epoch, int32_t coordinator_epoch, bool commit, const TopicPartitionKey& tp,
                   std::function<void(ErrorCode)> done);

 private:
  asio::io_context& io_;
  PartitionHost& host_;
  int64_t timeout_ms_;
  GroupCoordinatorService* groups_ = nullptr;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

class TxnCoordinatorService {
 public:
  // Markers to other leaders go to their `inter_broker_listener` endpoint
  // (inter.broker.listener.name).
  TxnCoordinatorService(asio::io_context& io, PartitionHost& host, TxnCoordinatorConfig config, std::string inter_broker_listener);
  ~TxnCoordinatorService();
  void shutdown();

  TxnCoordinator& coordinator() { return *coordinator_; }
  LocalMarkerWriter& local_markers() { return *local_; }
  void set_group_coordinator(GroupCoordinatorService* groups) { local_->set_group_coordinator(groups); }
  // How marker requests authenticate to the inter-broker listener (SASL_*).
  void set_client_security(std::shared_ptr<const net::ClientSecurity> security);

  // FindCoordinator's first step: creates __transaction_state through the
  // controller if it does not exist yet (once at a time).
  bool topic_creation_in_flight = false;

 private:
  class Store;
  class Markers;

  std::unique_ptr<ProducerIdManager> producer_ids_;
  std::unique_ptr<LocalMarkerWriter> local_;
  std::unique_ptr<Store> store_;
  std::unique_ptr<Markers> markers_;
  std::unique_ptr<TxnCoordinator> coordinator_;
  std::unique_ptr<ServiceLoop> loop_;  // leadership of __transaction_state, the tick
};

}  // namespace flotilla::coordinator
