// Per-partition producer state for idempotent producers (Kafka's
// ProducerStateManager): producer id -> its epoch and the metadata of its last
// 5 batches (sequences and offsets), enough to tell a retried batch from a new
// one and to detect gaps.
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
  int32_t coordinator_epoch = -1;         // transactions: not used yet
  int64_t current_txn_first_offset = -1;  // transactions: not used yet
  int64_t last_timestamp = -1;

  int32_t last_seq() const { return batches.empty() ? -1 : batches.back().last_seq; }
  int64_t last_offset() const { return batches.empty() ? -1 : batches.back().last_offset; }
};

// The sequence of the last record of a batch (wrapping past INT32_MAX to 0, as Kafka's
// DefaultRecordBatch.incrementSequence).
int32_t last_sequence_of(int32_t base_sequence, int32_t last_offset_delta);
// Kafka's inSequence: next == last + 1, or 0 after INT32_MAX.
bool in_sequence(int32_t last_seq, int32_t next_seq);

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
  ProducerCheck check_client(std::span<const records::BatchHeader> headers) const;

  // Records a written batch (leader, follower or recovery; no checks).
  // Batches without a producer id and control batches only move the end.
  void apply(const records::BatchHeader& h);

  // The state covers offsets below this (the log end it has seen).
  int64_t map_end_offset() const { return map_end_offset_; }
  void set_map_end_offset(int64_t o) { map_end_offset_ = o; }

  const ProducerEntry* find(int64_t producer_id) const;
  size_t size() const { return producers_.size(); }
  bool empty() const { return producers_.empty(); }
  void clear(int64_t map_end_offset);

  // Snapshot encoding (the layout above).
  std::string encode_snapshot() const;
  // Replaces the state with a snapshot's; false (state untouched) if it is
  // corrupt (size, version, CRC).
  bool decode_snapshot(std::span<const uint8_t> data, int64_t snapshot_offset);

  // --- files in a partition directory
  static std::filesystem::path snapshot_path(const std::filesystem::path& dir, int64_t offset);
  // offset -> path of every `<20 digits>.snapshot` file.
  static std::map<int64_t, std::filesystem::path> list_snapshots(const std::filesystem::path& dir);
  // Writes `<map_end_offset>.snapshot` atomically (synced or rename-only).
  void write_snapshot(const std::filesystem::path& dir, bool sync) const;
  // Loads the newest valid snapshot with offset <= max_offset (deleting
  // corrupt ones on the way); the offset loaded, or nullopt (state cleared to
  // `fallback_offset`).
  std::optional<int64_t> load_latest_snapshot(const std::filesystem::path& dir, int64_t max_offset, int64_t fallback_offset);
  // Deletes snapshot files with offset > `offset` / < `offset`.
  static void delete_snapshots_after(const std::filesystem::path& dir, int64_t offset);
  static void delete_snapshots_before(const std::filesystem::path& dir, int64_t offset);

 private:
  std::unordered_map<int64_t, ProducerEntry> producers_;
  int64_t map_end_offset_ = 0;
};

}  // namespace flotilla::storage
