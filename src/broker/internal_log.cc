#include "broker/internal_log.h"

#include <spdlog/spdlog.h>

#include "broker/replica_manager.h"
#include "common/bytes.h"
#include "common/clock.h"

namespace flotilla::broker {

std::optional<bool> decode_end_txn_commit(std::span<const uint8_t> key) {
  if (key.size() < 4) return std::nullopt;
  const int16_t type = static_cast<int16_t>((key[2] << 8) | key[3]);
  if (type == 0) return false;
  if (type == 1) return true;
  return std::nullopt;
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
  Partition* p = replicas_.find(topic_, partition);
  if (!p) {
    asio::post(io_, [done] { done(ErrorCode::UNKNOWN_TOPIC_OR_PARTITION); });
    return;
  }
  if (!p->is_leader(replicas_.node_id()) || p->leader_epoch != leader_epoch) {
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
  AppendResult ar = replicas_.append(*p, batch, txn ? AppendOrigin::Coordinator : AppendOrigin::Client);
  if (ar.error != ErrorCode::NONE) {
    ErrorCode e = ar.error;
    asio::post(io_, [done, e] { done(e); });
    return;
  }
  const int64_t last = ar.last_offset;
  auto finished = std::make_shared<bool>(false);
  ReplicaManager& rm = replicas_;
  const std::string topic = topic_;
  auto try_complete = [&rm, topic, partition, leader_epoch, last, finished, done]() -> bool {
    if (*finished) return true;
    Partition* q = rm.find(topic, partition);
    ErrorCode e;
    if (!q || !q->is_leader(rm.node_id()) || q->leader_epoch != leader_epoch) {
      e = ErrorCode::NOT_LEADER_OR_FOLLOWER;
    } else if (q->high_watermark() > last) {
      e = ErrorCode::NONE;
    } else {
      return false;
    }
    *finished = true;
    done(e);
    return true;
  };
  auto alive = alive_;
  // Complete on a later turn of the loop (callers must never see `done` inside append()).
  asio::post(io_, [this, alive, try_complete, finished, done, partition] {
    if (!*alive) return;
    if (try_complete()) return;
    replicas_.delay(monotonic_ms() + commit_timeout_ms_, {ReplicaManager::key(topic_, partition)}, try_complete, [finished, done] {
      if (*finished) return;
      *finished = true;
      done(ErrorCode::REQUEST_TIMED_OUT);
    });
  });
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
  Partition* p = replicas_.find(topic_, l->partition);
  if (!p || !p->is_leader(replicas_.node_id()) || p->leader_epoch != l->epoch) {
    l->done(false, l->records);
    return;
  }
  if (l->next < 0) l->next = p->log->log_start_offset();
  const int64_t end = p->log->log_end_offset();
  const int64_t slice_end = monotonic_ms() + kSliceMs;
  try {
    while (l->next < end && monotonic_ms() <= slice_end) {
      if (l->next < p->log->log_start_offset()) l->next = p->log->log_start_offset();
      storage::ReadResult rr = p->log->read(l->next, 1 << 20, end, true);
      ByteWriter w;
      w.put_records_payload(rr.records);
      std::vector<uint8_t> bytes = w.flatten();
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
  spdlog::info("[{} brokerId={}] Finished loading {}-{} in {} milliseconds ({} records)", log_name_, replicas_.node_id(), topic_,
               l->partition, monotonic_ms() - l->started_ms, l->records);
  l->done(true, l->records);
}

}  // namespace flotilla::broker
