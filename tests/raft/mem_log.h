// Test helpers: an in-memory metadata log (whole batches, with a durable
// prefix) that applies RaftCore's log actions, for the core tests and the
// small simulator.
#pragma once

#include <algorithm>
#include <cstdint>
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
  int64_t end_offset() const { return batches_.empty() ? 0 : batches_.back().last + 1; }
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
    s.end_offset = end_offset();
    s.flushed_offset = flushed_;
    for (const auto& b : batches_)
      if (s.epochs.empty() || b.epoch > s.epochs.back().epoch) s.epochs.push_back(EpochEntry{b.epoch, b.base});
    // The voter sets of VotersRecords, as the driver recovers them (KIP-853).
    for (const auto& b : batches_) {
      if (!b.control) continue;
      for (const auto& r : records::decode_records(b.bytes)) {
        if (!r.key || !r.value || r.key->size() < 4) continue;
        if (protocol::parse_control_key(*r.key) != protocol::ControlType::KRAFT_VOTERS) continue;
        flotilla::msg::VotersRecord v;
        ByteReader rd(r.value->data(), r.value->size());
        v.decode(rd, 0);
        VoterSetEntry e{r.offset, {}};
        for (const auto& x : v.voters) e.voters.push_back(x.voter_id);
        std::sort(e.voters.begin(), e.voters.end());
        s.voter_history.push_back(std::move(e));
      }
    }
    return s;
  }

 private:
  std::vector<MemBatch> batches_;
  int64_t flushed_ = 0;
};

}  // namespace flotilla::raft::testing
