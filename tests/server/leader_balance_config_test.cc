// The preferred-leader balancing configs: Kafka's names, defaults and checks.
#include <gtest/gtest.h>

#include "server/config.h"
#include "test_props.h"

using namespace flotilla::server;

using flotilla::server::testing::props;

TEST(LeaderBalanceConfig, DefaultsAndParsing) {
  std::vector<std::string> unknown;
  auto c = KafkaConfig::from_properties(props(), &unknown);
  EXPECT_TRUE(c.auto_leader_rebalance_enable);
  EXPECT_EQ(c.leader_imbalance_check_interval_seconds, 300);
  EXPECT_EQ(c.leader_imbalance_per_broker_percentage, 10);
  auto d = KafkaConfig::from_properties(props({{"auto.leader.rebalance.enable", "false"},
                                               {"leader.imbalance.check.interval.seconds", "5"},
                                               {"leader.imbalance.per.broker.percentage", "20"}}),
                                        &unknown);
  EXPECT_FALSE(d.auto_leader_rebalance_enable);
  EXPECT_EQ(d.leader_imbalance_check_interval_seconds, 5);
  EXPECT_EQ(d.leader_imbalance_per_broker_percentage, 20);
  EXPECT_TRUE(unknown.empty());
  EXPECT_THROW(KafkaConfig::from_properties(props({{"leader.imbalance.check.interval.seconds", "0"}})), ConfigError);
  EXPECT_THROW(KafkaConfig::from_properties(props({{"auto.leader.rebalance.enable", "maybe"}})), ConfigError);
}
