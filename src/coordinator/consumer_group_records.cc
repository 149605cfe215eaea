// The KIP-848 consumer groups' persistence (consumer_group.h): the records
// of a group that differ from what was last written for it (flush), in
// Kafka's order, and the groups rebuilt from a loaded __consumer_offsets
// partition (load_partition).
//
// Invariants: `persisted` is what the log holds for a group, key by key; a
// record is written only when its value changes, a tombstone only for a key
// that was written; removals come before writes, each in Kafka's order
// (record_rank), as Kafka's coordinator writes them.
//
// Threading: the broker's io_context thread.
#include <spdlog/spdlog.h>

#include <algorithm>

#include "coordinator/consumer_group.h"
#include "coordinator/consumer_group_state.h"

namespace flotilla::coordinator {

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

}  // namespace flotilla::coordinator
