#include "coordinator/internal_log.h"

#include <spdlog/spdlog.h>

#include "common/clock.h"

namespace flotilla::coordinator {

std::optional<bool> decode_end_txn_commit(std::span<const uint8_t> key) {
  if (key.size() < 4) return std::nullopt;
  const int16_t type = static_cast<int16_t>((key[2] << 8) | key[3]);
  if (type == 0) return false;
  if (type == 1) return true;
  return std::nullopt;
}

ErrorCode coordinator_append_error(ErrorCode e) {
  switch (e) {
    case ErrorCode::UNKNOWN_TOPIC_OR_PARTITION:
    case ErrorCode::NOT_ENOUGH_REPLICAS:
    case ErrorCode::NOT_ENOUGH_REPLICAS_AFTER_APPEND:
    case ErrorCode::REQUEST_TIMED_OUT: return ErrorCode::COORDINATOR_NOT_AVAILABLE;
    case ErrorCode::NOT_LEADER_OR_FOLLOWER:
    case ErrorCode::KAFKA_STORAGE_ERROR: return ErrorCode::NOT_COORDINATOR;
    case ErrorCode::MESSAGE_TOO_LARGE:
    case ErrorCode::RECORD_LIST_TOO_LARGE: return ErrorCode::UNKNOWN_SERVER_ERROR;
    default: return e;
  }
}

LeadershipChange apply_leadership(LedPartitions& led, int32_t partition, int32_t epoch, bool leader,
                                  const std::function<void(int32_t)>& unload) {
  auto it = led.find(partition);
  if (!leader) {
    if (it == led.end()) return LeadershipChange::None;
    unload(partition);
    led.erase(partition);
    return LeadershipChange::Resigned;
  }
  if (it != led.end() && it->second.epoch == epoch) return LeadershipChange::None;
  if (it != led.end()) unload(partition);
  led[partition] = LedPartition{epoch, false};
  return LeadershipChange::Elected;
}

void InternalTopicLog::append(int32_t partition, int32_t leader_epoch, std::vector<InternalRecord> records, std::optional<TxnProducer> txn,
                              std::function<void(ErrorCode)> done) {
  const PartitionHost::Leadership led = host_.leadership(topic_, partition);
  if (led.error == ErrorCode::UNKNOWN_TOPIC_OR_PARTITION) {
    asio::post(io_, [done] { done(ErrorCode::UNKNOWN_TOPIC_OR_PARTITION); });
    return;
  }
  if (led.error != ErrorCode::NONE || led.leader_epoch != leader_epoch) {
    asio::post(io_, [done] { done(ErrorCode::NOT_LEADER_OR_FOLLOWER); });
    return;
  }
  records::BatchBuilder b;
  b.set_partition_leader_epoch(leader_epoch);
  if (txn) {
    // As Kafka's coordinator appends (origin COORDINATOR): the producer's id
    // and epoch, no sequence check.
    b.set_producer(txn->producer_id, txn->producer_epoch, 0);
    b.set_transactional(true);
  }
  const int64_t now = wall_clock_ms();
  for (const auto& r : records) {
    if (r.value) {
      b.add(now, std::span<const uint8_t>(r.key), std::span<const uint8_t>(*r.value));
    } else {
      b.add(now, std::span<const uint8_t>(r.key), std::nullopt);
    }
  }
  std::vector<uint8_t> batch = b.build();
  PartitionHost::Appended ar = host_.append(topic_, partition, batch, txn ? AppendOrigin::Coordinator : AppendOrigin::Client);
  if (ar.error != ErrorCode::NONE) {
    ErrorCode e = ar.error;
    asio::post(io_, [done, e] { done(e); });
    return;
  }
  host_.await_committed(topic_, partition, leader_epoch, ar.last_offset, commit_timeout_ms_, std::move(done));
}

struct InternalTopicLog::Loading {
  int32_t partition;
  int32_t epoch;
  int64_t next = -1;
  int64_t records = 0;
  int64_t started_ms = 0;
  Visitor visitor;
  std::function<void(bool, int64_t)> done;
};

void InternalTopicLog::load(int32_t partition, int32_t leader_epoch, Visitor visitor, std::function<void(bool, int64_t)> done) {
  auto l = std::make_shared<Loading>();
  l->partition = partition;
  l->epoch = leader_epoch;
  l->visitor = std::move(visitor);
  l->done = std::move(done);
  l->started_ms = monotonic_ms();
  auto alive = alive_;
  asio::post(io_, [this, alive, l] {
    if (*alive) load_slice(l);
  });
}

void InternalTopicLog::load_slice(std::shared_ptr<Loading> l) {
  constexpr int64_t kSliceMs = 10;
  const PartitionHost::Leadership led = host_.leadership(topic_, l->partition);
  if (led.error != ErrorCode::NONE || led.leader_epoch != l->epoch) {
    l->done(false, l->records);
    return;
  }
  // (Nothing moves the log's start or end within one slice: it runs in one turn.)
  const PartitionHost::LogRange range = host_.log_range(topic_, l->partition);
  if (l->next < 0) l->next = range.start;
  const int64_t end = range.end;
  const int64_t slice_end = monotonic_ms() + kSliceMs;
  try {
    while (l->next < end && monotonic_ms() <= slice_end) {
      if (l->next < range.start) l->next = range.start;
      std::vector<uint8_t> bytes = host_.read(topic_, l->partition, l->next, 1 << 20, end);
      int64_t before = l->next;
      records::for_each_batch(bytes, [&](const records::BatchHeader& h, std::span<const uint8_t> batch) {
        if (h.last_offset() < l->next) return;
        l->next = h.last_offset() + 1;
        std::vector<records::Record> recs = records::decode_records(batch);
        if (h.is_control()) {
          if (!h.is_transactional() || recs.empty() || !recs.front().key) return;
          if (auto commit = decode_end_txn_commit(*recs.front().key); commit && l->visitor.marker) l->visitor.marker(h.producer_id, *commit);
          return;
        }
        const int64_t pid = h.is_transactional() ? h.producer_id : -1;
        for (const auto& r : recs) {
          if (!r.key) continue;
          try {
            l->visitor.record(r, pid);
            ++l->records;
          } catch (const std::exception& e) {
            spdlog::warn("[{}] Skipping an undecodable record at offset {} of {}-{}: {}", log_name_, r.offset, topic_, l->partition, e.what());
          }
        }
      });
      if (l->next == before) break;  // nothing readable (should not happen): stop rather than spin
    }
  } catch (const std::exception& e) {
    spdlog::error("[{}] Error loading {}-{}: {}", log_name_, topic_, l->partition, e.what());
    l->next = end;
  }
  if (l->next < end) {
    auto alive = alive_;
    asio::post(io_, [this, alive, l] {
      if (*alive) load_slice(l);
    });
    return;
  }
  spdlog::info("[{} brokerId={}] Finished loading {}-{} in {} milliseconds ({} records)", log_name_, host_.node_id(), topic_,
               l->partition, monotonic_ms() - l->started_ms, l->records);
  l->done(true, l->records);
}

}  // namespace flotilla::coordinator
