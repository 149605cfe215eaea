// The classic group coordinator and __consumer_offsets (group_coordinator.h):
// leadership of its partitions, loading a partition's groups, offsets and
// pending transactional offsets (handing its KIP-848 consumer groups on),
// unloading it, and the records the coordinator writes for a group
// (GroupMetadataValue) and for consumer groups.
//
// Invariants: a partition answers requests only once loaded
// (COORDINATOR_LOAD_IN_PROGRESS until then); a load applies only if the
// partition is still led at the epoch it started at (load_applies); every
// write names the epoch the partition is led at, so a write of a former
// coordinator epoch fails rather than overwrite the next coordinator's state.
//
// Threading: the broker's io_context thread; a load's answer comes on a later turn.
#include <spdlog/spdlog.h>

#include "coordinator/classic_group.h"
#include "coordinator/group_coordinator.h"

namespace flotilla::coordinator {

void GroupCoordinator::on_leadership(int32_t partition, int32_t epoch, bool leader) {
  switch (apply_leadership(partitions_, partition, epoch, leader, [this](int32_t p) { unload_partition(p); })) {
    case LeadershipChange::None: return;
    case LeadershipChange::Resigned:
      spdlog::info("[GroupCoordinator] Resigned as the group coordinator for partition {} in epoch {}", partition, epoch);
      return;
    case LeadershipChange::Elected: break;
  }
  spdlog::info("[GroupCoordinator] Elected as the group coordinator for partition {} in epoch {}: loading", partition, epoch);
  auto alive = alive_;
  store_.load(partition, epoch, [this, alive, partition, epoch](std::optional<LoadedPartition> state) {
    // No state: leadership moved on meanwhile; the hook tells us.
    if (!*alive || !state || !load_applies(partitions_, partition, epoch)) return;
    load_partition_state(partition, epoch, std::move(*state));
  });
}

void GroupCoordinator::load_partition_state(int32_t partition, int32_t epoch, LoadedPartition state) {
  const int64_t now = now_ms_();
  for (auto& [pid, groups] : state.pending_txn_offsets)
    for (auto& [gid, offs] : groups)
      if (partition_for(gid) == partition) pending_txn_offsets_[pid][gid] = std::move(offs);
  for (auto& [gid, offs] : state.offsets) {
    if (partition_for(gid) != partition) continue;
    offsets_[gid] = std::move(offs);
    Group& g = get_or_create_group(gid);
    (void)g;
  }
  for (auto& [gid, v] : state.groups) {
    if (partition_for(gid) != partition) continue;
    // A KIP-848 consumer group with members holds the id: it wins.
    if (auto cit = state.consumer_groups.find(gid); cit != state.consumer_groups.end() && !cit->second.members.empty()) continue;
    Group& g = get_or_create_group(gid);
    g.generation = v.generation;
    g.protocol_type = v.protocol_type;
    g.protocol = v.protocol;
    g.leader = v.leader.value_or("");
    g.members.clear();
    g.static_members.clear();
    for (const auto& mm : v.members) {
      Member m;
      m.id = mm.member_id;
      m.instance_id = mm.group_instance_id;
      m.client_id = mm.client_id;
      m.client_host = mm.client_host;
      m.rebalance_timeout_ms = mm.rebalance_timeout >= 0 ? mm.rebalance_timeout : mm.session_timeout;
      m.session_timeout_ms = mm.session_timeout;
      m.protocol_type = v.protocol_type;
      m.protocols.push_back({v.protocol.value_or(""), mm.subscription});
      m.assignment = mm.assignment;
      m.heartbeat_deadline = now + m.session_timeout_ms;
      if (m.instance_id) g.static_members[*m.instance_id] = m.id;
      g.members[m.id] = std::move(m);
    }
    g.state = g.members.empty() ? GroupState::Empty : GroupState::Stable;
    g.state_timestamp = v.current_state_timestamp >= 0 ? v.current_state_timestamp : -1;
  }
  if (on_consumer_groups_loaded) on_consumer_groups_loaded(partition, state.consumer_groups);
  partitions_[partition].loaded = true;
  spdlog::info("[GroupCoordinator] Loaded partition {} (epoch {}): {} groups, {} consumer groups", partition, epoch, state.groups.size(),
               state.consumer_groups.size());
}

void GroupCoordinator::unload_partition(int32_t partition) {
  for (auto it = pending_txn_offsets_.begin(); it != pending_txn_offsets_.end();) {
    std::erase_if(it->second, [&](const auto& kv) { return partition_for(kv.first) == partition; });
    it = it->second.empty() ? pending_txn_offsets_.erase(it) : std::next(it);
  }
  for (auto it = groups_.begin(); it != groups_.end();) {
    Group& g = *it->second;
    if (g.partition != partition) {
      ++it;
      continue;
    }
    g.state = GroupState::Dead;
    for (auto& [id, m] : g.members) {
      if (m.awaiting_join) std::exchange(m.awaiting_join, nullptr)(join_error(ErrorCode::NOT_COORDINATOR, id));
      if (m.awaiting_sync) std::exchange(m.awaiting_sync, nullptr)(sync_error(ErrorCode::NOT_COORDINATOR));
    }
    offsets_.erase(g.id);
    it = groups_.erase(it);
  }
  std::erase_if(offsets_, [&](const auto& kv) { return partition_for(kv.first) == partition; });
}

// ---------------------------------------------------------------- persistence

msg::GroupMetadataValue GroupCoordinator::group_value(const Group& g, const std::map<std::string, std::vector<uint8_t>>* assignment) const {
  msg::GroupMetadataValue v;
  v.protocol_type = g.protocol_type;
  v.generation = g.generation;
  v.protocol = g.state == GroupState::Empty ? std::nullopt : g.protocol;
  v.leader = g.leader.empty() || g.members.empty() ? std::nullopt : std::optional<std::string>(g.leader);
  v.current_state_timestamp = g.state_timestamp >= 0 ? g.state_timestamp : wall_ms_();
  for (const auto& [id, m] : g.members) {
    msg::GroupMetadataValue::MemberMetadata mm;
    mm.member_id = id;
    mm.group_instance_id = m.instance_id;
    mm.client_id = m.client_id;
    mm.client_host = m.client_host;
    mm.rebalance_timeout = m.rebalance_timeout_ms;
    mm.session_timeout = m.session_timeout_ms;
    if (g.protocol)
      if (const auto* md = m.metadata(*g.protocol)) mm.subscription = *md;
    if (assignment) {
      auto a = assignment->find(id);
      if (a != assignment->end()) mm.assignment = a->second;
    } else {
      mm.assignment = m.assignment;
    }
    v.members.push_back(std::move(mm));
  }
  return v;
}

void GroupCoordinator::store_group(Group& g, std::map<std::string, std::vector<uint8_t>> assignment, std::function<void(ErrorCode)> done) {
  auto pit = partitions_.find(g.partition);
  if (pit == partitions_.end()) return done(ErrorCode::NOT_COORDINATOR);
  std::vector<GroupRecord> recs;
  recs.push_back(GroupRecord{encode_group_key(g.id), encode_group_value(group_value(g, assignment.empty() ? nullptr : &assignment))});
  store_.append(g.partition, pit->second.epoch, std::move(recs), std::move(done));
}

void GroupCoordinator::append_consumer_group_records(int32_t partition, std::vector<GroupRecord> records, std::function<void(ErrorCode)> done) {
  auto pit = partitions_.find(partition);
  if (pit == partitions_.end()) return done(ErrorCode::NOT_COORDINATOR);
  if (records.empty()) return done(ErrorCode::NONE);
  store_.append(partition, pit->second.epoch, std::move(records), [done = std::move(done)](ErrorCode e) { done(map_group_store_error(e)); });
}

}  // namespace flotilla::coordinator
