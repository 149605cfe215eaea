// An in-memory PartitionHost for the coordinators' tests: partitions this
// node leads (or follows) at an epoch, their logs as a list of batches with
// offsets assigned on append, a high watermark the test moves (commit()), and
// the waits of await_committed, completed as the broker's purgatory would.
// Answers go through the io_context the test polls, so a callback that ran
// inside the call taking it would show.
#pragma once

#include <asio.hpp>
#include <deque>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "coordinator/partition_host.h"
#include "protocol/record_batch.h"

namespace flotilla::coordinator::testing {

class FakeHost : public PartitionHost {
 public:
  struct Log {
    bool leader = true;
    int32_t epoch = 0;
    std::vector<std::vector<uint8_t>> batches;  // as appended, offsets assigned
    std::vector<AppendOrigin> origins;          // of each batch
    int64_t start = 0, end = 0, hw = 0;
    ErrorCode fail_appends = ErrorCode::NONE;   // the error every append gets
  };

  explicit FakeHost(asio::io_context& io) : io_(io) {}

  // This node leads topic-partition at `epoch` (from now on).
  Log& lead(const std::string& topic, int32_t partition, int32_t epoch) {
    Log& l = logs[{topic, partition}];
    l.leader = true;
    l.epoch = epoch;
    wake();
    return l;
  }
  // Another node leads it now (this one follows).
  void follow(const std::string& topic, int32_t partition, int32_t epoch) {
    Log& l = logs[{topic, partition}];
    l.leader = false;
    l.epoch = epoch;
    wake();
  }
  // The followers caught up to `hw`: the high watermark moves there.
  void commit(const std::string& topic, int32_t partition, int64_t hw) {
    logs[{topic, partition}].hw = hw;
    wake();
  }
  // The waits' deadlines pass.
  void expire_all() {
    auto waits = std::exchange(waits_, {});
    for (auto& w : waits) w.done(ErrorCode::REQUEST_TIMED_OUT);
  }
  size_t waiting() const { return waits_.size(); }

  int32_t node_id() const override { return 1; }
  int64_t broker_epoch() const override { return epoch_of_broker; }
  std::shared_ptr<const metadata::MetadataImage> image() const override { return nullptr; }

  Leadership leadership(const std::string& topic, int32_t partition) const override {
    auto it = logs.find({topic, partition});
    if (it == logs.end()) return Leadership{ErrorCode::UNKNOWN_TOPIC_OR_PARTITION, -1};
    return Leadership{it->second.leader ? ErrorCode::NONE : ErrorCode::NOT_LEADER_OR_FOLLOWER, it->second.epoch};
  }
  Appended append(const std::string& topic, int32_t partition, std::span<uint8_t> batch, AppendOrigin origin) override {
    Log& l = logs.at({topic, partition});
    if (l.fail_appends != ErrorCode::NONE) return Appended{l.fail_appends, -1};
    records::Validation v = records::validate_batches(batch, 1 << 20);
    if (v.error != ErrorCode::NONE) return Appended{v.error, -1};
    l.end = records::assign_offsets(batch, v, l.end, l.epoch);
    l.batches.emplace_back(batch.begin(), batch.end());
    l.origins.push_back(origin);
    return Appended{ErrorCode::NONE, l.end - 1};
  }
  Appended append_marker(const std::string& topic, int32_t partition, int64_t producer_id, int16_t producer_epoch, int32_t coordinator_epoch,
                         bool commit) override {
    Log& l = logs.at({topic, partition});
    if (l.fail_appends != ErrorCode::NONE) return Appended{l.fail_appends, -1};
    records::BatchBuilder b(records::Compression::NONE, l.end);  // (a control batch does not pass a producer's validation)
    b.set_partition_leader_epoch(l.epoch);
    b.set_producer(producer_id, producer_epoch, -1);
    b.set_transactional(true);
    b.set_control(true);
    const std::vector<uint8_t> key = {0, 0, 0, static_cast<uint8_t>(commit ? 1 : 0)};
    const std::vector<uint8_t> value = {0, 0, static_cast<uint8_t>(coordinator_epoch >> 24), static_cast<uint8_t>(coordinator_epoch >> 16),
                                        static_cast<uint8_t>(coordinator_epoch >> 8), static_cast<uint8_t>(coordinator_epoch)};
    b.add(0, std::span<const uint8_t>(key), std::span<const uint8_t>(value));
    l.batches.push_back(b.build());
    l.origins.push_back(AppendOrigin::Coordinator);
    return Appended{ErrorCode::NONE, l.end++};
  }
  void await_committed(const std::string& topic, int32_t partition, int32_t leader_epoch, int64_t offset, int64_t timeout_ms,
                       std::function<void(ErrorCode)> done) override {
    timeouts.push_back(timeout_ms);
    asio::post(io_, [this, w = Wait{topic, partition, leader_epoch, offset, std::move(done)}]() mutable {
      if (!try_complete(w)) waits_.push_back(std::move(w));
    });
  }
  LogRange log_range(const std::string& topic, int32_t partition) const override {
    const Log& l = logs.at({topic, partition});
    return LogRange{l.start, l.end};
  }
  std::vector<uint8_t> read(const std::string& topic, int32_t partition, int64_t offset, int32_t max_bytes, int64_t max_offset) override {
    std::vector<uint8_t> out;
    for (const auto& b : logs.at({topic, partition}).batches) {
      records::BatchHeader h;
      records::parse_header(b, h);
      if (h.last_offset() < offset || h.base_offset >= max_offset) continue;
      if (!out.empty() && static_cast<int64_t>(out.size() + b.size()) > max_bytes) break;
      out.insert(out.end(), b.begin(), b.end());
    }
    return out;
  }
  void add_leadership_listener(LeadershipListener fn) override { listeners.push_back(std::move(fn)); }
  void allocate_producer_ids(msg::AllocateProducerIdsRequest req, std::function<void(msg::AllocateProducerIdsResponse)> done) override {
    allocations.emplace_back(std::move(req), std::move(done));
  }

  std::map<std::pair<std::string, int32_t>, Log> logs;
  std::vector<int64_t> timeouts;  // of each await_committed
  std::vector<LeadershipListener> listeners;
  std::deque<std::pair<msg::AllocateProducerIdsRequest, std::function<void(msg::AllocateProducerIdsResponse)>>> allocations;
  int64_t epoch_of_broker = 7;

 private:
  struct Wait {
    std::string topic;
    int32_t partition;
    int32_t epoch;
    int64_t offset;
    std::function<void(ErrorCode)> done;
  };
  bool try_complete(Wait& w) {
    auto it = logs.find({w.topic, w.partition});
    if (it == logs.end() || !it->second.leader || it->second.epoch != w.epoch) {
      w.done(ErrorCode::NOT_LEADER_OR_FOLLOWER);
      return true;
    }
    if (it->second.hw <= w.offset) return false;
    w.done(ErrorCode::NONE);
    return true;
  }
  void wake() {
    auto waits = std::exchange(waits_, {});
    for (auto& w : waits)
      if (!try_complete(w)) waits_.push_back(std::move(w));
  }

  asio::io_context& io_;
  std::vector<Wait> waits_;
};

}  // namespace flotilla::coordinator::testing
