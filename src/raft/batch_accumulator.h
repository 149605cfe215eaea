// Collects the leader's appends into record batches (Kafka's BatchAccumulator):
// offsets are assigned at append time, so append() can return the last offset
// at once; records of one append() call always land in the same batch (atomic
// appends); several calls share a batch until it is drained (linger, size, or
// an explicit drain). Control records (LeaderChangeMessage) get a batch of
// their own. Pure computation, owned by the leader state of one epoch.
//
// Invariants: next_offset() == base of the open batch + its record count;
// drained batches are contiguous and in offset order.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <vector>

namespace flotilla::raft {

struct BuiltBatch {
  std::shared_ptr<const std::vector<uint8_t>> bytes;  // one v2 batch, partitionLeaderEpoch = epoch
  int64_t base_offset = 0;
  int64_t last_offset = 0;
  bool is_control = false;
};

class BatchAccumulator {
 public:
  BatchAccumulator(int32_t epoch, int64_t base_offset, int32_t max_batch_size_bytes, int32_t linger_ms);

  // Appends data records (values; keys are null). Returns the last offset.
  int64_t append(std::vector<std::vector<uint8_t>> values, int64_t now_ms);
  // Appends one control batch (keys and values) after everything before it.
  int64_t append_control(std::vector<std::pair<std::vector<uint8_t>, std::vector<uint8_t>>> key_values, int64_t now_ms);

  bool empty() const { return open_.empty() && completed_.empty(); }
  // The time at which the open batch must be drained (nullopt if none open).
  std::optional<int64_t> linger_deadline_ms() const;
  bool needs_drain(int64_t now_ms) const;
  // Builds and returns every pending batch, in offset order.
  std::vector<BuiltBatch> drain();

  int64_t next_offset() const { return next_offset_; }
  int32_t epoch() const { return epoch_; }

 private:
  struct Pending {
    int64_t base_offset = 0;
    int64_t append_time_ms = 0;
    bool is_control = false;
    size_t size_bytes = 0;
    std::vector<std::pair<std::optional<std::vector<uint8_t>>, std::vector<uint8_t>>> records;
    bool empty() const { return records.empty(); }
  };
  void complete_open();
  BuiltBatch build(Pending& p) const;

  int32_t epoch_;
  int64_t next_offset_;
  int32_t max_batch_size_bytes_;
  int32_t linger_ms_;
  Pending open_;
  std::vector<Pending> completed_;
};

}  // namespace flotilla::raft
