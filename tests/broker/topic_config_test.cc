#include <gtest/gtest.h>

#include "broker/topic_config.h"
#include "find_named.h"

using namespace flotilla::broker;
using flotilla::broker::testing::find;

TEST(TopicConfig, DefaultsAreKafkasWithDefaultSource) {
  BrokerConfig b;
  auto eff = effective_topic_configs(b, {});
  const auto* r = find(eff, "retention.ms");
  ASSERT_NE(r, nullptr);
  EXPECT_EQ(r->value, "604800000");
  EXPECT_EQ(r->source, 5);  // DEFAULT_CONFIG
  EXPECT_EQ(find(eff, "segment.bytes")->value, "1073741824");
  EXPECT_EQ(find(eff, "cleanup.policy")->value, "delete");
  EXPECT_EQ(find(eff, "max.message.bytes")->value, "1048588");
}

TEST(TopicConfig, BrokerStaticValuesAndTopicOverridesTakePrecedence) {
  BrokerConfig b;
  b.static_configs["log.retention.hours"] = "1";
  b.static_configs["log.segment.bytes"] = "1000";
  auto eff = effective_topic_configs(b, {{"segment.bytes", "2000"}});
  EXPECT_EQ(find(eff, "retention.ms")->value, "3600000");
  EXPECT_EQ(find(eff, "retention.ms")->source, 4);  // STATIC_BROKER_CONFIG
  EXPECT_EQ(find(eff, "segment.bytes")->value, "2000");
  EXPECT_EQ(find(eff, "segment.bytes")->source, 1);  // DYNAMIC_TOPIC_CONFIG
}

TEST(TopicConfig, OverridesReachTheLogConfig) {
  BrokerConfig b;
  b.log.segment_bytes = 5000;
  auto lc = log_config_for(b, {{"retention.bytes", "123"}, {"segment.ms", "77"}});
  EXPECT_EQ(lc.retention_bytes, 123);
  EXPECT_EQ(lc.segment_ms, 77);
  EXPECT_EQ(lc.segment_bytes, 5000);
}

TEST(TopicConfig, ValidationRejectsBadValues) {
  EXPECT_FALSE(validate_topic_config("retention.ms", std::string("1000")).has_value());
  EXPECT_TRUE(validate_topic_config("retention.ms", std::string("soon")).has_value());
  EXPECT_TRUE(validate_topic_config("no.such.config", std::string("1")).has_value());
  EXPECT_TRUE(validate_topic_config("cleanup.policy", std::string("forever")).has_value());
  EXPECT_TRUE(validate_topic_config("segment.bytes", std::string("10")).has_value());
  EXPECT_TRUE(validate_topic_config("preallocate", std::string("yes")).has_value());
  EXPECT_FALSE(validate_topic_config("message.timestamp.type", std::string("LogAppendTime")).has_value());
}
