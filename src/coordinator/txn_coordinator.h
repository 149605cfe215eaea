// The transaction coordinator (Kafka's TransactionCoordinator): InitProducerId
// for transactional ids, AddPartitionsToTxn (v0-3 semantics, and the v4+
// verification of KIP-890 part 1), AddOffsetsToTxn, EndTxn — with
// transaction.version 0/1 semantics (KIP-98), or, for an EndTxn that asks for
// it (`tv2`: EndTxn v5+ with transaction.version >= 2 finalized), KIP-890
// part 2's epoch bump at every transaction end (txn_end.cc) — the abort of
// transactions past transaction.timeout.ms (always with the KIP-98 fence), and
// the coordinator's state in __transaction_state.
//
// On a broker it runs inside TxnCoordinatorService (txn_service.h), which
// provides the store, the marker channel and the producer ids.
//
// States (TransactionLogValue.TransactionStatus):
//   Empty --AddPartitions--> Ongoing --EndTxn--> PrepareCommit|PrepareAbort
//   --markers written--> CompleteCommit|CompleteAbort --AddPartitions--> Ongoing
// PrepareEpochFence is in-memory only: the pending state of an ongoing
// transaction that a new InitProducerId (or the timeout) aborts with a bumped
// epoch. Dead is never written by this coordinator (Kafka writes it only when
// a transactional id expires, as a tombstone).
//
// Every transition is "prepared" (pending_state set, which answers
// CONCURRENT_TRANSACTIONS to conflicting requests), written to the store and
// only applied to the in-memory metadata once the store acknowledged it — as
// Kafka's prepareTransitionTo / completeTransitionTo.
//
// The coordinator is I/O-free: time comes from `now_ms()` (wall clock ms, as
// Kafka's time.milliseconds() for both timestamps and timeouts), timers are
// checked by tick(), persistence goes through a TxnStore, markers through a
// TxnMarkerWriter, new producer ids through a ProducerIdSource.
//
// Threading: everything on one thread (the broker's io_context thread).
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "common/error.h"
#include "coordinator/group_log.h"

namespace flotilla::coordinator {

inline constexpr const char* kTransactionStateTopic = "__transaction_state";
inline constexpr int64_t kNoProducerId = -1;
inline constexpr int16_t kNoProducerEpoch = -1;

// TransactionLogValue.TransactionStatus values (Kafka's TransactionState ids).
enum class TxnState : int8_t {
  Empty = 0,
  Ongoing = 1,
  PrepareCommit = 2,
  PrepareAbort = 3,
  CompleteCommit = 4,
  CompleteAbort = 5,
  Dead = 6,
  PrepareEpochFence = 7,
};
const char* txn_state_name(TxnState s);

enum class TxnResult { Commit, Abort };

// The state of one transactional id (Kafka's TransactionMetadata).
struct TransactionMetadata {
  std::string transactional_id;
  int64_t producer_id = kNoProducerId;
  int64_t last_producer_id = kNoProducerId;  // the id before the last rotation (PreviousProducerId)
  int16_t producer_epoch = kNoProducerEpoch;
  int16_t last_producer_epoch = kNoProducerEpoch;  // in memory only; -1 after a load
  // KIP-890 part 2: the id a Prepare* state moves to when its epoch bump
  // exhausted the epoch (NextProducerId; -1 otherwise), and the client's
  // transaction version (ClientTransactionVersion: 2 once an EndTxn used TV2).
  int64_t next_producer_id = kNoProducerId;
  int16_t client_transaction_version = 0;
  int32_t txn_timeout_ms = 0;
  TxnState state = TxnState::Empty;
  std::set<TopicPartitionKey> partitions;
  int64_t txn_start_timestamp = -1;
  int64_t txn_last_update_timestamp = -1;
  // In memory only.
  std::optional<TxnState> pending_state;  // a transition being written
  bool has_failed_epoch_fence = false;

  // Kafka: producerEpoch >= Short.MaxValue - 1 (a fence must still be able to bump it once).
  bool epoch_exhausted() const { return producer_epoch >= INT16_MAX - 1; }
  bool operator==(const TransactionMetadata&) const = default;
};

// ---------------------------------------------------------------- records

// One record of __transaction_state, decoded.
struct TxnLogRecord {
  bool known = false;  // false: a key version this coordinator does not know (skipped, as Kafka's UnknownKey)
  std::string transactional_id;
  std::optional<TransactionMetadata> value;  // nullopt: tombstone
};

// Key: int16 version 0 + TransactionLogKey.
std::vector<uint8_t> encode_txn_key(const std::string& transactional_id);
// Value: int16 version + TransactionLogValue. Version 0 is what Kafka 3.9
// writes (transaction.version 0); version 1 adds the tagged fields. The
// partitions are grouped by topic (topics and partitions in ascending order);
// an Empty transaction has null partitions.
std::vector<uint8_t> encode_txn_value(const TransactionMetadata& m, int16_t version = 0);
// Throws DecodeError on a malformed record or an unknown value version / status.
TxnLogRecord decode_txn_log_record(std::span<const uint8_t> key, const std::optional<std::vector<uint8_t>>& value);

// The state of one __transaction_state partition after loading it: the last
// record per transactional id wins, a tombstone deletes.
struct LoadedTxnPartition {
  std::map<std::string, TransactionMetadata> txns;
  void apply(const TxnLogRecord& r);
};

// Kafka's transaction partition: Utils.abs(transactionalId.hashCode()) % partitions.
inline int32_t txn_partition(const std::string& transactional_id, int32_t partitions) {
  return group_partition(transactional_id, partitions);
}

// Kafka 3.9's KafkaApis answers PRODUCER_FENCED as INVALID_PRODUCER_EPOCH to
// clients too old to know it: InitProducerId < v4, AddPartitionsToTxn < v2,
// AddOffsetsToTxn < v2, EndTxn < v2. Other errors and APIs pass through.
ErrorCode txn_error_for_version(int16_t api_key, int16_t api_version, ErrorCode e);

// ---------------------------------------------------------------- interfaces

using TxnRecord = InternalRecord;

// Where the coordinator's state lives (the __transaction_state partitions).
class TxnStore {
 public:
  virtual ~TxnStore() = default;
  // Appends the records to the partition as its leader at `coordinator_epoch`
  // (the partition's leader epoch); `done` runs once they are committed or
  // failed, with Kafka's append error (NOT_LEADER_OR_FOLLOWER, REQUEST_TIMED_OUT, ...).
  virtual void append(int32_t partition, int32_t coordinator_epoch, std::vector<TxnRecord> records,
                      std::function<void(ErrorCode)> done) = 0;
  // Reads the partition from its log start to its end; nullopt if the
  // partition stopped being led at that epoch meanwhile.
  virtual void load(int32_t partition, int32_t coordinator_epoch, std::function<void(std::optional<LoadedTxnPartition>)> done) = 0;
};

// The transaction markers of one completed (committed or aborted) transaction.
struct TxnMarkers {
  std::string transactional_id;
  int64_t producer_id = kNoProducerId;
  int16_t producer_epoch = kNoProducerEpoch;
  TxnResult result = TxnResult::Abort;
  int32_t coordinator_epoch = -1;
  std::set<TopicPartitionKey> partitions;  // never empty
};

// Writes the markers (WriteTxnMarkers to each partition's leader, Kafka's
// TransactionMarkerChannelManager): retries each partition until its marker
// is written or the partition no longer exists, then runs done(NONE). Any
// other answer means "give up" (e.g. NOT_COORDINATOR: the coordinator epoch
// was fenced; INVALID_PRODUCER_EPOCH, TRANSACTION_COORDINATOR_FENCED): the
// transaction stays in Prepare* with its completion pending (requests get
// CONCURRENT_TRANSACTIONS, as Kafka) and the next coordinator resends the
// markers after loading.
class TxnMarkerWriter {
 public:
  virtual ~TxnMarkerWriter() = default;
  virtual void write_markers(TxnMarkers markers, std::function<void(ErrorCode)> done) = 0;
};

// New producer ids (ProducerIdManager on a broker). `done` may run inside the call.
class ProducerIdSource {
 public:
  virtual ~ProducerIdSource() = default;
  virtual void generate(std::function<void(ErrorCode, int64_t)> done) = 0;
};

// ---------------------------------------------------------------- coordinator

struct TxnCoordinatorConfig {
  int32_t transaction_max_timeout_ms = 900000;                           // transaction.max.timeout.ms
  int32_t transaction_state_log_num_partitions = 50;                     // transaction.state.log.num.partitions
  int32_t offsets_topic_num_partitions = 50;                             // offsets.topic.num.partitions (AddOffsetsToTxn)
  int32_t abort_timed_out_transaction_cleanup_interval_ms = 10000;       // transaction.abort.timed.out.transaction.cleanup.interval.ms
  int16_t log_value_version = 0;                                         // 0: Kafka 3.9 with transaction.version 0
  int32_t transactional_id_expiration_ms = 604800000;                    // transactional.id.expiration.ms
  int32_t remove_expired_transaction_cleanup_interval_ms = 3600000;      // transaction.remove.expired.transaction.cleanup.interval.ms
  // How FindCoordinator creates __transaction_state (txn_service.h).
  int16_t transaction_state_log_replication_factor = 3;                  // transaction.state.log.replication.factor
  int32_t transaction_state_log_min_isr = 2;                             // transaction.state.log.min.isr
  int32_t transaction_state_log_segment_bytes = 104857600;               // transaction.state.log.segment.bytes
};

struct ProducerIdAndEpoch {
  int64_t producer_id = kNoProducerId;
  int16_t epoch = kNoProducerEpoch;
};

struct InitProducerIdResult {
  ErrorCode error = ErrorCode::NONE;
  int64_t producer_id = kNoProducerId;
  int16_t producer_epoch = kNoProducerEpoch;
};

struct EndTxnResult {
  ErrorCode error = ErrorCode::NONE;
  int64_t producer_id = kNoProducerId;  // NONE: the id and epoch to continue with
  int16_t producer_epoch = kNoProducerEpoch;
};

struct TxnVerifyResult {
  ErrorCode error = ErrorCode::NONE;  // not NONE: every partition has it
  std::map<TopicPartitionKey, ErrorCode> partitions;
};

// The Complete* state a Prepare* state moves to once its markers are written:
// no partitions, and the next producer id at epoch 0 if the bump exhausted
// the epoch (KIP-890 part 2).
TransactionMetadata complete_target(const TransactionMetadata& prepared, int64_t now_ms);

class TxnCoordinator {
 public:
  TxnCoordinator(TxnCoordinatorConfig config, TxnStore& store, TxnMarkerWriter& markers, ProducerIdSource& ids,
                 std::function<int64_t()> now_ms);
  ~TxnCoordinator();

  const TxnCoordinatorConfig& config() const { return config_; }
  int32_t partition_for(const std::string& transactional_id) const {
    return txn_partition(transactional_id, config_.transaction_state_log_num_partitions);
  }

  // Leadership of __transaction_state-`partition` (at `epoch`, the coordinator epoch) gained or lost.
  void on_leadership(int32_t partition, int32_t epoch, bool leader);
  // Aborts timed-out transactions every cleanup interval; retries the
  // Complete* writes that failed with COORDINATOR_NOT_AVAILABLE.
  void tick();
  // Kafka's abortTimedOutTransactions: every Ongoing transaction (with no
  // pending transition) whose start + timeout < now is fenced (epoch bumped)
  // and aborted.
  void abort_timed_out_transactions();
  // Kafka's removeExpiredTransactionalIds: a transactional id with no
  // transaction (Empty, CompleteCommit, CompleteAbort, nothing pending) whose
  // last update is older than transactional.id.expiration.ms gets a tombstone
  // in __transaction_state and is forgotten once that is written (a later
  // InitProducerId starts over with a new producer id).
  void remove_expired_transactional_ids();

  // transactional_id nullopt: an idempotent producer (a new id, epoch 0).
  // `expected`: InitProducerId v3+ (KIP-360) producer id and epoch, if given.
  void init_producer_id(const std::optional<std::string>& transactional_id, int32_t txn_timeout_ms,
                        std::optional<ProducerIdAndEpoch> expected, std::function<void(InitProducerIdResult)> done);
  void add_partitions_to_txn(const std::string& transactional_id, int64_t producer_id, int16_t producer_epoch,
                             const std::vector<TopicPartitionKey>& partitions, std::function<void(ErrorCode)> done);
  // Adds the group's __consumer_offsets partition to the transaction.
  void add_offsets_to_txn(const std::string& transactional_id, int64_t producer_id, int16_t producer_epoch,
                          const std::string& group_id, std::function<void(ErrorCode)> done);
  // `done` runs once Prepare* is written (before the markers, as Kafka).
  void end_txn(const std::string& transactional_id, int64_t producer_id, int16_t producer_epoch, TxnResult result,
               std::function<void(ErrorCode)> done);
  // The same with KIP-890 part 2 when `tv2`: every end bumps the epoch (in
  // the Prepare* record, so the markers carry the bumped epoch); an exhausted
  // epoch moves to a new producer id at epoch 0 on completion; aborting with
  // no transaction (Empty or Complete*) is allowed; a retry (the epoch one
  // below, or the old id after a rotation) answers NONE again. The result
  // carries the producer id and epoch the client continues with (EndTxn v5).
  void end_txn(const std::string& transactional_id, int64_t producer_id, int16_t producer_epoch, TxnResult result, bool tv2,
               std::function<void(EndTxnResult)> done);
  // AddPartitionsToTxn v4+ VerifyOnly (KIP-890 part 1): whether each
  // partition is in the ongoing transaction of this producer id and epoch
  // (NONE, else TRANSACTION_ABORTABLE as Kafka 3.8+, KAFKA-16314), without
  // adding any; or one error for all. A pending transition is not checked
  // (Kafka: the append that follows validates).
  TxnVerifyResult verify_partitions_in_txn(const std::string& transactional_id, int64_t producer_id, int16_t producer_epoch,
                                           const std::vector<TopicPartitionKey>& partitions) const;

  // NONE, NOT_COORDINATOR or COORDINATOR_LOAD_IN_PROGRESS for a transactional id.
  ErrorCode check_coordinator(const std::string& transactional_id) const;
  // For tests and DescribeTransactions.
  const TransactionMetadata* metadata_of(const std::string& transactional_id) const;
  std::vector<std::string> transactional_ids() const;

 private:
  struct RetryComplete {
    std::string transactional_id;
    int32_t coordinator_epoch;
    TransactionMetadata target;
  };

  TransactionMetadata* find(const std::string& id);
  int32_t epoch_of(const std::string& id) const;  // -1 if not led or loading
  bool valid_timeout(int32_t ms) const { return ms > 0 && ms <= config_.transaction_max_timeout_ms; }
  void init_txn(const std::string& id, int32_t timeout_ms, std::optional<ProducerIdAndEpoch> expected,
                int64_t fresh_id, std::function<void(InitProducerIdResult)> done);  // fresh_id -1: none yet
  void generate_then_init(const std::string& id, int32_t timeout_ms, std::optional<ProducerIdAndEpoch> expected,
                          std::function<void(InitProducerIdResult)> done);
  void end_txn_internal(const std::string& id, int64_t producer_id, int16_t producer_epoch, TxnResult result, bool from_client,
                        std::function<void(EndTxnResult)> done);
  // KIP-890 part 2's EndTxn (txn_end.cc).
  void end_txn_v2(const std::string& id, int64_t producer_id, int16_t producer_epoch, TxnResult result,
                  std::function<void(EndTxnResult)> done);
  // Writes Prepare* with the bumped epoch (and `next_producer_id`, -1 unless the epoch is exhausted).
  void prepare_end_v2(const std::string& id, TxnState next, bool no_partition_added, int64_t next_producer_id,
                      std::function<void(EndTxnResult)> done);
  void after_prepare_written(const std::string& id, int32_t coordinator_epoch, int64_t producer_id, int16_t producer_epoch,
                             TxnResult result, std::function<void(EndTxnResult)> done);
  void send_markers(const std::string& id, int32_t coordinator_epoch, TxnResult result, TransactionMetadata target);
  void write_complete(const std::string& id, int32_t coordinator_epoch, TransactionMetadata target);
  // Writes `target` as the next state of the transactional id (pending
  // meanwhile) and applies it once written; done gets the error as Kafka's
  // appendTransactionToLog maps it.
  void append_transition(const std::string& id, TransactionMetadata target, std::function<void(ErrorCode)> done);
  void fence_and_abort(const std::string& id, std::function<void(ErrorCode)> done);
  void unload_partition(int32_t partition);

  TxnCoordinatorConfig config_;
  TxnStore& store_;
  TxnMarkerWriter& markers_;
  ProducerIdSource& ids_;
  std::function<int64_t()> now_ms_;
  LedPartitions partitions_;
  std::map<std::string, TransactionMetadata> txns_;
  std::vector<RetryComplete> retry_completes_;
  int64_t last_timeout_check_ = -1;
  int64_t last_expiry_check_ = -1;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace flotilla::coordinator
