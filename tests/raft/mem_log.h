// Test helpers: an in-memory metadata log (whole batches, with a durable
// prefix) that applies RaftCore's log actions, for the core tests and the
// small simulator. Snapshots (KIP-630) are durable byte strings by end
// offset; cleaning drops the batches below a snapshot (the log start).
#pragma once

#include <algorithm>
#include <cstdint>
#include <map>
#include <memory>
#include <vector>

#include "protocol/messages.h"
#include "protocol/metadata_record.h"
#include "protocol/record_batch.h"
#include "raft/actions.h"
#include "raft/core.h"
#include "raft/log_view.h"

namespace flotilla::raft::testing {

struct MemBatch {
  int64_t base = 0;
  int64_t last = 0;
  int32_t epoch = 0;
  bool control = false;
  std::vector<uint8_t> bytes;
};

struct MemSnapshot {
  int32_t epoch = 0;
  std::vector<uint8_t> bytes;
};

class MemLog {
 public:
  void append(const std::vector<uint8_t>& blob) {
    records::for_each_batch(std::span<const uint8_t>(blob), [&](const records::BatchHeader& h, std::span<const uint8_t> b) {
      if (!batches_.empty()) {
        if (h.base_offset != batches_.back().last + 1) throw std::runtime_error("non-contiguous append");
      }
      batches_.push_back(MemBatch{h.base_offset, h.last_offset(), h.partition_leader_epoch, h.is_control(),
                                  std::vector<uint8_t>(b.begin(), b.end())});
    });
  }
  void truncate_to(int64_t offset) {
    while (!batches_.empty() && batches_.back().base >= offset) batches_.pop_back();
    if (!batches_.empty() && batches_.back().last >= offset)
      throw std::runtime_error("truncation at " + std::to_string(offset) + " inside the batch [" + std::to_string(batches_.back().base) +
                               ", " + std::to_string(batches_.back().last) + "] of epoch " + std::to_string(batches_.back().epoch));
    flushed_ = std::min(flushed_, offset);
  }
  // A flush makes whole batches durable (a torn batch is cut by recovery).
  void flush(int64_t up_to) {
    int64_t target = std::min(up_to, end_offset());
    int64_t boundary = 0;
    for (const auto& b : batches_) {
      if (b.last + 1 > target) break;
      boundary = b.last + 1;
    }
    flushed_ = std::max(flushed_, boundary);
  }
  // Crash: everything not flushed is lost.
  void crash() { truncate_to(flushed_); }
  int64_t end_offset() const { return batches_.empty() ? start_ : batches_.back().last + 1; }
  int64_t start_offset() const { return start_; }

  // A snapshot of [0, end): the snapshot at the log start and the batches
  // after it, concatenated (what a state machine built from them holds).
  // `end` must be a batch boundary within the log. Returns its epoch.
  int32_t take_snapshot(int64_t end) {
    std::vector<uint8_t> bytes;
    int32_t epoch = start_epoch_;
    if (start_ > 0) bytes = snapshots_.at(start_).bytes;
    for (const auto& b : batches_) {
      if (b.last >= end) break;
      bytes.insert(bytes.end(), b.bytes.begin(), b.bytes.end());
      epoch = b.epoch;
    }
    snapshots_[end] = MemSnapshot{epoch, std::move(bytes)};
    return epoch;
  }
  // The cleaner: records below the snapshot ending at `offset` go, and older snapshots.
  void advance_start(int64_t offset) {
    if (offset <= start_) return;
    start_epoch_ = snapshots_.at(offset).epoch;
    start_ = offset;
    while (!batches_.empty() && batches_.front().last < offset) batches_.erase(batches_.begin());
    flushed_ = std::max(flushed_, offset);
    for (auto it = snapshots_.begin(); it != snapshots_.end() && it->first < offset;) it = snapshots_.erase(it);
  }
  // A snapshot fetched from the leader replaces the log.
  void install(int64_t end, int32_t epoch, std::vector<uint8_t> bytes) {
    snapshots_[end] = MemSnapshot{epoch, std::move(bytes)};
    batches_.clear();
    start_ = end;
    start_epoch_ = epoch;
    flushed_ = end;
    for (auto it = snapshots_.begin(); it != snapshots_.end() && it->first < end;) it = snapshots_.erase(it);
  }
  const std::map<int64_t, MemSnapshot>& snapshots() const { return snapshots_; }
  int64_t flushed() const { return flushed_; }
  std::vector<uint8_t> read(int64_t offset, int32_t max_bytes) const {
    std::vector<uint8_t> out;
    for (const auto& b : batches_) {
      if (b.last < offset) continue;
      if (!out.empty() && out.size() + b.bytes.size() > static_cast<size_t>(max_bytes)) break;
      out.insert(out.end(), b.bytes.begin(), b.bytes.end());
    }
    return out;
  }
  const std::vector<MemBatch>& batches() const { return batches_; }
  InitialLogState initial_state() const {
    InitialLogState s;
    s.start_offset = start_;
    s.start_epoch = start_epoch_;
    if (!snapshots_.empty()) s.latest_snapshot = OffsetAndEpoch{snapshots_.rbegin()->first, snapshots_.rbegin()->second.epoch};
    s.end_offset = end_offset();
    s.flushed_offset = flushed_;
    for (const auto& b : batches_)
      if (s.epochs.empty() || b.epoch > s.epochs.back().epoch) s.epochs.push_back(EpochEntry{b.epoch, b.base});
    // The voter sets of VotersRecords, as the driver recovers them (KIP-853):
    // those the snapshot at the log start holds, then the log's.
    if (start_ > 0) s.voter_history = voter_sets(snapshots_.at(start_).bytes);
    for (const auto& b : batches_)
      if (b.control)
        for (auto& e : voter_sets(b.bytes)) s.voter_history.push_back(std::move(e));
    return s;
  }
  // The VotersRecords in record batches, in order.
  static std::vector<VoterSetEntry> voter_sets(const std::vector<uint8_t>& blob) {
    std::vector<VoterSetEntry> out;
    records::for_each_batch(std::span<const uint8_t>(blob), [&](const records::BatchHeader& h, std::span<const uint8_t> batch) {
      if (!h.is_control()) return;
      for (const auto& r : records::decode_records(batch)) {
        if (!r.key || !r.value || r.key->size() < 4) continue;
        if (protocol::parse_control_key(*r.key) != protocol::ControlType::KRAFT_VOTERS) continue;
        flotilla::msg::VotersRecord v;
        ByteReader rd(r.value->data(), r.value->size());
        v.decode(rd, 0);
        VoterSetEntry e{r.offset, {}};
        for (const auto& x : v.voters) e.voters.push_back(x.voter_id);
        std::sort(e.voters.begin(), e.voters.end());
        out.push_back(std::move(e));
      }
    });
    return out;
  }

 private:
  std::vector<MemBatch> batches_;
  int64_t flushed_ = 0;
  int64_t start_ = 0;
  int32_t start_epoch_ = 0;
  std::map<int64_t, MemSnapshot> snapshots_;
};

}  // namespace flotilla::raft::testing
