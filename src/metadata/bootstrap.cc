#include "metadata/bootstrap.h"

#include <stdexcept>

#include "common/clock.h"
#include "metadata/image.h"
#include "protocol/messages.h"
#include "protocol/metadata_record.h"
#include "raft/snapshot.h"

namespace flotilla::metadata {

using protocol::AnyMetadataRecord;
using protocol::decode_metadata_record;
using protocol::frame_metadata_record;

namespace {
struct Release {
  int16_t level;
  const char* name;
};
// Kafka's MetadataVersion table (KRaft levels).
constexpr Release kReleases[] = {
    {1, "3.0-IV1"},  {2, "3.1-IV0"},  {3, "3.2-IV0"},  {4, "3.3-IV0"},  {5, "3.3-IV1"},  {6, "3.3-IV2"},  {7, "3.3-IV3"},
    {8, "3.4-IV0"},  {9, "3.5-IV0"},  {10, "3.5-IV1"}, {11, "3.5-IV2"}, {12, "3.6-IV0"}, {13, "3.6-IV1"}, {14, "3.6-IV2"},
    {15, "3.7-IV0"}, {16, "3.7-IV1"}, {17, "3.7-IV2"}, {18, "3.7-IV3"}, {19, "3.7-IV4"}, {20, "3.8-IV0"}, {21, "3.9-IV0"},
    {22, "4.0-IV0"}, {23, "4.0-IV1"}, {24, "4.0-IV2"}, {25, "4.0-IV3"},
};
}  // namespace

std::optional<int16_t> metadata_version_from_release(std::string_view release) {
  std::optional<int16_t> best;
  for (const auto& r : kReleases) {
    std::string_view name(r.name);
    if (name == release) return r.level;
    // "3.9" names the latest IV of 3.9.
    if (name.size() > release.size() && name.substr(0, release.size()) == release && name[release.size()] == '-') best = r.level;
  }
  return best;
}

std::string metadata_version_name(int16_t level) {
  for (const auto& r : kReleases)
    if (r.level == level) return r.name;
  return "";
}

BootstrapMetadata bootstrap_for_version(int16_t level, std::string source) {
  BootstrapMetadata b;
  b.metadata_version = level;
  b.source = std::move(source);
  msg::FeatureLevelRecord r;
  r.name = kMetadataVersionFeature;
  r.feature_level = level;
  b.records.push_back(frame_metadata_record(r, 0));
  b.features[kMetadataVersionFeature] = level;
  return b;
}

void write_bootstrap_checkpoint(const std::filesystem::path& dir, int16_t level, const std::vector<std::vector<uint8_t>>& extra,
                                const std::map<std::string, int16_t>& features) {
  std::filesystem::create_directories(dir);
  raft::SnapshotWriter w(raft::SnapshotId{0, 0}, 0, wall_clock_ms());
  auto records = bootstrap_for_version(level, "").records;
  for (const auto& [name, feature_level] : features) {
    // kraft.version is the quorum's (KRaftVersionRecord), not a FeatureLevelRecord.
    if (name == kMetadataVersionFeature || name == "kraft.version" || feature_level == 0) continue;
    msg::FeatureLevelRecord f;
    f.name = name;
    f.feature_level = feature_level;
    records.push_back(frame_metadata_record(f, 0));
  }
  records.insert(records.end(), extra.begin(), extra.end());
  w.append(records);
  w.write_file(dir / kBootstrapFileName);
}

BootstrapMetadata read_bootstrap(const std::filesystem::path& dir) {
  auto path = dir / kBootstrapFileName;
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) {
    return bootstrap_for_version(kLatestProductionMetadataVersion, "the default bootstrap");
  }
  raft::SnapshotContents c;
  try {
    c = raft::read_snapshot(path);
  } catch (const std::exception& e) {
    throw std::runtime_error("Unable to read " + path.string() + ": " + e.what());
  }
  BootstrapMetadata b;
  b.source = "the binary bootstrap metadata file: " + path.string();
  std::optional<int16_t> mv;
  for (const auto& batch : c.batches) {
    for (const auto& v : batch.records) {
      AnyMetadataRecord rec;
      try {
        rec = decode_metadata_record(v);
      } catch (const std::exception& e) {
        throw std::runtime_error("Unable to decode a record of " + path.string() + ": " + e.what());
      }
      if (auto* f = std::get_if<msg::FeatureLevelRecord>(&rec.record)) {
        b.features[f->name] = f->feature_level;
        if (f->name == kMetadataVersionFeature) mv = f->feature_level;
      }
      b.records.push_back(v);
    }
  }
  if (!mv) throw std::runtime_error("No metadata.version in " + path.string());
  b.metadata_version = *mv;
  return b;
}

}  // namespace flotilla::metadata
