// The core's model of its local log: start/end offsets, the durable prefix,
// and the leader-epoch cache (first offset of every epoch present in the log),
// which answers "what is the end offset of epoch E here" for fetch validation
// (DivergingEpoch) and last-fetched-epoch. Pure data; the core updates it as
// it emits AppendToLog / TruncateLog actions and receives flush completions.
//
// With a log start above 0 (KIP-630: the log was cleaned up to a snapshot, or
// replaced by one fetched from the leader), `start_epoch` is the epoch of the
// snapshot ending at the log start: the epoch of the record before the first
// one in the log, which is what an empty log reports as its last epoch.
//
// Invariants: start_offset <= flushed_offset <= end_offset; epochs strictly
// increasing in both epoch and start offset, none below start_epoch; every
// entry's start in [start_offset, end_offset).
#pragma once

#include <cstdint>
#include <vector>

#include "raft/types.h"

namespace flotilla::raft {

struct EpochEntry {
  int32_t epoch = 0;
  int64_t start_offset = 0;
  bool operator==(const EpochEntry&) const = default;
};

class LogView {
 public:
  void reset(int64_t start_offset, int64_t end_offset, int64_t flushed_offset, std::vector<EpochEntry> epochs, int32_t start_epoch = 0);

  int64_t start_offset() const { return start_offset_; }
  int64_t end_offset() const { return end_offset_; }
  int64_t flushed_offset() const { return flushed_offset_; }
  int32_t start_epoch() const { return start_epoch_; }
  const std::vector<EpochEntry>& epochs() const { return epochs_; }
  // Epoch of the last record (of the snapshot at the log start for an empty
  // log; 0 for a log that never had a record).
  int32_t last_epoch() const { return epochs_.empty() ? start_epoch_ : epochs_.back().epoch; }
  OffsetAndEpoch end_offset_and_epoch() const { return {end_offset_, last_epoch()}; }

  // Records [base, next_end) of `epoch` were appended.
  void append(int32_t epoch, int64_t base_offset, int64_t next_end);
  void truncate_to(int64_t offset);
  void on_flushed(int64_t up_to);
  // Records below `offset` are gone (cleaned: a snapshot ending at `offset`
  // of `epoch` holds them). Entries of the epoch cache below it are dropped,
  // the one containing it now starts there.
  void advance_start(int64_t offset, int32_t epoch);
  // The log is replaced by snapshot `id`: empty, starting at its end offset.
  void reset_to_snapshot(OffsetAndEpoch id) { reset(id.offset, id.offset, id.offset, {}, id.epoch); }

  // Kafka's endOffsetForEpoch: the largest epoch <= `epoch` present in the log
  // and the offset where it ends (start of the next epoch, or the log end).
  // {start_offset, start_epoch} if no such epoch or it is below start_epoch
  // (Kafka's KafkaMetadataLog.endOffsetForEpoch).
  OffsetAndEpoch end_offset_for_epoch(int32_t epoch) const;

 private:
  int64_t start_offset_ = 0;
  int64_t end_offset_ = 0;
  int64_t flushed_offset_ = 0;
  int32_t start_epoch_ = 0;
  std::vector<EpochEntry> epochs_;
};

}  // namespace flotilla::raft
