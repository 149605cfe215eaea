// UpdateFeatures on the controller: Kafka's FeatureControlManager checks
// (codes and texts), the FeatureLevelRecords written and the image that
// results, ValidateOnly, the v0-1 per-feature results and the v2 top-level
// answer — on a fake Raft and a virtual clock, so every run is the same.
#include <gtest/gtest.h>

#include "harness.h"
#include "metadata/features.h"

using namespace flotilla;
using namespace flotilla::controller;
using namespace flotilla::controller::testing;

namespace features_test {

const int16_t kInvalidUpdateVersion = static_cast<int16_t>(ErrorCode::INVALID_UPDATE_VERSION);
constexpr const char* kMv = "metadata.version";
constexpr const char* kElr = "eligible.leader.replicas.version";
constexpr const char* kPrefix = "The update failed for all features since the following feature had an error: ";

struct Update {
  std::string feature;
  int16_t level;
  int8_t type = 1;
};

struct Features : Harness {
  explicit Features(int16_t mv = 17) : Harness(mv) {}  // 3.7-IV2
  msg::UpdateFeaturesResponse update(std::vector<Update> updates, int16_t version = 1, bool validate_only = false) {
    msg::UpdateFeaturesRequest req;
    for (const auto& u : updates) {
      msg::UpdateFeaturesRequest::FeatureUpdateKey k;
      k.feature = u.feature;
      k.max_version_level = u.level;
      k.upgrade_type = u.type;
      k.allow_downgrade = u.type != 1;
      req.feature_updates.push_back(k);
    }
    req.validate_only = validate_only;
    return call<msg::UpdateFeaturesResponse>([&](auto done) { controller->update_features(req, version, done); });
  }
  // Broker `id` advertising metadata.version 1-25 and the ELR feature 0-`elr_max` (none if -1).
  void register_with_elr(int32_t id, int16_t elr_max) {
    auto req = registration(id, std::nullopt, Uuid::random());
    if (elr_max >= 0) {
      msg::BrokerRegistrationRequest::Feature f;
      f.name = kElr;
      f.min_supported_version = 0;
      f.max_supported_version = elr_max;
      req.features.push_back(f);
    }
    auto r = call<msg::BrokerRegistrationResponse>([&](auto done) { controller->register_broker(req, 4, done); });
    ASSERT_EQ(r.error_code, 0);
  }
};

TEST(UpdateFeatures, UpgradesMetadataVersionAndAnswersEachFeature) {
  Features h;
  h.live_broker(1);
  auto r = h.update({{kMv, 21}});
  EXPECT_EQ(r.error_code, 0);
  EXPECT_FALSE(r.error_message.has_value());
  ASSERT_EQ(r.results.size(), 1u);
  EXPECT_EQ(r.results[0].feature, kMv);
  EXPECT_EQ(r.results[0].error_code, 0);
  EXPECT_EQ(h.image()->metadata_version(), 21);
}

TEST(UpdateFeatures, ValidateOnlyWritesNothing) {
  Features h;
  auto before = h.raft.high_watermark();
  auto r = h.update({{kMv, 21}}, 1, true);
  EXPECT_EQ(r.error_code, 0);
  EXPECT_EQ(h.image()->metadata_version(), 17);
  EXPECT_EQ(h.raft.high_watermark(), before);
}

TEST(UpdateFeatures, VersionTwoHasNoResults) {
  Features h;
  auto r = h.update({{kMv, 4}}, 2);
  EXPECT_EQ(r.error_code, kInvalidUpdateVersion);
  EXPECT_TRUE(r.results.empty());
  EXPECT_EQ(r.error_message.value_or(""),
            std::string(kPrefix) +
                "Invalid update version 4 for feature metadata.version. Can't downgrade the version of this feature without "
                "setting the upgrade type to either safe or unsafe downgrade.");
}

TEST(UpdateFeatures, RefusesMetadataDowngradesThatLoseMetadata) {
  Features h(21);
  auto safe = h.update({{kMv, 14, 2}});  // 3.7-IV0 and 3.7-IV2 changed metadata
  EXPECT_EQ(safe.error_code, kInvalidUpdateVersion);
  ASSERT_EQ(safe.results.size(), 1u);
  EXPECT_EQ(safe.results[0].error_message.value_or(""),
            "Invalid metadata.version 14. Refusing to perform the requested downgrade because it might delete metadata information.");
  auto unsafe = h.update({{kMv, 14, 3}});
  EXPECT_EQ(unsafe.results[0].error_message.value_or(""),
            "Invalid metadata.version 14. Unsafe metadata downgrade is not supported in this version.");
  EXPECT_EQ(h.image()->metadata_version(), 21);
  // 3.7-IV3 .. 3.9-IV0 changed nothing: that downgrade is allowed.
  auto ok = h.update({{kMv, 17, 2}});
  EXPECT_EQ(ok.error_code, 0);
  EXPECT_EQ(h.image()->metadata_version(), 17);
}

TEST(UpdateFeatures, RefusesADowngradeTypeForAnUpgrade) {
  Features h;
  auto r = h.update({{kMv, 21, 2}});
  EXPECT_EQ(r.results[0].error_message.value_or(""),
            "Invalid update version 21 for feature metadata.version. Can't downgrade to a newer version.");
  auto t = h.update({{kMv, 21, 7}});
  EXPECT_EQ(t.results[0].error_message.value_or(""),
            "Invalid update version 21 for feature metadata.version. The controller does not support the given upgrade type.");
}

TEST(UpdateFeatures, RefusesUnknownFeaturesAndLevelsOutsideRanges) {
  Features h;
  auto unknown = h.update({{"foo.version", 1}});
  EXPECT_EQ(unknown.error_code, kInvalidUpdateVersion);
  EXPECT_EQ(unknown.results[0].error_message.value_or(""),
            "Invalid update version 1 for feature foo.version. Local controller 1 does not support this feature.");
  auto high = h.update({{kMv, 99}});
  EXPECT_EQ(high.results[0].error_message.value_or(""),
            "Invalid update version 99 for feature metadata.version. Local controller 1 only supports versions 1-25");
  auto negative = h.update({{kElr, -1, 2}});
  EXPECT_EQ(negative.results[0].error_message.value_or(""),
            "Invalid update version -1 for feature eligible.leader.replicas.version. A feature version cannot be less than 0.");
}

TEST(UpdateFeatures, EveryBrokerMustSupportTheLevel) {
  Features h(23);
  h.register_with_elr(1, -1);
  auto r = h.update({{kElr, 1}});
  EXPECT_EQ(r.results[0].error_message.value_or(""),
            "Invalid update version 1 for feature eligible.leader.replicas.version. Broker 1 does not support this feature.");
  h.register_with_elr(2, 0);
  h.register_with_elr(1, 1);  // re-registers: now supports it
  auto r2 = h.update({{kElr, 1}});
  EXPECT_EQ(r2.results[0].error_message.value_or(""),
            "Invalid update version 1 for feature eligible.leader.replicas.version. Broker 2 only supports versions 0");
  EXPECT_EQ(metadata::feature_level(*h.image(), kElr), 0);
}

// KIP-919: controllers register (API 70 -> RegisterControllerRecord) and
// every registered controller must support the level too.
TEST(UpdateFeatures, EveryRegisteredControllerMustSupportTheLevel) {
  Features h(23);
  msg::ControllerRegistrationRequest req;
  req.controller_id = 7;  // another controller than the harness's own
  req.incarnation_id = Uuid::random();
  req.listeners.push_back({"CONTROLLER", "127.0.0.1", 9093, 0});
  req.features.push_back({kMv, 1, 23});
  auto reg = h.call<msg::ControllerRegistrationResponse>([&](auto done) { h.controller->register_controller(req, 0, done); });
  ASSERT_EQ(reg.error_code, 0);
  ASSERT_EQ(h.image()->controllers().count(7), 1u);
  EXPECT_EQ(h.image()->controllers().at(7).listeners.at(0).port, 9093);
  auto r = h.update({{kMv, 25}});
  EXPECT_EQ(r.results[0].error_message.value_or(""),
            "Invalid update version 25 for feature metadata.version. Controller 7 only supports versions 1-23");
  auto e = h.update({{kElr, 1}});
  EXPECT_EQ(e.results[0].error_message.value_or(""),
            "Invalid update version 1 for feature eligible.leader.replicas.version. Controller 7 does not support this feature.");
  EXPECT_EQ(h.image()->metadata_version(), 23);
}

TEST(UpdateFeatures, EveryVoterMustHaveRegistered) {
  Features h(23);
  msg::UpdateFeaturesRequest req;
  msg::UpdateFeaturesRequest::FeatureUpdateKey k;
  k.feature = kMv;
  k.max_version_level = 24;
  k.upgrade_type = 1;
  req.feature_updates.push_back(k);
  auto plan = plan_feature_update(*h.image(), 1, req, 1, {1, 2});
  EXPECT_EQ(plan.response.results.at(0).error_message.value_or(""),
            "Invalid update version 24 for feature metadata.version. controller 2 has not registered, and may not support this feature");
  EXPECT_TRUE(plan.records.empty());
  // Below 3.7-IV0 controllers do not register, and nothing waits for them.
  Features old(14);
  k.max_version_level = 15;
  req.feature_updates = {k};
  auto ok = plan_feature_update(*old.image(), 1, req, 1, {1, 2});
  EXPECT_EQ(ok.response.results.at(0).error_code, 0);
  EXPECT_EQ(ok.records.size(), 1u);
}

// Too old a metadata.version: controllers cannot register (Kafka's message).
TEST(UpdateFeatures, ControllerRegistrationNeedsMetadataVersion37) {
  Features h(14);
  msg::ControllerRegistrationRequest req;
  req.controller_id = 2;
  req.incarnation_id = Uuid::random();
  auto reg = h.call<msg::ControllerRegistrationResponse>([&](auto done) { h.controller->register_controller(req, 0, done); });
  EXPECT_EQ(reg.error_code, static_cast<int16_t>(ErrorCode::UNSUPPORTED_VERSION));
  EXPECT_EQ(reg.error_message.value_or(""), "The current MetadataVersion is too old to support controller registrations.");
  EXPECT_TRUE(h.image()->controllers().empty());
}

TEST(UpdateFeatures, DependenciesAreCheckedAgainstTheRequestsLevels) {
  Features h(21);
  h.register_with_elr(1, 1);
  auto refused = h.update({{kElr, 1}});
  EXPECT_EQ(refused.error_code, kInvalidUpdateVersion);
  EXPECT_EQ(refused.results[0].error_message.value_or(""),
            "Invalid update version 1 for feature eligible.leader.replicas.version. eligible.leader.replicas.version could not be "
            "set to 1 because it depends on metadata.version level 23");
  // The same request raising metadata.version too: one batch, both levels.
  auto both = h.update({{kElr, 1}, {kMv, 25}});
  EXPECT_EQ(both.error_code, 0);
  ASSERT_EQ(both.results.size(), 2u);
  EXPECT_EQ(h.image()->metadata_version(), 25);
  EXPECT_EQ(metadata::feature_level(*h.image(), kElr), 1);
  EXPECT_TRUE(metadata::eligible_leader_replicas_enabled(*h.image()));
  // Disabling (level 0) is a downgrade.
  auto disable = h.update({{kElr, 0, 2}});
  EXPECT_EQ(disable.error_code, 0);
  EXPECT_EQ(metadata::feature_level(*h.image(), kElr), 0);
}

TEST(UpdateFeatures, VersionZeroAllowDowngradeIsASafeDowngrade) {
  Features h(21);
  auto r = h.update({{kMv, 19, 2}}, 0);
  EXPECT_EQ(r.error_code, 0);
  EXPECT_EQ(h.image()->metadata_version(), 19);
  auto refused = h.update({{kMv, 18, 1}}, 0);
  EXPECT_EQ(refused.error_code, kInvalidUpdateVersion);
}

TEST(UpdateFeatures, NotControllerWhenInactive) {
  Features h;
  h.raft.resign();
  h.poll();
  auto r = h.update({{kMv, 21}});
  EXPECT_EQ(r.error_code, static_cast<int16_t>(ErrorCode::NOT_CONTROLLER));
  ASSERT_EQ(r.results.size(), 1u);
  EXPECT_EQ(r.results[0].error_code, static_cast<int16_t>(ErrorCode::NOT_CONTROLLER));
}

}  // namespace features_test
