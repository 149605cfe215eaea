// ReplicaManager: the high watermark and the ISR. A leader tracks each
// follower's log end offset (the FetchOffset of its Fetch requests) and moves
// the high watermark to the smallest log end offset of the maximal ISR; it
// grows the ISR with followers that caught up and shrinks it by those that
// lag longer than replica.lag.time.max.ms, through AlterPartition to the
// controller — one request in flight per broker, carrying every queued change.
//
// Invariants: a leader's high watermark never goes back, never passes the
// log end offset of an ISR member as far as the leader knows it (a member not
// heard from since this node became leader holds it back), and does not move
// while the committed ISR is below the effective min ISR; a follower joins
// the ISR only once it has everything committed, including this leader's
// epoch start; at most one ISR change per partition is in flight.
//
// Threading: the broker's io_context thread; the AlterPartition answer and
// the ISR timer check `alive_` first.
#include "broker/replica_manager.h"

#include <spdlog/spdlog.h>

#include <algorithm>

#include "broker/broker_metrics.h"
#include "common/clock.h"

namespace flotilla::broker {

std::vector<int32_t> Partition::maximal_isr() const {
  if (!alter_in_flight) return isr;
  std::vector<int32_t> out = isr;
  for (int32_t r : pending_isr)
    if (std::find(out.begin(), out.end(), r) == out.end()) out.push_back(r);
  return out;
}

bool ReplicaManager::maybe_advance_hw(Partition& p) {
  if (!p.is_leader(config_.node_id)) return false;
  // Under min ISR the high watermark waits for the ISR to grow back (Kafka
  // >= 3.7, KAFKA-15583): records appended before the shrink stay
  // uncommitted rather than committed by fewer replicas than the topic asks,
  // and an acks=all write waiting on them is answered when the ISR recovers
  // (or it times out) instead of NOT_ENOUGH_REPLICAS_AFTER_APPEND at once
  // (chaos seed 2501: those answers, retried into NOT_ENOUGH_REPLICAS, led
  // librdkafka to write the records again under a new producer epoch).
  if (p.under_min_isr()) return false;
  int64_t hw = p.log->log_end_offset();
  for (int32_t r : p.maximal_isr()) {
    if (r == config_.node_id) continue;
    auto f = p.followers.find(r);
    // A member not heard from since this node became leader holds the HW back.
    int64_t leo = f == p.followers.end() ? -1 : f->second.log_end_offset;
    hw = std::min(hw, leo);
  }
  if (hw <= p.hw) return false;
  p.hw = hw;
  p.log->set_cleanable_limit(hw);  // the log cleaner stays below the high watermark
  wake(key(p.topic, p.index));
  return true;
}

void ReplicaManager::on_follower_fetch(Partition& p, int32_t replica_id, int64_t replica_epoch, int64_t fetch_offset,
                                       int64_t log_start_offset) {
  auto it = p.followers.find(replica_id);
  if (it == p.followers.end()) return;  // not a replica of this partition
  int64_t now = monotonic_ms();
  FollowerState& f = it->second;
  int64_t leo = p.log->log_end_offset();
  // Caught up: it has everything the leader had now, or everything the
  // leader had at its previous fetch (Kafka's rule: a steady stream of
  // appends must not make a fast follower look lagging).
  if (fetch_offset >= leo) f.last_caught_up_ms = now;
  else if (f.last_fetch_leader_leo >= 0 && fetch_offset >= f.last_fetch_leader_leo) f.last_caught_up_ms = std::max(f.last_caught_up_ms, f.last_fetch_ms);
  f.log_end_offset = std::min(fetch_offset, leo);
  f.last_fetch_leader_leo = leo;
  f.last_fetch_ms = now;
  if (replica_epoch >= 0) f.broker_epoch = replica_epoch;
  if (log_start_offset > f.log_start_offset) {
    f.log_start_offset = log_start_offset;
    wake(key(p.topic, p.index));  // DeleteRecords waits on it
  }
  maybe_expand_isr(p, replica_id);
  maybe_advance_hw(p);
}

void ReplicaManager::maybe_expand_isr(Partition& p, int32_t replica_id) {
  if (p.alter_in_flight || std::find(p.isr.begin(), p.isr.end(), replica_id) != p.isr.end()) return;
  const FollowerState& f = p.followers[replica_id];
  // It has everything committed, including this leader's own epoch start:
  // as a member it can then never hold back an HW below what was committed.
  if (f.log_end_offset < p.hw || f.log_end_offset < p.leader_epoch_start_offset) return;
  const metadata::BrokerRegistration* b = image_->broker(replica_id);
  if (!b || b->fenced || b->in_controlled_shutdown) return;
  std::vector<int32_t> isr = p.isr;
  isr.push_back(replica_id);
  spdlog::info("[ReplicaManager broker={}] ISR of {}-{} expands: [{}] -> [{}] (replica {} caught up to {})", config_.node_id, p.topic, p.index,
               fmt::join(p.isr, ","), fmt::join(isr, ","), replica_id, f.log_end_offset);
  alter_isr(p, std::move(isr));
}

void ReplicaManager::arm_isr_timer() {
  auto alive = alive_;
  isr_timer_.expires_after(std::chrono::milliseconds(std::max<int64_t>(config_.replica_lag_time_max_ms / 2, 10)));
  isr_timer_.async_wait([this, alive](const asio::error_code& ec) {
    if (ec || !*alive) return;
    check_isr_shrink();
    arm_isr_timer();
  });
}

void ReplicaManager::check_isr_shrink() {
  int64_t now = monotonic_ms();
  for (auto& [k, pp] : partitions_) {
    Partition& p = *pp;
    if (!p.is_leader(config_.node_id) || p.alter_in_flight || p.offline) continue;
    std::vector<int32_t> isr;
    for (int32_t r : p.isr) {
      if (r == config_.node_id) {
        isr.push_back(r);
        continue;
      }
      auto f = p.followers.find(r);
      bool lagging = f == p.followers.end() || now - f->second.last_caught_up_ms > config_.replica_lag_time_max_ms;
      if (!lagging) isr.push_back(r);
    }
    if (isr.size() == p.isr.size()) continue;
    spdlog::info("[ReplicaManager broker={}] ISR of {}-{} shrinks: [{}] -> [{}] (out of sync for {} ms, high watermark {}, log end {})",
                 config_.node_id, p.topic, p.index, fmt::join(p.isr, ","), fmt::join(isr, ","), config_.replica_lag_time_max_ms, p.hw,
                 p.log->log_end_offset());
    alter_isr(p, std::move(isr));
  }
}

void ReplicaManager::alter_isr(Partition& p, std::vector<int32_t> new_isr) {
  if (!controller_ || !broker_epoch_ || stopped_) return;
  p.alter_in_flight = true;
  p.pending_isr = std::move(new_isr);
  isr_queue_.emplace_back(p.topic, p.index);
  send_isr_changes();
}

// One AlterPartition in flight per broker, carrying every queued change (as
// Kafka's AlterPartitionManager does): a leader taking over thousands of
// partitions sends a handful of requests, not thousands.
void ReplicaManager::send_isr_changes() {
  if (isr_request_in_flight_ || isr_queue_.empty() || stopped_) return;
  msg::AlterPartitionRequest req;
  req.broker_id = config_.node_id;
  req.broker_epoch = broker_epoch_();
  std::map<std::string, size_t> topic_at;
  auto sent = std::make_shared<std::map<std::pair<std::string, int32_t>, int32_t>>();  // -> leader epoch asked at
  // -> the ISR size change asked for (IsrShrinksPerSec / IsrExpandsPerSec once accepted: the
  // image may carry the new ISR before the response does)
  auto growth = std::make_shared<std::map<std::pair<std::string, int32_t>, int64_t>>();
  for (const auto& [topic, index] : isr_queue_) {
    Partition* p = find(topic, index);
    if (!p || !p->alter_in_flight || !p->is_leader(config_.node_id) || sent->count({topic, index})) continue;
    auto [it, fresh] = topic_at.emplace(topic, req.topics.size());
    if (fresh) {
      msg::AlterPartitionRequest::TopicData td;
      td.topic_name = topic;
      td.topic_id = p->topic_id;
      req.topics.push_back(std::move(td));
    }
    msg::AlterPartitionRequest::PartitionData pd;
    pd.partition_index = index;
    pd.leader_epoch = p->leader_epoch;
    pd.partition_epoch = p->partition_epoch;
    for (int32_t r : p->pending_isr) {
      pd.new_isr.push_back(r);
      msg::AlterPartitionRequest::BrokerState bs;
      bs.broker_id = r;
      if (r == config_.node_id) {
        bs.broker_epoch = req.broker_epoch;
      } else {
        auto f = p->followers.find(r);
        bs.broker_epoch = f == p->followers.end() ? -1 : f->second.broker_epoch;
      }
      pd.new_isr_with_epochs.push_back(bs);
    }
    req.topics[it->second].partitions.push_back(std::move(pd));
    (*sent)[{topic, index}] = p->leader_epoch;
    (*growth)[{topic, index}] = static_cast<int64_t>(p->pending_isr.size()) - static_cast<int64_t>(p->isr.size());
  }
  isr_queue_.clear();
  if (sent->empty()) return;
  isr_request_in_flight_ = true;
  auto alive = alive_;
  controller_->alter_partition(std::move(req), 3, [this, alive, sent, growth](msg::AlterPartitionResponse resp) {
    if (!*alive) return;
    isr_request_in_flight_ = false;
    ErrorCode top = ec(resp.error_code);
    std::map<std::pair<std::string, int32_t>, ErrorCode> errors;
    for (const auto& t : resp.topics) {
      // v2+ names topics by id only.
      auto name_it = topic_names_.find(t.topic_id);
      const std::string name = t.topic_name.empty() && name_it != topic_names_.end() ? name_it->second : t.topic_name;
      for (const auto& pd : t.partitions) {
        auto s = sent->find({name, pd.partition_index});
        if (s == sent->end()) continue;
        Partition* p = find(name, pd.partition_index);
        if (!p || p->leader_epoch != s->second) continue;  // moved on; the image has the truth
        ErrorCode e = top != ErrorCode::NONE ? top : ec(pd.error_code);
        if (e == ErrorCode::NONE && pd.leader_epoch == p->leader_epoch) {
          // IsrShrinksPerSec / IsrExpandsPerSec: the change asked for took effect.
          const int64_t g = (*growth)[{name, pd.partition_index}];
          if (g < 0) BrokerMetrics::get().isr_shrinks().inc();
          else if (g > 0) BrokerMetrics::get().isr_expands().inc();
          adopt_partition_state(*p, pd.isr, pd.partition_epoch);
        }
        else errors[{name, pd.partition_index}] = e;
        p->alter_in_flight = false;
        sent->erase(s);
      }
    }
    // Unanswered ones (a top-level error, a timeout) and rejected ones
    // (INVALID_UPDATE_VERSION, FENCED_LEADER_EPOCH, INELIGIBLE_REPLICA, ...):
    // the next image or the next check tries again.
    for (const auto& [k, epoch] : *sent) {
      Partition* p = find(k.first, k.second);
      if (p && p->leader_epoch == epoch) p->alter_in_flight = false;
      errors[k] = top;
    }
    if (!errors.empty())
      spdlog::info("[ReplicaManager broker={}] AlterPartition failed for {} partition(s), e.g. {}-{}: {}", config_.node_id, errors.size(),
                   errors.begin()->first.first, errors.begin()->first.second, error_name(errors.begin()->second));
    send_isr_changes();
  });
}

int64_t ReplicaManager::low_watermark(const Partition& p) const {
  int64_t low = p.log->log_start_offset();
  for (int32_t r : p.isr) {
    if (r == config_.node_id) continue;
    auto f = p.followers.find(r);
    low = std::min(low, f == p.followers.end() ? -1 : f->second.log_start_offset);
  }
  return low;
}

}  // namespace flotilla::broker
