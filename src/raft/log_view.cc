#include "raft/log_view.h"

#include <algorithm>

#include "raft/assert.h"

namespace flotilla::raft {

void LogView::reset(int64_t start_offset, int64_t end_offset, int64_t flushed_offset, std::vector<EpochEntry> epochs,
                    int32_t start_epoch) {
  start_offset_ = start_offset;
  start_epoch_ = start_epoch;
  end_offset_ = end_offset;
  flushed_offset_ = std::clamp(flushed_offset, start_offset, end_offset);
  epochs_ = std::move(epochs);
  RAFT_ASSERT(start_offset_ <= end_offset_, "start {} end {}", start_offset_, end_offset_);
}

void LogView::append(int32_t epoch, int64_t base_offset, int64_t next_end) {
  RAFT_ASSERT(base_offset == end_offset_ && next_end > base_offset, "append [{}, {}) at end {}", base_offset, next_end, end_offset_);
  RAFT_ASSERT(epoch >= last_epoch(), "append epoch {} below last epoch {}", epoch, last_epoch());
  if (epochs_.empty() || epoch > epochs_.back().epoch) epochs_.push_back({epoch, base_offset});
  end_offset_ = next_end;
}

void LogView::truncate_to(int64_t offset) {
  if (offset >= end_offset_) return;
  offset = std::max(offset, start_offset_);
  while (!epochs_.empty() && epochs_.back().start_offset >= offset) epochs_.pop_back();
  end_offset_ = offset;
  flushed_offset_ = std::min(flushed_offset_, offset);
}

void LogView::on_flushed(int64_t up_to) { flushed_offset_ = std::max(flushed_offset_, std::min(up_to, end_offset_)); }

void LogView::advance_start(int64_t offset, int32_t epoch) {
  RAFT_ASSERT(offset <= end_offset_, "log start {} beyond the end {}", offset, end_offset_);
  if (offset <= start_offset_) return;
  start_offset_ = offset;
  start_epoch_ = epoch;
  // The snapshot is durable: nothing below it needs a flush any more.
  flushed_offset_ = std::max(flushed_offset_, offset);
  while (epochs_.size() > 1 && epochs_[1].start_offset <= offset) epochs_.erase(epochs_.begin());
  if (!epochs_.empty()) {
    if (epochs_.front().start_offset < offset) epochs_.front().start_offset = offset;
    // The first record at or after the new start may begin a later epoch than
    // the cached entry when that entry's records all lie below it.
    if (epochs_.front().start_offset >= end_offset_) epochs_.clear();
  }
}

OffsetAndEpoch LogView::end_offset_for_epoch(int32_t epoch) const {
  for (size_t i = epochs_.size(); i-- > 0;) {
    if (epochs_[i].epoch <= epoch) {
      int64_t end = i + 1 < epochs_.size() ? epochs_[i + 1].start_offset : end_offset_;
      if (epochs_[i].epoch < start_epoch_) break;
      return {end, epochs_[i].epoch};
    }
  }
  return {start_offset_, start_epoch_};
}

}  // namespace flotilla::raft
