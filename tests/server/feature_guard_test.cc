// The levels a node refuses to run with (server/feature_guard.h).
#include "server/feature_guard.h"

#include <gtest/gtest.h>

namespace flotilla::server {
namespace {

TEST(FeatureGuard, SupportedLevelsPass) {
  EXPECT_FALSE(unsupported_finalized_feature({}));
  EXPECT_FALSE(unsupported_finalized_feature({{"metadata.version", 25}, {"transaction.version", 1}, {"group.version", 1},
                                              {"eligible.leader.replicas.version", 1}, {"kraft.version", 1}}));
  EXPECT_FALSE(unsupported_finalized_feature({{"some.future.feature", 0}}));  // level 0 is absent
}

TEST(FeatureGuard, NewerMetadataVersionNamesLevelAndRange) {
  auto why = unsupported_finalized_feature({{"metadata.version", 26}});
  ASSERT_TRUE(why);
  EXPECT_NE(why->find("metadata.version level 26 is not supported by this node (supported levels: 1-25)"), std::string::npos) << *why;
}

TEST(FeatureGuard, UnknownFeatureOrLevelAboveRange) {
  auto unknown = unsupported_finalized_feature({{"metadata.version", 21}, {"share.version", 1}});
  ASSERT_TRUE(unknown);
  EXPECT_NE(unknown->find("share.version level 1"), std::string::npos) << *unknown;
  EXPECT_NE(unknown->find("supported levels: none"), std::string::npos) << *unknown;
  auto above = unsupported_finalized_feature({{"transaction.version", 2}});
  ASSERT_TRUE(above);
  EXPECT_NE(above->find("supported levels: 0-1"), std::string::npos) << *above;
}

TEST(FeatureGuard, ReleaseDefaultsAsKafka) {
  using metadata::default_feature_level;
  EXPECT_EQ(default_feature_level("group.version", 21), 0);
  EXPECT_EQ(default_feature_level("group.version", 22), 1);
  EXPECT_EQ(default_feature_level("transaction.version", 23), 0);
  EXPECT_EQ(default_feature_level("transaction.version", 24), 1);  // Kafka's 2, capped at what this build supports
  EXPECT_EQ(default_feature_level("kraft.version", 20), 0);
  EXPECT_EQ(default_feature_level("kraft.version", 21), 1);
  EXPECT_EQ(default_feature_level("eligible.leader.replicas.version", 25), 0);
}

}  // namespace
}  // namespace flotilla::server
