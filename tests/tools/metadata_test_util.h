// Builders of metadata log segments and snapshots for the metadata-shell and
// metadata-diff tests: framed metadata records in v2 batches, written the way
// a node's `__cluster_metadata-0` directory holds them.
#pragma once

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "protocol/metadata_record.h"
#include "protocol/record_batch.h"
#include "raft/snapshot.h"

namespace flotilla::tools::testing {

namespace fs = std::filesystem;
using Value = std::vector<uint8_t>;

class TempDir {
 public:
  TempDir() {
    char tmpl[] = "/tmp/flotilla-metatools-XXXXXX";
    path_ = mkdtemp(tmpl);
  }
  ~TempDir() { fs::remove_all(path_); }
  const fs::path& path() const { return path_; }

 private:
  fs::path path_;
};

inline Value topic(const std::string& name, Uuid id) {
  msg::TopicRecord r;
  r.name = name;
  r.topic_id = id;
  return protocol::frame_metadata_record(r, 0);
}

inline Value partition(Uuid topic_id, int32_t index, std::vector<int32_t> replicas, int32_t leader, int32_t leader_epoch = 0) {
  msg::PartitionRecord r;
  r.partition_id = index;
  r.topic_id = topic_id;
  r.replicas = replicas;
  r.isr = replicas;
  r.leader = leader;
  r.leader_epoch = leader_epoch;
  r.partition_epoch = 0;
  return protocol::frame_metadata_record(r, 0);
}

inline Value partition_change(Uuid topic_id, int32_t index, int32_t leader, std::vector<int32_t> isr) {
  msg::PartitionChangeRecord r;
  r.partition_id = index;
  r.topic_id = topic_id;
  r.leader = leader;
  r.isr = isr;
  return protocol::frame_metadata_record(r, 0);
}

inline Value remove_topic(Uuid id) {
  msg::RemoveTopicRecord r;
  r.topic_id = id;
  return protocol::frame_metadata_record(r, 0);
}

inline Value register_broker(int32_t id, int64_t epoch, bool fenced = true) {
  msg::RegisterBrokerRecord r;
  r.broker_id = id;
  r.broker_epoch = epoch;
  r.incarnation_id = Uuid{static_cast<uint64_t>(id), static_cast<uint64_t>(epoch)};
  msg::RegisterBrokerRecord::BrokerEndpoint e;
  e.name = "PLAINTEXT";
  e.host = "localhost";
  e.port = static_cast<uint16_t>(9090 + id);
  r.end_points.push_back(e);
  r.rack = std::nullopt;
  r.fenced = fenced;
  return protocol::frame_metadata_record(r, 3);
}

inline Value broker_fencing(int32_t id, int64_t epoch, bool fence) {
  msg::BrokerRegistrationChangeRecord r;
  r.broker_id = id;
  r.broker_epoch = epoch;
  r.fenced = fence ? 1 : -1;
  return protocol::frame_metadata_record(r, 1);
}

inline Value unregister_broker(int32_t id, int64_t epoch) {
  msg::UnregisterBrokerRecord r;
  r.broker_id = id;
  r.broker_epoch = epoch;
  return protocol::frame_metadata_record(r, 0);
}

inline Value config(int8_t type, const std::string& name, const std::string& key, std::optional<std::string> value) {
  msg::ConfigRecord r;
  r.resource_type = type;
  r.resource_name = name;
  r.name = key;
  r.value = std::move(value);
  return protocol::frame_metadata_record(r, 0);
}

inline Value feature(const std::string& name, int16_t level) {
  msg::FeatureLevelRecord r;
  r.name = name;
  r.feature_level = level;
  return protocol::frame_metadata_record(r, 0);
}

// One v2 batch of record values at base_offset.
inline std::vector<uint8_t> batch(int64_t base_offset, int32_t epoch, const std::vector<Value>& values) {
  records::BatchBuilder b(records::Compression::NONE, base_offset);
  b.set_partition_leader_epoch(epoch);
  for (const auto& v : values) b.add(1700000000000 + base_offset, std::nullopt, std::span<const uint8_t>(v));
  return b.build();
}

// A segment file `<20-digit base offset>.log` of consecutive batches (each a
// list of values), then `zero_tail` zero bytes (the preallocated tail).
inline void write_segment(const fs::path& dir, int64_t base_offset, int32_t epoch, const std::vector<std::vector<Value>>& batches,
                          size_t zero_tail = 4096) {
  std::vector<uint8_t> out;
  int64_t offset = base_offset;
  for (const auto& values : batches) {
    auto b = batch(offset, epoch, values);
    out.insert(out.end(), b.begin(), b.end());
    offset += static_cast<int64_t>(values.size());
  }
  out.resize(out.size() + zero_tail, 0);
  char name[32];
  std::snprintf(name, sizeof name, "%020lld.log", static_cast<long long>(base_offset));
  std::ofstream f(dir / name, std::ios::binary);
  f.write(reinterpret_cast<const char*>(out.data()), static_cast<std::streamsize>(out.size()));
}

// A snapshot `<end offset>-<epoch>.checkpoint` in dir holding `values`.
inline fs::path write_snapshot(const fs::path& dir, int64_t end_offset, int32_t epoch, const std::vector<Value>& values) {
  raft::SnapshotWriter w(raft::SnapshotId{end_offset, epoch}, 1700000000000, 1700000000000);
  w.append(values);
  return w.write(dir);
}

}  // namespace flotilla::tools::testing
