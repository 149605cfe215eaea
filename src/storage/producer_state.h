// Per-partition producer state for idempotent and transactional producers
// (Kafka's ProducerStateManager): producer id -> its epoch and the metadata of
// its last 5 batches (sequences and offsets), enough to tell a retried batch
// from a new one and to detect gaps; plus the transactions (KIP-98).
//
// Transactions: a transactional data batch (attribute bit 4) from a producer
// without an ongoing transaction starts one at its base offset; a control
// batch (bit 5) holding an END_TXN marker (COMMIT/ABORT) completes it. A
// completed transaction stays "unreplicated" until the high watermark passes
// its marker (on_high_watermark), so that first_unstable_offset() — the lower
// bound of the last stable offset — never moves past data whose outcome is not
// yet replicated (Kafka's ongoingTxns / unreplicatedTxns).
//
// Completing is two-step, as in Kafka: `apply` returns the CompletedTxn of a
// marker (the producer entry is already updated), the caller computes the
// transaction index entry's last stable offset with `last_stable_offset(txn)`
// and then calls `complete_txn(txn)`. Between the two the transaction is still
// in the ongoing set, so the LSO of an aborted txn counts the transactions
// started later in the same append, as Kafka's does.
//
// The partition's Log owns one. The leader checks a produced append against it
// (`check_client`, which decides error / duplicate / ok without changing
// anything) and applies the batches once written (`apply`); followers and
// recovery apply replicated batches without checks (Kafka's REPLICATION
// origin), so deduplication survives a leader change and a restart.
//
// Snapshots: `<20-digit offset>.snapshot` in the partition directory, Kafka's
// ProducerSnapshot v1 layout (hand-coded; every integer big-endian):
//   version int16 (= 1) | crc uint32 (CRC-32C of everything after it) |
//   entries int32 count, each:
//     ProducerId int64, Epoch int16, LastSequence int32, LastOffset int64,
//     OffsetDelta int32, Timestamp int64, CoordinatorEpoch int32,
//     CurrentTxnFirstOffset int64
// The file's offset is the state's end: it holds every batch below it. As in
// Kafka only each producer's last batch is stored.
//
// Threading: the owning Log's thread.
#pragma once

#include <cstdint>
#include <deque>
#include <filesystem>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <unordered_map>
#include <vector>

#include "common/error.h"
#include "protocol/record_batch.h"

namespace flotilla::storage {

// One batch of a producer: first and last sequence and offset, max timestamp.
struct ProducerBatch {
  int32_t first_seq = -1;
  int32_t last_seq = -1;
  int64_t first_offset = -1;
  int64_t last_offset = -1;
  int64_t timestamp = -1;
  bool operator==(const ProducerBatch&) const = default;
};

struct ProducerEntry {
  int64_t producer_id = -1;
  int16_t epoch = -1;                     // -1 (NO_PRODUCER_EPOCH): none known
  std::deque<ProducerBatch> batches;      // oldest first, at most kMaxBatches
  int32_t coordinator_epoch = -1;         // of the last marker seen (-1: none)
  int64_t current_txn_first_offset = -1;  // the ongoing transaction's first offset (-1: none)
  int64_t last_timestamp = -1;

  int32_t last_seq() const { return batches.empty() ? -1 : batches.back().last_seq; }
  int64_t last_offset() const { return batches.empty() ? -1 : batches.back().last_offset; }
};

// The sequence of the last record of a batch (wrapping past INT32_MAX to 0, as Kafka's
// DefaultRecordBatch.incrementSequence).
int32_t last_sequence_of(int32_t base_sequence, int32_t last_offset_delta);
// Kafka's inSequence: next == last + 1, or 0 after INT32_MAX.
bool in_sequence(int32_t last_seq, int32_t next_seq);

// Kafka's ControlRecordType (the key of a control record: version int16,
// type int16). Only ABORT and COMMIT are END_TXN markers.
enum class ControlRecordType : int16_t { ABORT = 0, COMMIT = 1, LEADER_CHANGE = 2, SNAPSHOT_HEADER = 3, SNAPSHOT_FOOTER = 4,
                                         KRAFT_VERSION = 5, VOTERS = 6, UNKNOWN = -1 };

// Kafka's EndTransactionMarker: key = version int16 (0) + type int16; value =
// version int16 (0) + coordinatorEpoch int32 (big-endian).
struct EndTxnMarker {
  bool commit = false;
  int32_t coordinator_epoch = -1;
};
std::vector<uint8_t> end_txn_marker_key(bool commit);
std::vector<uint8_t> end_txn_marker_value(int32_t coordinator_epoch);
// The END_TXN marker of a whole control batch (its first record), or nullopt
// if the batch is empty, not a COMMIT/ABORT control record, or malformed.
std::optional<EndTxnMarker> parse_end_txn_marker(std::span<const uint8_t> batch);

// A transaction whose marker was applied: offsets of its first batch and of
// the marker.
struct CompletedTxn {
  int64_t producer_id = -1;
  int64_t first_offset = -1;
  int64_t last_offset = -1;  // the marker's offset
  bool aborted = false;
  bool operator==(const CompletedTxn&) const = default;
};

struct ProducerCheck {
  ErrorCode error = ErrorCode::NONE;
  std::string message;
  // A retried batch: one of the producer's last 5 batches has exactly its
  // epoch and sequences. It is not appended again; the producer is answered
  // with the original batch's offsets and NONE, as Kafka 3.9 does (the issue
  // calls this the DUPLICATE_SEQUENCE_NUMBER case; Kafka no longer sends that
  // code for produce, clients treat the original offsets as success).
  std::optional<ProducerBatch> duplicate;
};

class ProducerStateManager {
 public:
  static constexpr size_t kMaxBatches = 5;
  static constexpr int16_t kSnapshotVersion = 1;

  // Leader: checks an append's batches, whose headers carry the offsets they
  // will get, in order (each against the state the earlier ones leave).
  // Nothing changes; `apply` each header once the append is written.
  // Transactions (Kafka 3.9's ProducerAppendInfo): a non-transactional batch
  // from a producer with an ongoing transaction -> INVALID_TXN_STATE.
  // `check_sequences` false: a coordinator's append (Kafka's COORDINATOR
  // origin): the epoch and transaction checks only.
  ProducerCheck check_client(std::span<const records::BatchHeader> headers, bool check_sequences = true) const;

  // Leader: checks a transaction marker (WriteTxnMarkers) before it is
  // written: producer epoch older than the current one ->
  // INVALID_PRODUCER_EPOCH (Kafka 3.9's checkProducerEpoch, as for data);
  // coordinator epoch older than the last marker's ->
  // TRANSACTION_COORDINATOR_FENCED. Nothing changes.
  ProducerCheck check_marker(int64_t producer_id, int16_t producer_epoch, int32_t coordinator_epoch) const;

  // Records a written batch (leader, follower or recovery; no checks).
  // `batch` is the whole batch; it is read only for control batches with a
  // producer id (the END_TXN marker) and may be empty otherwise (then a
  // control batch is treated as having no marker). Batches without a
  // producer id only move the end. A marker returns the transaction it
  // completes (nullopt if the producer had none ongoing); call
  // last_stable_offset(txn) if needed, then complete_txn(txn).
  std::optional<CompletedTxn> apply(const records::BatchHeader& h, std::span<const uint8_t> batch = {});
  // Same, with an already decoded marker (for control batches).
  std::optional<CompletedTxn> apply(const records::BatchHeader& h, std::optional<EndTxnMarker> marker);
  // Kafka's lastStableOffset(completedTxn): the first offset of the first
  // ongoing transaction of another producer, else the marker's offset + 1.
  // This is the LSO an aborted-transaction index entry records.
  int64_t last_stable_offset(const CompletedTxn& txn) const;
  // Moves the transaction from the ongoing set to the unreplicated set (kept
  // until the high watermark passes its marker).
  void complete_txn(const CompletedTxn& txn);

  // Forgets completed transactions whose marker is below the high watermark.
  void on_high_watermark(int64_t high_watermark);
  // Forgets completed transactions whose marker is below the new log start.
  void on_log_start_offset(int64_t log_start_offset);
  // The first offset of the oldest transaction that is ongoing or completed
  // but not yet below the high watermark; nullopt if none. The LSO is
  // min(high watermark, this).
  std::optional<int64_t> first_unstable_offset() const;
  // Ongoing transactions: first offset -> producer id (oldest first).
  const std::map<int64_t, int64_t>& ongoing_txns() const { return ongoing_; }
  // Every producer (DescribeProducers), sorted by producer id.
  std::vector<ProducerEntry> entries() const;

  // The state covers offsets below this (the log end it has seen).
  int64_t map_end_offset() const { return map_end_offset_; }
  void set_map_end_offset(int64_t o) { map_end_offset_ = o; }

  const ProducerEntry* find(int64_t producer_id) const;
  // Kafka's removeExpiredProducers: forgets producers without an open
  // transaction whose last batch is older than `expiration_ms` (by its max
  // timestamp, as Kafka's lastTimestamp). Returns how many went.
  size_t remove_expired(int64_t now_ms, int64_t expiration_ms);
  size_t size() const { return producers_.size(); }
  bool empty() const { return producers_.empty(); }
  void clear(int64_t map_end_offset);

  // Snapshot encoding (the layout above).
  std::string encode_snapshot() const;
  // Replaces the state with a snapshot's; false (state untouched) if it is
  // corrupt (size, version, CRC). Entries with a CurrentTxnFirstOffset
  // restore the ongoing transactions; the unreplicated ones are not in
  // snapshots (as in Kafka) and start empty.
  bool decode_snapshot(std::span<const uint8_t> data, int64_t snapshot_offset);

  // --- files in a partition directory
  static std::filesystem::path snapshot_path(const std::filesystem::path& dir, int64_t offset);
  // offset -> path of every `<20 digits>.snapshot` file.
  static std::map<int64_t, std::filesystem::path> list_snapshots(const std::filesystem::path& dir);
  // The offset a `<20 digits>.snapshot` file name stands for, or nullopt for any other name.
  static std::optional<int64_t> snapshot_offset(const std::string& filename);
  // Writes `<map_end_offset>.snapshot` atomically (synced or rename-only).
  void write_snapshot(const std::filesystem::path& dir, bool sync) const;
  // Loads the newest valid snapshot with offset <= max_offset (deleting
  // corrupt ones on the way); the offset loaded, or nullopt (state cleared to
  // `fallback_offset`).
  std::optional<int64_t> load_latest_snapshot(const std::filesystem::path& dir, int64_t max_offset, int64_t fallback_offset);
  // The same over snapshots already listed (list_snapshots' form).
  std::optional<int64_t> load_latest_snapshot(std::map<int64_t, std::filesystem::path> snaps, int64_t max_offset, int64_t fallback_offset);
  // Deletes snapshot files with offset > `offset` / < `offset`.
  static void delete_snapshots_after(const std::filesystem::path& dir, int64_t offset);
  static void delete_snapshots_before(const std::filesystem::path& dir, int64_t offset);

 private:
  std::unordered_map<int64_t, ProducerEntry> producers_;
  // Invariant: ongoing_ holds (current_txn_first_offset, producer id) of every
  // entry with an ongoing transaction, plus those whose marker `apply`
  // returned but that were not yet passed to complete_txn.
  std::map<int64_t, int64_t> ongoing_;
  // Completed transactions whose marker is not yet below the high watermark:
  // first offset -> (producer id, marker offset).
  std::map<int64_t, std::pair<int64_t, int64_t>> unreplicated_;
  int64_t map_end_offset_ = 0;
};

}  // namespace flotilla::storage
