// QuorumController: broker registration, heartbeats, sessions and fencing
// (Kafka's ClusterControlManager + BrokerHeartbeatManager, simplified).
#include <algorithm>
#include <spdlog/spdlog.h>

#include "controller/quorum_controller.h"
#include "protocol/metadata_record.h"

namespace flotilla::controller {

using protocol::frame_metadata_record;

// ---------------------------------------------------------------- registration

void QuorumController::register_broker(msg::BrokerRegistrationRequest request, int16_t version,
                                       std::function<void(msg::BrokerRegistrationResponse)> done) {
  auto reply = [this, &done](ErrorCode ec, int64_t epoch = -1) {
    msg::BrokerRegistrationResponse r;
    r.error_code = code(ec);
    r.broker_epoch = epoch;
    post([done = std::move(done), r]() mutable { done(std::move(r)); });
  };
  if (!active_) return reply(ErrorCode::NOT_CONTROLLER);
  if (!config_.cluster_id.empty() && request.cluster_id != config_.cluster_id) {
    spdlog::warn("[QuorumController id={}] Broker {} registration refused: expected cluster ID {}, but got cluster ID {}", config_.node_id,
                 request.broker_id, config_.cluster_id, request.cluster_id);
    return reply(ErrorCode::INCONSISTENT_CLUSTER_ID);
  }
  const int32_t id = request.broker_id;
  int64_t now = now_ms();
  if (const auto* existing = latest_->broker(id)) {
    auto s = sessions_.find(id);
    bool live = s != sessions_.end() && s->second.heard && now - s->second.last_contact_ms < config_.broker_session_timeout_ms;
    if (live && existing->incarnation_id != request.incarnation_id) {
      spdlog::warn("[QuorumController id={}] Broker {} registration refused: another broker is registered with that broker id",
                   config_.node_id, id);
      return reply(ErrorCode::DUPLICATE_BROKER_REGISTRATION);
    }
  }
  int16_t level = mv();
  for (const auto& f : request.features) {
    if (f.name == metadata::kMetadataVersionFeature && level > 0 && (level < f.min_supported_version || level > f.max_supported_version)) {
      spdlog::warn("[QuorumController id={}] Unable to register broker {}: it does not support version {} of metadata.version "
                   "(it wants a version between {} and {}, inclusive)",
                   config_.node_id, id, level, f.min_supported_version, f.max_supported_version);
      return reply(ErrorCode::UNSUPPORTED_VERSION);
    }
  }
  int64_t broker_epoch = raft_.next_offset();  // Kafka: the offset of the registration record
  msg::RegisterBrokerRecord r;
  r.broker_id = id;
  r.incarnation_id = request.incarnation_id;
  r.broker_epoch = broker_epoch;
  for (const auto& l : request.listeners) {
    msg::RegisterBrokerRecord::BrokerEndpoint e;
    e.name = l.name;
    e.host = l.host;
    e.port = l.port;
    e.security_protocol = l.security_protocol;
    r.end_points.push_back(e);
  }
  for (const auto& f : request.features) {
    msg::RegisterBrokerRecord::BrokerFeature bf;
    bf.name = f.name;
    bf.min_supported_version = f.min_supported_version;
    bf.max_supported_version = f.max_supported_version;
    r.features.push_back(bf);
  }
  r.rack = request.rack;
  r.fenced = true;
  r.in_controlled_shutdown = false;
  int16_t rv = register_broker_record_version();
  if (rv >= 3) r.log_dirs = request.log_dirs;
  auto off = write({frame_metadata_record(r, rv)});
  if (!off) return reply(ErrorCode::NOT_CONTROLLER);
  if (*off != broker_epoch) {
    // Cannot happen while this is the only writer; keep the record's epoch authoritative.
    spdlog::error("[QuorumController id={}] Registration of broker {} landed at {} instead of {}", config_.node_id, id, *off, broker_epoch);
  }
  sessions_[id].last_contact_ms = now;
  sessions_[id].heard = true;
  spdlog::info("[QuorumController id={}] Registering broker {} (incarnation {}) with epoch {}", config_.node_id, id,
               request.incarnation_id.to_string(), broker_epoch);
  after_commit_of(off, [done = std::move(done), broker_epoch](ErrorCode ec) mutable {
    msg::BrokerRegistrationResponse resp;
    resp.error_code = code(ec);
    resp.broker_epoch = ec == ErrorCode::NONE ? broker_epoch : -1;
    done(std::move(resp));
  });
}

// ---------------------------------------------------------------- heartbeats

void QuorumController::broker_heartbeat(msg::BrokerHeartbeatRequest request, int16_t version,
                                        std::function<void(msg::BrokerHeartbeatResponse)> done) {
  auto reply_now = [this, &done](ErrorCode ec) {
    msg::BrokerHeartbeatResponse r;
    r.error_code = code(ec);
    post([done = std::move(done), r]() mutable { done(std::move(r)); });
  };
  if (!active_) return reply_now(ErrorCode::NOT_CONTROLLER);
  const int32_t id = request.broker_id;
  const auto* b = latest_->broker(id);
  if (!b) return reply_now(ErrorCode::BROKER_ID_NOT_REGISTERED);
  if (b->epoch != request.broker_epoch) return reply_now(ErrorCode::STALE_BROKER_EPOCH);
  sessions_[id].last_contact_ms = now_ms();
  sessions_[id].heard = true;

  std::vector<std::vector<uint8_t>> records;
  bool fenced = b->fenced;
  bool caught_up = false;
  bool shut_down = false;
  // The registration is committed and the broker's metadata has reached it.
  bool registration_committed = committed_->broker(id) && committed_->broker(id)->epoch == b->epoch;
  if (fenced) {
    if (request.want_shut_down) {
      shut_down = true;
    } else if (!request.want_fence && registration_committed && request.current_metadata_offset >= b->epoch) {
      records = unfence_broker_records(id, b->epoch);
      fenced = false;
      caught_up = true;
      spdlog::info("[QuorumController id={}] Unfencing broker {} (epoch {}): it has caught up to offset {}", config_.node_id, id, b->epoch,
                   request.current_metadata_offset);
    }
  } else {
    caught_up = true;
    if (request.want_fence || request.want_shut_down) {
      records = fence_broker_records(id, b->epoch);
      fenced = true;
      shut_down = request.want_shut_down;
      spdlog::info("[QuorumController id={}] Fencing broker {} at its request{}", config_.node_id, id,
                   request.want_shut_down ? " (controlled shutdown)" : "");
    }
  }
  std::optional<int64_t> off;
  if (!records.empty()) off = write(std::move(records));
  after_commit_of(off, [done = std::move(done), fenced, caught_up, shut_down](ErrorCode ec) mutable {
    msg::BrokerHeartbeatResponse resp;
    resp.error_code = code(ec);
    if (ec == ErrorCode::NONE) {
      resp.is_caught_up = caught_up;
      resp.is_fenced = fenced;
      resp.should_shut_down = shut_down;
    }
    done(std::move(resp));
  });
}

// ---------------------------------------------------------------- fencing

std::vector<std::vector<uint8_t>> QuorumController::fence_broker_records(int32_t broker_id, int64_t broker_epoch) {
  std::vector<std::vector<uint8_t>> out;
  msg::FenceBrokerRecord f;
  f.id = broker_id;
  f.epoch = broker_epoch;
  out.push_back(frame_metadata_record(f, 0));
  int16_t pv = partition_record_version();
  auto usable = [&](int32_t b) {
    if (b == broker_id) return false;
    const auto* reg = latest_->broker(b);
    return reg && !reg->fenced && !reg->in_controlled_shutdown;
  };
  for (const auto& [name, t] : latest_->topics_by_name()) {
    for (const auto& [idx, p] : t.partitions) {
      bool in_isr = std::find(p.isr.begin(), p.isr.end(), broker_id) != p.isr.end();
      if (!in_isr && p.leader != broker_id) continue;
      std::vector<int32_t> isr;
      for (int32_t r : p.isr)
        if (r != broker_id) isr.push_back(r);
      int32_t leader = p.leader;
      if (isr.empty()) {
        // Never shrink the ISR to nothing: keep the last member, without a leader.
        isr = p.isr;
        leader = -1;
      } else if (p.leader == broker_id || (leader >= 0 && !usable(leader))) {
        leader = -1;
        for (int32_t r : p.replicas)
          if (std::find(isr.begin(), isr.end(), r) != isr.end() && usable(r)) {
            leader = r;
            break;
          }
      }
      msg::PartitionChangeRecord c;
      c.partition_id = idx;
      c.topic_id = t.id;
      bool changed = false;
      if (isr != p.isr) {
        c.isr = isr;
        changed = true;
      }
      if (leader != p.leader) {
        c.leader = leader;
        changed = true;
      }
      if (changed) out.push_back(frame_metadata_record(c, pv));
    }
  }
  return out;
}

std::vector<std::vector<uint8_t>> QuorumController::unfence_broker_records(int32_t broker_id, int64_t broker_epoch) {
  std::vector<std::vector<uint8_t>> out;
  msg::UnfenceBrokerRecord u;
  u.id = broker_id;
  u.epoch = broker_epoch;
  out.push_back(frame_metadata_record(u, 0));
  int16_t pv = partition_record_version();
  // Partitions without a leader whose ISR holds this broker elect it.
  for (const auto& [name, t] : latest_->topics_by_name()) {
    for (const auto& [idx, p] : t.partitions) {
      if (p.leader >= 0 || std::find(p.isr.begin(), p.isr.end(), broker_id) == p.isr.end()) continue;
      msg::PartitionChangeRecord c;
      c.partition_id = idx;
      c.topic_id = t.id;
      c.leader = broker_id;
      out.push_back(frame_metadata_record(c, pv));
    }
  }
  return out;
}

void QuorumController::maybe_fence_stale_brokers(int64_t now) {
  auto image = latest_;  // write() replaces latest_
  for (const auto& [id, b] : image->brokers()) {
    if (b.fenced) continue;
    auto s = sessions_.find(id);
    int64_t last = s == sessions_.end() ? now : s->second.last_contact_ms;
    if (s == sessions_.end()) sessions_[id].last_contact_ms = now;
    if (now - last < config_.broker_session_timeout_ms) continue;
    spdlog::info("[QuorumController id={}] Fencing broker {} because its session has timed out", config_.node_id, id);
    write(fence_broker_records(id, b.epoch));
    return;  // latest_ changed; the next tick fences the next one (as Kafka does, one at a time)
  }
}

}  // namespace flotilla::controller
