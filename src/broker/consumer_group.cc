#include "broker/consumer_group.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <regex>

#include "broker/group_log.h"

namespace flotilla::broker {

namespace {

constexpr int32_t kLeaveEpoch = -1;        // a member leaves the group
constexpr int32_t kStaticLeaveEpoch = -2;  // a static member leaves for now (keeps its assignment)
// Kafka 4.0's INVALID_REGULAR_EXPRESSION (not in common/error.h yet).
constexpr ErrorCode kInvalidRegularExpression = static_cast<ErrorCode>(128);

bool is_internal_topic(const std::string& name) { return name == "__consumer_offsets" || name == "__transaction_state"; }

bool contains(const CgAssignment& a, const Uuid& t, int32_t p) {
  auto it = a.find(t);
  return it != a.end() && it->second.count(p);
}

void add(CgAssignment& a, const Uuid& t, int32_t p) { a[t].insert(p); }

void drop_empty(CgAssignment& a) { std::erase_if(a, [](const auto& kv) { return kv.second.empty(); }); }

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

// ---------------------------------------------------------------- assignors

// Sticky and balanced: every member keeps the partitions of its previous
// target that it still subscribes to, the others go to the least loaded
// subscriber, then partitions move from the most to the least loaded members
// (that subscribe to their topic) until no member has two more than another
// that could take one.
std::map<std::string, CgAssignment> cg_assign_uniform(const CgAssignorInput& members, const CgTopics& topics) {
  std::map<std::string, CgAssignment> out;
  std::map<std::string, size_t> load;
  for (const auto& [id, m] : members) {
    out[id];
    load[id] = 0;
  }
  std::set<std::pair<Uuid, int32_t>> taken;
  for (const auto& [id, m] : members) {
    for (const auto& [tid, ps] : m.previous) {
      auto nit = topics.names.find(tid);
      if (nit == topics.names.end() || !m.topics.count(nit->second)) continue;
      const CgTopic& t = topics.by_name.at(nit->second);
      for (int32_t p : ps) {
        if (p < 0 || p >= t.partitions || taken.count({tid, p})) continue;
        taken.insert({tid, p});
        add(out[id], tid, p);
        ++load[id];
      }
    }
  }
  // Subscribers per topic.
  std::map<std::string, std::vector<std::string>> subscribers;
  for (const auto& [id, m] : members)
    for (const auto& t : m.topics)
      if (topics.by_name.count(t)) subscribers[t].push_back(id);
  for (const auto& [name, subs] : subscribers) {
    const CgTopic& t = topics.by_name.at(name);
    for (int32_t p = 0; p < t.partitions; ++p) {
      if (taken.count({t.id, p})) continue;
      const std::string* best = nullptr;
      for (const auto& s : subs)
        if (!best || load[s] < load[*best]) best = &s;
      add(out[*best], t.id, p);
      ++load[*best];
      taken.insert({t.id, p});
    }
  }
  // Balance.
  for (;;) {
    std::vector<std::string> order;
    for (const auto& [id, n] : load) order.push_back(id);
    std::stable_sort(order.begin(), order.end(), [&](const auto& a, const auto& b) { return load[a] > load[b]; });
    bool moved = false;
    for (const auto& a : order) {
      for (auto bit = order.rbegin(); bit != order.rend() && !moved; ++bit) {
        const std::string& b = *bit;
        if (load[b] + 1 >= load[a]) break;
        // The last partition of `a` (by topic id, partition) that `b` subscribes to.
        const auto& btopics = members.at(b).topics;
        CgAssignment& aa = out[a];
        for (auto tit = aa.rbegin(); tit != aa.rend() && !moved; ++tit) {
          if (tit->second.empty() || !btopics.count(topics.names.at(tit->first))) continue;
          int32_t p = *tit->second.rbegin();
          Uuid tid = tit->first;
          aa[tid].erase(p);
          add(out[b], tid, p);
          --load[a];
          ++load[b];
          moved = true;
        }
      }
      if (moved) break;
    }
    if (!moved) break;
  }
  for (auto& [id, a] : out) drop_empty(a);
  return out;
}

// Sticky range: per topic, its subscribers (by member id) each get
// partitions/subscribers partitions, the first (partitions % subscribers) of
// them one more. A member keeps the partitions of its previous target within
// its share (the lowest first); the partitions left over go, in ascending
// order, to the members short of their share, in member order. Without a
// previous target this is the classic range assignment (contiguous ranges,
// co-partitioned across topics with the same subscribers).
std::map<std::string, CgAssignment> cg_assign_range(const CgAssignorInput& members, const CgTopics& topics) {
  std::map<std::string, CgAssignment> out;
  std::map<std::string, std::vector<std::string>> subscribers;
  for (const auto& [id, m] : members) {
    out[id];
    for (const auto& t : m.topics)
      if (topics.by_name.count(t)) subscribers[t].push_back(id);
  }
  for (const auto& [name, subs] : subscribers) {
    const CgTopic& t = topics.by_name.at(name);
    const int32_t k = static_cast<int32_t>(subs.size());
    const int32_t quota = t.partitions / k;
    int32_t extra = t.partitions % k;
    std::vector<int32_t> share(k, quota);
    std::vector<bool> got_extra(k, false);
    std::set<int32_t> taken;
    for (int32_t i = 0; i < k; ++i) {
      std::vector<int32_t> prev;
      const CgAssignment& pa = members.at(subs[i]).previous;
      if (auto it = pa.find(t.id); it != pa.end())
        for (int32_t p : it->second)
          if (p >= 0 && p < t.partitions && !taken.count(p)) prev.push_back(p);
      size_t keep = std::min<size_t>(prev.size(), static_cast<size_t>(quota));
      if (prev.size() > keep && extra > 0) {
        ++keep;
        --extra;
        got_extra[i] = true;
        ++share[i];
      }
      for (size_t j = 0; j < keep; ++j) {
        add(out[subs[i]], t.id, prev[j]);
        taken.insert(prev[j]);
      }
    }
    for (int32_t i = 0; i < k && extra > 0; ++i)
      if (!got_extra[i]) ++share[i], --extra;
    int32_t next = 0;
    for (int32_t i = 0; i < k; ++i) {
      auto it = out[subs[i]].find(t.id);
      int32_t have = it == out[subs[i]].end() ? 0 : static_cast<int32_t>(it->second.size());
      for (; have < share[i]; ++have) {
        while (taken.count(next)) ++next;
        add(out[subs[i]], t.id, next);
        taken.insert(next);
      }
    }
  }
  return out;
}

// ---------------------------------------------------------------- state

struct ConsumerGroupCoordinator::Member {
  std::string id;
  std::optional<std::string> instance_id;
  std::optional<std::string> rack_id;
  std::string client_id, client_host;
  int32_t epoch = 0;
  int32_t previous_epoch = -1;
  CgMemberState state = CgMemberState::Stable;
  int32_t rebalance_timeout_ms = 0;
  std::vector<std::string> names;  // sorted, unique
  std::optional<std::string> regex;
  std::optional<std::string> assignor;
  std::set<std::string> resolved;  // the topics the regex matches
  CgAssignment assigned;            // owned, and kept
  CgAssignment pending_revocation;  // owned, to give up
  int64_t session_deadline = 0;
  int64_t revocation_deadline = -1;

  std::set<std::string> subscription() const {
    std::set<std::string> s(names.begin(), names.end());
    s.insert(resolved.begin(), resolved.end());
    return s;
  }
};

struct ConsumerGroupCoordinator::Group {
  std::string id;
  int32_t partition = 0;
  int32_t epoch = 0;
  int32_t assignment_epoch = 0;
  std::map<std::string, Member> members;
  std::map<std::string, std::string> static_members;  // instance id -> member id
  std::map<std::string, CgAssignment> target;
  std::map<std::string, std::pair<Uuid, int32_t>> subscribed_metadata;  // subscribed topics that exist
  int64_t topics_version = -1;
  // Loaded from records: the first refresh resolves the regexes again without
  // counting that as a change (their resolution is not persisted).
  bool regexes_unresolved = false;
  // What was last written to __consumer_offsets: record key -> value.
  std::map<std::vector<uint8_t>, std::vector<uint8_t>> persisted;

  void bump() { ++epoch; }
};

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
  if (it->second.instance_id) {
    auto sit = g.static_members.find(*it->second.instance_id);
    if (sit != g.static_members.end() && sit->second == member_id) g.static_members.erase(sit);
  }
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
    try {
      std::regex re(*m.regex);
      for (const auto& [name, t] : topics.by_name)
        if (!is_internal_topic(name) && std::regex_match(name, re)) resolved.insert(name);
    } catch (const std::regex_error&) {
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
    try {
      std::regex re(*req.subscribed_topic_regex);
    } catch (const std::regex_error& e) {
      return Result::error(kInvalidRegularExpression, "SubscribedTopicRegex `" + *req.subscribed_topic_regex + "` is not a valid regular expression: " + e.what() + ".");
    }
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
  auto it = partition_epochs_.find(partition);
  if (!leader) {
    unload_partition(partition);
    partition_epochs_.erase(partition);
    return;
  }
  if (it != partition_epochs_.end() && it->second == epoch) return;
  unload_partition(partition);
  partition_epochs_[partition] = epoch;
}

// ---------------------------------------------------------------- persistence

namespace {

// Kafka's MemberState values.
int8_t member_state_code(CgMemberState s) {
  switch (s) {
    case CgMemberState::Stable: return 0;
    case CgMemberState::UnrevokedPartitions: return 1;
    case CgMemberState::UnreleasedPartitions: return 2;
  }
  return 0;
}

CgMemberState member_state_of(int8_t c) {
  switch (c) {
    case 1: return CgMemberState::UnrevokedPartitions;
    case 2: return CgMemberState::UnreleasedPartitions;
    default: return CgMemberState::Stable;
  }
}

template <class TP>
std::vector<TP> topic_partitions(const CgAssignment& a) {
  std::vector<TP> out;
  for (const auto& [tid, ps] : a) {
    if (ps.empty()) continue;
    TP tp;
    tp.topic_id = tid;
    tp.partitions.assign(ps.begin(), ps.end());
    out.push_back(std::move(tp));
  }
  return out;
}

template <class TP>
CgAssignment assignment_of(const std::vector<TP>& tps) {
  CgAssignment a;
  for (const auto& tp : tps)
    for (int32_t p : tp.partitions) a[tp.topic_id].insert(p);
  return a;
}

int16_t key_version(const std::vector<uint8_t>& key) {
  return key.size() < 2 ? -1 : static_cast<int16_t>((key[0] << 8) | key[1]);
}

// Kafka's write order: member metadata, subscription metadata, group epoch,
// target assignment (members, then its epoch), current assignments; removals
// in the reverse dependency order (current assignment, target, member, then
// the group's records).
int record_rank(int16_t kv, bool tombstone) {
  static const int16_t kWrite[] = {5, 4, 3, 7, 6, 8};
  static const int16_t kDelete[] = {8, 7, 5, 6, 4, 3};
  const int16_t* order = tombstone ? kDelete : kWrite;
  for (int i = 0; i < 6; ++i)
    if (order[i] == kv) return i;
  return 6;
}

}  // namespace

std::vector<GroupRecord> ConsumerGroupCoordinator::flush(Group* g, const std::string& group_id) {
  std::map<std::vector<uint8_t>, std::vector<uint8_t>> now;
  if (g) {
    msg::ConsumerGroupMetadataValue meta;
    meta.epoch = g->epoch;
    now[encode_cg_key(kCgMetadataKeyVersion, g->id)] = encode_versioned_value(meta);
    msg::ConsumerGroupPartitionMetadataValue pm;
    for (const auto& [name, md] : g->subscribed_metadata) {
      msg::ConsumerGroupPartitionMetadataValue::TopicMetadata t;
      t.topic_id = md.first;
      t.topic_name = name;
      t.num_partitions = md.second;
      pm.topics.push_back(std::move(t));
    }
    now[encode_cg_key(kCgPartitionMetadataKeyVersion, g->id)] = encode_versioned_value(pm);
    msg::ConsumerGroupTargetAssignmentMetadataValue tm;
    tm.assignment_epoch = g->assignment_epoch;
    now[encode_cg_key(kCgTargetMetadataKeyVersion, g->id)] = encode_versioned_value(tm);
    for (const auto& [id, m] : g->members) {
      msg::ConsumerGroupMemberMetadataValue mv;
      mv.instance_id = m.instance_id;
      mv.rack_id = m.rack_id;
      mv.client_id = m.client_id;
      mv.client_host = m.client_host;
      mv.subscribed_topic_names = m.names;
      mv.subscribed_topic_regex = m.regex;
      mv.rebalance_timeout_ms = m.rebalance_timeout_ms;
      mv.server_assignor = m.assignor;
      now[encode_cg_key(kCgMemberMetadataKeyVersion, g->id, id)] = encode_versioned_value(mv);
      msg::ConsumerGroupCurrentMemberAssignmentValue cv;
      cv.member_epoch = m.epoch;
      cv.previous_member_epoch = m.previous_epoch;
      cv.state = member_state_code(m.state);
      cv.assigned_partitions = topic_partitions<msg::ConsumerGroupCurrentMemberAssignmentValue::TopicPartitions>(m.assigned);
      cv.partitions_pending_revocation =
          topic_partitions<msg::ConsumerGroupCurrentMemberAssignmentValue::TopicPartitions>(m.pending_revocation);
      now[encode_cg_key(kCgCurrentAssignmentKeyVersion, g->id, id)] = encode_versioned_value(cv);
    }
    for (const auto& [id, a] : g->target) {
      if (!g->members.count(id)) continue;
      msg::ConsumerGroupTargetAssignmentMemberValue tv;
      tv.topic_partitions = topic_partitions<msg::ConsumerGroupTargetAssignmentMemberValue::TopicPartition>(a);
      now[encode_cg_key(kCgTargetMemberKeyVersion, g->id, id)] = encode_versioned_value(tv);
    }
  }
  std::map<std::vector<uint8_t>, std::vector<uint8_t>> previous;
  if (g) previous = std::move(g->persisted);
  else if (const Group* old = find(group_id)) previous = old->persisted;
  std::vector<std::pair<int, GroupRecord>> out;
  for (const auto& [k, v] : previous)
    if (!now.count(k)) out.push_back({record_rank(key_version(k), true), GroupRecord{k, std::nullopt}});
  for (const auto& [k, v] : now) {
    auto it = previous.find(k);
    if (it == previous.end() || it->second != v) out.push_back({10 + record_rank(key_version(k), false), GroupRecord{k, v}});
  }
  // Removals first (a member leaving), then writes, each in Kafka's order.
  std::stable_sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
  if (g) g->persisted = std::move(now);
  std::vector<GroupRecord> recs;
  recs.reserve(out.size());
  for (auto& [rank, r] : out) recs.push_back(std::move(r));
  return recs;
}

void ConsumerGroupCoordinator::emit(int32_t partition, std::vector<GroupRecord> records) {
  if (records.empty() || !sink_) return;
  sink_(partition, std::move(records));
}

void ConsumerGroupCoordinator::load_partition(int32_t partition, const std::map<std::string, LoadedConsumerGroup>& groups) {
  unload_partition(partition);
  const int64_t now = now_ms_();
  size_t n = 0;
  for (const auto& [gid, lg] : groups) {
    if (partition_for(gid) != partition) continue;
    if (!lg.metadata && lg.members.empty()) continue;
    auto g = std::make_unique<Group>();
    g->id = gid;
    g->partition = partition;
    g->epoch = lg.metadata ? lg.metadata->epoch : 0;
    g->assignment_epoch = lg.target_metadata ? lg.target_metadata->assignment_epoch : 0;
    if (lg.partition_metadata)
      for (const auto& t : lg.partition_metadata->topics) g->subscribed_metadata[t.topic_name] = {t.topic_id, t.num_partitions};
    for (const auto& [mid, mv] : lg.members) {
      Member m;
      m.id = mid;
      m.instance_id = mv.instance_id;
      m.rack_id = mv.rack_id;
      m.client_id = mv.client_id;
      m.client_host = mv.client_host;
      m.names = mv.subscribed_topic_names;
      std::sort(m.names.begin(), m.names.end());
      m.names.erase(std::unique(m.names.begin(), m.names.end()), m.names.end());
      m.regex = mv.subscribed_topic_regex;
      if (m.regex && m.regex->empty()) m.regex.reset();
      if (m.regex) g->regexes_unresolved = true;
      m.rebalance_timeout_ms = mv.rebalance_timeout_ms;
      m.assignor = mv.server_assignor;
      if (auto ait = lg.assignments.find(mid); ait != lg.assignments.end()) {
        m.epoch = ait->second.member_epoch;
        m.previous_epoch = ait->second.previous_member_epoch;
        m.state = member_state_of(ait->second.state);
        m.assigned = assignment_of(ait->second.assigned_partitions);
        m.pending_revocation = assignment_of(ait->second.partitions_pending_revocation);
      }
      m.session_deadline = now + config_.session_timeout_ms;
      m.revocation_deadline = m.state == CgMemberState::UnrevokedPartitions ? now + m.rebalance_timeout_ms : -1;
      if (m.instance_id) g->static_members[*m.instance_id] = mid;
      g->members[mid] = std::move(m);
    }
    for (const auto& [mid, tv] : lg.targets)
      if (g->members.count(mid)) g->target[mid] = assignment_of(tv.topic_partitions);
    // What the log holds now: nothing is rewritten until something changes.
    g->persisted = {};
    Group* gp = g.get();
    groups_[gid] = std::move(g);
    (void)flush(gp, gid);
    ++n;
  }
  spdlog::info("[GroupCoordinator] Loaded {} consumer groups of partition {}", n, partition);
}

void ConsumerGroupCoordinator::unload_partition(int32_t partition) {
  std::erase_if(groups_, [&](const auto& kv) { return kv.second->partition == partition; });
}

}  // namespace flotilla::broker
