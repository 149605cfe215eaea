#include "broker/coordinator_host.h"

#include <stdexcept>

#include "common/bytes.h"
#include "common/clock.h"

namespace flotilla::broker {

Partition& CoordinatorHost::partition(const std::string& topic, int32_t index) const {
  Partition* p = replicas_.find(topic, index);
  if (!p) throw std::runtime_error("no replica of " + topic + "-" + std::to_string(index) + " on this broker");
  return *p;
}

coordinator::PartitionHost::Leadership CoordinatorHost::leadership(const std::string& topic, int32_t index) const {
  const Partition* p = replicas_.find(topic, index);
  if (!p) return Leadership{ErrorCode::UNKNOWN_TOPIC_OR_PARTITION, -1};
  if (!p->is_leader(replicas_.node_id())) return Leadership{ErrorCode::NOT_LEADER_OR_FOLLOWER, p->leader_epoch};
  return Leadership{ErrorCode::NONE, p->leader_epoch};
}

coordinator::PartitionHost::Appended CoordinatorHost::append(const std::string& topic, int32_t index, std::span<uint8_t> batch,
                                                             coordinator::AppendOrigin origin) {
  Partition* p = replicas_.find(topic, index);
  if (!p) return Appended{ErrorCode::UNKNOWN_TOPIC_OR_PARTITION, -1};
  const bool as_coordinator = origin == coordinator::AppendOrigin::Coordinator;
  AppendResult ar = replicas_.append(*p, batch, as_coordinator ? AppendOrigin::Coordinator : AppendOrigin::Client);
  return Appended{ar.error, ar.last_offset};
}

coordinator::PartitionHost::Appended CoordinatorHost::append_marker(const std::string& topic, int32_t index, int64_t producer_id,
                                                                    int16_t producer_epoch, int32_t coordinator_epoch, bool commit) {
  Partition* p = replicas_.find(topic, index);
  if (!p) return Appended{ErrorCode::UNKNOWN_TOPIC_OR_PARTITION, -1};
  AppendResult ar = replicas_.append_marker(*p, producer_id, producer_epoch, coordinator_epoch, commit);
  return Appended{ar.error, ar.last_offset};
}

void CoordinatorHost::await_committed(const std::string& topic, int32_t index, int32_t leader_epoch, int64_t offset, int64_t timeout_ms,
                                      std::function<void(ErrorCode)> done) {
  auto finished = std::make_shared<bool>(false);
  ReplicaManager& rm = replicas_;
  auto try_complete = [&rm, topic, index, leader_epoch, offset, finished, done]() -> bool {
    if (*finished) return true;
    Partition* q = rm.find(topic, index);
    ErrorCode e;
    if (!q || !q->is_leader(rm.node_id()) || q->leader_epoch != leader_epoch) {
      e = ErrorCode::NOT_LEADER_OR_FOLLOWER;
    } else if (q->high_watermark() > offset) {
      e = ErrorCode::NONE;
    } else {
      return false;
    }
    *finished = true;
    done(e);
    return true;
  };
  // Complete on a later turn of the loop (callers must never see `done` inside the call).
  asio::post(io_, [&rm, alive = alive_, try_complete, finished, done, topic, index, timeout_ms] {
    if (!*alive || try_complete()) return;
    rm.delay(monotonic_ms() + timeout_ms, {ReplicaManager::key(topic, index)}, try_complete, [finished, done] {
      if (*finished) return;
      *finished = true;
      done(ErrorCode::REQUEST_TIMED_OUT);
    });
  });
}

coordinator::PartitionHost::LogRange CoordinatorHost::log_range(const std::string& topic, int32_t index) const {
  const Partition& p = partition(topic, index);
  return LogRange{p.log->log_start_offset(), p.log->log_end_offset()};
}

std::vector<uint8_t> CoordinatorHost::read(const std::string& topic, int32_t index, int64_t offset, int32_t max_bytes, int64_t max_offset) {
  storage::ReadResult rr = partition(topic, index).log->read(offset, max_bytes, max_offset, true);
  ByteWriter w;
  w.put_records_payload(rr.records);
  return w.flatten();
}

void CoordinatorHost::allocate_producer_ids(msg::AllocateProducerIdsRequest req,
                                            std::function<void(msg::AllocateProducerIdsResponse)> done) {
  if (controller_) return controller_->allocate_producer_ids(std::move(req), 0, std::move(done));
  msg::AllocateProducerIdsResponse r;
  r.error_code = static_cast<int16_t>(ErrorCode::UNKNOWN_SERVER_ERROR);
  done(std::move(r));
}

}  // namespace flotilla::broker
