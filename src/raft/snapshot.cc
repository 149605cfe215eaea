#include "raft/snapshot.h"

#include <algorithm>
#include <cstdio>

#include <spdlog/spdlog.h>

#include "common/bytes.h"
#include "common/crc32c.h"
#include "protocol/messages.h"
#include "protocol/metadata_record.h"
#include "protocol/record_batch.h"
#include "raft/file_util.h"

namespace flotilla::raft {

using protocol::control_record_key;
using protocol::ControlType;
using protocol::parse_control_key;

namespace {
template <class M>
std::vector<uint8_t> encode_v0(const M& m) {
  ByteWriter w;
  m.encode(w, 0);
  return std::move(w).take();
}

std::vector<uint8_t> control_batch(int64_t base_offset, int32_t epoch, int64_t ts,
                                   const std::vector<std::pair<std::vector<uint8_t>, std::vector<uint8_t>>>& kvs) {
  records::BatchBuilder b(records::Compression::NONE, base_offset);
  b.set_control(true);
  b.set_partition_leader_epoch(epoch);
  for (const auto& [k, v] : kvs) b.add(ts, std::span<const uint8_t>(k), std::span<const uint8_t>(v));
  return b.build();
}

}  // namespace

msg::VotersRecord to_voters_record(const std::vector<Voter>& voters) {
  msg::VotersRecord r;
  r.version = 0;
  for (const auto& v : voters) {
    msg::VotersRecord::Voter x;
    x.voter_id = v.id;
    x.voter_directory_id = v.directory_id;
    for (const auto& e : v.endpoints) {
      msg::VotersRecord::Endpoint ep;
      ep.name = e.name;
      ep.host = e.host;
      ep.port = e.port;
      x.endpoints.push_back(ep);
    }
    x.k_raft_version_feature.min_supported_version = v.min_kraft_version;
    x.k_raft_version_feature.max_supported_version = v.max_kraft_version;
    r.voters.push_back(x);
  }
  return r;
}

std::vector<Voter> from_voters_record(const msg::VotersRecord& r) {
  std::vector<Voter> out;
  for (const auto& x : r.voters) {
    Voter v;
    v.id = x.voter_id;
    v.directory_id = x.voter_directory_id;
    for (const auto& ep : x.endpoints) v.endpoints.push_back(VoterEndpoint{ep.name, ep.host, ep.port});
    v.min_kraft_version = x.k_raft_version_feature.min_supported_version;
    v.max_kraft_version = x.k_raft_version_feature.max_supported_version;
    out.push_back(std::move(v));
  }
  return out;
}

std::string snapshot_file_name(SnapshotId id) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%020lld-%010d.checkpoint", static_cast<long long>(id.end_offset), id.epoch);
  return buf;
}

std::optional<SnapshotId> parse_snapshot_file_name(std::string_view n) {
  constexpr std::string_view suffix = ".checkpoint";
  if (n.size() != 20 + 1 + 10 + suffix.size() || n.substr(31) != suffix || n[20] != '-') return std::nullopt;
  SnapshotId id;
  int64_t off = 0;
  for (int i = 0; i < 20; ++i) {
    if (n[i] < '0' || n[i] > '9') return std::nullopt;
    off = off * 10 + (n[i] - '0');
  }
  int64_t ep = 0;
  for (int i = 21; i < 31; ++i) {
    if (n[i] < '0' || n[i] > '9') return std::nullopt;
    ep = ep * 10 + (n[i] - '0');
  }
  if (ep > INT32_MAX) return std::nullopt;
  id.end_offset = off;
  id.epoch = static_cast<int32_t>(ep);
  return id;
}

SnapshotWriter::SnapshotWriter(SnapshotId id, int64_t last_contained_log_timestamp, int64_t now_ms)
    : id_(id), last_contained_log_timestamp_(last_contained_log_timestamp), now_ms_(now_ms) {}

void SnapshotWriter::set_kraft_version(int16_t kraft_version, std::vector<Voter> voters) {
  kraft_version_ = kraft_version;
  voters_ = std::move(voters);
}

void SnapshotWriter::append(const std::vector<std::vector<uint8_t>>& record_values) {
  if (!record_values.empty()) batches_.push_back(record_values);
}

std::vector<uint8_t> SnapshotWriter::finish() const {
  std::vector<uint8_t> out;
  int64_t offset = 0;
  std::vector<std::pair<std::vector<uint8_t>, std::vector<uint8_t>>> header;
  msg::SnapshotHeaderRecord h;
  h.version = 0;
  h.last_contained_log_timestamp = last_contained_log_timestamp_;
  header.emplace_back(control_record_key(ControlType::SNAPSHOT_HEADER), encode_v0(h));
  if (kraft_version_) {
    msg::KRaftVersionRecord k;
    k.version = 0;
    k.k_raft_version = *kraft_version_;
    header.emplace_back(control_record_key(ControlType::KRAFT_VERSION), encode_v0(k));
    if (!voters_.empty()) header.emplace_back(control_record_key(ControlType::KRAFT_VOTERS), encode_v0(to_voters_record(voters_)));
  }
  auto hb = control_batch(offset, id_.epoch, now_ms_, header);
  out.insert(out.end(), hb.begin(), hb.end());
  offset += static_cast<int64_t>(header.size());
  for (const auto& values : batches_) {
    records::BatchBuilder b(records::Compression::NONE, offset);
    b.set_partition_leader_epoch(id_.epoch);
    for (const auto& v : values) b.add(now_ms_, std::nullopt, std::span<const uint8_t>(v));
    auto bytes = b.build();
    out.insert(out.end(), bytes.begin(), bytes.end());
    offset += static_cast<int64_t>(values.size());
  }
  msg::SnapshotFooterRecord f;
  f.version = 0;
  auto fb = control_batch(offset, id_.epoch, now_ms_, {{control_record_key(ControlType::SNAPSHOT_FOOTER), encode_v0(f)}});
  out.insert(out.end(), fb.begin(), fb.end());
  return out;
}

void SnapshotWriter::write_file(const std::filesystem::path& file) const {
  auto bytes = finish();
  write_file_atomically(file, bytes);
}

std::filesystem::path SnapshotWriter::write_snapshot(const std::filesystem::path& dir) const {
  auto p = dir / snapshot_file_name(id_);
  auto bytes = finish();
  write_file_atomically(p, bytes, ".part");
  return p;
}

std::vector<SnapshotId> list_snapshots(const std::filesystem::path& partition_dir) {
  std::vector<SnapshotId> out;
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator(partition_dir, ec)) {
    if (auto id = parse_snapshot_file_name(e.path().filename().string())) out.push_back(*id);
  }
  std::sort(out.begin(), out.end(), [](const SnapshotId& a, const SnapshotId& b) {
    return a.end_offset != b.end_offset ? a.end_offset < b.end_offset : a.epoch < b.epoch;
  });
  return out;
}

std::filesystem::path SnapshotWriter::write(const std::filesystem::path& dir) const {
  auto p = dir / snapshot_file_name(id_);
  write_file(p);
  return p;
}

CommittedBatch committed_batch(const records::BatchHeader& h, size_t stored_bytes) {
  CommittedBatch cb;
  cb.base_offset = h.base_offset;
  cb.last_offset = h.last_offset();
  cb.epoch = h.partition_leader_epoch;
  cb.append_timestamp = h.max_timestamp;
  cb.size_in_bytes = static_cast<int32_t>(stored_bytes);
  return cb;
}

SnapshotContents parse_snapshot(std::span<const uint8_t> bytes) {
  SnapshotContents out;
  size_t consumed = 0;
  bool first = true;
  records::for_each_batch(bytes, [&](const records::BatchHeader& h, std::span<const uint8_t> batch) {
    consumed += batch.size();
    if (batch.size() < records::kHeaderSize || h.magic != 2) throw DecodeError("snapshot batch with a bad header");
    if (crc32c(batch.data() + 21, batch.size() - 21) != h.crc) throw DecodeError("snapshot batch CRC mismatch");
    auto recs = records::decode_records(batch);
    if (h.is_control()) {
      for (const auto& r : recs) {
        if (!r.key || !r.value) throw DecodeError("snapshot control record without key or value");
        ByteReader rd(*r.value);
        switch (parse_control_key(*r.key)) {
          case ControlType::SNAPSHOT_HEADER: {
            msg::SnapshotHeaderRecord m;
            m.decode(rd, 0);
            out.has_header = true;
            out.last_contained_log_timestamp = m.last_contained_log_timestamp;
            break;
          }
          case ControlType::SNAPSHOT_FOOTER:
            out.has_footer = true;
            break;
          case ControlType::KRAFT_VERSION: {
            msg::KRaftVersionRecord m;
            m.decode(rd, 0);
            out.kraft_version = m.k_raft_version;
            break;
          }
          case ControlType::KRAFT_VOTERS: {
            msg::VotersRecord m;
            m.decode(rd, 0);
            out.voters = from_voters_record(m);
            break;
          }
          default:
            break;
        }
      }
      if (first && !out.has_header) throw DecodeError("snapshot does not start with a SnapshotHeaderRecord");
    } else {
      if (first) throw DecodeError("snapshot does not start with a control batch");
      CommittedBatch cb = committed_batch(h, batch.size());
      for (auto& r : recs)
        if (r.value) cb.records.push_back(std::move(*r.value));
      out.batches.push_back(std::move(cb));
    }
    first = false;
  });
  if (consumed != bytes.size()) throw DecodeError("snapshot ends with a partial batch");
  if (!out.has_header) throw DecodeError("snapshot has no header");
  return out;
}

SnapshotContents read_snapshot(const std::filesystem::path& file) {
  auto bytes = read_whole_file(file);
  return parse_snapshot(bytes);
}

std::optional<SnapshotContents> read_complete_snapshot(const std::filesystem::path& file, std::string& why) {
  try {
    SnapshotContents c = read_snapshot(file);
    if (c.has_footer) return c;
    why = "no SnapshotFooterRecord";
  } catch (const std::exception& e) {
    why = e.what();
  }
  return std::nullopt;
}

void remove_partial_snapshots(const std::filesystem::path& partition_dir) {
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator(partition_dir, ec)) {
    if (!e.path().filename().string().ends_with(".checkpoint.part")) continue;
    spdlog::info("[Snapshots] Removing the unfinished snapshot {}", e.path().string());
    std::filesystem::remove(e.path(), ec);
  }
}

int64_t read_snapshot_timestamp(const std::filesystem::path& file) {
  std::FILE* f = std::fopen(file.c_str(), "rb");
  if (!f) throw DecodeError("cannot open " + file.string());
  std::vector<uint8_t> head(12);
  bool ok = std::fread(head.data(), 1, head.size(), f) == head.size();
  if (ok) {
    uint32_t len = (uint32_t(head[8]) << 24) | (uint32_t(head[9]) << 16) | (uint32_t(head[10]) << 8) | uint32_t(head[11]);
    ok = len <= (1u << 20);
    if (ok) {
      head.resize(12 + len);
      ok = std::fread(head.data() + 12, 1, len, f) == len;
    }
  }
  std::fclose(f);
  if (!ok) throw DecodeError("cannot read the header batch of " + file.string());
  return parse_snapshot(head).last_contained_log_timestamp;
}

std::filesystem::path write_standalone_checkpoint(const std::filesystem::path& partition_dir, const Voter& self, int64_t now_ms) {
  std::filesystem::create_directories(partition_dir);
  SnapshotWriter w(SnapshotId{0, 0}, 0, now_ms);
  w.set_kraft_version(1, {self});
  return w.write(partition_dir);
}

std::optional<std::vector<Voter>> read_bootstrap_voters(const std::filesystem::path& partition_dir) {
  auto p = partition_dir / snapshot_file_name(SnapshotId{0, 0});
  std::error_code ec;
  if (!std::filesystem::exists(p, ec)) return std::nullopt;
  auto c = read_snapshot(p);
  return c.voters;
}

}  // namespace flotilla::raft
