// QuorumController: broker registration, heartbeats, sessions, fencing
// and controlled shutdown (Kafka's ClusterControlManager + BrokerHeartbeatManager).
#include <algorithm>
#include <spdlog/spdlog.h>

#include "controller/quorum_controller.h"
#include "protocol/metadata_record.h"

namespace flotilla::controller {

using protocol::frame_metadata_record;

namespace {
// 3.3-IV2: fencing and unfencing are BrokerRegistrationChangeRecords (Fenced 1 / -1).
constexpr int16_t kMetadataVersion_3_3_IV2 = 6;
// 3.7-IV0: controllers register (KIP-919).
constexpr int16_t kControllerRegistrationMV = 15;
}  // namespace

// ---------------------------------------------------------------- registration

void QuorumController::register_broker(msg::BrokerRegistrationRequest request, int16_t version,
                                       std::function<void(msg::BrokerRegistrationResponse)> done) {
  auto reply = [this, &done](ErrorCode ec, int64_t epoch = -1) {
    msg::BrokerRegistrationResponse r;
    r.error_code = code(ec);
    r.broker_epoch = epoch;
    answer_now(done, std::move(r));
  };
  if (!active_) return reply(ErrorCode::NOT_CONTROLLER);
  if (!config_.cluster_id.empty() && request.cluster_id != config_.cluster_id) {
    spdlog::warn("[QuorumController id={}] Broker {} registration refused: expected cluster ID {}, but got cluster ID {}", config_.node_id,
                 request.broker_id, config_.cluster_id, request.cluster_id);
    return reply(ErrorCode::INCONSISTENT_CLUSTER_ID);
  }
  const int32_t id = request.broker_id;
  int64_t now = now_ms();
  // KIP-966: a broker that did not record a clean shutdown of its previous
  // registration (PreviousBrokerEpoch, v3+) may have lost unflushed records.
  bool unclean_restart = false;
  if (const auto* existing = latest_->broker(id)) {
    unclean_restart = request.previous_broker_epoch != existing->epoch;
    auto s = sessions_.find(id);
    // Kafka's hasValidSession: an unfenced registration heard from within the
    // session timeout. A fenced one (e.g. after its controlled shutdown) may
    // be replaced at once by the restarted broker.
    bool live = !existing->fenced && s != sessions_.end() && s->second.heard &&
                now - s->second.last_contact_ms < config_.broker_session_timeout_ms;
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
  // KIP-858: from 3.7-IV2 the registration lists the broker's online log dirs.
  if (std::string why = invalid_registration_dirs(request); !why.empty()) {
    spdlog::warn("[QuorumController id={}] Broker {} registration refused: {}", config_.node_id, id, why);
    return reply(ErrorCode::INVALID_REGISTRATION);
  }
  int64_t broker_epoch = raft_.next_offset();  // Kafka: the offset of the registration record (the batch's first)
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
  // Flotilla's tagged extension (not in Kafka's schema): the broker's
  // partition budget, kept in the record so a new controller knows it.
  r.flotilla_max_partitions = request.flotilla_max_partitions;
  std::vector<std::vector<uint8_t>> records;
  records.push_back(frame_metadata_record(r, rv));
  // The new registration is fenced: the previous one (another incarnation, or
  // this one retrying) leaves every leadership and ISR, as if fenced, so that
  // no partition is led by a fenced broker and a restarted broker — which may
  // have lost unflushed data — rejoins ISRs only through its leaders.
  // With ELR, after an unclean shutdown it also leaves every ELR (Kafka's
  // handleBrokerUncleanShutdown).
  leader_and_isr_updates(id, -1, records, unclean_restart && elr_enabled() ? id : -1);
  size_t n = records.size();
  auto off = write(std::move(records));
  if (!off) return reply(ErrorCode::NOT_CONTROLLER);
  if (*off - static_cast<int64_t>(n) + 1 != broker_epoch) {
    // Cannot happen while this is the only writer; keep the record's epoch authoritative.
    spdlog::error("[QuorumController id={}] Registration of broker {} landed at {} instead of {}", config_.node_id, id,
                  *off - static_cast<int64_t>(n) + 1, broker_epoch);
  }
  Session& s = sessions_[id];
  s = Session{};
  s.last_contact_ms = now;
  s.heard = true;
  spdlog::info("[QuorumController id={}] Registering broker {} (incarnation {}) with epoch {}, partition budget {}{}", config_.node_id, id,
               request.incarnation_id.to_string(), broker_epoch,
               request.flotilla_max_partitions < 0 ? std::string("unlimited") : std::to_string(request.flotilla_max_partitions),
               n > 1 ? fmt::format("; {} partition(s) change leader or ISR", n - 1) : std::string());
  after_commit_of(off, [done = std::move(done), broker_epoch](ErrorCode ec) mutable {
    msg::BrokerRegistrationResponse resp;
    resp.error_code = code(ec);
    resp.broker_epoch = ec == ErrorCode::NONE ? broker_epoch : -1;
    done(std::move(resp));
  });
}

// ---------------------------------------------------------------- controller registration

void QuorumController::register_controller(msg::ControllerRegistrationRequest request, int16_t,
                                           std::function<void(msg::ControllerRegistrationResponse)> done) {
  auto reply = [this, &done](ErrorCode ec, std::optional<std::string> message) {
    msg::ControllerRegistrationResponse r;
    r.error_code = code(ec);
    r.error_message = std::move(message);
    answer_now(done, std::move(r));
  };
  if (!active_) return reply(ErrorCode::NOT_CONTROLLER, std::nullopt);
  if (mv() < kControllerRegistrationMV)
    return reply(ErrorCode::UNSUPPORTED_VERSION, "The current MetadataVersion is too old to support controller registrations.");
  msg::RegisterControllerRecord r;
  r.controller_id = request.controller_id;
  r.incarnation_id = request.incarnation_id;
  r.zk_migration_ready = request.zk_migration_ready;
  for (const auto& l : request.listeners) r.end_points.push_back({l.name, l.host, l.port, l.security_protocol});
  for (const auto& f : request.features) r.features.push_back({f.name, f.min_supported_version, f.max_supported_version});
  std::vector<std::vector<uint8_t>> records;
  records.push_back(frame_metadata_record(r, 0));
  auto off = write(std::move(records));
  if (!off) return reply(ErrorCode::NOT_CONTROLLER, std::nullopt);
  spdlog::info("[QuorumController id={}] Registering controller {} (incarnation {})", config_.node_id, request.controller_id,
               request.incarnation_id.to_string());
  after_commit_of(off, [done = std::move(done)](ErrorCode ec) mutable {
    msg::ControllerRegistrationResponse resp;
    resp.error_code = code(ec);
    resp.error_message = std::nullopt;
    done(std::move(resp));
  });
}

// ---------------------------------------------------------------- heartbeats

// The broker's state moves as Kafka's BrokerHeartbeatManager has it:
//   fenced ──caught up──▶ unfenced ──WantShutDown, leads partitions──▶ controlled shutdown
//   fenced / unfenced without leaderships ──WantShutDown──▶ shut down now (fenced)
//   controlled shutdown ──its metadata reached the shutdown records──▶ shut down now (fenced)
// and any of them ──session timeout──▶ fenced (tick).
void QuorumController::broker_heartbeat(msg::BrokerHeartbeatRequest request, int16_t version,
                                        std::function<void(msg::BrokerHeartbeatResponse)> done) {
  if (!active_) return answer_error_now(done, ErrorCode::NOT_CONTROLLER);
  const int32_t id = request.broker_id;
  const auto* b = latest_->broker(id);
  if (!b) return answer_error_now(done, ErrorCode::BROKER_ID_NOT_REGISTERED);
  if (b->epoch != request.broker_epoch) return answer_error_now(done, ErrorCode::STALE_BROKER_EPOCH);
  const int64_t broker_epoch = b->epoch;
  Session& s = sessions_[id];
  s.last_contact_ms = now_ms();
  s.heard = true;

  std::vector<std::vector<uint8_t>> records;
  bool fenced = b->fenced;
  bool shut_down = false;
  // Once in controlled shutdown, always: fenced at the end, the broker comes
  // back only through a new registration.
  const bool controlled_shutdown = b->in_controlled_shutdown || s.shutting_down;
  // Kafka's isCaughtUp: the broker's metadata has reached its registration.
  bool caught_up = request.current_metadata_offset >= broker_epoch;
  // The registration is committed and the broker's metadata has reached it.
  bool registration_committed = committed_->broker(id) && committed_->broker(id)->epoch == broker_epoch;
  if (fenced) {
    if (request.want_shut_down) {
      shut_down = true;  // nothing to hand over
    } else if (!request.want_fence && registration_committed && caught_up && !controlled_shutdown) {
      records = unfence_broker_records(id, broker_epoch);
      fenced = false;
      spdlog::info("[QuorumController id={}] Unfencing broker {} (epoch {}): it has caught up to offset {}", config_.node_id, id,
                   broker_epoch, request.current_metadata_offset);
    }
  } else if (controlled_shutdown) {
    // A controller that took over mid-way does not know which records moved
    // the leadership: everything appended so far covers them.
    if (s.shutdown_offset < 0) s.shutdown_offset = last_appended_offset_;
    s.shutting_down = true;
    if (request.want_shut_down && request.current_metadata_offset >= s.shutdown_offset &&
        s.shutdown_offset <= committed_->offset()) {
      records = fence_broker_records(id, broker_epoch);
      fenced = true;
      shut_down = true;
      spdlog::info("[QuorumController id={}] Broker {} may shut down: its metadata offset {} has reached its controlled shutdown "
                   "offset {}; fencing it",
                   config_.node_id, id, request.current_metadata_offset, s.shutdown_offset);
    }
  } else if (request.want_fence) {
    records = fence_broker_records(id, broker_epoch);
    fenced = true;
    shut_down = request.want_shut_down;
    spdlog::info("[QuorumController id={}] Fencing broker {} at its request", config_.node_id, id);
  } else if (request.want_shut_down) {
    if (leads_partitions(id)) {
      records = controlled_shutdown_records(id, broker_epoch);
      s.shutting_down = true;
      spdlog::info("[QuorumController id={}] Broker {} enters controlled shutdown; {} partition(s) change leader or ISR",
                   config_.node_id, id, records.size() - (mv() >= metadata::kMetadataVersion_3_3_IV3 ? 1 : 0));
    } else {
      records = fence_broker_records(id, broker_epoch);
      fenced = true;
      shut_down = true;
      spdlog::info("[QuorumController id={}] Broker {} leads no partition and may shut down at once; fencing it", config_.node_id, id);
    }
  }
  std::optional<int64_t> off;
  if (!records.empty()) {
    off = write(std::move(records));
    if (off && s.shutting_down && !fenced && !shut_down) s.shutdown_offset = *off;
  }
  // KIP-858: log dirs the broker reports offline (v1+, 3.7-IV2+): its
  // replicas there leave ISRs and leaderships (after the state change above).
  if (mv() >= kMvDirectories && !request.offline_log_dirs.empty()) {
    std::vector<std::vector<uint8_t>> dir_records;
    directories_offline_records(id, broker_epoch, request.offline_log_dirs, dir_records);
    if (auto o = write(std::move(dir_records))) off = o;
  }
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

std::vector<uint8_t> QuorumController::fencing_record(int32_t broker_id, int64_t broker_epoch, bool fence) const {
  if (mv() >= kMetadataVersion_3_3_IV2) {
    msg::BrokerRegistrationChangeRecord c;
    c.broker_id = broker_id;
    c.broker_epoch = broker_epoch;
    c.fenced = fence ? 1 : -1;  // FENCE, UNFENCE
    return frame_metadata_record(c, 0);
  }
  auto old = [&](auto r) {
    r.id = broker_id;
    r.epoch = broker_epoch;
    return frame_metadata_record(r, 0);
  };
  return fence ? old(msg::FenceBrokerRecord{}) : old(msg::UnfenceBrokerRecord{});
}

std::vector<std::vector<uint8_t>> QuorumController::fence_broker_records(int32_t broker_id, int64_t broker_epoch) {
  std::vector<std::vector<uint8_t>> out;
  leader_and_isr_updates(broker_id, -1, out);
  out.push_back(fencing_record(broker_id, broker_epoch, true));
  return out;
}

std::vector<std::vector<uint8_t>> QuorumController::unfence_broker_records(int32_t broker_id, int64_t broker_epoch) {
  std::vector<std::vector<uint8_t>> out;
  out.push_back(fencing_record(broker_id, broker_epoch, false));
  // Leaderless partitions that can now elect this broker do.
  leader_and_isr_updates(-1, broker_id, out);
  return out;
}

std::vector<std::vector<uint8_t>> QuorumController::controlled_shutdown_records(int32_t broker_id, int64_t broker_epoch) {
  std::vector<std::vector<uint8_t>> out;
  if (mv() >= metadata::kMetadataVersion_3_3_IV3) {
    msg::BrokerRegistrationChangeRecord c;
    c.broker_id = broker_id;
    c.broker_epoch = broker_epoch;
    c.in_controlled_shutdown = 1;  // IN_CONTROLLED_SHUTDOWN
    out.push_back(frame_metadata_record(c, 1));
  }
  leader_and_isr_updates(broker_id, -1, out);
  return out;
}

void QuorumController::maybe_fence_stale_brokers(int64_t now) {
  std::vector<std::pair<int32_t, int64_t>> expired;
  for (const auto& [id, b] : latest_->brokers()) {
    if (b.fenced) continue;
    auto s = sessions_.find(id);
    if (s == sessions_.end()) {
      sessions_[id].last_contact_ms = now;
      continue;
    }
    if (now - s->second.last_contact_ms >= config_.broker_session_timeout_ms) expired.emplace_back(id, b.epoch);
  }
  // One batch per broker: each sees the leadership moves of the previous one.
  for (auto [id, epoch] : expired) {
    spdlog::info("[QuorumController id={}] Fencing broker {} because its session has timed out", config_.node_id, id);
    if (!write(fence_broker_records(id, epoch))) return;
  }
}

}  // namespace flotilla::controller
