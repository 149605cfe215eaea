// The KIP-848 consumer group coordinator's state machine (consumer_group.h):
// ConsumerGroupHeartbeat — joining, leaving, static members, the member epoch
// checks — with the group epoch bumps, the target assignment and each
// member's reconciliation towards it; the session and revocation timeouts;
// ConsumerGroupDescribe, listing and deleting groups; the member checks of
// OffsetCommit/OffsetFetch; leadership. The assignors and the records are in
// consumer_group_assign.cc and consumer_group_records.cc.
//
// Invariants: see consumer_group.h (epochs, reconciliation) and
// consumer_group_state.h. Every change of a group is followed by flush(),
// which yields the records that make the log say what memory says.
//
// Threading: the broker's io_context thread.
#include "coordinator/consumer_group.h"

#include "common/client_pattern.h"

#include <spdlog/spdlog.h>

#include <algorithm>


#include "coordinator/consumer_group_state.h"

namespace flotilla::coordinator {

namespace {

constexpr int32_t kLeaveEpoch = -1;        // a member leaves the group
constexpr int32_t kStaticLeaveEpoch = -2;  // a static member leaves for now (keeps its assignment)
// Kafka 4.0's INVALID_REGULAR_EXPRESSION (not in common/error.h yet).
constexpr ErrorCode kInvalidRegularExpression = static_cast<ErrorCode>(128);

bool is_internal_topic(const std::string& name) { return name == "__consumer_offsets" || name == "__transaction_state"; }

struct Result {
  static CgHeartbeatResult error(ErrorCode e, std::string message) {
    CgHeartbeatResult r;
    r.error = e;
    r.error_message = std::move(message);
    return r;
  }
};

}  // namespace

const char* cg_member_state_name(CgMemberState s) {
  switch (s) {
    case CgMemberState::Stable: return "stable";
    case CgMemberState::UnrevokedPartitions: return "unrevoked_partitions";
    case CgMemberState::UnreleasedPartitions: return "unreleased_partitions";
  }
  return "unknown";
}

const char* cg_group_state_name(CgGroupState s) {
  switch (s) {
    case CgGroupState::Empty: return "Empty";
    case CgGroupState::Assigning: return "Assigning";
    case CgGroupState::Reconciling: return "Reconciling";
    case CgGroupState::Stable: return "Stable";
  }
  return "Unknown";
}

// ---------------------------------------------------------------- state

ConsumerGroupCoordinator::ConsumerGroupCoordinator(ConsumerGroupConfig config, std::function<int64_t()> now_ms,
                                                   std::function<std::string()> new_member_id)
    : config_(std::move(config)), now_ms_(std::move(now_ms)), new_member_id_(std::move(new_member_id)) {
  if (!new_member_id_) new_member_id_ = [] { return Uuid::random().to_string(); };
  if (config_.assignors.empty()) config_.assignors = {"uniform", "range"};
}

ConsumerGroupCoordinator::~ConsumerGroupCoordinator() = default;

int32_t ConsumerGroupCoordinator::partition_for(const std::string& group_id) const {
  return group_partition(group_id, config_.offsets_topic_num_partitions);
}

ConsumerGroupCoordinator::Group* ConsumerGroupCoordinator::find(const std::string& id) {
  auto it = groups_.find(id);
  return it == groups_.end() ? nullptr : it->second.get();
}

const ConsumerGroupCoordinator::Group* ConsumerGroupCoordinator::find(const std::string& id) const {
  auto it = groups_.find(id);
  return it == groups_.end() ? nullptr : it->second.get();
}

bool ConsumerGroupCoordinator::has_group(const std::string& group_id) const { return find(group_id) != nullptr; }

bool ConsumerGroupCoordinator::has_members(const std::string& group_id) const {
  const Group* g = find(group_id);
  return g && !g->members.empty();
}

std::optional<int32_t> ConsumerGroupCoordinator::group_epoch(const std::string& group_id) const {
  const Group* g = find(group_id);
  if (!g) return std::nullopt;
  return g->epoch;
}

std::optional<CgGroupState> ConsumerGroupCoordinator::group_state(const std::string& group_id) const {
  const Group* g = find(group_id);
  if (!g) return std::nullopt;
  return state_of(*g);
}

CgGroupState ConsumerGroupCoordinator::state_of(const Group& g) const {
  if (g.members.empty()) return CgGroupState::Empty;
  if (g.epoch > g.assignment_epoch) return CgGroupState::Assigning;
  for (const auto& [id, m] : g.members)
    if (m.epoch != g.assignment_epoch || m.state != CgMemberState::Stable) return CgGroupState::Reconciling;
  return CgGroupState::Stable;
}

std::string ConsumerGroupCoordinator::preferred_assignor(const Group& g) const {
  std::map<std::string, int> votes;
  for (const auto& [id, m] : g.members)
    if (m.assignor) ++votes[*m.assignor];
  std::string best;
  int n = 0;
  for (const auto& [name, c] : votes)
    if (c > n) best = name, n = c;
  return n > 0 ? best : config_.assignors.front();
}

void ConsumerGroupCoordinator::remove_member(Group& g, const std::string& member_id) {
  auto it = g.members.find(member_id);
  if (it == g.members.end()) return;
  release_instance_id(g.static_members, it->second.instance_id, member_id);
  g.members.erase(it);
  g.target.erase(member_id);
  g.bump();
}

// Resolves the members' regexes again when the topics changed, and the
// metadata of the subscribed topics. True if a member's subscription or a
// subscribed topic changed (the group epoch must be bumped).
bool ConsumerGroupCoordinator::refresh_subscriptions(Group& g, const CgTopics& topics) {
  bool changed = false;
  const bool new_topics = g.topics_version != topics.version;
  g.topics_version = topics.version;
  for (auto& [id, m] : g.members) {
    if (!m.regex) {
      if (!m.resolved.empty()) m.resolved.clear(), changed = true;
      continue;
    }
    if (!new_topics) continue;
    std::set<std::string> resolved;
    if (auto re = ClientPattern::compile(*m.regex)) {
      for (const auto& [name, t] : topics.by_name)
        if (!is_internal_topic(name) && re->full_match(name)) resolved.insert(name);
    }
    if (resolved != m.resolved) {
      m.resolved = std::move(resolved);
      if (!g.regexes_unresolved) changed = true;
    }
  }
  if (new_topics) g.regexes_unresolved = false;
  std::map<std::string, std::pair<Uuid, int32_t>> md;
  for (const auto& [id, m] : g.members)
    for (const auto& name : m.subscription()) {
      auto it = topics.by_name.find(name);
      if (it != topics.by_name.end()) md[name] = {it->second.id, it->second.partitions};
    }
  if (md != g.subscribed_metadata) {
    g.subscribed_metadata = std::move(md);
    changed = true;
  }
  return changed;
}

void ConsumerGroupCoordinator::compute_target(Group& g, const CgTopics& topics) {
  CgAssignorInput in;
  for (const auto& [id, m] : g.members) {
    CgAssignorMember am;
    for (const auto& t : m.subscription())
      if (topics.by_name.count(t)) am.topics.insert(t);
    auto tit = g.target.find(id);
    if (tit != g.target.end()) am.previous = tit->second;
    in[id] = std::move(am);
  }
  const std::string assignor = preferred_assignor(g);
  g.target = assignor == "range" ? cg_assign_range(in, topics) : cg_assign_uniform(in, topics);
  g.assignment_epoch = g.epoch;
  spdlog::debug("[GroupCoordinator] Consumer group {}: new target assignment at epoch {} ({} assignor, {} members)", g.id, g.epoch,
                assignor, g.members.size());
}

bool ConsumerGroupCoordinator::owned_by_other(const Group& g, const std::string& member_id, const Uuid& topic, int32_t partition) const {
  for (const auto& [id, m] : g.members) {
    if (id == member_id) continue;
    if (contains(m.assigned, topic, partition) || contains(m.pending_revocation, topic, partition)) return true;
  }
  return false;
}

// Kafka's CurrentAssignmentBuilder: one step of `m` towards its target.
void ConsumerGroupCoordinator::next_assignment(Group& g, Member& m) {
  static const CgAssignment kNone;
  auto tit = g.target.find(m.id);
  const CgAssignment& target = tit == g.target.end() ? kNone : tit->second;
  CgAssignment keep, revoke, assign;
  bool unreleased = false;
  std::set<Uuid> topic_ids;
  for (const auto& [t, ps] : target) topic_ids.insert(t);
  for (const auto& [t, ps] : m.assigned) topic_ids.insert(t);
  for (const Uuid& t : topic_ids) {
    auto cit = m.assigned.find(t);
    auto git = target.find(t);
    static const std::set<int32_t> kEmpty;
    const std::set<int32_t>& cur = cit == m.assigned.end() ? kEmpty : cit->second;
    const std::set<int32_t>& tgt = git == target.end() ? kEmpty : git->second;
    for (int32_t p : cur) add(tgt.count(p) ? keep : revoke, t, p);
    for (int32_t p : tgt) {
      if (cur.count(p)) continue;
      if (owned_by_other(g, m.id, t, p)) unreleased = true;
      else add(assign, t, p);
    }
  }
  if (!revoke.empty()) {
    // Give these up first, at the current epoch.
    m.assigned = std::move(keep);
    m.pending_revocation = std::move(revoke);
    m.state = CgMemberState::UnrevokedPartitions;
    m.revocation_deadline = now_ms_() + m.rebalance_timeout_ms;
    return;
  }
  for (const auto& [t, ps] : assign)
    for (int32_t p : ps) add(keep, t, p);
  if (m.epoch != g.assignment_epoch) {
    m.previous_epoch = m.epoch;
    m.epoch = g.assignment_epoch;
  }
  m.assigned = std::move(keep);
  m.pending_revocation.clear();
  m.state = unreleased ? CgMemberState::UnreleasedPartitions : CgMemberState::Stable;
  m.revocation_deadline = -1;
}

void ConsumerGroupCoordinator::reconcile(Group& g, Member& m, const std::optional<CgAssignment>& owned) {
  switch (m.state) {
    case CgMemberState::Stable:
      if (m.epoch != g.assignment_epoch) next_assignment(g, m);
      break;
    case CgMemberState::UnrevokedPartitions: {
      if (!owned) break;  // we cannot tell whether it revoked them
      bool still = false;
      for (const auto& [t, ps] : m.pending_revocation)
        for (int32_t p : ps)
          if (contains(*owned, t, p)) still = true;
      if (!still) next_assignment(g, m);
      break;
    }
    case CgMemberState::UnreleasedPartitions: next_assignment(g, m); break;
  }
}

// ---------------------------------------------------------------- heartbeat

CgHeartbeatResult ConsumerGroupCoordinator::heartbeat(const CgHeartbeat& req, const CgTopics& topics) {
  // Kafka's request validation.
  if (req.group_id.empty()) return Result::error(ErrorCode::INVALID_REQUEST, "GroupId can't be empty.");
  if (req.version >= 1 && req.member_id.empty()) return Result::error(ErrorCode::INVALID_REQUEST, "MemberId can't be empty.");
  if (req.member_epoch != 0 && req.member_id.empty()) return Result::error(ErrorCode::INVALID_REQUEST, "MemberId can't be empty.");
  if (req.instance_id && req.instance_id->empty()) return Result::error(ErrorCode::INVALID_REQUEST, "InstanceId can't be empty.");
  if (req.rack_id && req.rack_id->empty()) return Result::error(ErrorCode::INVALID_REQUEST, "RackId can't be empty.");
  if (req.member_epoch == 0) {
    if (req.rebalance_timeout_ms == -1)
      return Result::error(ErrorCode::INVALID_REQUEST, "RebalanceTimeoutMs must be provided in first request.");
    if (!req.owned || !req.owned->empty())
      return Result::error(ErrorCode::INVALID_REQUEST, "TopicPartitions must be empty when (re-)joining.");
    bool names = req.subscribed_topic_names && !req.subscribed_topic_names->empty();
    bool regex = req.subscribed_topic_regex && !req.subscribed_topic_regex->empty();
    if (!names && !regex)
      return Result::error(ErrorCode::INVALID_REQUEST, "SubscribedTopicNames or SubscribedTopicRegex must be set in first request.");
  } else if (req.member_epoch == kStaticLeaveEpoch) {
    if (!req.instance_id) return Result::error(ErrorCode::INVALID_REQUEST, "InstanceId can't be null.");
  } else if (req.member_epoch < kStaticLeaveEpoch) {
    return Result::error(ErrorCode::INVALID_REQUEST, "MemberEpoch is invalid.");
  }
  if (req.subscribed_topic_regex && !req.subscribed_topic_regex->empty()) {
    std::string why;
    if (!ClientPattern::compile(*req.subscribed_topic_regex, &why))
      return Result::error(kInvalidRegularExpression, "SubscribedTopicRegex `" + *req.subscribed_topic_regex + "` is not a valid regular expression: " + why + ".");
  }
  if (req.server_assignor &&
      std::find(config_.assignors.begin(), config_.assignors.end(), *req.server_assignor) == config_.assignors.end()) {
    std::string supported;
    for (const auto& a : config_.assignors) supported += (supported.empty() ? "" : ", ") + a;
    return Result::error(ErrorCode::UNSUPPORTED_ASSIGNOR,
                         "ServerAssignor " + *req.server_assignor + " is not supported. Supported assignors: " + supported + ".");
  }

  const int64_t now = now_ms_();
  Group* gp = find(req.group_id);
  if (!gp) {
    if (req.member_epoch != 0) return Result::error(ErrorCode::UNKNOWN_MEMBER_ID, "Consumer group " + req.group_id + " not found.");
    auto g = std::make_unique<Group>();
    g->id = req.group_id;
    g->partition = partition_for(req.group_id);
    gp = groups_.emplace(req.group_id, std::move(g)).first->second.get();
  }
  Group& g = *gp;

  bool bump = false;
  Member* mp = nullptr;
  if (req.member_epoch == 0) {
    std::string member_id = req.member_id.empty() ? new_member_id_() : req.member_id;
    if (req.instance_id) {
      auto sit = g.static_members.find(*req.instance_id);
      if (sit != g.static_members.end()) {
        auto oit = g.members.find(sit->second);
        if (oit != g.members.end() && oit->second.epoch != kStaticLeaveEpoch && oit->first != member_id)
          return Result::error(ErrorCode::UNRELEASED_INSTANCE_ID, "Static member " + oit->first + " with instance id " + *req.instance_id +
                                                                      " is not released yet.");
        if (oit != g.members.end()) {
          // The static member comes back: the new member id takes over its
          // epoch and assignment (and its target).
          Member m = std::move(oit->second);
          g.members.erase(oit);
          auto tit = g.target.find(m.id);
          if (tit != g.target.end()) {
            CgAssignment t = std::move(tit->second);
            g.target.erase(tit);
            g.target[member_id] = std::move(t);
          }
          if (m.epoch == kStaticLeaveEpoch) m.epoch = m.previous_epoch >= 0 ? m.previous_epoch : 0;
          m.id = member_id;
          mp = &(g.members[member_id] = std::move(m));
          g.static_members[*req.instance_id] = member_id;
        }
      }
    }
    if (!mp) {
      auto mit = g.members.find(member_id);
      if (mit != g.members.end()) {
        // A member rejoining with epoch 0 lost its partitions: it starts over.
        remove_member(g, member_id);
      }
      if (static_cast<int64_t>(g.members.size()) >= config_.max_size)
        return Result::error(ErrorCode::GROUP_MAX_SIZE_REACHED, "The consumer group has reached its maximum capacity of " +
                                                                   std::to_string(config_.max_size) + " members.");
      Member m;
      m.id = member_id;
      m.instance_id = req.instance_id;
      mp = &(g.members[member_id] = std::move(m));
      if (req.instance_id) g.static_members[*req.instance_id] = member_id;
      bump = true;
    }
  } else {
    auto mit = g.members.find(req.member_id);
    if (mit == g.members.end())
      return Result::error(ErrorCode::UNKNOWN_MEMBER_ID, "Member " + req.member_id + " is not a member of group " + g.id + ".");
    Member& m = mit->second;
    if (req.instance_id) {
      auto sit = g.static_members.find(*req.instance_id);
      if (sit == g.static_members.end())
        return Result::error(ErrorCode::UNKNOWN_MEMBER_ID, "Instance id " + *req.instance_id + " is unknown.");
      if (sit->second != req.member_id)
        return Result::error(ErrorCode::FENCED_INSTANCE_ID, "Static member " + req.member_id + " with instance id " + *req.instance_id +
                                                                " was fenced by member " + sit->second + ".");
    }
    if (req.member_epoch == kLeaveEpoch || req.member_epoch == kStaticLeaveEpoch) {
      CgHeartbeatResult r;
      r.member_id = req.member_id;
      r.member_epoch = req.member_epoch;
      if (req.member_epoch == kLeaveEpoch || !m.instance_id) {
        spdlog::info("[GroupCoordinator] Member {} left the consumer group {}", req.member_id, g.id);
        remove_member(g, req.member_id);
      } else {
        // A static member leaving for now: it keeps its assignment until its session expires.
        if (m.epoch != kStaticLeaveEpoch) m.previous_epoch = m.epoch;
        m.epoch = kStaticLeaveEpoch;
        m.session_deadline = now + config_.session_timeout_ms;
      }
      r.partition = g.partition;
      r.records = flush(&g, g.id);
      return r;
    }
    if (req.member_epoch > m.epoch)
      return Result::error(ErrorCode::FENCED_MEMBER_EPOCH, "The consumer group member has a greater member epoch (" +
                                                               std::to_string(req.member_epoch) + ") than the one known by the group coordinator (" +
                                                               std::to_string(m.epoch) + "). The member must abandon all its partitions and rejoin.");
    if (req.member_epoch < m.epoch) {
      // The previous epoch is fine if the member owns no more than its
      // current assignment (the answer with the new epoch was lost).
      bool subset = req.owned.has_value();
      if (subset)
        for (const auto& [t, ps] : *req.owned)
          for (int32_t p : ps)
            if (!contains(m.assigned, t, p)) subset = false;
      if (req.member_epoch != m.previous_epoch || !subset)
        return Result::error(ErrorCode::FENCED_MEMBER_EPOCH, "The consumer group member has a smaller member epoch (" +
                                                                 std::to_string(req.member_epoch) + ") than the one known by the group coordinator (" +
                                                                 std::to_string(m.epoch) + "). The member must abandon all its partitions and rejoin.");
    }
    mp = &m;
  }

  Member& m = *mp;
  const CgAssignment before = m.assigned;
  const bool joining = req.member_epoch == 0;
  // Update the member from the request (absent fields keep their value).
  if (req.rebalance_timeout_ms != -1) m.rebalance_timeout_ms = req.rebalance_timeout_ms;
  m.client_id = req.client_id;
  m.client_host = req.client_host;
  if (req.rack_id && req.rack_id != m.rack_id) {
    m.rack_id = req.rack_id;
    bump = true;
  }
  if (req.subscribed_topic_names) {
    std::vector<std::string> names = *req.subscribed_topic_names;
    std::sort(names.begin(), names.end());
    names.erase(std::unique(names.begin(), names.end()), names.end());
    if (names != m.names) {
      m.names = std::move(names);
      bump = true;
    }
  }
  if (req.subscribed_topic_regex) {
    std::optional<std::string> re = req.subscribed_topic_regex->empty() ? std::nullopt : req.subscribed_topic_regex;
    if (re != m.regex) {
      m.regex = re;
      m.resolved.clear();
      g.topics_version = -1;  // resolve again
      bump = true;
    }
  }
  if (req.server_assignor && req.server_assignor != m.assignor) {
    m.assignor = req.server_assignor;
    bump = true;
  }
  if (refresh_subscriptions(g, topics)) bump = true;
  if (bump) {
    g.bump();
    spdlog::debug("[GroupCoordinator] Consumer group {} epoch bumped to {} (member {})", g.id, g.epoch, m.id);
  }
  if (g.epoch > g.assignment_epoch) compute_target(g, topics);
  reconcile(g, m, req.owned);
  m.session_deadline = now + config_.session_timeout_ms;

  CgHeartbeatResult r;
  r.member_id = m.id;
  r.member_epoch = m.epoch;
  r.heartbeat_interval_ms = config_.heartbeat_interval_ms;
  const bool has_subscription = req.subscribed_topic_names || req.subscribed_topic_regex;
  const bool full = joining || (req.rebalance_timeout_ms != -1 && has_subscription && req.owned);
  if (full || m.assigned != before) r.assignment = m.assigned;
  r.partition = g.partition;
  r.records = flush(&g, g.id);
  return r;
}

void ConsumerGroupCoordinator::tick() {
  const int64_t now = now_ms_();
  for (auto& [gid, g] : groups_) {
    std::vector<std::string> expired;
    for (const auto& [id, m] : g->members) {
      if (m.session_deadline <= now) {
        spdlog::info("[GroupCoordinator] Member {} in consumer group {} has failed, removing it from the group (session timeout)", id, gid);
        expired.push_back(id);
      } else if (m.state == CgMemberState::UnrevokedPartitions && m.revocation_deadline >= 0 && m.revocation_deadline <= now) {
        spdlog::info("[GroupCoordinator] Member {} in consumer group {} did not revoke its partitions within the rebalance timeout, "
                     "removing it from the group",
                     id, gid);
        expired.push_back(id);
      }
    }
    for (const auto& id : expired) remove_member(*g, id);
    if (!expired.empty()) emit(g->partition, flush(g.get(), gid));
  }
}

// ---------------------------------------------------------------- admin

CgDescribedGroup ConsumerGroupCoordinator::describe(const std::string& group_id, const CgTopics& topics) const {
  (void)topics;
  CgDescribedGroup d;
  d.group_id = group_id;
  const Group* g = find(group_id);
  if (!g) {
    d.error = ErrorCode::GROUP_ID_NOT_FOUND;
    d.error_message = "Group " + group_id + " not found.";
    return d;
  }
  d.state = cg_group_state_name(state_of(*g));
  d.group_epoch = g->epoch;
  d.assignment_epoch = g->assignment_epoch;
  d.assignor_name = preferred_assignor(*g);
  for (const auto& [id, m] : g->members) {
    CgDescribedMember dm;
    dm.member_id = id;
    dm.instance_id = m.instance_id;
    dm.rack_id = m.rack_id;
    dm.member_epoch = m.epoch;
    dm.state = m.state;
    dm.client_id = m.client_id;
    dm.client_host = m.client_host;
    dm.subscribed_topic_names = m.names;
    dm.subscribed_topic_regex = m.regex;
    dm.assignment = m.assigned;
    if (auto tit = g->target.find(id); tit != g->target.end()) dm.target_assignment = tit->second;
    d.members.push_back(std::move(dm));
  }
  return d;
}

std::vector<CgListedGroup> ConsumerGroupCoordinator::list() const {
  std::vector<CgListedGroup> out;
  for (const auto& [id, g] : groups_) out.push_back(CgListedGroup{id, cg_group_state_name(state_of(*g))});
  return out;
}

ErrorCode ConsumerGroupCoordinator::delete_group(const std::string& group_id) {
  Group* g = find(group_id);
  if (!g) return ErrorCode::GROUP_ID_NOT_FOUND;
  if (!g->members.empty()) return ErrorCode::NON_EMPTY_GROUP;
  const int32_t partition = g->partition;
  std::vector<GroupRecord> tombstones = flush(nullptr, group_id);  // every key written: a tombstone
  g = nullptr;
  groups_.erase(group_id);
  emit(partition, std::move(tombstones));
  return ErrorCode::NONE;
}

std::optional<ErrorCode> ConsumerGroupCoordinator::validate_offset_commit(const std::string& group_id, const std::string& member_id,
                                                                          const std::optional<std::string>& instance_id, int32_t member_epoch,
                                                                          int16_t api_version) const {
  const Group* g = find(group_id);
  if (!g) return std::nullopt;
  // Without a member epoch (admin clients, manual assignment) only while the group has no members.
  if (member_epoch < 0 && g->members.empty()) return ErrorCode::NONE;
  auto mit = g->members.find(member_id);
  if (mit == g->members.end()) return ErrorCode::UNKNOWN_MEMBER_ID;
  if (instance_id) {
    auto sit = g->static_members.find(*instance_id);
    if (sit == g->static_members.end()) return ErrorCode::UNKNOWN_MEMBER_ID;
    if (sit->second != member_id) return ErrorCode::FENCED_INSTANCE_ID;
  }
  if (api_version < 9) return ErrorCode::UNSUPPORTED_VERSION;
  if (member_epoch != mit->second.epoch) return ErrorCode::STALE_MEMBER_EPOCH;
  return ErrorCode::NONE;
}

std::optional<ErrorCode> ConsumerGroupCoordinator::validate_offset_fetch(const std::string& group_id, const std::string& member_id,
                                                                         int32_t member_epoch) const {
  const Group* g = find(group_id);
  if (!g) return std::nullopt;
  if (member_epoch < 0) return ErrorCode::NONE;
  auto mit = g->members.find(member_id);
  if (mit == g->members.end()) return ErrorCode::UNKNOWN_MEMBER_ID;
  if (member_epoch != mit->second.epoch) return ErrorCode::STALE_MEMBER_EPOCH;
  return ErrorCode::NONE;
}

void ConsumerGroupCoordinator::on_leadership(int32_t partition, int32_t epoch, bool leader) {
  // The groups of a partition given up, or led at a new epoch, go; the
  // classic coordinator loads the partition and hands them back (load_partition).
  apply_leadership(led_, partition, epoch, leader, [this](int32_t p) { unload_partition(p); });
}

}  // namespace flotilla::coordinator
