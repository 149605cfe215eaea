// The core's model of its local log: start/end offsets, the durable prefix,
// and the leader-epoch cache (first offset of every epoch present in the log),
// which answers "what is the end offset of epoch E here" for fetch validation
// (DivergingEpoch) and last-fetched-epoch. Pure data; the core updates it as
// it emits AppendToLog / TruncateLog actions and receives flush completions.
//
// Invariants: start_offset <= flushed_offset <= end_offset; epochs strictly
// increasing in both epoch and start offset; every entry's start < end_offset.
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
  void reset(int64_t start_offset, int64_t end_offset, int64_t flushed_offset, std::vector<EpochEntry> epochs);

  int64_t start_offset() const { return start_offset_; }
  int64_t end_offset() const { return end_offset_; }
  int64_t flushed_offset() const { return flushed_offset_; }
  const std::vector<EpochEntry>& epochs() const { return epochs_; }
  // Epoch of the last record, 0 for an empty log.
  int32_t last_epoch() const { return epochs_.empty() ? 0 : epochs_.back().epoch; }
  OffsetAndEpoch end_offset_and_epoch() const { return {end_offset_, last_epoch()}; }

  // Records [base, next_end) of `epoch` were appended.
  void append(int32_t epoch, int64_t base_offset, int64_t next_end);
  void truncate_to(int64_t offset);
  void on_flushed(int64_t up_to);

  // Kafka's endOffsetForEpoch: the largest epoch <= `epoch` present in the log
  // and the offset where it ends (start of the next epoch, or the log end).
  // {start_offset, 0} if no such epoch.
  OffsetAndEpoch end_offset_for_epoch(int32_t epoch) const;

 private:
  int64_t start_offset_ = 0;
  int64_t end_offset_ = 0;
  int64_t flushed_offset_ = 0;
  std::vector<EpochEntry> epochs_;
};

}  // namespace flotilla::raft
