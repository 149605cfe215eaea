// Bootstrap metadata: what a new cluster's first active controller writes
// (Kafka's BootstrapMetadata). `storage format` writes it as
// `<metadata.log.dir>/bootstrap.checkpoint`, a snapshot-format file holding a
// FeatureLevelRecord for metadata.version (and any records
// --add-scram asked for); release names ("3.9", "3.9-IV0")
// map to metadata.version feature levels as in Kafka's MetadataVersion.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace flotilla::metadata {

inline constexpr const char* kBootstrapFileName = "bootstrap.checkpoint";
inline constexpr int16_t kMinimumKraftMetadataVersion = 1;  // 3.0-IV1
inline constexpr int16_t kLatestProductionMetadataVersion = 21;  // 3.9-IV0
inline constexpr int16_t kMetadataVersion_3_3_IV3 = 7;
// The newest level this build knows (4.0-IV3); levels above the latest
// production one are only used when asked for (--release-version 4.0).
inline constexpr int16_t kLatestMetadataVersion = 25;
inline constexpr int16_t kMetadataVersion_4_0_IV1 = 23;  // KIP-966: PartitionRecord/PartitionChangeRecord v2 (ELR)

// The record versions the controller writes (and a snapshot of the image
// holds) at a metadata.version level, as Kafka's MetadataVersion picks them.
inline int16_t register_broker_record_version(int16_t metadata_version) {
  if (metadata_version >= 17) return 3;  // 3.7-IV2: log dirs
  if (metadata_version >= 8) return 2;   // 3.4-IV0: migrating ZK broker flag
  if (metadata_version >= 7) return 1;   // 3.3-IV3: controlled shutdown flag
  return 0;
}
// PartitionRecord and PartitionChangeRecord alike.
inline int16_t partition_record_version(int16_t metadata_version) {
  if (metadata_version >= kMetadataVersion_4_0_IV1) return 2;  // 4.0-IV1: EligibleLeaderReplicas, LastKnownElr
  return metadata_version >= 17 ? 1 : 0;  // 3.7-IV2: directories
}

// "3.9" -> 21 (the latest IV of that release), "3.9-IV0" -> 21; nullopt if unknown.
std::optional<int16_t> metadata_version_from_release(std::string_view release);
// 21 -> "3.9-IV0"; "" if unknown.
std::string metadata_version_name(int16_t level);

struct BootstrapMetadata {
  int16_t metadata_version = kLatestProductionMetadataVersion;
  std::vector<std::vector<uint8_t>> records;  // framed metadata records (FeatureLevelRecords)
  std::map<std::string, int16_t> features;    // every FeatureLevelRecord's level, metadata.version included
  std::string source;                          // where it came from, for log lines
};

// The records for a metadata.version level.
BootstrapMetadata bootstrap_for_version(int16_t metadata_version_level, std::string source);
// Writes `<dir>/bootstrap.checkpoint` (atomically): the metadata.version
// record, a FeatureLevelRecord per entry of `features` (other features, e.g.
// `--feature eligible.leader.replicas.version=1`; level 0 entries are not
// written), then `extra` (framed records, e.g. `storage format --add-scram`'s
// UserScramCredentialRecords), which the first active controller writes too.
void write_bootstrap_checkpoint(const std::filesystem::path& dir, int16_t metadata_version_level,
                                const std::vector<std::vector<uint8_t>>& extra = {},
                                const std::map<std::string, int16_t>& features = {});
// Reads `<dir>/bootstrap.checkpoint`; without the file, the latest production
// metadata.version (as Kafka falls back to). Throws std::runtime_error if the
// file is corrupt or has no metadata.version.
BootstrapMetadata read_bootstrap(const std::filesystem::path& dir);

}  // namespace flotilla::metadata
