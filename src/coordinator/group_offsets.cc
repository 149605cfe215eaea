// The classic group coordinator's committed offsets (group_coordinator.h):
// OffsetCommit, TxnOffsetCommit (pending until the transaction's marker),
// OffsetFetch, OffsetDelete, and their expiry (Kafka's
// GroupMetadataManager.cleanupGroupMetadata, every
// offsets.retention.check.interval.ms).
//
// Invariants: an offset becomes visible (OffsetFetch) only once its record is
// committed in __consumer_offsets, at the epoch it was written at; a commit
// being appended is not expired meanwhile (pending_commits_); a transactional
// commit stays invisible until its producer's marker reaches the partition
// (complete_txn), and OffsetFetch with require_stable answers
// UNSTABLE_OFFSET_COMMIT for it meanwhile.
//
// Threading: the broker's io_context thread.
#include <spdlog/spdlog.h>

#include <algorithm>
#include <set>

#include "coordinator/classic_group.h"
#include "coordinator/group_coordinator.h"

namespace flotilla::coordinator {

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
  if (held_by_other(g.static_members, instance_id, member_id)) return ErrorCode::FENCED_INSTANCE_ID;
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

// ---------------------------------------------------------------- offset expiry

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

// ---------------------------------------------------------------- OffsetDelete

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

}  // namespace flotilla::coordinator
