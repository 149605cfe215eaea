// The consumer-group client's pure parts: the range assignor, ConsumerProtocol
// encodings, Kafka's column layout and the consumer-groups command line.
#include <gtest/gtest.h>

#include <sstream>

#include "tools/cli.h"
#include "tools/group_client.h"

namespace flotilla::tools {
namespace {

TEST(RangeAssignor, SplitsEachTopicOverSortedMembers) {
  // Kafka's RangeAssignor example: 2 consumers, 2 topics of 3 partitions.
  auto a = range_assign({{"c1", {"t0", "t1"}}, {"c0", {"t0", "t1"}}}, {{"t0", 3}, {"t1", 3}});
  ASSERT_EQ(a.size(), 2u);
  EXPECT_EQ(a["c0"]["t0"], (std::vector<int32_t>{0, 1}));
  EXPECT_EQ(a["c0"]["t1"], (std::vector<int32_t>{0, 1}));
  EXPECT_EQ(a["c1"]["t0"], (std::vector<int32_t>{2}));
  EXPECT_EQ(a["c1"]["t1"], (std::vector<int32_t>{2}));
}

TEST(RangeAssignor, MoreMembersThanPartitionsAndPartialSubscriptions) {
  auto a = range_assign({{"a", {"t"}}, {"b", {"t"}}, {"c", {"t", "u"}}}, {{"t", 2}, {"u", 4}});
  EXPECT_EQ(a["a"]["t"], (std::vector<int32_t>{0}));
  EXPECT_EQ(a["b"]["t"], (std::vector<int32_t>{1}));
  EXPECT_EQ(a["c"].count("t"), 0u);
  EXPECT_EQ(a["c"]["u"], (std::vector<int32_t>{0, 1, 2, 3}));
  // A topic unknown to the metadata is skipped; every member is in the result.
  auto b = range_assign({{"x", {"missing"}}}, {});
  ASSERT_EQ(b.size(), 1u);
  EXPECT_TRUE(b["x"].empty());
  // 7 partitions over 3 members: 3, 2, 2.
  auto c = range_assign({{"m1", {"t"}}, {"m2", {"t"}}, {"m3", {"t"}}}, {{"t", 7}});
  EXPECT_EQ(c["m1"]["t"], (std::vector<int32_t>{0, 1, 2}));
  EXPECT_EQ(c["m2"]["t"], (std::vector<int32_t>{3, 4}));
  EXPECT_EQ(c["m3"]["t"], (std::vector<int32_t>{5, 6}));
}

TEST(ConsumerProtocol, AssignmentRoundTripAndKafkaBytes) {
  Assignment a{{"orders", {0, 2}}, {"t", {1}}};
  for (int16_t v = 0; v <= 3; ++v) EXPECT_EQ(decode_assignment(encode_assignment(a, v)), a);
  EXPECT_TRUE(decode_assignment({}).empty());
  // v0 as Kafka's ConsumerProtocol writes it: version, [topic, [partitions]], user data (null).
  std::vector<uint8_t> want = {0, 0, 0, 0, 0, 1, 0, 1, 't', 0, 0, 0, 1, 0, 0, 0, 5, 0xff, 0xff, 0xff, 0xff};
  EXPECT_EQ(encode_assignment({{"t", {5}}}, 0), want);
  // A newer version than the generated code knows is read as the newest known.
  std::vector<uint8_t> future = want;
  future[1] = 9;
  EXPECT_EQ(decode_assignment(future), (Assignment{{"t", {5}}}));
}

TEST(ConsumerProtocol, SubscriptionRoundTrip) {
  auto bytes = encode_subscription({"a", "b"}, {{"a", {0}}});
  auto s = decode_subscription(bytes);
  EXPECT_EQ(s.topics, (std::vector<std::string>{"a", "b"}));
  ASSERT_EQ(s.owned_partitions.size(), 1u);
  EXPECT_EQ(s.owned_partitions[0].topic, "a");
  auto s0 = decode_subscription(encode_subscription({"x"}, {}, 0));
  EXPECT_EQ(s0.topics, (std::vector<std::string>{"x"}));
}

TEST(KafkaColumns, PadsLikePercentMinusNs) {
  EXPECT_EQ(kafka_columns({{"GROUP", 7}, {"TOPIC", 0}}), "GROUP   TOPIC");
  EXPECT_EQ(kafka_columns({{"longer-than-width", 5}, {"x", 3}}), "longer-than-width x  ");
}

TEST(ConsumerGroupsCli, ParsesKafkaFlags) {
  {
    Cli cli;
    ASSERT_FALSE(cli.parse({"consumer-groups", "--bootstrap-server", "h:1", "--list", "--state"}));
    EXPECT_EQ(cli.selected(), "consumer-groups");
    EXPECT_TRUE(cli.consumer_groups.list);
    EXPECT_TRUE(cli.consumer_groups.state);
    EXPECT_FALSE(cli.consumer_groups.state_value);
  }
  {
    Cli cli;
    ASSERT_FALSE(cli.parse({"consumer-groups", "--bootstrap-server", "h:1", "--list", "--state", "Stable,Empty"}));
    EXPECT_EQ(cli.consumer_groups.state_value.value_or(""), "Stable,Empty");
  }
  {
    Cli cli;
    ASSERT_FALSE(cli.parse({"consumer-groups", "--bootstrap-server", "h:1", "--reset-offsets", "--group", "g", "--topic", "t:0,1",
                            "--topic", "u", "--shift-by", "-2", "--execute"}));
    const auto& c = cli.consumer_groups;
    EXPECT_TRUE(c.reset_offsets);
    EXPECT_EQ(c.groups, (std::vector<std::string>{"g"}));
    EXPECT_EQ(c.topics, (std::vector<std::string>{"t:0,1", "u"}));
    EXPECT_EQ(c.shift_by.value_or(0), -2);
    EXPECT_TRUE(c.execute);
  }
}

TEST(ConsumerGroupsCli, KafkaUsageErrors) {
  auto run = [](std::vector<std::string> args, std::string& out, std::string& err) {
    Cli cli;
    args.insert(args.begin(), "consumer-groups");
    EXPECT_FALSE(cli.parse(args));
    std::ostringstream o, e;
    int rc = run_consumer_groups(cli.consumer_groups, o, e);
    out = o.str();
    err = e.str();
    return rc;
  };
  std::string out, err;
  EXPECT_EQ(run({"--bootstrap-server", "127.0.0.1:1"}, out, err), 1);
  EXPECT_EQ(err, "Command must include exactly one action: --list, --describe, --delete, --reset-offsets, --delete-offsets\n");
  EXPECT_EQ(run({"--bootstrap-server", "127.0.0.1:1", "--describe"}, out, err), 1);
  EXPECT_EQ(err, "Option [describe] takes one of these options: [all-groups], [group]\n");
  EXPECT_EQ(run({"--bootstrap-server", "127.0.0.1:1", "--reset-offsets", "--group", "g", "--to-earliest", "--to-latest", "--dry-run"},
                out, err),
            1);
  EXPECT_EQ(err, "Option \"[to-earliest]\" can't be used with option \"[to-latest]\"\n");
  EXPECT_EQ(run({"--bootstrap-server", "127.0.0.1:1", "--delete-offsets", "--group", "g"}, out, err), 1);
  EXPECT_EQ(err, "Option [delete-offsets] takes the following options: [topic], [group]\n");
}

}  // namespace
}  // namespace flotilla::tools
