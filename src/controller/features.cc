// UpdateFeatures (API 57, KIP-584/778) on the active controller, as Kafka's
// FeatureControlManager.updateFeatures: every update is checked against
// latest_ (so requests in flight see each other); the first refused update
// refuses the whole request (nothing written), else all of the request's
// FeatureLevelRecords go in one batch. ValidateOnly writes nothing.
//
// Checks per update, in Kafka's order and with its texts (each an
// INVALID_UPDATE_VERSION "Invalid update version <v> for feature <f>. ..."):
// a known upgrade type (1 upgrade, 2 safe downgrade, 3 unsafe downgrade; a v0
// AllowDowngrade is a safe downgrade), a level >= 0, the level within this
// controller's supported range (metadata/features.h), within every
// registered broker's advertised range (a broker that does not advertise the
// feature accepts level 0 only), a lower level only with a downgrade type and
// a higher one only with the upgrade type. Then:
// - metadata.version: a known level; a downgrade across a version whose
//   metadata changed (MetadataVersion.didMetadataChange) is refused
//   ("Invalid metadata.version <v>. Refusing to perform the requested
//   downgrade because it might delete metadata information." — or, for an
//   unsafe downgrade, "Unsafe metadata downgrade is not supported in this
//   version.").
// - other features: their dependencies on the levels the request leaves
//   (metadata/features.h feature_dependency_error).
// - kraft.version: only its current level (changing it is a Raft operation,
//   KIP-853, not supported here).
//
// The answer (Kafka's QuorumController.updateFeatures): a refused request
// has the top-level error with "The update failed for all features since the
// following feature had an error: <message>"; versions 0-1 also carry one
// result per feature named, with the error and its message.
//
// Differences from Kafka: only this controller's ranges are checked (the
// image holds no controller registrations; other controllers of a quorum run
// this same build), and updates are checked in request order (Kafka iterates
// a HashMap, so which error a request with several bad updates gets may
// differ).
//
// Threading: the io_context thread, like the rest of QuorumController.
#include <set>
#include <spdlog/spdlog.h>

#include "controller/quorum_controller.h"
#include "metadata/features.h"
#include "protocol/metadata_record.h"

namespace flotilla::controller {

namespace {

// 3.7-IV0: controllers register (KIP-919).
constexpr int16_t kControllerRegistrationMetadataVersion = 15;


constexpr int8_t kUpgrade = 1, kSafeDowngrade = 2, kUnsafeDowngrade = 3;

struct Refusal {
  ErrorCode error = ErrorCode::NONE;
  std::string message;
};

Refusal invalid_update(const std::string& feature, int16_t level, const std::string& why) {
  return {ErrorCode::INVALID_UPDATE_VERSION,
          "Invalid update version " + std::to_string(level) + " for feature " + feature + ". " + why};
}

Refusal invalid_metadata_version(int16_t level, const std::string& why) {
  return {ErrorCode::INVALID_UPDATE_VERSION, "Invalid metadata.version " + std::to_string(level) + ". " + why};
}

// Kafka's VersionRange.toString.
std::string range_string(int16_t min, int16_t max) {
  return min == max ? std::to_string(min) : std::to_string(min) + "-" + std::to_string(max);
}

// MetadataVersion.didMetadataChange, by feature level (1 = 3.0-IV1 .. 25 = 4.0-IV3).
bool did_metadata_change(int16_t level) {
  switch (level) {
    case 1: case 3: case 5: case 6: case 7: case 8: case 11: case 13: case 14: case 15: case 17: case 23:
      return true;
    default:
      return false;
  }
}

// MetadataVersion.checkIfMetadataChanged: some version in (low, high] changed metadata.
bool metadata_changed_between(int16_t a, int16_t b) {
  int16_t low = std::min(a, b), high = std::max(a, b);
  for (int16_t v = high; v > low; --v)
    if (did_metadata_change(v)) return true;
  return false;
}

const metadata::FeatureSupport* local_support(const std::string& feature) {
  for (const auto& f : metadata::supported_features())
    if (feature == f.name) return &f;
  return nullptr;
}

// FeatureControlManager.updateFeature for one update; `proposed` holds the
// finalized levels with the request's updates applied.
Refusal check_update(const metadata::MetadataImage& image, int32_t node_id, const std::vector<int32_t>& quorum_ids,
                     const std::string& feature, int16_t level, int8_t upgrade_type, const std::map<std::string, int16_t>& proposed,
                     std::vector<std::vector<uint8_t>>& records) {
  if (upgrade_type != kUpgrade && upgrade_type != kSafeDowngrade && upgrade_type != kUnsafeDowngrade)
    return invalid_update(feature, level, "The controller does not support the given upgrade type.");
  const bool mv = feature == metadata::kMetadataVersionFeature;
  const bool kraft = feature == metadata::kKraftVersionFeature;
  const int16_t current = mv ? image.metadata_version() : metadata::feature_level(image, feature);
  if (level < 0) return invalid_update(feature, level, "A feature version cannot be less than 0.");
  // QuorumFeatures.reasonNotSupported
  const metadata::FeatureSupport* local = local_support(feature);
  if (!local) return invalid_update(feature, level, "Local controller " + std::to_string(node_id) + " does not support this feature.");
  if (level < local->min_level || level > local->max_level)
    return invalid_update(feature, level,
                          "Local controller " + std::to_string(node_id) + " only supports versions " +
                              range_string(local->min_level, local->max_level));
  for (const auto& [id, broker] : image.brokers()) {
    auto it = broker.supported_features.find(feature);
    if (it == broker.supported_features.end()) {
      if (level != 0) return invalid_update(feature, level, "Broker " + std::to_string(id) + " does not support this feature.");
    } else if (level < it->second.min_version || level > it->second.max_version) {
      return invalid_update(feature, level,
                            "Broker " + std::to_string(id) + " only supports versions " +
                                range_string(it->second.min_version, it->second.max_version));
    }
  }
  // Controllers register from 3.7-IV0 (KIP-919): every other registered
  // controller must support the level, and every voter must have registered.
  if (image.metadata_version() >= kControllerRegistrationMetadataVersion) {
    std::set<int32_t> found{node_id};
    for (const auto& [id, c] : image.controllers()) {
      if (id == node_id) continue;
      auto it = c.supported_features.find(feature);
      if (it == c.supported_features.end()) {
        if (level != 0) return invalid_update(feature, level, "Controller " + std::to_string(id) + " does not support this feature.");
      } else if (level < it->second.min_version || level > it->second.max_version) {
        return invalid_update(feature, level,
                              "Controller " + std::to_string(id) + " only supports versions " +
                                  range_string(it->second.min_version, it->second.max_version));
      }
      found.insert(id);
    }
    for (int32_t id : quorum_ids)
      if (!found.count(id))
        return invalid_update(feature, level, "controller " + std::to_string(id) + " has not registered, and may not support this feature");
  }
  if (level < current) {
    if (upgrade_type == kUpgrade)
      return invalid_update(feature, level,
                            "Can't downgrade the version of this feature without setting the upgrade type to either safe or unsafe "
                            "downgrade.");
  } else if (level > current) {
    if (upgrade_type != kUpgrade) return invalid_update(feature, level, "Can't downgrade to a newer version.");
  }
  if (mv) {
    if (metadata::metadata_version_name(level).empty())
      return invalid_metadata_version(level, "Valid versions are from " + std::to_string(metadata::kMinimumKraftMetadataVersion) +
                                                 " to " + std::to_string(metadata::kLatestMetadataVersion) + ".");
    if (level < current && metadata_changed_between(current, level)) {
      if (upgrade_type == kUnsafeDowngrade) return invalid_metadata_version(level, "Unsafe metadata downgrade is not supported in this version.");
      return invalid_metadata_version(level, "Refusing to perform the requested downgrade because it might delete metadata information.");
    }
  } else if (kraft) {
    if (level != current) return invalid_update(feature, level, "Changing kraft.version is not supported by this controller.");
    return {};
  } else if (auto bad = metadata::feature_dependency_error(feature, level, proposed)) {
    return invalid_update(feature, level, *bad);
  }
  if (level == current) return {};  // nothing to write
  msg::FeatureLevelRecord r;
  r.name = feature;
  r.feature_level = level;
  records.push_back(protocol::frame_metadata_record(r, 0));
  return {};
}

}  // namespace

FeatureUpdate plan_feature_update(const metadata::MetadataImage& image, int32_t node_id, const msg::UpdateFeaturesRequest& request,
                                  int16_t version, const std::vector<int32_t>& quorum_ids) {
  // The updates as Kafka's maps: a feature named twice keeps its last level and type.
  std::vector<std::string> order;
  std::map<std::string, std::pair<int16_t, int8_t>> updates;
  for (const auto& u : request.feature_updates) {
    int8_t type = version == 0 ? (u.allow_downgrade ? kSafeDowngrade : kUpgrade) : u.upgrade_type;
    if (!updates.count(u.feature)) order.push_back(u.feature);
    updates[u.feature] = {u.max_version_level, type};
  }
  std::map<std::string, int16_t> proposed = image.features();
  proposed[metadata::kMetadataVersionFeature] = image.metadata_version();
  for (const auto& [f, u] : updates) proposed[f] = u.first;

  FeatureUpdate plan;
  plan.response.error_message = std::nullopt;  // null unless refused
  Refusal refusal;
  for (const auto& f : order) {
    refusal = check_update(image, node_id, quorum_ids, f, updates[f].first, updates[f].second, proposed, plan.records);
    if (refusal.error != ErrorCode::NONE) break;
  }
  std::optional<std::string> message;
  if (refusal.error != ErrorCode::NONE) {
    plan.records.clear();
    plan.response.error_code = code(refusal.error);
    plan.response.error_message = "The update failed for all features since the following feature had an error: " + refusal.message;
    message = refusal.message;
  }
  if (version < 2) {
    for (const auto& f : order) {
      msg::UpdateFeaturesResponse::UpdatableFeatureResult r;
      r.feature = f;
      r.error_code = code(refusal.error);
      r.error_message = message;
      plan.response.results.push_back(std::move(r));
    }
  }
  if (request.validate_only) plan.records.clear();
  return plan;
}

void QuorumController::update_features(msg::UpdateFeaturesRequest request, int16_t version,
                                       std::function<void(msg::UpdateFeaturesResponse)> done) {
  if (!active_) {
    msg::UpdateFeaturesResponse r;
    r.error_code = code(ErrorCode::NOT_CONTROLLER);
    r.error_message = std::nullopt;
    if (version < 2) {
      for (const auto& u : request.feature_updates) {
        msg::UpdateFeaturesResponse::UpdatableFeatureResult f;
        f.feature = u.feature;
        f.error_code = code(ErrorCode::NOT_CONTROLLER);
        f.error_message = std::nullopt;
        r.results.push_back(std::move(f));
      }
    }
    return answer_now(done, std::move(r));
  }
  FeatureUpdate plan = plan_feature_update(*latest_, config_.node_id, request, version, config_.controller_ids);
  if (plan.response.error_code != code(ErrorCode::NONE))
    spdlog::warn("[QuorumController id={}] {}", config_.node_id, plan.response.error_message.value_or(""));
  if (plan.records.empty()) return answer_now(done, std::move(plan.response));
  for (const auto& u : request.feature_updates)
    spdlog::warn("[QuorumController id={}] Updating feature {} to level {}", config_.node_id, u.feature, u.max_version_level);
  auto off = write(std::move(plan.records));
  after_commit_of(off, [done = std::move(done), response = std::move(plan.response)](ErrorCode ec) mutable {
    if (ec != ErrorCode::NONE) {
      response.error_code = code(ec);
      response.error_message = std::nullopt;
      for (auto& r : response.results) {
        r.error_code = code(ec);
        r.error_message = std::nullopt;
      }
    }
    done(std::move(response));
  });
}

}  // namespace flotilla::controller
