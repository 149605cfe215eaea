#include "broker/group_coordinator.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <random>

#include "broker/consumer_group.h"
#include "broker/replica_manager.h"
#include "common/clock.h"

namespace flotilla::broker {

using Protocols = std::vector<std::pair<std::string, std::vector<uint8_t>>>;

const char* group_state_name(GroupState s) {
  switch (s) {
    case GroupState::Empty: return "Empty";
    case GroupState::PreparingRebalance: return "PreparingRebalance";
    case GroupState::CompletingRebalance: return "CompletingRebalance";
    case GroupState::Stable: return "Stable";
    case GroupState::Dead: return "Dead";
  }
  return "Unknown";
}

struct GroupCoordinator::Member {
  std::string id;
  std::optional<std::string> instance_id;
  std::string client_id, client_host;
  int32_t rebalance_timeout_ms = 0;
  int32_t session_timeout_ms = 0;
  std::string protocol_type;
  Protocols protocols;
  std::vector<uint8_t> assignment;
  std::function<void(JoinResult)> awaiting_join;
  std::function<void(SyncResult)> awaiting_sync;
  int64_t heartbeat_deadline = 0;
  bool is_new = false;

  const std::vector<uint8_t>* metadata(const std::string& protocol) const {
    for (const auto& [n, m] : protocols)
      if (n == protocol) return &m;
    return nullptr;
  }
};

struct GroupCoordinator::Group {
  std::string id;
  int32_t partition = 0;
  GroupState state = GroupState::Empty;
  int32_t generation = 0;
  std::string protocol_type;  // empty: none
  std::optional<std::string> protocol;
  std::string leader;  // empty: none
  std::map<std::string, Member> members;
  std::map<std::string, int64_t> pending;               // member id → deadline (KIP-394)
  std::map<std::string, std::string> static_members;    // group.instance.id → member id
  int64_t join_deadline = -1;
  bool initial_delay = false;
  int64_t initial_remaining = 0;
  bool new_member_added = false;
  int64_t sync_deadline = -1;
  int64_t state_timestamp = -1;  // wall_ms() when the group entered its state (Kafka's currentStateTimestamp); -1: unknown

  int32_t rebalance_timeout() const {
    int32_t t = 0;
    for (const auto& [id, m] : members) t = std::max(t, m.rebalance_timeout_ms);
    return t;
  }
  bool all_joined() const {
    for (const auto& [id, m] : members)
      if (!m.awaiting_join) return false;
    return pending.empty();
  }
};

namespace {

std::string random_uuid_string() {
  static std::mt19937_64 rng{std::random_device{}()};
  uint64_t a = rng(), b = rng();
  a = (a & 0xFFFFFFFFFFFF0FFFULL) | 0x0000000000004000ULL;  // version 4
  b = (b & 0x3FFFFFFFFFFFFFFFULL) | 0x8000000000000000ULL;  // variant
  char buf[40];
  snprintf(buf, sizeof buf, "%08x-%04x-%04x-%04x-%012llx", static_cast<unsigned>(a >> 32), static_cast<unsigned>((a >> 16) & 0xFFFF),
           static_cast<unsigned>(a & 0xFFFF), static_cast<unsigned>(b >> 48), static_cast<unsigned long long>(b & 0xFFFFFFFFFFFFULL));
  return buf;
}

// Kafka's GroupMetadataManager mapping of append errors for group writes.
ErrorCode map_group_store_error(ErrorCode e) {
  switch (e) {
    case ErrorCode::NONE: return e;
    case ErrorCode::UNKNOWN_TOPIC_OR_PARTITION:
    case ErrorCode::NOT_ENOUGH_REPLICAS:
    case ErrorCode::NOT_ENOUGH_REPLICAS_AFTER_APPEND:
    case ErrorCode::REQUEST_TIMED_OUT: return ErrorCode::COORDINATOR_NOT_AVAILABLE;
    case ErrorCode::NOT_LEADER_OR_FOLLOWER:
    case ErrorCode::KAFKA_STORAGE_ERROR: return ErrorCode::NOT_COORDINATOR;
    case ErrorCode::MESSAGE_TOO_LARGE:
    case ErrorCode::RECORD_LIST_TOO_LARGE:
    case ErrorCode::INVALID_FETCH_SIZE: return ErrorCode::UNKNOWN_SERVER_ERROR;
    default: return e;
  }
}

// ... and for offset commits.
ErrorCode map_offset_store_error(ErrorCode e) {
  switch (e) {
    case ErrorCode::MESSAGE_TOO_LARGE:
    case ErrorCode::RECORD_LIST_TOO_LARGE:
    case ErrorCode::INVALID_FETCH_SIZE: return ErrorCode::INVALID_COMMIT_OFFSET_SIZE;
    default: return map_group_store_error(e);
  }
}

JoinResult join_error(ErrorCode e, std::string member_id = "") {
  JoinResult r;
  r.error = e;
  r.member_id = std::move(member_id);
  return r;
}

SyncResult sync_error(ErrorCode e) {
  SyncResult r;
  r.error = e;
  return r;
}

}  // namespace

GroupCoordinator::GroupCoordinator(GroupCoordinatorConfig config, GroupStore& store, std::function<int64_t()> now_ms,
                                   std::function<int64_t()> wall_ms)
    : config_(config), store_(store), now_ms_(std::move(now_ms)), wall_ms_(std::move(wall_ms)) {
  next_cleanup_ms_ = now_ms_() + config_.offsets_retention_check_interval_ms;
}

GroupCoordinator::~GroupCoordinator() { *alive_ = false; }

ErrorCode GroupCoordinator::check_coordinator(const std::string& group_id) const {
  auto it = partitions_.find(partition_for(group_id));
  if (it == partitions_.end()) return ErrorCode::NOT_COORDINATOR;
  if (!it->second.loaded) return ErrorCode::COORDINATOR_LOAD_IN_PROGRESS;
  return ErrorCode::NONE;
}

GroupCoordinator::Group* GroupCoordinator::find_group(const std::string& id) {
  auto it = groups_.find(id);
  return it == groups_.end() ? nullptr : it->second.get();
}

GroupCoordinator::Group& GroupCoordinator::get_or_create_group(const std::string& id) {
  auto& slot = groups_[id];
  if (!slot) {
    slot = std::make_unique<Group>();
    slot->id = id;
    slot->partition = partition_for(id);
    slot->state_timestamp = wall_ms_();
  }
  return *slot;
}

std::optional<GroupState> GroupCoordinator::state_of(const std::string& group_id) const {
  auto it = groups_.find(group_id);
  if (it == groups_.end()) return std::nullopt;
  return it->second->state;
}

int32_t GroupCoordinator::generation_of(const std::string& group_id) const {
  auto it = groups_.find(group_id);
  return it == groups_.end() ? -1 : it->second->generation;
}

void GroupCoordinator::transition(Group& g, GroupState s) {
  if (g.state != s)
    spdlog::debug("[GroupCoordinator] Group {} transitions from {} to {} (generation {})", g.id, group_state_name(g.state), group_state_name(s),
                  g.generation);
  if (g.state != s) g.state_timestamp = wall_ms_();
  g.state = s;
}

// ---------------------------------------------------------------- leadership and loading

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

// ---------------------------------------------------------------- join

bool GroupCoordinator::supports_protocols(const Group& g, const std::string& type, const Protocols& protos) const {
  if (type.empty() || protos.empty()) return false;
  if (g.members.empty()) return true;
  if (g.protocol_type != type) return false;
  for (const auto& [name, meta] : protos) {
    bool all = true;
    for (const auto& [id, m] : g.members)
      if (!m.metadata(name)) {
        all = false;
        break;
      }
    if (all) return true;
  }
  return false;
}

std::string GroupCoordinator::select_protocol(const Group& g) const {
  // Candidates: protocols every member supports; each member votes for its
  // most preferred candidate.
  std::vector<std::string> candidates;
  if (g.members.empty()) return "";
  for (const auto& [name, meta] : g.members.begin()->second.protocols) {
    bool all = true;
    for (const auto& [id, m] : g.members)
      if (!m.metadata(name)) all = false;
    if (all) candidates.push_back(name);
  }
  if (candidates.empty()) return "";
  std::map<std::string, int> votes;
  for (const auto& [id, m] : g.members) {
    for (const auto& [name, meta] : m.protocols)
      if (std::find(candidates.begin(), candidates.end(), name) != candidates.end()) {
        ++votes[name];
        break;
      }
  }
  std::string best = candidates.front();
  for (const auto& c : candidates)
    if (votes[c] > votes[best]) best = c;
  return best;
}

void GroupCoordinator::join_group(JoinParams p, std::function<void(JoinResult)> done) {
  if (p.group_id.empty()) return done(join_error(ErrorCode::INVALID_GROUP_ID, p.member_id));
  if (ErrorCode e = check_coordinator(p.group_id); e != ErrorCode::NONE) return done(join_error(e, p.member_id));
  if (p.session_timeout_ms < config_.group_min_session_timeout_ms || p.session_timeout_ms > config_.group_max_session_timeout_ms)
    return done(join_error(ErrorCode::INVALID_SESSION_TIMEOUT, p.member_id));
  if (p.rebalance_timeout_ms < 0) p.rebalance_timeout_ms = p.session_timeout_ms;  // JoinGroup v0
  const bool unknown = p.member_id.empty();
  Group* gp = find_group(p.group_id);
  if (!gp) {
    if (!unknown) return done(join_error(ErrorCode::UNKNOWN_MEMBER_ID, p.member_id));
    gp = &get_or_create_group(p.group_id);
  }
  Group& g = *gp;
  if (g.state == GroupState::Dead) return done(join_error(ErrorCode::COORDINATOR_NOT_AVAILABLE, p.member_id));
  // group.max.size: a member not in the group yet may not join a full one.
  if (!g.members.count(p.member_id) && !g.pending.count(p.member_id) &&
      static_cast<int64_t>(g.members.size() + g.pending.size()) >= config_.group_max_size &&
      !(p.group_instance_id && g.static_members.count(*p.group_instance_id)))
    return done(join_error(ErrorCode::GROUP_MAX_SIZE_REACHED, p.member_id));
  if (!supports_protocols(g, p.protocol_type, p.protocols)) return done(join_error(ErrorCode::INCONSISTENT_GROUP_PROTOCOL, p.member_id));

  if (unknown) {
    std::string new_id = (p.group_instance_id ? *p.group_instance_id : p.client_id) + "-" + random_uuid_string();
    if (p.group_instance_id) return static_member_join(g, p, new_id, std::move(done));
    if (p.require_known_member_id) {
      g.pending[new_id] = now_ms_() + p.session_timeout_ms;
      return done(join_error(ErrorCode::MEMBER_ID_REQUIRED, new_id));
    }
    return add_member_and_rebalance(g, p, new_id, std::move(done));
  }

  if (g.pending.count(p.member_id)) return add_member_and_rebalance(g, p, p.member_id, std::move(done));
  if (p.group_instance_id) {
    auto sit = g.static_members.find(*p.group_instance_id);
    if (sit != g.static_members.end() && sit->second != p.member_id) return done(join_error(ErrorCode::FENCED_INSTANCE_ID, p.member_id));
  }
  auto mit = g.members.find(p.member_id);
  if (mit == g.members.end()) return done(join_error(ErrorCode::UNKNOWN_MEMBER_ID, p.member_id));
  Member& m = mit->second;
  switch (g.state) {
    case GroupState::PreparingRebalance: return update_member_and_rebalance(g, m, p, std::move(done));
    case GroupState::CompletingRebalance:
      if (m.protocols == p.protocols) {
        heartbeat_member(g, m);
        return done(join_result_for(g, m, m.id == g.leader));
      }
      return update_member_and_rebalance(g, m, p, std::move(done));
    case GroupState::Stable:
      if (m.id == g.leader || m.protocols != p.protocols) return update_member_and_rebalance(g, m, p, std::move(done));
      heartbeat_member(g, m);
      return done(join_result_for(g, m, false));
    default: return done(join_error(ErrorCode::UNKNOWN_MEMBER_ID, p.member_id));
  }
}

void GroupCoordinator::static_member_join(Group& g, const JoinParams& p, const std::string& new_id, std::function<void(JoinResult)> done) {
  auto sit = g.static_members.find(*p.group_instance_id);
  if (sit == g.static_members.end() || !g.members.count(sit->second)) return add_member_and_rebalance(g, p, new_id, std::move(done));
  if (g.state == GroupState::Empty || g.state == GroupState::Dead) return done(join_error(ErrorCode::UNKNOWN_MEMBER_ID, p.member_id));
  // Replace the old member id by the new one; the old one is fenced.
  const std::string old_id = sit->second;
  Member m = std::move(g.members[old_id]);
  g.members.erase(old_id);
  if (m.awaiting_join) std::exchange(m.awaiting_join, nullptr)(join_error(ErrorCode::FENCED_INSTANCE_ID, old_id));
  if (m.awaiting_sync) std::exchange(m.awaiting_sync, nullptr)(sync_error(ErrorCode::FENCED_INSTANCE_ID));
  m.id = new_id;
  m.client_id = p.client_id;
  m.client_host = p.client_host;
  m.session_timeout_ms = p.session_timeout_ms;
  m.rebalance_timeout_ms = p.rebalance_timeout_ms;
  const bool was_leader = g.leader == old_id;
  if (was_leader) g.leader = new_id;
  sit->second = new_id;
  Member& nm = g.members[new_id] = std::move(m);
  spdlog::info("[GroupCoordinator] Static member {} of group {} rejoined: member id {} replaces {}", *p.group_instance_id, g.id, new_id, old_id);
  if (g.state == GroupState::Stable && nm.protocols == p.protocols) {
    // Same subscription: no rebalance, persist the new member id and hand
    // back the current generation (the leader skips assignment, KIP-814).
    heartbeat_member(g, nm);
    const std::string gid = g.id;
    const int32_t gen = g.generation;
    auto alive = alive_;
    store_group(g, {}, [this, alive, gid, gen, new_id, was_leader, done](ErrorCode e) {
      if (!*alive) return;
      Group* gg = find_group(gid);
      if (e != ErrorCode::NONE) return done(join_error(map_group_store_error(e), new_id));
      if (!gg || !gg->members.count(new_id)) return done(join_error(ErrorCode::UNKNOWN_MEMBER_ID, new_id));
      JoinResult r = join_result_for(*gg, gg->members[new_id], was_leader);
      r.generation_id = gen;
      r.skip_assignment = was_leader;
      done(std::move(r));
    });
    return;
  }
  update_member_and_rebalance(g, nm, p, std::move(done));
}

void GroupCoordinator::add_member_and_rebalance(Group& g, const JoinParams& p, const std::string& member_id,
                                                std::function<void(JoinResult)> done) {
  Member m;
  m.id = member_id;
  m.instance_id = p.group_instance_id;
  m.client_id = p.client_id;
  m.client_host = p.client_host;
  m.rebalance_timeout_ms = p.rebalance_timeout_ms;
  m.session_timeout_ms = p.session_timeout_ms;
  m.protocol_type = p.protocol_type;
  m.protocols = p.protocols;
  m.awaiting_join = std::move(done);
  m.is_new = true;
  m.heartbeat_deadline = now_ms_() + p.session_timeout_ms;
  if (g.members.empty()) g.protocol_type = p.protocol_type;
  if (g.leader.empty()) g.leader = member_id;
  if (m.instance_id) g.static_members[*m.instance_id] = member_id;
  g.pending.erase(member_id);
  g.members[member_id] = std::move(m);
  g.new_member_added = true;
  if (g.state == GroupState::Stable || g.state == GroupState::CompletingRebalance || g.state == GroupState::Empty)
    prepare_rebalance(g, "Adding new member " + member_id);
  maybe_complete_join(g);
}

void GroupCoordinator::update_member_and_rebalance(Group& g, Member& m, const JoinParams& p, std::function<void(JoinResult)> done) {
  m.protocols = p.protocols;
  m.rebalance_timeout_ms = p.rebalance_timeout_ms;
  m.session_timeout_ms = p.session_timeout_ms;
  if (m.awaiting_join) std::exchange(m.awaiting_join, nullptr)(join_error(ErrorCode::REBALANCE_IN_PROGRESS, m.id));
  m.awaiting_join = std::move(done);
  if (g.state == GroupState::Stable || g.state == GroupState::CompletingRebalance || g.state == GroupState::Empty)
    prepare_rebalance(g, "Updating metadata for member " + m.id);
  maybe_complete_join(g);
}

void GroupCoordinator::prepare_rebalance(Group& g, const std::string& reason) {
  if (g.state == GroupState::CompletingRebalance) reset_and_propagate_sync_error(g, ErrorCode::REBALANCE_IN_PROGRESS);
  const int64_t now = now_ms_();
  const int32_t rt = g.rebalance_timeout();
  if (g.state == GroupState::Empty && config_.group_initial_rebalance_delay_ms > 0) {
    g.initial_delay = true;
    g.join_deadline = now + config_.group_initial_rebalance_delay_ms;
    g.initial_remaining = std::max<int64_t>(rt - config_.group_initial_rebalance_delay_ms, 0);
    g.new_member_added = false;
  } else {
    g.initial_delay = false;
    g.join_deadline = now + rt;
  }
  g.sync_deadline = -1;
  spdlog::info("[GroupCoordinator] Preparing to rebalance group {} in state {} with old generation {} (reason: {})", g.id,
               group_state_name(g.state), g.generation, reason);
  transition(g, GroupState::PreparingRebalance);
}

void GroupCoordinator::maybe_complete_join(Group& g) {
  if (g.state != GroupState::PreparingRebalance || g.initial_delay) return;
  if (g.all_joined()) complete_join(g);
}

JoinResult GroupCoordinator::join_result_for(Group& g, Member& m, bool leader_view) {
  JoinResult r;
  r.generation_id = g.generation;
  r.protocol_type = g.protocol_type;
  r.protocol_name = g.protocol;
  r.leader = g.leader;
  r.member_id = m.id;
  if (leader_view) {
    for (const auto& [id, mm] : g.members) {
      const std::vector<uint8_t>* md = g.protocol ? mm.metadata(*g.protocol) : nullptr;
      r.members.push_back(JoinMember{id, mm.instance_id, md ? *md : std::vector<uint8_t>{}});
    }
  }
  return r;
}

void GroupCoordinator::complete_join(Group& g) {
  g.initial_delay = false;
  g.join_deadline = -1;
  // Dynamic members that did not rejoin in time leave; static ones stay.
  std::vector<std::string> gone;
  for (const auto& [id, m] : g.members)
    if (!m.awaiting_join && !m.instance_id) gone.push_back(id);
  for (const auto& id : gone) {
    g.members.erase(id);
    if (g.leader == id) g.leader.clear();
  }
  if (!g.leader.empty() && (!g.members.count(g.leader) || !g.members[g.leader].awaiting_join)) g.leader.clear();
  if (g.leader.empty()) {
    for (const auto& [id, m] : g.members)
      if (m.awaiting_join) {
        g.leader = id;
        break;
      }
    if (g.leader.empty() && !g.members.empty()) g.leader = g.members.begin()->first;
  }
  ++g.generation;
  if (g.members.empty()) {
    g.protocol.reset();
    g.leader.clear();
    transition(g, GroupState::Empty);
    spdlog::info("[GroupCoordinator] Group {} with generation {} is now empty", g.id, g.generation);
    store_group(g, {}, [gid = g.id](ErrorCode e) {
      if (e != ErrorCode::NONE) spdlog::warn("[GroupCoordinator] Failed to write empty metadata for group {}: {}", gid, error_name(e));
    });
    return;
  }
  g.protocol = select_protocol(g);
  transition(g, GroupState::CompletingRebalance);
  const int64_t now = now_ms_();
  g.sync_deadline = now + g.rebalance_timeout();
  spdlog::info("[GroupCoordinator] Stabilized group {} generation {} with {} members (protocol {})", g.id, g.generation, g.members.size(),
               *g.protocol);
  std::vector<std::pair<std::function<void(JoinResult)>, JoinResult>> answers;
  for (auto& [id, m] : g.members) {
    m.is_new = false;
    m.heartbeat_deadline = now + m.session_timeout_ms;
    if (!m.awaiting_join) continue;
    answers.emplace_back(std::exchange(m.awaiting_join, nullptr), join_result_for(g, m, id == g.leader));
  }
  for (auto& [cb, r] : answers) cb(std::move(r));
}

// ---------------------------------------------------------------- sync

void GroupCoordinator::reset_and_propagate_sync_error(Group& g, ErrorCode e) {
  for (auto& [id, m] : g.members) m.assignment.clear();
  propagate_assignment(g, e);
}

void GroupCoordinator::propagate_assignment(Group& g, ErrorCode e) {
  std::vector<std::pair<std::function<void(SyncResult)>, SyncResult>> answers;
  for (auto& [id, m] : g.members) {
    if (!m.awaiting_sync) continue;
    SyncResult r;
    r.error = e;
    if (e == ErrorCode::NONE) {
      r.assignment = m.assignment;
      r.protocol_type = g.protocol_type;
      r.protocol_name = g.protocol;
    }
    answers.emplace_back(std::exchange(m.awaiting_sync, nullptr), std::move(r));
    m.heartbeat_deadline = now_ms_() + m.session_timeout_ms;
  }
  for (auto& [cb, r] : answers) cb(std::move(r));
}

void GroupCoordinator::sync_group(SyncParams p, std::function<void(SyncResult)> done) {
  if (p.group_id.empty()) return done(sync_error(ErrorCode::INVALID_GROUP_ID));
  if (ErrorCode e = check_coordinator(p.group_id); e != ErrorCode::NONE) {
    // A loading coordinator answers REBALANCE_IN_PROGRESS so that the member rejoins (Kafka).
    return done(sync_error(e == ErrorCode::COORDINATOR_LOAD_IN_PROGRESS ? ErrorCode::REBALANCE_IN_PROGRESS : e));
  }
  Group* gp = find_group(p.group_id);
  if (!gp) return done(sync_error(ErrorCode::UNKNOWN_MEMBER_ID));
  Group& g = *gp;
  if (g.state == GroupState::Dead) return done(sync_error(ErrorCode::COORDINATOR_NOT_AVAILABLE));
  if (p.group_instance_id) {
    auto sit = g.static_members.find(*p.group_instance_id);
    if (sit != g.static_members.end() && sit->second != p.member_id) return done(sync_error(ErrorCode::FENCED_INSTANCE_ID));
  }
  auto mit = g.members.find(p.member_id);
  if (mit == g.members.end()) return done(sync_error(ErrorCode::UNKNOWN_MEMBER_ID));
  if (p.generation_id != g.generation) return done(sync_error(ErrorCode::ILLEGAL_GENERATION));
  if ((p.protocol_type && *p.protocol_type != g.protocol_type) || (p.protocol_name && (!g.protocol || *p.protocol_name != *g.protocol)))
    return done(sync_error(ErrorCode::INCONSISTENT_GROUP_PROTOCOL));
  Member& m = mit->second;
  switch (g.state) {
    case GroupState::Empty: return done(sync_error(ErrorCode::UNKNOWN_MEMBER_ID));
    case GroupState::PreparingRebalance: return done(sync_error(ErrorCode::REBALANCE_IN_PROGRESS));
    case GroupState::Stable: {
      m.heartbeat_deadline = now_ms_() + m.session_timeout_ms;
      SyncResult r;
      r.assignment = m.assignment;
      r.protocol_type = g.protocol_type;
      r.protocol_name = g.protocol;
      return done(std::move(r));
    }
    case GroupState::CompletingRebalance: break;
    default: return done(sync_error(ErrorCode::UNKNOWN_MEMBER_ID));
  }
  if (m.awaiting_sync) std::exchange(m.awaiting_sync, nullptr)(sync_error(ErrorCode::REBALANCE_IN_PROGRESS));
  m.awaiting_sync = std::move(done);
  m.heartbeat_deadline = now_ms_() + m.session_timeout_ms;
  if (m.id != g.leader) return;
  std::map<std::string, std::vector<uint8_t>> assignment;
  for (auto& [mid, a] : p.assignments)
    if (g.members.count(mid)) assignment[mid] = std::move(a);
  for (const auto& [mid, mm] : g.members) assignment.try_emplace(mid);
  const std::string gid = g.id;
  const int32_t gen = g.generation;
  auto alive = alive_;
  store_group(g, assignment, [this, alive, gid, gen, assignment](ErrorCode e) {
    if (!*alive) return;
    Group* gg = find_group(gid);
    if (!gg || gg->state != GroupState::CompletingRebalance || gg->generation != gen) return;
    if (e != ErrorCode::NONE) {
      reset_and_propagate_sync_error(*gg, map_group_store_error(e));
      prepare_rebalance(*gg, "Error " + std::string(error_name(e)) + " when storing group assignment");
      maybe_complete_join(*gg);
      return;
    }
    for (auto& [mid, mm] : gg->members) {
      auto a = assignment.find(mid);
      mm.assignment = a == assignment.end() ? std::vector<uint8_t>{} : a->second;
    }
    gg->sync_deadline = -1;
    propagate_assignment(*gg, ErrorCode::NONE);
    transition(*gg, GroupState::Stable);
  });
}

void GroupCoordinator::heartbeat_member(Group& g, Member& m) {
  (void)g;
  m.heartbeat_deadline = now_ms_() + m.session_timeout_ms;
}

ErrorCode GroupCoordinator::heartbeat(const std::string& group_id, const std::string& member_id, const std::optional<std::string>& instance_id,
                                      int32_t generation) {
  if (ErrorCode e = check_coordinator(group_id); e != ErrorCode::NONE) {
    // Kafka: a loading coordinator lets heartbeats pass (the member rejoins later if needed).
    return e == ErrorCode::COORDINATOR_LOAD_IN_PROGRESS ? ErrorCode::NONE : e;
  }
  Group* g = find_group(group_id);
  if (!g) return ErrorCode::UNKNOWN_MEMBER_ID;
  if (g->state == GroupState::Dead) return ErrorCode::COORDINATOR_NOT_AVAILABLE;
  if (instance_id) {
    auto sit = g->static_members.find(*instance_id);
    if (sit != g->static_members.end() && sit->second != member_id) return ErrorCode::FENCED_INSTANCE_ID;
  }
  auto mit = g->members.find(member_id);
  if (g->state == GroupState::Empty || mit == g->members.end()) return ErrorCode::UNKNOWN_MEMBER_ID;
  if (generation != g->generation) return ErrorCode::ILLEGAL_GENERATION;
  heartbeat_member(*g, mit->second);
  if (g->state == GroupState::PreparingRebalance) return ErrorCode::REBALANCE_IN_PROGRESS;
  return ErrorCode::NONE;
}

// ---------------------------------------------------------------- leave and expiry

void GroupCoordinator::remove_member_and_update(Group& g, const std::string& member_id, const std::string& reason) {
  auto it = g.members.find(member_id);
  if (it == g.members.end()) return;
  Member m = std::move(it->second);
  g.members.erase(it);
  if (m.instance_id) {
    auto sit = g.static_members.find(*m.instance_id);
    if (sit != g.static_members.end() && sit->second == member_id) g.static_members.erase(sit);
  }
  if (g.leader == member_id) g.leader = g.members.empty() ? "" : g.members.begin()->first;
  spdlog::info("[GroupCoordinator] Member {} has left group {} ({})", member_id, g.id, reason);
  if (m.awaiting_join) m.awaiting_join(join_error(ErrorCode::UNKNOWN_MEMBER_ID, member_id));
  if (m.awaiting_sync) m.awaiting_sync(sync_error(ErrorCode::UNKNOWN_MEMBER_ID));
  switch (g.state) {
    case GroupState::Stable:
    case GroupState::CompletingRebalance: prepare_rebalance(g, "removing member " + member_id + " on " + reason); [[fallthrough]];
    case GroupState::PreparingRebalance: maybe_complete_join(g); break;
    default: break;
  }
}

ErrorCode GroupCoordinator::leave_group(const std::string& group_id, std::vector<LeaveMember>& members) {
  if (group_id.empty()) return ErrorCode::INVALID_GROUP_ID;
  if (ErrorCode e = check_coordinator(group_id); e != ErrorCode::NONE) return e;
  Group* g = find_group(group_id);
  if (!g) {
    for (auto& lm : members) lm.error = ErrorCode::UNKNOWN_MEMBER_ID;
    return ErrorCode::NONE;
  }
  if (g->state == GroupState::Dead) return ErrorCode::COORDINATOR_NOT_AVAILABLE;
  for (auto& lm : members) {
    std::string id = lm.member_id;
    if (lm.group_instance_id) {
      auto sit = g->static_members.find(*lm.group_instance_id);
      if (sit == g->static_members.end()) {
        lm.error = ErrorCode::UNKNOWN_MEMBER_ID;
        continue;
      }
      if (!id.empty() && sit->second != id) {
        lm.error = ErrorCode::FENCED_INSTANCE_ID;
        continue;
      }
      id = sit->second;
    }
    if (g->pending.erase(id)) {
      maybe_complete_join(*g);
      continue;
    }
    if (!g->members.count(id)) {
      lm.error = ErrorCode::UNKNOWN_MEMBER_ID;
      continue;
    }
    remove_member_and_update(*g, id, "LeaveGroup");
  }
  return ErrorCode::NONE;
}

void GroupCoordinator::tick() {
  const int64_t now = now_ms_();
  std::vector<std::string> ids;
  for (const auto& [id, g] : groups_) ids.push_back(id);
  for (const auto& id : ids) {
    Group* g = find_group(id);
    if (!g || g->state == GroupState::Dead) continue;
    // Pending members (MEMBER_ID_REQUIRED) that never came back.
    bool pending_gone = false;
    for (auto it = g->pending.begin(); it != g->pending.end();) {
      if (it->second <= now) {
        it = g->pending.erase(it);
        pending_gone = true;
      } else {
        ++it;
      }
    }
    if (pending_gone) maybe_complete_join(*g);
    // Session timeouts: members waiting on a join or sync answer stay alive.
    std::vector<std::string> expired;
    for (const auto& [mid, m] : g->members)
      if (!m.awaiting_join && !m.awaiting_sync && m.heartbeat_deadline <= now) expired.push_back(mid);
    for (const auto& mid : expired) {
      g = find_group(id);
      if (!g) break;
      remove_member_and_update(*g, mid, "expiration of its session timeout");
    }
    g = find_group(id);
    if (!g) continue;
    if (g->state == GroupState::PreparingRebalance && g->join_deadline >= 0 && now >= g->join_deadline) {
      if (g->initial_delay && g->new_member_added && g->initial_remaining > 0) {
        int64_t delay = std::min<int64_t>(config_.group_initial_rebalance_delay_ms, g->initial_remaining);
        g->initial_remaining = std::max<int64_t>(g->initial_remaining - delay, 0);
        g->new_member_added = false;
        g->join_deadline = now + delay;
      } else {
        complete_join(*g);
      }
    } else if (g->state == GroupState::CompletingRebalance && g->sync_deadline >= 0 && now >= g->sync_deadline) {
      // Members that did not send SyncGroup within the rebalance timeout leave.
      std::vector<std::string> late;
      for (const auto& [mid, m] : g->members)
        if (!m.awaiting_sync) late.push_back(mid);
      g->sync_deadline = -1;
      for (const auto& mid : late) {
        g = find_group(id);
        if (!g) break;
        remove_member_and_update(*g, mid, "not sending SyncGroup within the rebalance timeout");
      }
    }
  }
  if (now >= next_cleanup_ms_) {
    next_cleanup_ms_ = now + config_.offsets_retention_check_interval_ms;
    cleanup_group_metadata();
  }
}

// ---------------------------------------------------------------- offset expiry

namespace {

// Adds the topics of one member's ConsumerProtocolSubscription (versions
// newer than ours only add fields at the end); false if it does not parse.
bool add_subscribed_topics(const std::vector<uint8_t>& metadata, std::set<std::string>& topics) {
  if (metadata.size() < 2) return false;
  try {
    ByteReader r(metadata);
    int16_t v = r.get_i16();
    if (v < 0) return false;
    msg::ConsumerProtocolSubscription s;
    s.decode(r, std::min<int16_t>(v, msg::ConsumerProtocolSubscription::kMaxVersion));
    topics.insert(s.topics.begin(), s.topics.end());
    return true;
  } catch (const std::exception&) {
    return false;
  }
}

// The topics a Stable "consumer" group's members subscribe to (Kafka's
// GroupMetadata.computeSubscribedTopics); nullopt if some subscription does
// not parse.
std::optional<std::set<std::string>> consumer_subscribed_topics(const std::vector<const std::vector<uint8_t>*>& subscriptions) {
  std::set<std::string> topics;
  for (const auto* md : subscriptions) {
    if (!md || !add_subscribed_topics(*md, topics)) return std::nullopt;
  }
  return topics;
}

}  // namespace

// Kafka's GroupMetadata.removeExpiredOffsets (the selection part).
std::vector<TopicPartitionKey> GroupCoordinator::expired_offsets(const Group& g, int64_t now) const {
  std::vector<TopicPartitionKey> out;
  auto oit = offsets_.find(g.id);
  if (oit == offsets_.end()) return out;
  bool from_state_timestamp = false;
  std::set<std::string> subscribed;
  if (!g.protocol_type.empty() && g.state == GroupState::Empty) {
    // No member: retention counts from when the group became Empty (KIP-211),
    // or from the commit if that time is unknown (old group metadata).
    from_state_timestamp = g.state_timestamp >= 0;
  } else if (g.protocol_type == "consumer" && g.state == GroupState::Stable && !g.members.empty() && g.protocol) {
    // Members exist: only offsets of topics no longer subscribed expire.
    std::vector<const std::vector<uint8_t>*> subs;
    for (const auto& [id, m] : g.members) subs.push_back(m.metadata(*g.protocol));
    auto topics = consumer_subscribed_topics(subs);
    if (!topics) return out;
    subscribed = std::move(*topics);
  } else if (!g.protocol_type.empty()) {
    return out;  // rebalancing, or a non-consumer protocol with members
  }
  // else: a simple consumer's group (no protocol type): from the commit.
  auto pit = pending_commits_.find(g.id);
  for (const auto& [k, v] : oit->second) {
    if (subscribed.count(k.first)) continue;
    if (pit != pending_commits_.end() && pit->second.count(k)) continue;
    bool expired;
    if (v.expire_timestamp >= 0) {
      expired = now >= v.expire_timestamp;  // an explicit expire timestamp (OffsetCommit v1-v4): the old semantics
    } else {
      const int64_t base = from_state_timestamp ? g.state_timestamp : v.commit_timestamp;
      expired = now - base >= config_.offsets_retention_ms;
    }
    if (expired) out.push_back(k);
  }
  return out;
}

size_t GroupCoordinator::cleanup_group_metadata() {
  const int64_t start = now_ms_();
  const int64_t now = wall_ms_();
  size_t removed = 0;
  std::map<int32_t, std::vector<GroupRecord>> tombstones;  // per __consumer_offsets partition
  std::vector<std::string> ids;
  for (const auto& [id, g] : groups_) ids.push_back(id);
  for (const auto& id : ids) {
    Group* g = find_group(id);
    if (!g || g->state == GroupState::Dead) continue;
    auto pit = partitions_.find(g->partition);
    if (pit == partitions_.end() || !pit->second.loaded) continue;
    auto expired = expired_offsets(*g, now);
    if (!expired.empty()) {
      auto oit = offsets_.find(id);
      for (const auto& k : expired) {
        oit->second.erase(k);
        tombstones[g->partition].push_back(GroupRecord{encode_offset_key(id, k.first, k.second), std::nullopt});
      }
      if (oit->second.empty()) offsets_.erase(oit);
      removed += expired.size();
      spdlog::debug("[GroupCoordinator] Removed {} expired offsets of group {}", expired.size(), id);
    }
    auto oit = offsets_.find(id);
    const bool has_offsets = (oit != offsets_.end() && !oit->second.empty()) || pending_commits_.count(id);
    // (Unlike Kafka, a group that still has a member id pending its second JoinGroup (KIP-394) stays.)
    if (g->state == GroupState::Empty && !has_offsets && g->pending.empty()) {
      spdlog::info("[GroupCoordinator] Group {} transitioned to Dead in generation {}", id, g->generation);
      transition(*g, GroupState::Dead);
      tombstones[g->partition].push_back(GroupRecord{encode_group_key(id), std::nullopt});
      if (oit != offsets_.end()) offsets_.erase(oit);
      groups_.erase(id);
    }
  }
  for (auto& [partition, recs] : tombstones) {
    const int32_t epoch = partitions_[partition].epoch;
    const size_t n = recs.size();
    store_.append(partition, epoch, std::move(recs), [partition, n](ErrorCode e) {
      if (e != ErrorCode::NONE)
        spdlog::warn("[GroupCoordinator] Failed to append {} tombstones to {}-{}: {}", n, kGroupMetadataTopic, partition, error_name(e));
    });
  }
  if (removed > 0 || !tombstones.empty())
    spdlog::info("[GroupCoordinator] Removed {} expired offsets in {} milliseconds.", removed, now_ms_() - start);
  return removed;
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

// ---------------------------------------------------------------- offsets

void GroupCoordinator::commit_offsets(const std::string& group_id, const std::string& member_id, const std::optional<std::string>& instance_id,
                                      int32_t generation, int64_t retention_ms, std::vector<CommitPartition> parts,
                                      std::function<void(ErrorCode, std::vector<CommitPartition>)> done) {
  auto fail_all = [&](ErrorCode e) {
    for (auto& p : parts) p.error = e;
    done(ErrorCode::NONE, std::move(parts));
  };
  if (group_id.empty()) return fail_all(ErrorCode::INVALID_GROUP_ID);
  if (ErrorCode e = check_coordinator(group_id); e != ErrorCode::NONE) return fail_all(e);
  Group* g = find_group(group_id);
  if (!g) {
    if (generation >= 0) return fail_all(ErrorCode::ILLEGAL_GENERATION);
    g = &get_or_create_group(group_id);  // a simple consumer's group (no group management)
  }
  if (ErrorCode e = validate_commit(*g, member_id, instance_id, generation); e != ErrorCode::NONE) return fail_all(e);
  std::vector<GroupRecord> recs;
  std::vector<std::pair<TopicPartitionKey, OffsetValue>> values;
  offset_records(group_id, retention_ms, parts, recs, values);
  if (recs.empty()) return done(ErrorCode::NONE, std::move(parts));
  const int32_t partition = g->partition;
  const int32_t epoch = partitions_[partition].epoch;
  for (const auto& [k, v] : values) ++pending_commits_[group_id][k];
  auto alive = alive_;
  store_.append(partition, epoch, std::move(recs),
                [this, alive, group_id, partition, epoch, values = std::move(values), parts = std::move(parts), done](ErrorCode e) mutable {
                  if (!*alive) return;
                  if (auto pc = pending_commits_.find(group_id); pc != pending_commits_.end()) {
                    for (const auto& [k, v] : values)
                      if (auto it = pc->second.find(k); it != pc->second.end() && --it->second <= 0) pc->second.erase(it);
                    if (pc->second.empty()) pending_commits_.erase(pc);
                  }
                  ErrorCode mapped = map_offset_store_error(e);
                  auto pit = partitions_.find(partition);
                  if (mapped == ErrorCode::NONE && pit != partitions_.end() && pit->second.epoch == epoch) {
                    auto& m = offsets_[group_id];
                    for (auto& [k, v] : values) m[k] = v;
                    get_or_create_group(group_id);
                  }
                  for (auto& p : parts)
                    if (p.error == ErrorCode::NONE) p.error = mapped;
                  done(ErrorCode::NONE, std::move(parts));
                });
}

void GroupCoordinator::offset_records(const std::string& group_id, int64_t retention_ms, std::vector<CommitPartition>& parts,
                                      std::vector<GroupRecord>& recs, std::vector<std::pair<TopicPartitionKey, OffsetValue>>& values) const {
  const int64_t now = wall_ms_();
  for (auto& p : parts) {
    if (p.metadata && static_cast<int32_t>(p.metadata->size()) > config_.offset_metadata_max_bytes) {
      p.error = ErrorCode::OFFSET_METADATA_TOO_LARGE;
      continue;
    }
    OffsetValue v;
    v.offset = p.offset;
    v.leader_epoch = p.leader_epoch;
    v.metadata = p.metadata.value_or("");
    v.commit_timestamp = p.commit_timestamp >= 0 ? p.commit_timestamp : now;
    if (p.commit_timestamp >= 0) v.expire_timestamp = p.commit_timestamp + config_.offsets_retention_ms;
    else if (retention_ms >= 0) v.expire_timestamp = now + retention_ms;
    recs.push_back(GroupRecord{encode_offset_key(group_id, p.topic, p.partition), encode_offset_value(v)});
    values.emplace_back(TopicPartitionKey{p.topic, p.partition}, v);
  }
}

ErrorCode GroupCoordinator::validate_commit(Group& g, const std::string& member_id, const std::optional<std::string>& instance_id,
                                            int32_t generation) {
  if (g.state == GroupState::Dead) return ErrorCode::COORDINATOR_NOT_AVAILABLE;
  if (generation < 0 && g.state == GroupState::Empty) return ErrorCode::NONE;  // a simple consumer's commit
  if (g.state == GroupState::CompletingRebalance) return ErrorCode::REBALANCE_IN_PROGRESS;
  if (instance_id) {
    auto sit = g.static_members.find(*instance_id);
    if (sit != g.static_members.end() && sit->second != member_id) return ErrorCode::FENCED_INSTANCE_ID;
  }
  auto mit = g.members.find(member_id);
  if (mit == g.members.end()) return ErrorCode::UNKNOWN_MEMBER_ID;
  if (generation != g.generation) return ErrorCode::ILLEGAL_GENERATION;
  heartbeat_member(g, mit->second);
  return ErrorCode::NONE;
}

void GroupCoordinator::txn_commit_offsets(const std::string& group_id, TxnProducer producer, const std::string& member_id,
                                          const std::optional<std::string>& instance_id, int32_t generation, std::vector<CommitPartition> parts,
                                          std::function<void(std::vector<CommitPartition>)> done) {
  auto fail_all = [&](ErrorCode e) {
    for (auto& p : parts) p.error = e;
    done(std::move(parts));
  };
  if (group_id.empty()) return fail_all(ErrorCode::INVALID_GROUP_ID);
  if (ErrorCode e = check_coordinator(group_id); e != ErrorCode::NONE) return fail_all(e);
  Group* g = find_group(group_id);
  if (!g) {
    if (generation >= 0) return fail_all(ErrorCode::ILLEGAL_GENERATION);
    g = &get_or_create_group(group_id);
  }
  // KIP-447: a producer that passes its consumer's group metadata is checked like a member; one that does not (generation -1) is not.
  if (generation >= 0 || g->state == GroupState::Dead) {
    if (ErrorCode e = validate_commit(*g, member_id, instance_id, generation); e != ErrorCode::NONE) return fail_all(e);
  }
  std::vector<GroupRecord> recs;
  std::vector<std::pair<TopicPartitionKey, OffsetValue>> values;
  offset_records(group_id, -1, parts, recs, values);  // parts carry no commit timestamp: now, no expiry
  if (recs.empty()) return done(std::move(parts));
  const int32_t partition = g->partition;
  const int32_t epoch = partitions_[partition].epoch;
  auto alive = alive_;
  store_.append_txn(partition, epoch, std::move(recs), producer,
                    [this, alive, group_id, producer, partition, epoch, values = std::move(values), parts = std::move(parts), done](ErrorCode e) mutable {
                      if (!*alive) return;
                      ErrorCode mapped = map_offset_store_error(e);
                      auto pit = partitions_.find(partition);
                      if (mapped == ErrorCode::NONE && pit != partitions_.end() && pit->second.epoch == epoch) {
                        auto& m = pending_txn_offsets_[producer.producer_id][group_id];
                        for (auto& [k, v] : values) m[k] = v;
                      }
                      for (auto& p : parts)
                        if (p.error == ErrorCode::NONE) p.error = mapped;
                      done(std::move(parts));
                    });
}

void GroupCoordinator::complete_txn(int64_t producer_id, int32_t partition, bool commit) {
  auto it = pending_txn_offsets_.find(producer_id);
  if (it == pending_txn_offsets_.end()) return;
  for (auto git = it->second.begin(); git != it->second.end();) {
    if (partition_for(git->first) != partition) {
      ++git;
      continue;
    }
    if (commit) {
      auto& m = offsets_[git->first];
      for (auto& [k, v] : git->second) m[k] = v;
      get_or_create_group(git->first);
    }
    git = it->second.erase(git);
  }
  if (it->second.empty()) pending_txn_offsets_.erase(it);
}

bool GroupCoordinator::has_pending_txn_offset(const std::string& group_id, const TopicPartitionKey& tp) const {
  for (const auto& [pid, groups] : pending_txn_offsets_) {
    auto git = groups.find(group_id);
    if (git != groups.end() && git->second.count(tp)) return true;
  }
  return false;
}

ErrorCode GroupCoordinator::fetch_offsets(const std::string& group_id,
                                          const std::optional<std::vector<std::pair<std::string, std::vector<int32_t>>>>& topics,
                                          std::vector<FetchedOffset>& out, bool require_stable) {
  if (ErrorCode e = check_coordinator(group_id); e != ErrorCode::NONE) return e;
  auto git = offsets_.find(group_id);
  if (!topics) {
    if (git == offsets_.end()) return ErrorCode::NONE;
    for (const auto& [k, v] : git->second) out.push_back(FetchedOffset{k.first, k.second, v.offset, v.leader_epoch, v.metadata, ErrorCode::NONE});
    return ErrorCode::NONE;
  }
  for (const auto& [topic, parts] : *topics) {
    for (int32_t p : parts) {
      FetchedOffset f;
      f.topic = topic;
      f.partition = p;
      if (git != offsets_.end()) {
        auto it = git->second.find({topic, p});
        if (it != git->second.end()) {
          f.offset = it->second.offset;
          f.leader_epoch = it->second.leader_epoch;
          f.metadata = it->second.metadata;
        }
      }
      if (require_stable && has_pending_txn_offset(group_id, {topic, p})) {
        f.offset = -1;
        f.error = ErrorCode::UNSTABLE_OFFSET_COMMIT;
      }
      out.push_back(std::move(f));
    }
  }
  return ErrorCode::NONE;
}

// ---------------------------------------------------------------- admin

DescribedGroup GroupCoordinator::describe_group(const std::string& group_id) {
  DescribedGroup d;
  d.group_id = group_id;
  if (ErrorCode e = check_coordinator(group_id); e != ErrorCode::NONE) {
    d.error = e;
    return d;
  }
  Group* g = find_group(group_id);
  if (!g) {
    d.state = "Dead";
    return d;
  }
  d.state = group_state_name(g->state);
  d.protocol_type = g->protocol_type;
  const bool stable = g->state == GroupState::Stable;
  if (stable && g->protocol) d.protocol = *g->protocol;
  for (const auto& [id, m] : g->members) {
    DescribedMember dm{id, m.instance_id, m.client_id, m.client_host, {}, {}};
    if (stable && g->protocol) {
      if (const auto* md = m.metadata(*g->protocol)) dm.metadata = *md;
      dm.assignment = m.assignment;
    }
    d.members.push_back(std::move(dm));
  }
  return d;
}

ErrorCode GroupCoordinator::list_groups(const std::vector<std::string>& states_filter, std::vector<ListedGroup>& out) {
  auto lower = [](std::string s) {
    for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return s;
  };
  std::set<std::string> filter;
  for (const auto& s : states_filter) filter.insert(lower(s));
  bool loading = false;
  for (const auto& [p, st] : partitions_)
    if (!st.loaded) loading = true;
  for (const auto& [id, g] : groups_) {
    auto pit = partitions_.find(g->partition);
    if (pit == partitions_.end() || !pit->second.loaded || g->state == GroupState::Dead) continue;
    std::string state = group_state_name(g->state);
    if (!filter.empty() && !filter.count(lower(state))) continue;
    out.push_back(ListedGroup{id, g->protocol_type, state});
  }
  return loading ? ErrorCode::COORDINATOR_LOAD_IN_PROGRESS : ErrorCode::NONE;
}

void GroupCoordinator::delete_groups(std::vector<std::string> group_ids,
                                     std::function<void(std::vector<std::pair<std::string, ErrorCode>>)> done) {
  auto results = std::make_shared<std::vector<std::pair<std::string, ErrorCode>>>();
  auto waiting = std::make_shared<int>(1);
  auto finish = [results, waiting, done]() {
    if (--*waiting == 0) done(std::move(*results));
  };
  for (const auto& id : group_ids) {
    size_t idx = results->size();
    results->emplace_back(id, ErrorCode::NONE);
    ErrorCode e = id.empty() ? ErrorCode::INVALID_GROUP_ID : check_coordinator(id);
    Group* g = e == ErrorCode::NONE ? find_group(id) : nullptr;
    if (e == ErrorCode::NONE && (!g || g->state == GroupState::Dead)) e = ErrorCode::GROUP_ID_NOT_FOUND;
    if (e == ErrorCode::NONE && g->state != GroupState::Empty) e = ErrorCode::NON_EMPTY_GROUP;
    if (e != ErrorCode::NONE) {
      (*results)[idx].second = e;
      continue;
    }
    std::vector<GroupRecord> recs;
    recs.push_back(GroupRecord{encode_group_key(id), std::nullopt});
    if (auto oit = offsets_.find(id); oit != offsets_.end())
      for (const auto& [k, v] : oit->second) recs.push_back(GroupRecord{encode_offset_key(id, k.first, k.second), std::nullopt});
    const int32_t partition = g->partition;
    const int32_t epoch = partitions_[partition].epoch;
    // Kafka marks the group Dead at once; the tombstones follow.
    g->state = GroupState::Dead;
    ++*waiting;
    auto alive = alive_;
    store_.append(partition, epoch, std::move(recs), [this, alive, id, idx, results, finish](ErrorCode err) {
      if (!*alive) return;
      ErrorCode mapped = map_group_store_error(err);
      (*results)[idx].second = mapped;
      Group* gg = find_group(id);
      if (mapped == ErrorCode::NONE) {
        if (gg && gg->state == GroupState::Dead) groups_.erase(id);
        offsets_.erase(id);
      } else if (gg && gg->state == GroupState::Dead) {
        gg->state = GroupState::Empty;
      }
      finish();
    });
  }
  finish();
}

void GroupCoordinator::delete_offsets(const std::string& group_id, std::vector<std::pair<std::string, std::vector<int32_t>>> topics,
                                      std::function<void(ErrorCode, std::vector<std::tuple<std::string, int32_t, ErrorCode>>)> done) {
  std::vector<std::tuple<std::string, int32_t, ErrorCode>> out;
  if (group_id.empty()) return done(ErrorCode::INVALID_GROUP_ID, out);
  if (ErrorCode e = check_coordinator(group_id); e != ErrorCode::NONE) return done(e, out);
  Group* g = find_group(group_id);
  if (!g || g->state == GroupState::Dead) return done(ErrorCode::GROUP_ID_NOT_FOUND, out);
  std::set<std::string> subscribed;
  if (!g->members.empty()) {
    if (g->protocol_type != "consumer" || !g->protocol) return done(ErrorCode::NON_EMPTY_GROUP, out);
    for (const auto& [id, m] : g->members) {
      // An unreadable subscription protects nothing (as in Kafka's OffsetDelete).
      if (const auto* md = m.metadata(*g->protocol)) add_subscribed_topics(*md, subscribed);
    }
  }
  std::vector<GroupRecord> recs;
  std::vector<TopicPartitionKey> deleted;
  for (const auto& [topic, parts] : topics) {
    for (int32_t p : parts) {
      if (subscribed.count(topic)) {
        out.emplace_back(topic, p, ErrorCode::GROUP_SUBSCRIBED_TO_TOPIC);
        continue;
      }
      out.emplace_back(topic, p, ErrorCode::NONE);
      recs.push_back(GroupRecord{encode_offset_key(group_id, topic, p), std::nullopt});
      deleted.emplace_back(topic, p);
    }
  }
  if (recs.empty()) return done(ErrorCode::NONE, std::move(out));
  const int32_t partition = g->partition;
  const int32_t epoch = partitions_[partition].epoch;
  auto alive = alive_;
  store_.append(partition, epoch, std::move(recs), [this, alive, group_id, deleted, out = std::move(out), done](ErrorCode e) mutable {
    if (!*alive) return;
    ErrorCode mapped = map_group_store_error(e);
    if (mapped != ErrorCode::NONE) return done(mapped, {});
    if (auto it = offsets_.find(group_id); it != offsets_.end())
      for (const auto& k : deleted) it->second.erase(k);
    done(ErrorCode::NONE, std::move(out));
  });
}

// ---------------------------------------------------------------- service

GroupCoordinatorService::GroupCoordinatorService(asio::io_context& io, ReplicaManager& replicas, GroupCoordinatorConfig config)
    : io_(io), replicas_(replicas), timer_(io) {
  store_ = std::make_unique<ReplicaGroupStore>(io, replicas, config.offsets_commit_timeout_ms);
  coordinator_ = std::make_unique<GroupCoordinator>(config, *store_, [] { return monotonic_ms(); }, [] { return wall_clock_ms(); });
  ConsumerGroupConfig cg_config;  // KIP-848
  cg_config.offsets_topic_num_partitions = config.offsets_topic_num_partitions;
  cg_config.session_timeout_ms = config.consumer_session_timeout_ms;
  cg_config.heartbeat_interval_ms = config.consumer_heartbeat_interval_ms;
  cg_config.max_size = config.consumer_max_size;
  consumer_groups_ = std::make_unique<ConsumerGroupCoordinator>(cg_config, [] { return monotonic_ms(); });
  // KIP-848 persistence: records of timeouts and deletions are appended
  // without anyone waiting; a loaded partition rebuilds its consumer groups.
  consumer_groups_->set_record_sink([this, alive = alive_](int32_t partition, std::vector<GroupRecord> records) {
    if (!*alive) return;
    coordinator_->append_consumer_group_records(partition, std::move(records), [partition](ErrorCode e) {
      if (e != ErrorCode::NONE)
        spdlog::warn("[GroupCoordinator] Failed to write consumer group records to partition {}: {}", partition, error_name(e));
    });
  });
  coordinator_->on_consumer_groups_loaded = [this, alive = alive_](int32_t partition, const std::map<std::string, LoadedConsumerGroup>& groups) {
    if (*alive) consumer_groups_->load_partition(partition, groups);
  };
  replicas_.add_leadership_listener([this, alive = alive_](const std::string& topic, int32_t index, int32_t epoch, bool leader) {
    if (!*alive || stopped_ || topic != kGroupMetadataTopic) return;
    consumer_groups_->on_leadership(index, epoch, leader);  // KIP-848
    coordinator_->on_leadership(index, epoch, leader);
  });
  arm();
}

GroupCoordinatorService::~GroupCoordinatorService() {
  *alive_ = false;
  shutdown();
}

void GroupCoordinatorService::shutdown() {
  if (stopped_) return;
  stopped_ = true;
  timer_.cancel();
}

void GroupCoordinatorService::arm() {
  timer_.expires_after(std::chrono::milliseconds(50));
  auto alive = alive_;
  timer_.async_wait([this, alive](const asio::error_code& ec) {
    if (ec || !*alive || stopped_) return;
    coordinator_->tick();
    consumer_groups_->tick();  // KIP-848
    arm();
  });
}

}  // namespace flotilla::broker
