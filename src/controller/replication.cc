// QuorumController: partition leadership and ISRs — AlterPartition (KIP-497,
// KIP-841) and the leader/ISR changes that fencing, unfencing, re-registration
// and controlled shutdown make (Kafka's ReplicationControlManager and
// PartitionChangeBuilder).
#include <algorithm>
#include <set>
#include <spdlog/fmt/ranges.h>
#include <spdlog/spdlog.h>

#include "controller/partition_change.h"
#include "controller/quorum_controller.h"
#include "metadata/features.h"
#include "protocol/metadata_record.h"

namespace flotilla::controller {

using protocol::frame_metadata_record;

namespace {

bool parse_bool_config(const std::string& v, bool& out) {
  std::string l = v;
  std::transform(l.begin(), l.end(), l.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  if (l == "true") out = true;
  else if (l == "false") out = false;
  else return false;
  return true;
}

}  // namespace

// ---------------------------------------------------------------- elections

bool QuorumController::unclean_election_enabled(const std::string& topic) const {
  static const std::string kName = "unclean.leader.election.enable";
  bool v = false;
  // Kafka's order: the topic's override, this node's dynamic config, the cluster-wide dynamic default, server.properties.
  auto try_map = [&](const metadata::ConfigMap& m) {
    auto it = m.find(kName);
    return it != m.end() && parse_bool_config(it->second, v);
  };
  if (try_map(latest_->topic_configs(topic))) return v;
  if (try_map(latest_->configs_of(metadata::ConfigResourceType::BROKER, std::to_string(config_.node_id)))) return v;
  if (try_map(latest_->configs_of(metadata::ConfigResourceType::BROKER, ""))) return v;
  return config_.unclean_leader_election_enable;
}

bool QuorumController::elr_enabled() const { return metadata::eligible_leader_replicas_enabled(*latest_); }

int32_t QuorumController::effective_min_isr(const metadata::TopicImage& topic) const {
  static const std::string kName = "min.insync.replicas";
  int32_t v = config_.min_insync_replicas;
  auto try_map = [&](const metadata::ConfigMap& m) {
    auto it = m.find(kName);
    if (it == m.end()) return false;
    try {
      v = std::stoi(it->second);
      return true;
    } catch (const std::logic_error&) {
      return false;
    }
  };
  if (!try_map(latest_->topic_configs(topic.name)) &&
      !try_map(latest_->configs_of(metadata::ConfigResourceType::BROKER, std::to_string(config_.node_id))))
    try_map(latest_->configs_of(metadata::ConfigResourceType::BROKER, ""));
  // Kafka's getTopicEffectiveMinIsr: never more than the replication factor.
  if (auto p0 = topic.partitions.find(0); p0 != topic.partitions.end())
    v = std::min<int32_t>(v, static_cast<int32_t>(p0->second.replicas.size()));
  return v;
}

void QuorumController::configure_elr(PartitionChange& change, const metadata::TopicImage& topic) const {
  bool enabled = elr_enabled();
  change.set_eligible_leader_replicas(enabled, enabled ? effective_min_isr(topic) : 1);
}

std::vector<uint8_t> QuorumController::partition_change(const msg::PartitionChangeRecord& r) const {
  return frame_metadata_record(r, partition_record_version());
}

std::optional<msg::PartitionChangeRecord> QuorumController::leader_and_isr_change(const metadata::TopicImage& topic, int32_t index,
                                                                                  const metadata::PartitionRegistration& p,
                                                                                  int32_t remove, int32_t add, int32_t unclean_shutdown) const {
  auto acceptable = [&](int32_t r) {
    return r >= 0 && r != remove && r != unclean_shutdown && (r == add || is_live(r)) && replica_dir_online(p, r);
  };
  if (elr_enabled()) {
    // Kafka's generateLeaderAndIsrUpdates with eligible leader replicas.
    PartitionChange change(p, topic.id, index, acceptable, mv());
    configure_elr(change, topic);
    if (unclean_election_enabled(topic.name)) change.set_election(Election::UNCLEAN);
    if (unclean_shutdown >= 0) change.set_unclean_shutdown_replicas({unclean_shutdown});
    std::vector<int32_t> isr;
    for (int32_t r : p.isr)
      if (r != remove && r != unclean_shutdown) isr.push_back(r);
    change.set_target_isr(std::move(isr));
    change.set_default_dir([this](int32_t b) { return directories_for({b}).front(); });
    auto c = change.build();
    if (c && c->isr && c->isr->size() == 1 && c->leader_recovery_state == kLeaderRecovering)
      spdlog::warn("[QuorumController id={}] Unclean leader election for {}-{}: broker {} becomes leader", config_.node_id, topic.name,
                   index, c->isr->front());
    return c;
  }
  std::vector<int32_t> isr;
  isr.reserve(p.isr.size());
  for (int32_t r : p.isr)
    if (r != remove) isr.push_back(r);
  int32_t leader = -1;
  bool unclean = false;
  if (contains(isr, p.leader) && acceptable(p.leader)) {
    leader = p.leader;  // a good leader stays
  } else {
    for (int32_t r : p.replicas)
      if (contains(isr, r) && acceptable(r)) {
        leader = r;
        break;
      }
    if (leader < 0 && unclean_election_enabled(topic.name)) {
      for (int32_t r : p.replicas)
        if (acceptable(r)) {
          leader = r;
          unclean = true;
          break;
        }
    }
  }
  if (unclean) {
    // The new leader may lack committed data: the ISR restarts with it alone.
    isr = {leader};
    spdlog::warn("[QuorumController id={}] Unclean leader election for {}-{}: broker {} (not in ISR {}) becomes leader",
                 config_.node_id, topic.name, index, leader, fmt::join(p.isr, ","));
  } else if (isr.empty()) {
    isr = p.isr;  // never shrink an ISR to nothing: its last member keeps the data
  }
  msg::PartitionChangeRecord c;
  c.topic_id = topic.id;
  c.partition_id = index;
  bool changed = false;
  if (leader != p.leader) {
    c.leader = leader;
    changed = true;
  }
  if (isr != p.isr) {
    c.isr = isr;
    changed = true;
    // Before 3.6-IV0 brokers needed a leader epoch bump on every ISR shrink.
    if (mv() < kMvNoIsrShrinkBump && c.leader == -2 && !contains_all(isr, p.isr)) c.leader = p.leader;
  }
  if (unclean && mv() >= kMvLeaderRecovery && p.leader_recovery_state != kLeaderRecovering) c.leader_recovery_state = kLeaderRecovering;
  if (!changed) return std::nullopt;
  return c;
}

void QuorumController::leader_and_isr_updates(int32_t remove, int32_t add, std::vector<std::vector<uint8_t>>& out,
                                              int32_t unclean_shutdown) const {
  for (const auto& [name, t] : latest_->topics_by_name()) {
    for (const auto& [idx, p] : t.partitions) {
      bool touched = (remove >= 0 && (p.leader == remove || contains(p.isr, remove))) || (add >= 0 && p.leader < 0) ||
                     (unclean_shutdown >= 0 && (p.leader == unclean_shutdown || contains(p.isr, unclean_shutdown) ||
                                                contains(p.elr, unclean_shutdown)));
      if (!touched) continue;
      if (auto c = leader_and_isr_change(t, idx, p, remove, add, unclean_shutdown)) out.push_back(partition_change(*c));
    }
  }
}

bool QuorumController::leads_partitions(int32_t broker_id) const {
  for (const auto& [name, t] : latest_->topics_by_name())
    for (const auto& [idx, p] : t.partitions)
      if (p.leader == broker_id) return true;
  return false;
}

// ---------------------------------------------------------------- AlterPartition

void QuorumController::alter_partition(msg::AlterPartitionRequest request, int16_t version,
                                       std::function<void(msg::AlterPartitionResponse)> done) {
  if (!active_) return answer_error_now(done, ErrorCode::NOT_CONTROLLER);
  const int32_t requester = request.broker_id;
  const auto* reg = latest_->broker(requester);
  if (!reg || reg->epoch != request.broker_epoch) {
    spdlog::info("[QuorumController id={}] Rejecting AlterPartition from broker {}: broker epoch {} is not its registration's ({})",
                 config_.node_id, requester, request.broker_epoch, reg ? reg->epoch : -1);
    return answer_error_now(done, ErrorCode::STALE_BROKER_EPOCH);
  }

  using RespTopic = msg::AlterPartitionResponse::TopicData;
  using RespPartition = msg::AlterPartitionResponse::PartitionData;
  auto response = std::make_shared<msg::AlterPartitionResponse>();
  // Each partition is validated against the state that includes this
  // request's earlier changes, so naming a partition twice cannot apply two
  // changes made from the same partition epoch.
  metadata::MetadataDelta work(latest_);
  std::vector<std::vector<uint8_t>> records;
  // Partitions whose answer is the state after this request's records: (topic index, partition index) in the response.
  std::vector<std::pair<size_t, size_t>> fill_after;

  for (const auto& td : request.topics) {
    RespTopic rt;
    rt.topic_name = td.topic_name;
    rt.topic_id = td.topic_id;
    const metadata::TopicImage* topic = nullptr;
    if (version >= 2) {
      if (!td.topic_id.is_zero()) topic = work.topic(td.topic_id);
    } else {
      auto it = work.topics().find(td.topic_name);
      if (it != work.topics().end()) topic = &it->second;
    }
    if (!topic) {
      ErrorCode ec = version >= 2 ? ErrorCode::UNKNOWN_TOPIC_ID : ErrorCode::UNKNOWN_TOPIC_OR_PARTITION;
      for (const auto& pd : td.partitions) {
        RespPartition rp;
        rp.partition_index = pd.partition_index;
        rp.error_code = code(ec);
        rt.partitions.push_back(rp);
      }
      spdlog::info("[QuorumController id={}] Rejecting AlterPartition from broker {} for unknown topic {}", config_.node_id, requester,
                   version >= 2 ? td.topic_id.to_string() : td.topic_name);
      response->topics.push_back(std::move(rt));
      continue;
    }
    const Uuid topic_id = topic->id;
    const std::string topic_name = topic->name;
    for (const auto& pd : td.partitions) {
      RespPartition rp;
      rp.partition_index = pd.partition_index;
      auto reject = [&](ErrorCode ec, const char* why) {
        spdlog::info("[QuorumController id={}] Rejecting AlterPartition from broker {} for {}-{}: {} ({})", config_.node_id, requester,
                     topic_name, pd.partition_index, why, error_name(ec));
        rp.error_code = code(ec);
        rt.partitions.push_back(rp);
      };
      // The requested ISR with the broker epochs v3 carries (-1: not checked).
      std::vector<std::pair<int32_t, int64_t>> new_isr;
      if (version >= 3) {
        for (const auto& s : pd.new_isr_with_epochs) new_isr.emplace_back(s.broker_id, s.broker_epoch);
      } else {
        for (int32_t b : pd.new_isr) new_isr.emplace_back(b, -1);
      }
      const metadata::TopicImage* t = work.topic(topic_id);
      auto pit = t->partitions.find(pd.partition_index);
      if (pit == t->partitions.end()) {
        reject(ErrorCode::UNKNOWN_TOPIC_OR_PARTITION, "no such partition");
        continue;
      }
      const metadata::PartitionRegistration& p = pit->second;
      // A leader that knows newer epochs than the active controller's latest
      // state is talking to a controller that is no longer active.
      if (pd.leader_epoch > p.leader_epoch || pd.partition_epoch > p.partition_epoch) {
        reject(ErrorCode::NOT_CONTROLLER, "the requester knows a newer epoch");
        continue;
      }
      if (pd.leader_epoch < p.leader_epoch) {
        reject(ErrorCode::FENCED_LEADER_EPOCH, "stale leader epoch");
        continue;
      }
      if (requester != p.leader) {
        reject(ErrorCode::INVALID_REQUEST, "the requester is not the leader");
        continue;
      }
      if (pd.partition_epoch < p.partition_epoch) {
        reject(ErrorCode::INVALID_UPDATE_VERSION, "stale partition epoch");
        continue;
      }
      std::vector<int32_t> isr;
      std::set<int32_t> seen;
      bool valid = true;
      for (const auto& [b, e] : new_isr) {
        valid &= seen.insert(b).second && contains(p.replicas, b);
        isr.push_back(b);
      }
      if (!valid) {
        reject(ErrorCode::INVALID_REQUEST, "the new ISR is not a subset of the replicas");
        continue;
      }
      if (!contains(isr, p.leader)) {
        reject(ErrorCode::INVALID_REQUEST, "the new ISR does not contain the leader");
        continue;
      }
      int8_t recovery = version >= 1 ? pd.leader_recovery_state : kLeaderRecovered;
      if (recovery != kLeaderRecovered && recovery != kLeaderRecovering) {
        reject(ErrorCode::INVALID_REQUEST, "unknown leader recovery state");
        continue;
      }
      if (recovery == kLeaderRecovering && isr.size() > 1) {
        reject(ErrorCode::INVALID_REQUEST, "a recovering leader cannot have other ISR members");
        continue;
      }
      if (p.leader_recovery_state == kLeaderRecovered && recovery == kLeaderRecovering) {
        reject(ErrorCode::INVALID_REQUEST, "the leader recovery state cannot go from RECOVERED to RECOVERING");
        continue;
      }
      // Every member must be able to serve as leader now: registered,
      // unfenced, not shutting down, and (v3) the incarnation the leader saw
      // catch up — a restarted follower has a new broker epoch.
      bool eligible = true;
      for (const auto& [b, e] : new_isr) {
        const auto* breg = latest_->broker(b);
        if (!is_live(b) || (e != -1 && breg->epoch != e)) {
          eligible = false;
          break;
        }
      }
      if (!eligible) {
        reject(version >= 2 ? ErrorCode::INELIGIBLE_REPLICA : ErrorCode::OPERATION_NOT_ATTEMPTED, "ineligible replica in the new ISR");
        continue;
      }
      if (elr_enabled()) {
        // The leader stays (it is in the new ISR); the ELR follows the ISR's size.
        PartitionChange change(p, topic_id, pd.partition_index, [&](int32_t b) { return b == requester || is_live(b); }, mv());
        configure_elr(change, *work.topic(topic_id));
        change.set_target_isr(isr).set_target_leader_recovery_state(recovery);
        change.set_default_dir([this](int32_t b) { return directories_for({b}).front(); });
        if (auto c = change.build()) {
          work.replay(*c);
          records.push_back(partition_change(*c));
        }
        rp.error_code = 0;
        fill_after.emplace_back(response->topics.size(), rt.partitions.size());
        rt.partitions.push_back(rp);
        continue;
      }
      msg::PartitionChangeRecord c;
      c.topic_id = topic_id;
      c.partition_id = pd.partition_index;
      bool changed = false;
      if (isr != p.isr) {
        c.isr = isr;
        changed = true;
        if (mv() < kMvNoIsrShrinkBump && !contains_all(isr, p.isr)) c.leader = p.leader;  // leader epoch bump on shrink (old brokers)
      }
      if (recovery != p.leader_recovery_state && mv() >= kMvLeaderRecovery) {
        c.leader_recovery_state = recovery;
        changed = true;
      }
      if (changed) {
        spdlog::debug("[QuorumController id={}] Broker {} alters the ISR of {}-{} to {}", config_.node_id, requester, topic_name,
                      pd.partition_index, fmt::join(isr, ","));
        work.replay(c);
        records.push_back(partition_change(c));
      }
      rp.error_code = 0;
      fill_after.emplace_back(response->topics.size(), rt.partitions.size());
      rt.partitions.push_back(rp);
    }
    response->topics.push_back(std::move(rt));
  }

  // The answer is the state after this request's records (the working state
  // equals what latest_ becomes once they are written).
  for (auto [ti, pi] : fill_after) {
    const auto& td = request.topics[ti];
    auto& rp = response->topics[ti].partitions[pi];
    const metadata::TopicImage* t = nullptr;
    if (version >= 2) {
      t = work.topic(td.topic_id);
    } else {
      auto it = work.topics().find(td.topic_name);
      t = it == work.topics().end() ? nullptr : &it->second;
    }
    const auto& p = t->partitions.at(rp.partition_index);
    rp.leader_id = p.leader;
    rp.leader_epoch = p.leader_epoch;
    rp.isr = p.isr;
    rp.leader_recovery_state = p.leader_recovery_state;
    rp.partition_epoch = p.partition_epoch;
  }

  std::optional<int64_t> off;
  if (!records.empty()) off = write(std::move(records));  // one batch: all or nothing
  after_commit_of(off, [done = std::move(done), response](ErrorCode ec) mutable {
    if (ec != ErrorCode::NONE) {
      // Leadership was lost: the records may or may not commit; the leader
      // retries with the next controller, whose epochs then decide.
      msg::AlterPartitionResponse r;
      r.error_code = code(ec);
      return done(std::move(r));
    }
    done(std::move(*response));
  });
}

}  // namespace flotilla::controller
