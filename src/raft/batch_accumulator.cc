#include "raft/batch_accumulator.h"

#include "protocol/record_batch.h"
#include "raft/assert.h"

namespace flotilla::raft {

BatchAccumulator::BatchAccumulator(int32_t epoch, int64_t base_offset, int32_t max_batch_size_bytes, int32_t linger_ms)
    : epoch_(epoch), next_offset_(base_offset), max_batch_size_bytes_(max_batch_size_bytes), linger_ms_(linger_ms) {}

void BatchAccumulator::complete_open() {
  if (open_.empty()) return;
  completed_.push_back(std::move(open_));
  open_ = Pending{};
}

int64_t BatchAccumulator::append(std::vector<std::vector<uint8_t>> values, int64_t now_ms) {
  RAFT_ASSERT(!values.empty(), "empty append");
  size_t add = 0;
  for (const auto& v : values) add += v.size() + 16;  // ~per-record overhead
  if (!open_.empty() && open_.size_bytes + add > static_cast<size_t>(max_batch_size_bytes_)) complete_open();
  if (open_.empty()) {
    open_.base_offset = next_offset_;
    open_.append_time_ms = now_ms;
    open_.size_bytes = 61;
  }
  for (auto& v : values) open_.records.emplace_back(std::nullopt, std::move(v));
  open_.size_bytes += add;
  next_offset_ += static_cast<int64_t>(values.size());
  return next_offset_ - 1;
}

int64_t BatchAccumulator::append_control(std::vector<std::pair<std::vector<uint8_t>, std::vector<uint8_t>>> key_values,
                                         int64_t now_ms) {
  RAFT_ASSERT(!key_values.empty(), "empty control append");
  complete_open();
  Pending p;
  p.base_offset = next_offset_;
  p.append_time_ms = now_ms;
  p.is_control = true;
  for (auto& [k, v] : key_values) p.records.emplace_back(std::move(k), std::move(v));
  next_offset_ += static_cast<int64_t>(p.records.size());
  completed_.push_back(std::move(p));
  return next_offset_ - 1;
}

std::optional<int64_t> BatchAccumulator::linger_deadline_ms() const {
  if (!completed_.empty()) return 0;
  if (open_.empty()) return std::nullopt;
  return open_.append_time_ms + linger_ms_;
}

bool BatchAccumulator::needs_drain(int64_t now_ms) const {
  auto d = linger_deadline_ms();
  return d && *d <= now_ms;
}

BuiltBatch BatchAccumulator::build(Pending& p) const {
  records::BatchBuilder b(records::Compression::NONE, p.base_offset);
  b.set_control(p.is_control);
  b.set_partition_leader_epoch(epoch_);
  for (auto& [k, v] : p.records) {
    std::optional<std::span<const uint8_t>> key;
    if (k) key = std::span<const uint8_t>(k->data(), k->size());
    b.add(p.append_time_ms, key, std::span<const uint8_t>(v.data(), v.size()));
  }
  BuiltBatch out;
  out.base_offset = p.base_offset;
  out.last_offset = p.base_offset + static_cast<int64_t>(p.records.size()) - 1;
  out.is_control = p.is_control;
  out.bytes = std::make_shared<const std::vector<uint8_t>>(b.build());
  return out;
}

std::vector<BuiltBatch> BatchAccumulator::drain() {
  complete_open();
  std::vector<BuiltBatch> out;
  out.reserve(completed_.size());
  for (auto& p : completed_) out.push_back(build(p));
  completed_.clear();
  return out;
}

}  // namespace flotilla::raft
