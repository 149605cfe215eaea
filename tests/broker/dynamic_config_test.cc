// Dynamic broker configs on the broker: which changes it forwards (Kafka's
// DynamicBrokerConfig.validate messages) and how DescribeConfigs layers a
// key's value and synonyms for a broker, the cluster default and a topic.
#include <gtest/gtest.h>

#include "broker/dynamic_config.h"
#include "find_named.h"

using namespace flotilla;
using namespace flotilla::broker;
using flotilla::broker::testing::find;

TEST(DynamicBrokerConfig, WhatMayChange) {
  EXPECT_EQ(validate_dynamic_broker_configs({{"log.retention.ms", "1000"}, {"log.cleaner.threads", "2"}}, false), "");
  EXPECT_EQ(validate_dynamic_broker_configs({{"my.custom.thing", "x"}}, false), "");  // unknown keys are kept
  EXPECT_EQ(validate_dynamic_broker_configs({{"log.dirs", "/x"}, {"num.partitions", "3"}}, true),
            "Cannot update these configs dynamically: Set(log.dirs, num.partitions)");
  EXPECT_EQ(validate_dynamic_broker_configs({{"log.retention.ms", "soon"}}, true),
            "Invalid value soon for configuration log.retention.ms: Not a number of type LONG");
  EXPECT_EQ(validate_dynamic_broker_configs({{"num.io.threads", "0"}}, true),
            "Invalid value 0 for configuration num.io.threads: Value must be at least 1");
  EXPECT_EQ(validate_dynamic_broker_configs({{"listeners", "PLAINTEXT://:9093"}}, true), "");
  EXPECT_EQ(validate_dynamic_broker_configs({{"listeners", "PLAINTEXT://:9093"}}, false),
            "Cannot update these configs at default cluster level, broker id must be specified: Set(listeners)");
}

TEST(DynamicBrokerConfig, DescribeBrokerLayersAndSynonyms) {
  BrokerConfigLayers l;
  l.static_configs = {{"num.partitions", "3"}, {"log.retention.hours", "24"}};
  l.cluster_default = {{"log.retention.ms", "5000"}, {"log.cleaner.threads", "2"}};
  l.per_broker = {{"log.cleaner.threads", "4"}};
  auto all = describe_broker_configs(l, true);
  const auto* threads = find(all, "log.cleaner.threads");
  ASSERT_TRUE(threads);
  EXPECT_EQ(threads->value, std::optional<std::string>("4"));
  EXPECT_EQ(threads->source, kDynamicBrokerConfig);
  EXPECT_FALSE(threads->read_only);
  ASSERT_EQ(threads->synonyms.size(), 3u);  // per-broker, cluster default, Kafka's default
  EXPECT_EQ(threads->synonyms[1].source, kDynamicDefaultBrokerConfig);
  EXPECT_EQ(threads->synonyms[2].source, kDefaultConfig);
  EXPECT_EQ(threads->synonyms[2].value, std::optional<std::string>("1"));

  const auto* parts = find(all, "num.partitions");
  ASSERT_TRUE(parts);
  EXPECT_EQ(parts->value, std::optional<std::string>("3"));
  EXPECT_EQ(parts->source, kStaticBrokerConfig);
  EXPECT_TRUE(parts->read_only);

  // log.retention.ms itself is set dynamically; .hours keeps its own story.
  const auto* ms = find(all, "log.retention.ms");
  ASSERT_TRUE(ms);
  EXPECT_EQ(ms->value, std::optional<std::string>("5000"));
  EXPECT_EQ(ms->source, kDynamicDefaultBrokerConfig);
  const auto* hours = find(all, "log.retention.hours");
  ASSERT_TRUE(hours);
  EXPECT_EQ(hours->source, kStaticBrokerConfig);
  EXPECT_EQ(hours->synonyms.front().name, "log.retention.hours");

  // The cluster default resource lists only what is set there.
  auto defaults = describe_broker_configs(l, false);
  ASSERT_EQ(defaults.size(), 2u);
  EXPECT_EQ(defaults[0].name, "log.cleaner.threads");
  EXPECT_EQ(defaults[0].value, std::optional<std::string>("2"));
  EXPECT_EQ(defaults[0].source, kDynamicDefaultBrokerConfig);
}

TEST(DynamicBrokerConfig, DescribeTopicThroughTheBrokerLayers) {
  BrokerConfigLayers l;
  l.static_configs = {{"log.retention.hours", "24"}};
  auto t = describe_topic_configs(l, {{"segment.bytes", "1000000"}});
  const auto* retention = find(t, "retention.ms");
  ASSERT_TRUE(retention);
  EXPECT_EQ(retention->value, std::optional<std::string>("86400000"));  // 24 h in ms
  EXPECT_EQ(retention->source, kStaticBrokerConfig);
  const auto* seg = find(t, "segment.bytes");
  EXPECT_EQ(seg->value, std::optional<std::string>("1000000"));
  EXPECT_EQ(seg->source, kDynamicTopicConfig);
  EXPECT_EQ(seg->synonyms.front().name, "segment.bytes");
  EXPECT_EQ(seg->synonyms.back().name, "log.segment.bytes");

  l.cluster_default = {{"log.retention.ms", "1000"}};
  auto t2 = describe_topic_configs(l, {});
  retention = find(t2, "retention.ms");
  EXPECT_EQ(retention->value, std::optional<std::string>("1000"));
  EXPECT_EQ(retention->source, kDynamicDefaultBrokerConfig);
  l.per_broker = {{"log.retention.ms", "2000"}};
  auto t3 = describe_topic_configs(l, {});
  retention = find(t3, "retention.ms");
  EXPECT_EQ(retention->value, std::optional<std::string>("2000"));
  EXPECT_EQ(retention->source, kDynamicBrokerConfig);

  const auto* remote = find(t3, "remote.storage.enable");
  EXPECT_EQ(remote->source, kDefaultConfig);
  EXPECT_EQ(remote->value, std::optional<std::string>("false"));
}

// Secrets of server.properties are described as sensitive, without a value.
TEST(DynamicBrokerConfig, SecretsAreSensitiveAndHidden) {
  BrokerConfigLayers l;
  l.static_configs = {{"delegation.token.secret.key", "s3cret"},
                      {"listener.name.sasl_ssl.scram-sha-512.sasl.jaas.config", "x required password=\"p\";"},
                      {"ssl.keystore.password", "ks"},
                      {"log.retention.ms", "1000"}};
  auto all = describe_broker_configs(l, true);
  for (const char* name : {"delegation.token.secret.key", "listener.name.sasl_ssl.scram-sha-512.sasl.jaas.config", "ssl.keystore.password"}) {
    const DescribedConfig* c = find(all, name);
    ASSERT_NE(c, nullptr) << name;
    EXPECT_TRUE(c->sensitive) << name;
    EXPECT_FALSE(c->value) << name;
    for (const auto& s : c->synonyms) EXPECT_FALSE(s.value) << name;
  }
  const DescribedConfig* r = find(all, "log.retention.ms");
  ASSERT_NE(r, nullptr);
  EXPECT_EQ(r->value, "1000");
}
