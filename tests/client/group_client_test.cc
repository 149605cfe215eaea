// The consumer-group client's pure parts: the range assignor and the
// ConsumerProtocol encodings.
#include <gtest/gtest.h>

#include "client/consumer_protocol.h"

namespace flotilla::client {
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

}  // namespace
}  // namespace flotilla::client
