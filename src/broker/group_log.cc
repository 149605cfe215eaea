#include "broker/group_log.h"

#include <spdlog/spdlog.h>

#include "broker/replica_manager.h"
#include "common/bytes.h"
#include "common/clock.h"
#include "protocol/record_batch.h"

namespace flotilla::broker {

namespace {
constexpr int16_t kOffsetKeyVersion = 1;
constexpr int16_t kGroupKeyVersion = 2;
}  // namespace

std::vector<uint8_t> encode_offset_key(const std::string& group, const std::string& topic, int32_t partition) {
  msg::OffsetCommitKey k;
  k.group = group;
  k.topic = topic;
  k.partition = partition;
  ByteWriter w;
  w.put_i16(kOffsetKeyVersion);
  k.encode(w, kOffsetKeyVersion);
  return std::move(w).take();
}

std::vector<uint8_t> encode_offset_value(const OffsetValue& v) {
  msg::OffsetCommitValue m;
  m.offset = v.offset;
  m.leader_epoch = v.leader_epoch;
  m.metadata = v.metadata;
  m.commit_timestamp = v.commit_timestamp;
  m.expire_timestamp = v.expire_timestamp;
  int16_t version = v.expire_timestamp >= 0 ? 1 : 3;
  ByteWriter w;
  w.put_i16(version);
  m.encode(w, version);
  return std::move(w).take();
}

std::vector<uint8_t> encode_group_key(const std::string& group) {
  msg::GroupMetadataKey k;
  k.group = group;
  ByteWriter w;
  w.put_i16(kGroupKeyVersion);
  k.encode(w, kGroupKeyVersion);
  return std::move(w).take();
}

std::vector<uint8_t> encode_group_value(const msg::GroupMetadataValue& v, int16_t version) {
  ByteWriter w;
  w.put_i16(version);
  v.encode(w, version);
  return std::move(w).take();
}

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
      ByteReader vr(*value);
      int16_t vv = vr.get_i16();
      if (vv < 0 || vv > msg::OffsetCommitValue::kMaxVersion) throw DecodeError("unknown OffsetCommitValue version " + std::to_string(vv));
      msg::OffsetCommitValue m;
      m.decode(vr, vv);
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
    if (value) {
      ByteReader vr(*value);
      int16_t vv = vr.get_i16();
      if (vv < 0 || vv > msg::GroupMetadataValue::kMaxVersion) throw DecodeError("unknown GroupMetadataValue version " + std::to_string(vv));
      msg::GroupMetadataValue m;
      m.decode(vr, vv);
      out.group_value = std::move(m);
    }
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
  }
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

void ReplicaGroupStore::append(int32_t partition, int32_t leader_epoch, std::vector<GroupRecord> records,
                               std::function<void(ErrorCode)> done) {
  Partition* p = replicas_.find(kGroupMetadataTopic, partition);
  if (!p) {
    asio::post(io_, [done] { done(ErrorCode::UNKNOWN_TOPIC_OR_PARTITION); });
    return;
  }
  if (!p->is_leader(replicas_.node_id()) || p->leader_epoch != leader_epoch) {
    asio::post(io_, [done] { done(ErrorCode::NOT_LEADER_OR_FOLLOWER); });
    return;
  }
  records::BatchBuilder b;
  b.set_partition_leader_epoch(leader_epoch);
  int64_t now = wall_clock_ms();
  for (const auto& r : records) {
    if (r.value) {
      b.add(now, std::span<const uint8_t>(r.key), std::span<const uint8_t>(*r.value));
    } else {
      b.add(now, std::span<const uint8_t>(r.key), std::nullopt);
    }
  }
  std::vector<uint8_t> batch = b.build();
  AppendResult ar = replicas_.append(*p, batch);
  if (ar.error != ErrorCode::NONE) {
    ErrorCode e = ar.error;
    asio::post(io_, [done, e] { done(e); });
    return;
  }
  const int64_t last = ar.last_offset;
  auto finished = std::make_shared<bool>(false);
  ReplicaManager& rm = replicas_;
  auto try_complete = [&rm, partition, leader_epoch, last, finished, done]() -> bool {
    if (*finished) return true;
    Partition* q = rm.find(kGroupMetadataTopic, partition);
    ErrorCode e;
    if (!q || !q->is_leader(rm.node_id()) || q->leader_epoch != leader_epoch) {
      e = ErrorCode::NOT_LEADER_OR_FOLLOWER;
    } else if (q->high_watermark() > last) {
      e = ErrorCode::NONE;
    } else {
      return false;
    }
    *finished = true;
    done(e);
    return true;
  };
  auto alive = alive_;
  // Complete on a later turn of the loop (callers must never see `done` inside append()).
  asio::post(io_, [this, alive, try_complete, finished, done, partition] {
    if (!*alive) return;
    if (try_complete()) return;
    replicas_.delay(monotonic_ms() + commit_timeout_ms_, {ReplicaManager::key(kGroupMetadataTopic, partition)}, try_complete,
                    [finished, done] {
                      if (*finished) return;
                      *finished = true;
                      done(ErrorCode::REQUEST_TIMED_OUT);
                    });
  });
}

struct ReplicaGroupStore::Loading {
  int32_t partition;
  int32_t epoch;
  int64_t next = 0;
  int64_t records = 0;
  int64_t started_ms = 0;
  LoadedPartition state;
  std::function<void(std::optional<LoadedPartition>)> done;
};

void ReplicaGroupStore::load(int32_t partition, int32_t leader_epoch, std::function<void(std::optional<LoadedPartition>)> done) {
  auto l = std::make_shared<Loading>();
  l->partition = partition;
  l->epoch = leader_epoch;
  l->done = std::move(done);
  l->next = -1;
  l->started_ms = monotonic_ms();
  auto alive = alive_;
  asio::post(io_, [this, alive, l] {
    if (*alive) load_slice(l);
  });
}

void ReplicaGroupStore::load_slice(std::shared_ptr<Loading> l) {
  constexpr int64_t kSliceMs = 10;
  Partition* p = replicas_.find(kGroupMetadataTopic, l->partition);
  if (!p || !p->is_leader(replicas_.node_id()) || p->leader_epoch != l->epoch) {
    l->done(std::nullopt);
    return;
  }
  if (l->next < 0) l->next = p->log->log_start_offset();
  const int64_t end = p->log->log_end_offset();
  const int64_t slice_end = monotonic_ms() + kSliceMs;
  try {
    while (l->next < end && monotonic_ms() <= slice_end) {
      if (l->next < p->log->log_start_offset()) l->next = p->log->log_start_offset();
      storage::ReadResult rr = p->log->read(l->next, 1 << 20, end, true);
      ByteWriter w;
      w.put_records_payload(rr.records);
      std::vector<uint8_t> bytes = w.flatten();
      int64_t before = l->next;
      records::for_each_batch(bytes, [&](const records::BatchHeader& h, std::span<const uint8_t> batch) {
        if (h.last_offset() < l->next) return;
        l->next = h.last_offset() + 1;
        if (h.is_control()) return;
        for (auto& r : records::decode_records(batch)) {
          if (!r.key) continue;
          try {
            l->state.apply(decode_group_log_record(*r.key, r.value));
            ++l->records;
          } catch (const std::exception& e) {
            spdlog::warn("[GroupMetadataManager] Skipping an undecodable record at offset {} of {}-{}: {}", r.offset, kGroupMetadataTopic,
                         l->partition, e.what());
          }
        }
      });
      if (l->next == before) break;  // nothing readable (should not happen): stop rather than spin
    }
  } catch (const std::exception& e) {
    spdlog::error("[GroupMetadataManager] Error loading {}-{}: {}", kGroupMetadataTopic, l->partition, e.what());
    l->next = end;
  }
  if (l->next < end) {
    auto alive = alive_;
    asio::post(io_, [this, alive, l] {
      if (*alive) load_slice(l);
    });
    return;
  }
  spdlog::info("[GroupMetadataManager brokerId={}] Finished loading offsets and group metadata from {}-{} in {} milliseconds ({} records, "
               "{} groups)",
               replicas_.node_id(), kGroupMetadataTopic, l->partition, monotonic_ms() - l->started_ms, l->records, l->state.groups.size());
  l->done(std::move(l->state));
}

}  // namespace flotilla::broker
