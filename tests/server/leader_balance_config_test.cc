// The preferred-leader balancing configs: Kafka's names, defaults and checks.
#include <gtest/gtest.h>

#include "server/config.h"

using namespace flotilla::server;

namespace {
std::map<std::string, std::string> props(std::map<std::string, std::string> extra = {}) {
  auto p = parse_properties(R"(
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:9093
listeners=PLAINTEXT://127.0.0.1:9092,CONTROLLER://127.0.0.1:9093
controller.listener.names=CONTROLLER
)");
  for (auto& [k, v] : extra) p[k] = v;
  return p;
}
}  // namespace

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
