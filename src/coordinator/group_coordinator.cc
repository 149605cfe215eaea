// The classic group coordinator's membership (group_coordinator.h): the
// group state machine of JoinGroup, SyncGroup, Heartbeat and LeaveGroup, with
// static members (KIP-345), MEMBER_ID_REQUIRED (KIP-394) and the initial
// rebalance delay, and the timeouts tick() checks (sessions, rebalances,
// pending member ids). Offsets, persistence and the admin APIs are in
// group_offsets.cc, group_persistence.cc and group_admin.cc (classic_group.h
// says which holds what).
//
// Invariants: a group is PreparingRebalance while members may still join the
// next generation, CompletingRebalance from the generation's start until the
// leader's assignment is stored, Stable after that; only SyncGroup of the
// leader writes the assignment, and it reaches the members only once stored.
//
// Threading: the broker's io_context thread. An answer runs inside the call
// only when it is immediate (an error, or a rejoin that changes nothing).
#include "coordinator/group_coordinator.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <random>

#include "coordinator/classic_group.h"

namespace flotilla::coordinator {

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
  if (held_by_other(g.static_members, p.group_instance_id, p.member_id)) return done(join_error(ErrorCode::FENCED_INSTANCE_ID, p.member_id));
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
  if (held_by_other(g.static_members, p.group_instance_id, p.member_id)) return done(sync_error(ErrorCode::FENCED_INSTANCE_ID));
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
  if (held_by_other(g->static_members, instance_id, member_id)) return ErrorCode::FENCED_INSTANCE_ID;
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
  release_instance_id(g.static_members, m.instance_id, member_id);
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

}  // namespace flotilla::coordinator
