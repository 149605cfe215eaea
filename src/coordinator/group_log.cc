#include "coordinator/group_log.h"

#include <stdexcept>

#include "protocol/record_batch.h"

namespace flotilla::coordinator {

namespace {
constexpr int16_t kOffsetKeyVersion = 1;
constexpr int16_t kGroupKeyVersion = 2;
}  // namespace

std::vector<uint8_t> encode_offset_key(const std::string& group, const std::string& topic, int32_t partition) {
  msg::OffsetCommitKey k;
  k.group = group;
  k.topic = topic;
  k.partition = partition;
  return encode_versioned_value(k, kOffsetKeyVersion);
}

std::vector<uint8_t> encode_offset_value(const OffsetValue& v) {
  msg::OffsetCommitValue m;
  m.offset = v.offset;
  m.leader_epoch = v.leader_epoch;
  m.metadata = v.metadata;
  m.commit_timestamp = v.commit_timestamp;
  m.expire_timestamp = v.expire_timestamp;
  return encode_versioned_value(m, v.expire_timestamp >= 0 ? 1 : 3);
}

std::vector<uint8_t> encode_group_key(const std::string& group) {
  msg::GroupMetadataKey k;
  k.group = group;
  return encode_versioned_value(k, kGroupKeyVersion);
}

std::vector<uint8_t> encode_group_value(const msg::GroupMetadataValue& v, int16_t version) { return encode_versioned_value(v, version); }

namespace {
// A consumer group key: the group (and the member, for the member-level records).
template <typename Key>
std::vector<uint8_t> encode_cg(int16_t version, const std::string& group, const std::string& member_id) {
  Key k;
  k.group_id = group;
  if constexpr (requires { k.member_id; }) k.member_id = member_id;
  return encode_versioned_value(k, version);
}
}  // namespace

std::vector<uint8_t> encode_cg_key(int16_t version, const std::string& group, const std::string& member_id) {
  switch (version) {
    case kCgMetadataKeyVersion: return encode_cg<msg::ConsumerGroupMetadataKey>(version, group, member_id);
    case kCgPartitionMetadataKeyVersion: return encode_cg<msg::ConsumerGroupPartitionMetadataKey>(version, group, member_id);
    case kCgMemberMetadataKeyVersion: return encode_cg<msg::ConsumerGroupMemberMetadataKey>(version, group, member_id);
    case kCgTargetMetadataKeyVersion: return encode_cg<msg::ConsumerGroupTargetAssignmentMetadataKey>(version, group, member_id);
    case kCgTargetMemberKeyVersion: return encode_cg<msg::ConsumerGroupTargetAssignmentMemberKey>(version, group, member_id);
    case kCgCurrentAssignmentKeyVersion: return encode_cg<msg::ConsumerGroupCurrentMemberAssignmentKey>(version, group, member_id);
    default: throw std::invalid_argument("not a consumer group key version: " + std::to_string(version));
  }
}

namespace {
// Decodes a consumer group value (int16 version + struct) into `out`.
template <class M>
void decode_cg_value(const std::optional<std::vector<uint8_t>>& value, std::optional<M>& out, const char* name) {
  if (value) out = decode_versioned_value<M>(*value, name);
}
// A consumer group key: the group (and the member, for the member-level records).
template <typename Key>
void decode_cg(ByteReader& kr, int16_t version, GroupLogRecord& out, GroupLogRecord::Kind kind) {
  Key k;
  k.decode(kr, version);
  out.kind = kind;
  out.group = k.group_id;
  if constexpr (requires { k.member_id; }) out.member_id = k.member_id;
}
}  // namespace

GroupLogRecord decode_group_log_record(std::span<const uint8_t> key, const std::optional<std::vector<uint8_t>>& value) {
  GroupLogRecord out;
  ByteReader kr(key);
  int16_t kv = kr.get_i16();
  if (kv == 0 || kv == 1) {
    msg::OffsetCommitKey k;
    k.decode(kr, kv);
    out.kind = GroupLogRecord::kOffset;
    out.group = k.group;
    out.topic = k.topic;
    out.partition = k.partition;
    if (value) {
      const auto m = decode_versioned_value<msg::OffsetCommitValue>(*value, "OffsetCommitValue");
      OffsetValue o;
      o.offset = m.offset;
      o.leader_epoch = m.leader_epoch;
      o.metadata = m.metadata;
      o.commit_timestamp = m.commit_timestamp;
      o.expire_timestamp = m.expire_timestamp;
      out.offset = o;
    }
  } else if (kv == 2) {
    msg::GroupMetadataKey k;
    k.decode(kr, kv);
    out.kind = GroupLogRecord::kGroup;
    out.group = k.group;
    if (value) out.group_value = decode_versioned_value<msg::GroupMetadataValue>(*value, "GroupMetadataValue");
  } else if (kv == kCgMetadataKeyVersion) {
    decode_cg<msg::ConsumerGroupMetadataKey>(kr, kv, out, GroupLogRecord::kCgMetadata);
    decode_cg_value(value, out.cg_metadata, "ConsumerGroupMetadataValue");
  } else if (kv == kCgPartitionMetadataKeyVersion) {
    decode_cg<msg::ConsumerGroupPartitionMetadataKey>(kr, kv, out, GroupLogRecord::kCgPartitionMetadata);
    decode_cg_value(value, out.cg_partition_metadata, "ConsumerGroupPartitionMetadataValue");
  } else if (kv == kCgMemberMetadataKeyVersion) {
    decode_cg<msg::ConsumerGroupMemberMetadataKey>(kr, kv, out, GroupLogRecord::kCgMemberMetadata);
    decode_cg_value(value, out.cg_member, "ConsumerGroupMemberMetadataValue");
  } else if (kv == kCgTargetMetadataKeyVersion) {
    decode_cg<msg::ConsumerGroupTargetAssignmentMetadataKey>(kr, kv, out, GroupLogRecord::kCgTargetMetadata);
    decode_cg_value(value, out.cg_target_metadata, "ConsumerGroupTargetAssignmentMetadataValue");
  } else if (kv == kCgTargetMemberKeyVersion) {
    decode_cg<msg::ConsumerGroupTargetAssignmentMemberKey>(kr, kv, out, GroupLogRecord::kCgTargetMember);
    decode_cg_value(value, out.cg_target_member, "ConsumerGroupTargetAssignmentMemberValue");
  } else if (kv == kCgCurrentAssignmentKeyVersion) {
    decode_cg<msg::ConsumerGroupCurrentMemberAssignmentKey>(kr, kv, out, GroupLogRecord::kCgCurrentAssignment);
    decode_cg_value(value, out.cg_current_assignment, "ConsumerGroupCurrentMemberAssignmentValue");
  }
  return out;
}

void LoadedPartition::apply(const GroupLogRecord& r) {
  if (r.kind == GroupLogRecord::kOffset) {
    if (r.offset) {
      offsets[r.group][{r.topic, r.partition}] = *r.offset;
    } else {
      auto it = offsets.find(r.group);
      if (it != offsets.end()) {
        it->second.erase({r.topic, r.partition});
        if (it->second.empty()) offsets.erase(it);
      }
    }
  } else if (r.kind == GroupLogRecord::kGroup) {
    if (r.group_value) {
      groups[r.group] = *r.group_value;
    } else {
      groups.erase(r.group);
    }
  } else if (r.kind >= GroupLogRecord::kCgMetadata && r.kind <= GroupLogRecord::kCgCurrentAssignment) {
    // Last record per key wins; a tombstone deletes the key.
    LoadedConsumerGroup& g = consumer_groups[r.group];
    auto set = [&](auto& slot, const auto& v) {
      if (v) slot = *v;
      else slot.reset();
    };
    auto set_member = [&](auto& map, const auto& v) {
      if (v) map[r.member_id] = *v;
      else map.erase(r.member_id);
    };
    switch (r.kind) {
      case GroupLogRecord::kCgMetadata: set(g.metadata, r.cg_metadata); break;
      case GroupLogRecord::kCgPartitionMetadata: set(g.partition_metadata, r.cg_partition_metadata); break;
      case GroupLogRecord::kCgTargetMetadata: set(g.target_metadata, r.cg_target_metadata); break;
      case GroupLogRecord::kCgMemberMetadata: set_member(g.members, r.cg_member); break;
      case GroupLogRecord::kCgTargetMember: set_member(g.targets, r.cg_target_member); break;
      case GroupLogRecord::kCgCurrentAssignment: set_member(g.assignments, r.cg_current_assignment); break;
      default: break;
    }
    if (g.empty()) consumer_groups.erase(r.group);
  }
}

void LoadedPartition::apply_txn(int64_t producer_id, const GroupLogRecord& r) {
  if (r.kind == GroupLogRecord::kOffset && r.offset) pending_txn_offsets[producer_id][r.group][{r.topic, r.partition}] = *r.offset;
}

void LoadedPartition::complete_txn(int64_t producer_id, bool commit) {
  auto it = pending_txn_offsets.find(producer_id);
  if (it == pending_txn_offsets.end()) return;
  if (commit)
    for (auto& [group, offs] : it->second)
      for (auto& [tp, v] : offs) offsets[group][tp] = v;
  pending_txn_offsets.erase(it);
}

int32_t java_string_hash(const std::string& s) {
  uint32_t h = 0;
  auto add = [&](uint32_t unit) { h = 31 * h + unit; };
  size_t i = 0;
  while (i < s.size()) {
    uint8_t c = static_cast<uint8_t>(s[i]);
    uint32_t cp;
    size_t n;
    if (c < 0x80) {
      cp = c, n = 1;
    } else if ((c & 0xE0) == 0xC0) {
      cp = c & 0x1F, n = 2;
    } else if ((c & 0xF0) == 0xE0) {
      cp = c & 0x0F, n = 3;
    } else if ((c & 0xF8) == 0xF0) {
      cp = c & 0x07, n = 4;
    } else {
      add(0xFFFD);
      ++i;
      continue;
    }
    if (i + n > s.size()) {
      add(0xFFFD);
      ++i;
      continue;
    }
    bool ok = true;
    for (size_t j = 1; j < n; ++j) {
      uint8_t cc = static_cast<uint8_t>(s[i + j]);
      if ((cc & 0xC0) != 0x80) {
        ok = false;
        break;
      }
      cp = (cp << 6) | (cc & 0x3F);
    }
    if (!ok) {
      add(0xFFFD);
      ++i;
      continue;
    }
    i += n;
    if (cp >= 0x10000) {
      cp -= 0x10000;
      add(0xD800 + (cp >> 10));
      add(0xDC00 + (cp & 0x3FF));
    } else {
      add(cp);
    }
  }
  return static_cast<int32_t>(h);
}

int32_t group_partition(const std::string& group_id, int32_t partitions) {
  int32_t h = java_string_hash(group_id);
  int32_t a = h == INT32_MIN ? 0 : (h < 0 ? -h : h);
  return partitions > 0 ? a % partitions : 0;
}

// ---------------------------------------------------------------- ReplicaGroupStore

void ReplicaGroupStore::load(int32_t partition, int32_t leader_epoch, std::function<void(std::optional<LoadedPartition>)> done) {
  auto state = std::make_shared<LoadedPartition>();
  InternalTopicLog::Visitor v;
  v.record = [state](const records::Record& r, int64_t producer_id) {
    GroupLogRecord rec = decode_group_log_record(*r.key, r.value);
    if (producer_id >= 0) state->apply_txn(producer_id, rec);
    else state->apply(rec);
  };
  v.marker = [state](int64_t producer_id, bool commit) { state->complete_txn(producer_id, commit); };
  log_.load(partition, leader_epoch, std::move(v), [state, done](bool ok, int64_t) {
    if (ok) done(std::move(*state));
    else done(std::nullopt);
  });
}

}  // namespace flotilla::coordinator
