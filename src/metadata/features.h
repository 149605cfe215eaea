// The KRaft features this build knows besides metadata.version (Kafka's
// Features enum): their supported level ranges, which brokers advertise in
// ApiVersions and their registrations, and the levels of other features each
// level depends on (Kafka's FeatureVersion.dependencies). Pure functions over
// a feature-level map; no state.
//
// eligible.leader.replicas.version (KIP-966): level 1 makes the controller
// keep EligibleLeaderReplicas / LastKnownElr in the partition records; it
// needs metadata.version 4.0-IV1 (the PartitionRecord and
// PartitionChangeRecord versions that carry them). Level 0 is the default
// (as in Kafka 4.0).
//
// group.version (KIP-848) and transaction.version (KIP-890) are known with
// Kafka's levels and defaults so that clusters formatted or upgraded by
// release carry the same FeatureLevelRecords as Kafka's; what each level
// turns on is decided where the feature is used (group.version 0 does not
// switch the KIP-848 consumer protocol off here: Flotilla serves it at every
// metadata.version).
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "metadata/bootstrap.h"
#include "metadata/image.h"

namespace flotilla::metadata {

inline constexpr const char* kKraftVersionFeature = "kraft.version";
inline constexpr const char* kEligibleLeaderReplicasFeature = "eligible.leader.replicas.version";
inline constexpr const char* kGroupVersionFeature = "group.version";
inline constexpr const char* kTransactionVersionFeature = "transaction.version";
inline constexpr int16_t kMetadataVersion_3_9_IV0 = 21;
inline constexpr int16_t kMetadataVersion_4_0_IV0 = 22;
inline constexpr int16_t kMetadataVersion_4_0_IV2 = 24;

struct FeatureSupport {
  const char* name;
  int16_t min_level;
  int16_t max_level;
};

// Every feature this build supports, metadata.version included, by name.
inline const std::vector<FeatureSupport>& supported_features() {
  static const std::vector<FeatureSupport> f = {
      {kEligibleLeaderReplicasFeature, 0, 1},
      {kGroupVersionFeature, 0, 1},
      {kKraftVersionFeature, 0, 1},
      {kMetadataVersionFeature, kMinimumKraftMetadataVersion, kLatestMetadataVersion},
      // Level 2 (KIP-890 part 2) waits for the partition leaders' implicit
      // AddPartitionsToTxn on transactional Produce v12+: with it finalized,
      // Kafka 4.x clients stop sending AddPartitionsToTxn themselves.
      {kTransactionVersionFeature, 0, 1},
  };
  return f;
}

// Kafka's Features.defaultValue: the level a release's metadata.version
// brings a feature to (the newest level whose bootstrap metadata.version is
// at or below it) — what `storage format --release-version` and
// `features upgrade --release-version` set. eligible.leader.replicas.version
// becomes a default only in 4.1, which this build does not know: 0. Kafka's
// default is capped at this build's supported maximum (transaction.version:
// Kafka's 4.0 default is 2, Flotilla supports up to 1).
inline int16_t default_feature_level(const std::string& feature, int16_t metadata_version);

// The supported range of a feature, or nullptr if this build does not know it.
inline const FeatureSupport* find_supported_feature(const std::string& name) {
  for (const auto& f : supported_features())
    if (name == f.name) return &f;
  return nullptr;
}

inline int16_t default_feature_level(const std::string& feature, int16_t metadata_version) {
  int16_t level = 0;
  if (feature == kKraftVersionFeature) level = metadata_version >= kMetadataVersion_3_9_IV0 ? 1 : 0;
  if (feature == kGroupVersionFeature) level = metadata_version >= kMetadataVersion_4_0_IV0 ? 1 : 0;
  if (feature == kTransactionVersionFeature) level = metadata_version >= kMetadataVersion_4_0_IV2 ? 2 : 0;
  const FeatureSupport* s = find_supported_feature(feature);
  return s && level > s->max_level ? s->max_level : level;
}

// The features (other than metadata.version) a level of `feature` needs, as
// (name, minimum level).
inline std::map<std::string, int16_t> feature_dependencies(const std::string& feature, int16_t level) {
  if (feature == kEligibleLeaderReplicasFeature && level >= 1) return {{kMetadataVersionFeature, kMetadataVersion_4_0_IV1}};
  return {};
}

// Kafka's Features.validateVersion: the reason `feature` cannot be at `level`
// given the other levels in `levels`, or nullopt when it can.
inline std::optional<std::string> feature_dependency_error(const std::string& feature, int16_t level,
                                                           const std::map<std::string, int16_t>& levels) {
  auto mv = levels.find(kMetadataVersionFeature);
  if (level >= 1 && (mv == levels.end() || mv->second < 4))
    return feature + " could not be set to " + std::to_string(level) + " because it depends on metadata.version=4 (3.3-IV0)";
  for (const auto& [dep, min] : feature_dependencies(feature, level)) {
    auto it = levels.find(dep);
    if (it == levels.end() || it->second < min)
      return feature + " could not be set to " + std::to_string(level) + " because it depends on " + dep + " level " + std::to_string(min);
  }
  return std::nullopt;
}

// The finalized level of a feature in an image (0 when absent).
inline int16_t feature_level(const MetadataImage& image, const std::string& feature) {
  auto it = image.features().find(feature);
  return it == image.features().end() ? 0 : it->second;
}

// Whether the controller maintains ELRs: eligible.leader.replicas.version >= 1
// at a metadata.version whose partition records carry them.
inline bool eligible_leader_replicas_enabled(const MetadataImage& image) {
  return feature_level(image, kEligibleLeaderReplicasFeature) >= 1 && image.metadata_version() >= kMetadataVersion_4_0_IV1;
}

}  // namespace flotilla::metadata
