// Stops a node that cannot support a feature level the cluster finalized
// (KIP-584: a node must never act on metadata whose meaning it does not know).
//
// Every image this node's loader publishes — the first one (replayed from the
// local log and snapshot at start-up, or fetched from the quorum) and every
// later one — has its finalized levels checked against this build's
// supported ranges (metadata::supported_features). A level outside them (a
// node of an older build started in an upgraded cluster, or a cluster
// formatted by a newer one) ends the process with exit code 1 and one error
// line naming the feature, the level and the supported range, before the node
// serves anything from that image. The controller already refuses to finalize
// a level a registered broker does not support; this covers the node that
// was not there to be asked.
//
// Threading: publish() runs on the loader's thread. Exiting there is Kafka's
// fatal fault handling (ProcessTerminatingFaultHandler): what is on disk is
// as safe as after kill -9, which the storage is built to survive.
#pragma once

#include <cstdlib>
#include <memory>
#include <optional>
#include <string>

#include <spdlog/spdlog.h>

#include "metadata/bootstrap.h"
#include "metadata/features.h"
#include "metadata/publisher.h"

namespace flotilla::server {

// The reason this build cannot run with the finalized `levels`, or nullopt.
inline std::optional<std::string> unsupported_finalized_feature(const std::map<std::string, int16_t>& levels) {
  for (const auto& [name, level] : levels) {
    const metadata::FeatureSupport* s = metadata::find_supported_feature(name);
    if (level == 0 && !s) continue;  // a feature at 0 is the same as absent
    if (s && level >= s->min_level && level <= s->max_level) continue;
    std::string shown = name == metadata::kMetadataVersionFeature && !metadata::metadata_version_name(level).empty()
                            ? std::to_string(level) + " (" + metadata::metadata_version_name(level) + ")"
                            : std::to_string(level);
    std::string range = s ? std::to_string(s->min_level) + "-" + std::to_string(s->max_level) : "none";
    return "The cluster's finalized " + name + " level " + shown + " is not supported by this node (supported levels: " +
           range + "). Run a Flotilla build that supports it.";
  }
  return std::nullopt;
}

class FeatureGuard : public metadata::Publisher {
 public:
  explicit FeatureGuard(int32_t node_id) : node_id_(node_id) {}
  void publish(const metadata::MetadataDelta&, std::shared_ptr<const metadata::MetadataImage> image) override {
    auto why = unsupported_finalized_feature(image->features());
    if (!why) return;
    spdlog::error("[Node id={}] Exiting: {}", node_id_, *why);
    spdlog::shutdown();
    std::_Exit(1);
  }

 private:
  int32_t node_id_;
};

}  // namespace flotilla::server
