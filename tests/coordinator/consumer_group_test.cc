// The KIP-848 consumer group state machine (ConsumerGroupHeartbeat,
// reconciliation, assignors, ConsumerGroupDescribe) on a fake clock.
#include "coordinator/consumer_group.h"

#include <gtest/gtest.h>

namespace flotilla::coordinator {
namespace {

const Uuid kFoo{1, 1};
const Uuid kBar{2, 2};

struct Harness {
  int64_t now = 1000;
  int next_id = 0;
  CgTopics topics;
  ConsumerGroupCoordinator cg{ConsumerGroupConfig{}, [this] { return now; }, [this] { return "m" + std::to_string(++next_id); }};

  Harness() {
    topics.version = 1;
    topics.add(kFoo, "foo", 4);
    topics.add(kBar, "bar", 2);
  }

  // A ConsumerGroupHeartbeat of `member` in group "g" at `epoch`.
  static CgHeartbeat request(const std::string& member, int32_t epoch) {
    CgHeartbeat h;
    h.group_id = "g";
    h.member_id = member;
    h.member_epoch = epoch;
    return h;
  }
  CgHeartbeatResult join(const std::string& member, std::vector<std::string> names, std::optional<std::string> assignor = std::nullopt,
                         std::optional<std::string> instance = std::nullopt) {
    CgHeartbeat h = request(member, 0);
    h.rebalance_timeout_ms = 30000;
    h.subscribed_topic_names = std::move(names);
    h.server_assignor = std::move(assignor);
    h.instance_id = std::move(instance);
    h.owned = CgAssignment{};
    return cg.heartbeat(h, topics);
  }
  // A heartbeat carrying the partitions the member owns (what a client sends
  // after reconciling what it was given).
  CgHeartbeatResult beat(const std::string& member, int32_t epoch, std::optional<CgAssignment> owned) {
    CgHeartbeat h = request(member, epoch);
    h.owned = std::move(owned);
    return cg.heartbeat(h, topics);
  }
  CgHeartbeatResult leave(const std::string& member, int32_t epoch = -1, std::optional<std::string> instance = std::nullopt) {
    CgHeartbeat h = request(member, epoch);
    h.instance_id = std::move(instance);
    return cg.heartbeat(h, topics);
  }
};

CgAssignment foo(std::set<int32_t> ps) { return CgAssignment{{kFoo, std::move(ps)}}; }

size_t total(const CgAssignment& a) {
  size_t n = 0;
  for (const auto& [t, ps] : a) n += ps.size();
  return n;
}

TEST(ConsumerGroup, FirstMemberGetsAllPartitions) {
  Harness h;
  auto r = h.join("a", {"foo"});
  ASSERT_EQ(r.error, ErrorCode::NONE);
  EXPECT_EQ(r.member_id, "a");
  EXPECT_EQ(r.member_epoch, 1);
  EXPECT_EQ(r.heartbeat_interval_ms, 5000);
  ASSERT_TRUE(r.assignment);
  EXPECT_EQ(*r.assignment, foo({0, 1, 2, 3}));
  EXPECT_EQ(h.cg.group_state("g"), CgGroupState::Stable);
  // An unchanged heartbeat carries no assignment.
  r = h.beat("a", 1, foo({0, 1, 2, 3}));
  ASSERT_EQ(r.error, ErrorCode::NONE);
  EXPECT_FALSE(r.assignment);
  EXPECT_EQ(r.member_epoch, 1);
}

TEST(ConsumerGroup, V0GeneratesMemberIdV1RequiresOne) {
  Harness h;
  CgHeartbeat req = Harness::request("", 0);
  req.version = 0;
  req.rebalance_timeout_ms = 1000;
  req.subscribed_topic_names = std::vector<std::string>{"foo"};
  req.owned = CgAssignment{};
  auto r = h.cg.heartbeat(req, h.topics);
  ASSERT_EQ(r.error, ErrorCode::NONE);
  EXPECT_EQ(r.member_id, "m1");
  req.version = 1;
  r = h.cg.heartbeat(req, h.topics);
  EXPECT_EQ(r.error, ErrorCode::INVALID_REQUEST);
  // A first request without a subscription is invalid too.
  req.member_id = "x";
  req.subscribed_topic_names = std::vector<std::string>{};
  EXPECT_EQ(h.cg.heartbeat(req, h.topics).error, ErrorCode::INVALID_REQUEST);
}

TEST(ConsumerGroup, SecondMemberGetsPartitionsOnlyAfterRevocation) {
  Harness h;
  ASSERT_EQ(h.join("a", {"foo"}).member_epoch, 1);
  auto b = h.join("b", {"foo"});
  ASSERT_EQ(b.error, ErrorCode::NONE);
  EXPECT_EQ(*h.cg.group_epoch("g"), 2);
  // b's target is two partitions, but a still owns them: b gets nothing yet.
  EXPECT_EQ(b.member_epoch, 2);
  ASSERT_TRUE(b.assignment);
  EXPECT_EQ(total(*b.assignment), 0u);
  EXPECT_EQ(h.cg.group_state("g"), CgGroupState::Reconciling);
  // b heartbeats again: still nothing.
  auto b2 = h.beat("b", 2, CgAssignment{});
  EXPECT_FALSE(b2.assignment);

  // a is told to keep two partitions (revoke the others) at its old epoch.
  auto a = h.beat("a", 1, foo({0, 1, 2, 3}));
  ASSERT_EQ(a.error, ErrorCode::NONE);
  EXPECT_EQ(a.member_epoch, 1);
  ASSERT_TRUE(a.assignment);
  ASSERT_EQ(total(*a.assignment), 2u);
  CgAssignment kept = *a.assignment;
  CgAssignment revoked = foo({0, 1, 2, 3});
  for (int32_t p : kept[kFoo]) revoked[kFoo].erase(p);
  // Still owning them (no revocation yet): nothing changes, and b waits.
  a = h.beat("a", 1, foo({0, 1, 2, 3}));
  EXPECT_EQ(a.member_epoch, 1);
  EXPECT_FALSE(h.beat("b", 2, CgAssignment{}).assignment);
  // a revokes: it moves to epoch 2.
  a = h.beat("a", 1, kept);
  EXPECT_EQ(a.member_epoch, 2);
  EXPECT_FALSE(a.assignment);  // unchanged
  // Now b gets the released partitions.
  b2 = h.beat("b", 2, CgAssignment{});
  ASSERT_TRUE(b2.assignment);
  EXPECT_EQ(*b2.assignment, revoked);
  EXPECT_EQ(h.cg.group_state("g"), CgGroupState::Stable);
}

TEST(ConsumerGroup, LeaveMovesPartitionsToTheOthers) {
  Harness h;
  h.join("a", {"foo"});
  h.join("b", {"foo"});
  auto a = h.beat("a", 1, foo({0, 1, 2, 3}));
  a = h.beat("a", 1, *a.assignment);
  ASSERT_EQ(a.member_epoch, 2);
  auto r = h.leave("b");
  EXPECT_EQ(r.error, ErrorCode::NONE);
  EXPECT_EQ(r.member_epoch, -1);
  EXPECT_EQ(*h.cg.group_epoch("g"), 3);
  a = h.beat("a", 2, std::nullopt);
  EXPECT_EQ(a.member_epoch, 3);
  ASSERT_TRUE(a.assignment);
  EXPECT_EQ(*a.assignment, foo({0, 1, 2, 3}));
  // The member that left is unknown now.
  EXPECT_EQ(h.beat("b", 2, std::nullopt).error, ErrorCode::UNKNOWN_MEMBER_ID);
  h.leave("a");
  EXPECT_EQ(h.cg.group_state("g"), CgGroupState::Empty);
}

TEST(ConsumerGroup, SessionTimeoutRemovesMember) {
  Harness h;
  h.join("a", {"foo"});
  h.join("b", {"foo"});
  h.now += 40000;
  h.beat("a", 1, foo({0, 1, 2, 3}));  // a stays alive
  h.now += 6000;                      // b: 46 s without a heartbeat
  h.cg.tick();
  EXPECT_EQ(h.beat("b", 2, CgAssignment{}).error, ErrorCode::UNKNOWN_MEMBER_ID);
  auto d = h.cg.describe("g", h.topics);
  ASSERT_EQ(d.members.size(), 1u);
  EXPECT_EQ(d.members[0].member_id, "a");
  EXPECT_EQ(d.group_epoch, 3);
}

TEST(ConsumerGroup, RevocationTimeoutFencesMember) {
  Harness h;
  h.join("a", {"foo"});
  h.join("b", {"foo"});
  auto a = h.beat("a", 1, foo({0, 1, 2, 3}));  // told to revoke
  ASSERT_EQ(total(*a.assignment), 2u);
  h.now += 30001;  // rebalance timeout 30 s
  h.beat("b", 2, CgAssignment{});
  h.cg.tick();
  EXPECT_EQ(h.beat("a", 1, foo({0, 1, 2, 3})).error, ErrorCode::UNKNOWN_MEMBER_ID);
  auto b = h.beat("b", 2, CgAssignment{});
  EXPECT_EQ(b.member_epoch, 3);
  ASSERT_TRUE(b.assignment);
  EXPECT_EQ(*b.assignment, foo({0, 1, 2, 3}));
}

TEST(ConsumerGroup, FencedMemberEpoch) {
  Harness h;
  h.join("a", {"foo"});
  EXPECT_EQ(h.beat("a", 5, std::nullopt).error, ErrorCode::FENCED_MEMBER_EPOCH);
  h.join("b", {"foo"});
  auto a = h.beat("a", 1, foo({0, 1, 2, 3}));
  a = h.beat("a", 1, *a.assignment);
  ASSERT_EQ(a.member_epoch, 2);
  // The previous epoch is accepted with a subset of the assignment (a lost answer)...
  EXPECT_EQ(h.beat("a", 1, CgAssignment{}).error, ErrorCode::NONE);
  // ... but not without owned partitions, nor an older epoch.
  EXPECT_EQ(h.beat("a", 1, std::nullopt).error, ErrorCode::FENCED_MEMBER_EPOCH);
  EXPECT_EQ(h.beat("a", 0 + 3, std::nullopt).error, ErrorCode::FENCED_MEMBER_EPOCH);
  EXPECT_EQ(h.beat("zz", 1, std::nullopt).error, ErrorCode::UNKNOWN_MEMBER_ID);
}

TEST(ConsumerGroup, UniformVersusRange) {
  // Two topics with 3 partitions each, three members: range gives each
  // member one partition of each topic; uniform balances 2 partitions each.
  CgTopics topics;
  topics.add(kFoo, "foo", 3);
  topics.add(kBar, "bar", 3);
  CgAssignorInput in;
  for (const char* id : {"a", "b", "c"}) in[id].topics = {"foo", "bar"};
  auto range = cg_assign_range(in, topics);
  EXPECT_EQ(range["a"], (CgAssignment{{kFoo, {0}}, {kBar, {0}}}));
  EXPECT_EQ(range["b"], (CgAssignment{{kFoo, {1}}, {kBar, {1}}}));
  EXPECT_EQ(range["c"], (CgAssignment{{kFoo, {2}}, {kBar, {2}}}));
  auto uni = cg_assign_uniform(in, topics);
  std::set<std::pair<Uuid, int32_t>> all;
  for (const auto& [m, a] : uni) {
    EXPECT_EQ(total(a), 2u) << m;
    for (const auto& [t, ps] : a)
      for (int32_t p : ps) EXPECT_TRUE(all.insert({t, p}).second);
  }
  EXPECT_EQ(all.size(), 6u);

  // Range with 5 partitions over 2 members: 3 + 2, contiguous.
  CgTopics five;
  five.add(kFoo, "foo", 5);
  CgAssignorInput two;
  two["a"].topics = {"foo"};
  two["b"].topics = {"foo"};
  auto r5 = cg_assign_range(two, five);
  EXPECT_EQ(r5["a"], foo({0, 1, 2}));
  EXPECT_EQ(r5["b"], foo({3, 4}));

  // Range is sticky within each member's share: a keeps 3 and 4 (its share
  // is 3: 0 goes with them), b gets the rest.
  CgAssignorInput sticky = two;
  sticky["a"].previous = foo({3, 4});
  auto rs = cg_assign_range(sticky, five);
  EXPECT_EQ(rs["a"], foo({0, 3, 4}));
  EXPECT_EQ(rs["b"], foo({1, 2}));
  // A third member: everyone keeps what fits in its share of 2/2/1.
  sticky["a"].previous = foo({0, 1, 2});
  sticky["b"].previous = foo({3, 4});
  sticky["c"].topics = {"foo"};
  auto r3 = cg_assign_range(sticky, five);
  EXPECT_EQ(r3["a"], foo({0, 1}));
  EXPECT_EQ(r3["b"], foo({3, 4}));
  EXPECT_EQ(r3["c"], foo({2}));

  // Uniform is sticky: a member keeps its previous partitions when balanced.
  two["a"].previous = foo({1, 3, 4});
  auto u5 = cg_assign_uniform(two, five);
  EXPECT_EQ(u5["a"], foo({1, 3, 4}));
  EXPECT_EQ(u5["b"], foo({0, 2}));

  // Heterogeneous subscriptions: only subscribers get a topic's partitions.
  CgAssignorInput het;
  het["a"].topics = {"foo"};
  het["b"].topics = {"foo", "bar"};
  auto uh = cg_assign_uniform(het, topics);
  EXPECT_EQ(uh["a"].count(kBar), 0u);
  EXPECT_EQ(uh["b"][kBar], (std::set<int32_t>{0, 1, 2}));
  EXPECT_EQ(total(uh["a"]) + total(uh["b"]), 6u);
  EXPECT_EQ(total(uh["a"]), 3u);
}

TEST(ConsumerGroup, ServerAssignorSelection) {
  Harness h;
  auto r = h.join("a", {"foo"}, "range");
  ASSERT_EQ(r.error, ErrorCode::NONE);
  EXPECT_EQ(h.cg.describe("g", h.topics).assignor_name, "range");
  r = h.join("b", {"foo"}, "range");
  auto d = h.cg.describe("g", h.topics);
  // Range: a (first by member id) gets 0-1, b 2-3.
  ASSERT_EQ(d.members.size(), 2u);
  EXPECT_EQ(d.members[0].target_assignment, foo({0, 1}));
  EXPECT_EQ(d.members[1].target_assignment, foo({2, 3}));
  EXPECT_EQ(h.join("c", {"foo"}, "sticky").error, ErrorCode::UNSUPPORTED_ASSIGNOR);
  Harness h2;
  h2.join("a", {"foo"});
  EXPECT_EQ(h2.cg.describe("g", h2.topics).assignor_name, "uniform");
}

TEST(ConsumerGroup, DescribeOutput) {
  Harness h;
  EXPECT_EQ(h.cg.describe("g", h.topics).error, ErrorCode::GROUP_ID_NOT_FOUND);
  CgHeartbeat req = Harness::request("a", 0);
  req.rebalance_timeout_ms = 1000;
  req.subscribed_topic_names = std::vector<std::string>{"foo", "bar"};
  req.owned = CgAssignment{};
  req.client_id = "cli";
  req.client_host = "/127.0.0.1";
  req.rack_id = "r1";
  ASSERT_EQ(h.cg.heartbeat(req, h.topics).error, ErrorCode::NONE);
  auto d = h.cg.describe("g", h.topics);
  EXPECT_EQ(d.error, ErrorCode::NONE);
  EXPECT_EQ(d.state, "Stable");
  EXPECT_EQ(d.group_epoch, 1);
  EXPECT_EQ(d.assignment_epoch, 1);
  ASSERT_EQ(d.members.size(), 1u);
  const auto& m = d.members[0];
  EXPECT_EQ(m.member_id, "a");
  EXPECT_EQ(m.member_epoch, 1);
  EXPECT_EQ(m.client_id, "cli");
  EXPECT_EQ(m.client_host, "/127.0.0.1");
  EXPECT_EQ(m.rack_id, "r1");
  EXPECT_EQ(m.subscribed_topic_names, (std::vector<std::string>{"bar", "foo"}));
  EXPECT_EQ(m.assignment, (CgAssignment{{kFoo, {0, 1, 2, 3}}, {kBar, {0, 1}}}));
  EXPECT_EQ(m.target_assignment, m.assignment);
  auto listed = h.cg.list();
  ASSERT_EQ(listed.size(), 1u);
  EXPECT_EQ(listed[0].state, "Stable");
}

TEST(ConsumerGroup, MetadataChangeBumpsEpoch) {
  Harness h;
  h.join("a", {"foo", "baz"});
  EXPECT_EQ(*h.cg.group_epoch("g"), 1);
  // baz is created: the group epoch is bumped and a gets its partition.
  h.topics.version = 2;
  h.topics.add(Uuid{3, 3}, "baz", 1);
  auto r = h.beat("a", 1, foo({0, 1, 2, 3}));
  EXPECT_EQ(*h.cg.group_epoch("g"), 2);
  EXPECT_EQ(r.member_epoch, 2);
  ASSERT_TRUE(r.assignment);
  EXPECT_EQ(r.assignment->at(Uuid{3, 3}), (std::set<int32_t>{0}));
}

TEST(ConsumerGroup, RegexSubscription) {
  Harness h;
  CgHeartbeat req = Harness::request("a", 0);
  req.rebalance_timeout_ms = 1000;
  req.subscribed_topic_regex = "b.*";
  req.owned = CgAssignment{};
  auto r = h.cg.heartbeat(req, h.topics);
  ASSERT_EQ(r.error, ErrorCode::NONE);
  EXPECT_EQ(*r.assignment, (CgAssignment{{kBar, {0, 1}}}));
  req.member_id = "b";
  req.subscribed_topic_regex = "(";
  EXPECT_EQ(code(h.cg.heartbeat(req, h.topics).error), 128);  // INVALID_REGULAR_EXPRESSION
}

TEST(ConsumerGroup, StaticMemberLeavesAndComesBack) {
  Harness h;
  auto r = h.join("a", {"foo"}, std::nullopt, "i1");
  ASSERT_EQ(r.member_epoch, 1);
  // Another member with the same instance id while a is active.
  EXPECT_EQ(h.join("a2", {"foo"}, std::nullopt, "i1").error, ErrorCode::UNRELEASED_INSTANCE_ID);
  r = h.leave("a", -2, "i1");
  EXPECT_EQ(r.error, ErrorCode::NONE);
  EXPECT_EQ(r.member_epoch, -2);
  EXPECT_EQ(*h.cg.group_epoch("g"), 1);  // no rebalance
  // Comes back with a new member id: same assignment, no epoch bump.
  r = h.join("a2", {"foo"}, std::nullopt, "i1");
  ASSERT_EQ(r.error, ErrorCode::NONE);
  EXPECT_EQ(r.member_epoch, 1);
  EXPECT_EQ(*r.assignment, foo({0, 1, 2, 3}));
  EXPECT_EQ(*h.cg.group_epoch("g"), 1);
  EXPECT_EQ(h.beat("a", 1, std::nullopt).error, ErrorCode::UNKNOWN_MEMBER_ID);
}

TEST(ConsumerGroup, OffsetCommitValidation) {
  Harness h;
  EXPECT_FALSE(h.cg.validate_offset_commit("g", "", std::nullopt, -1, 9));  // not a consumer group
  h.join("a", {"foo"});
  EXPECT_EQ(h.cg.validate_offset_commit("g", "a", std::nullopt, 1, 9), ErrorCode::NONE);
  EXPECT_EQ(h.cg.validate_offset_commit("g", "a", std::nullopt, 0, 9), ErrorCode::STALE_MEMBER_EPOCH);
  EXPECT_EQ(h.cg.validate_offset_commit("g", "a", std::nullopt, 1, 8), ErrorCode::UNSUPPORTED_VERSION);
  EXPECT_EQ(h.cg.validate_offset_commit("g", "x", std::nullopt, 1, 9), ErrorCode::UNKNOWN_MEMBER_ID);
  EXPECT_EQ(h.cg.validate_offset_commit("g", "", std::nullopt, -1, 9), ErrorCode::UNKNOWN_MEMBER_ID);
  EXPECT_EQ(h.cg.validate_offset_fetch("g", "a", 0), ErrorCode::STALE_MEMBER_EPOCH);
  EXPECT_EQ(h.cg.validate_offset_fetch("g", "", -1), ErrorCode::NONE);
  h.leave("a");
  EXPECT_EQ(h.cg.validate_offset_commit("g", "", std::nullopt, -1, 9), ErrorCode::NONE);
  EXPECT_EQ(h.cg.delete_group("g"), ErrorCode::NONE);
  EXPECT_FALSE(h.cg.has_group("g"));
}

TEST(ConsumerGroup, UnloadDropsGroupsOfThePartition) {
  Harness h;
  const int32_t p = h.cg.partition_for("g");
  h.cg.on_leadership(p, 3, true);
  h.join("a", {"foo"});
  h.cg.on_leadership(p, 3, true);  // the same epoch again
  EXPECT_TRUE(h.cg.has_group("g"));
  h.cg.on_leadership(p + 1, 3, false);
  EXPECT_TRUE(h.cg.has_group("g"));
  h.cg.on_leadership(p, 4, true);  // a new leader epoch: loaded afresh
  EXPECT_FALSE(h.cg.has_group("g"));
  h.join("a", {"foo"});
  h.cg.on_leadership(p, 4, false);
  EXPECT_FALSE(h.cg.has_group("g"));
}

// ---------------------------------------------------------------- persistence (__consumer_offsets records)

// Applies records to a LoadedPartition the way a load does.
void apply_all(LoadedPartition& lp, const std::vector<GroupRecord>& recs) {
  for (const auto& r : recs) lp.apply(decode_group_log_record(r.key, r.value));
}

// Members a and b of "g" on foo (4 partitions) until both are stable; every
// record the heartbeats produced goes to `log`.
struct Converged {
  std::map<std::string, int32_t> epoch;
  std::map<std::string, CgAssignment> owned;
};
Converged converge(Harness& h, std::vector<GroupRecord>& log) {
  Converged c;
  auto take = [&](const std::string& id, CgHeartbeatResult r) {
    EXPECT_EQ(r.error, ErrorCode::NONE);
    log.insert(log.end(), r.records.begin(), r.records.end());
    c.epoch[id] = r.member_epoch;
    if (r.assignment) c.owned[id] = *r.assignment;
  };
  take("a", h.join("a", {"foo"}));
  take("b", h.join("b", {"foo"}));
  for (int i = 0; i < 6; ++i)
    for (const char* id : {"a", "b"}) take(id, h.beat(id, c.epoch[id], c.owned[id]));
  EXPECT_EQ(h.cg.group_state("g"), CgGroupState::Stable);
  return c;
}

TEST(ConsumerGroupRecords, KeyByteLayout) {
  // Key: int16 version, then the struct (non-flexible: int16-length strings).
  EXPECT_EQ(encode_cg_key(kCgMemberMetadataKeyVersion, "g", "m"), (std::vector<uint8_t>{0, 5, 0, 1, 'g', 0, 1, 'm'}));
  EXPECT_EQ(encode_cg_key(kCgMetadataKeyVersion, "gr"), (std::vector<uint8_t>{0, 3, 0, 2, 'g', 'r'}));
  EXPECT_EQ(encode_cg_key(kCgCurrentAssignmentKeyVersion, "g", "m")[1], 8);
  EXPECT_EQ(encode_cg_key(kCgTargetMemberKeyVersion, "g", "m")[1], 7);
  EXPECT_EQ(encode_cg_key(kCgTargetMetadataKeyVersion, "g")[1], 6);
  EXPECT_EQ(encode_cg_key(kCgPartitionMetadataKeyVersion, "g")[1], 4);
}

TEST(ConsumerGroupRecords, ValueByteLayout) {
  msg::ConsumerGroupMetadataValue meta;
  meta.epoch = 7;
  // Version 0 (flexible): int32 Epoch, then an empty tagged-field section.
  EXPECT_EQ(encode_versioned_value(meta), (std::vector<uint8_t>{0, 0, 0, 0, 0, 7, 0}));

  msg::ConsumerGroupCurrentMemberAssignmentValue v;
  v.member_epoch = 3;
  v.previous_member_epoch = 2;
  v.state = 1;  // UNREVOKED_PARTITIONS
  msg::ConsumerGroupCurrentMemberAssignmentValue::TopicPartitions tp;
  tp.topic_id = kFoo;
  tp.partitions = {5};
  v.assigned_partitions = {tp};
  std::vector<uint8_t> want = {0, 0,           // version 0
                               0, 0, 0, 3,     // MemberEpoch
                               0, 0, 0, 2,     // PreviousMemberEpoch
                               1,              // State
                               2};             // AssignedPartitions: compact array of 1
  for (int i = 0; i < 7; ++i) want.push_back(0);  // TopicId {1, 1}: 16 bytes, big endian
  want.push_back(1);
  for (int i = 0; i < 7; ++i) want.push_back(0);
  want.push_back(1);
  for (uint8_t b : {2, 0, 0, 0, 5, 0}) want.push_back(b);  // Partitions [5], tags of the struct
  for (uint8_t b : {1, 0}) want.push_back(b);              // PartitionsPendingRevocation [], tags
  EXPECT_EQ(encode_versioned_value(v), want);
}

TEST(ConsumerGroupRecords, RoundTripThroughLoadedPartition) {
  Harness h;
  std::vector<GroupRecord> log;
  Converged c = converge(h, log);
  ASSERT_FALSE(log.empty());
  LoadedPartition lp;
  apply_all(lp, log);
  ASSERT_EQ(lp.consumer_groups.count("g"), 1u);
  const LoadedConsumerGroup& g = lp.consumer_groups.at("g");
  ASSERT_TRUE(g.metadata);
  EXPECT_EQ(g.metadata->epoch, *h.cg.group_epoch("g"));
  ASSERT_TRUE(g.target_metadata);
  EXPECT_EQ(g.target_metadata->assignment_epoch, *h.cg.group_epoch("g"));
  ASSERT_TRUE(g.partition_metadata);
  ASSERT_EQ(g.partition_metadata->topics.size(), 1u);
  EXPECT_EQ(g.partition_metadata->topics[0].topic_name, "foo");
  EXPECT_EQ(g.partition_metadata->topics[0].num_partitions, 4);
  EXPECT_EQ(g.members.size(), 2u);
  EXPECT_EQ(g.members.at("a").subscribed_topic_names, std::vector<std::string>{"foo"});
  EXPECT_EQ(g.members.at("a").rebalance_timeout_ms, 30000);
  EXPECT_EQ(g.targets.size(), 2u);
  ASSERT_EQ(g.assignments.size(), 2u);
  EXPECT_EQ(g.assignments.at("a").member_epoch, c.epoch["a"]);
  EXPECT_EQ(g.assignments.at("a").state, 0);  // STABLE
  size_t n = 0;
  for (const auto& tp : g.assignments.at("a").assigned_partitions) n += tp.partitions.size();
  EXPECT_EQ(n, total(c.owned["a"]));
  EXPECT_TRUE(g.assignments.at("a").partitions_pending_revocation.empty());

  // A member leaving: its three records become tombstones.
  auto r = h.leave("b", -1);
  ASSERT_EQ(r.error, ErrorCode::NONE);
  size_t tombstones = 0;
  for (const auto& rec : r.records) tombstones += rec.value ? 0 : 1;
  EXPECT_EQ(tombstones, 3u);
  apply_all(lp, r.records);
  EXPECT_EQ(lp.consumer_groups.at("g").members.count("b"), 0u);
  EXPECT_EQ(lp.consumer_groups.at("g").assignments.count("b"), 0u);
  EXPECT_EQ(lp.consumer_groups.at("g").targets.count("b"), 0u);
  EXPECT_EQ(lp.consumer_groups.at("g").metadata->epoch, *h.cg.group_epoch("g"));

  // Unknown key versions are not ours.
  std::vector<uint8_t> k = encode_cg_key(kCgMetadataKeyVersion, "g");
  k[1] = 99;
  EXPECT_EQ(decode_group_log_record(k, std::nullopt).kind, GroupLogRecord::kUnknown);
}

TEST(ConsumerGroupRecords, UnchangedHeartbeatWritesNothing) {
  Harness h;
  std::vector<GroupRecord> log;
  Converged c = converge(h, log);
  auto r = h.beat("a", c.epoch["a"], c.owned["a"]);
  ASSERT_EQ(r.error, ErrorCode::NONE);
  EXPECT_TRUE(r.records.empty());
}

TEST(ConsumerGroupRecords, TimeoutsAndDeletionGoToTheSink) {
  Harness h;
  std::vector<std::pair<int32_t, std::vector<GroupRecord>>> sunk;
  h.cg.set_record_sink([&](int32_t p, std::vector<GroupRecord> recs) { sunk.push_back({p, std::move(recs)}); });
  std::vector<GroupRecord> log;
  converge(h, log);
  h.now += 46000;  // past the session timeout of both
  h.cg.tick();
  ASSERT_EQ(sunk.size(), 1u);
  EXPECT_EQ(sunk[0].first, h.cg.partition_for("g"));
  LoadedPartition lp;
  apply_all(lp, log);
  apply_all(lp, sunk[0].second);
  ASSERT_EQ(lp.consumer_groups.count("g"), 1u);
  EXPECT_TRUE(lp.consumer_groups.at("g").members.empty());
  EXPECT_TRUE(lp.consumer_groups.at("g").assignments.empty());
  EXPECT_EQ(h.cg.delete_group("g"), ErrorCode::NONE);
  ASSERT_EQ(sunk.size(), 2u);
  for (const auto& rec : sunk[1].second) EXPECT_FALSE(rec.value);
  apply_all(lp, sunk[1].second);
  EXPECT_EQ(lp.consumer_groups.count("g"), 0u);
}

TEST(ConsumerGroupRecords, NewCoordinatorContinuesTheGroup) {
  Harness h;
  std::vector<GroupRecord> log;
  Converged c = converge(h, log);
  ASSERT_EQ(c.epoch["a"], c.epoch["b"]);
  const int32_t epoch = *h.cg.group_epoch("g");
  LoadedPartition lp;
  apply_all(lp, log);

  // Another coordinator (ids it would generate differ) loads the partition.
  Harness h2;
  h2.next_id = 100;
  h2.cg.load_partition(h2.cg.partition_for("g"), lp.consumer_groups);
  ASSERT_TRUE(h2.cg.has_group("g"));
  EXPECT_EQ(h2.cg.group_epoch("g"), epoch);
  EXPECT_EQ(h2.cg.group_state("g"), CgGroupState::Stable);
  CgDescribedGroup d = h2.cg.describe("g", h2.topics);
  ASSERT_EQ(d.members.size(), 2u);
  EXPECT_EQ(d.assignment_epoch, epoch);
  for (const auto& m : d.members) {
    EXPECT_EQ(m.member_epoch, c.epoch[m.member_id]);
    EXPECT_EQ(m.assignment, c.owned[m.member_id]);
    EXPECT_EQ(m.target_assignment, c.owned[m.member_id]);
  }
  // The members heartbeat on with the epochs they had: accepted, no rebalance.
  for (const char* id : {"a", "b"}) {
    auto r = h2.beat(id, c.epoch[id], c.owned[id]);
    ASSERT_EQ(r.error, ErrorCode::NONE) << id;
    EXPECT_EQ(r.member_epoch, c.epoch[id]);
    EXPECT_FALSE(r.assignment);  // unchanged
    EXPECT_TRUE(r.records.empty());
  }
  EXPECT_EQ(h2.cg.group_epoch("g"), epoch);
  EXPECT_EQ(h2.cg.group_state("g"), CgGroupState::Stable);
  // Sessions restarted at load time: they expire a session timeout later.
  h2.now += 46000;
  h2.cg.tick();
  EXPECT_FALSE(h2.cg.has_members("g"));
  // A partition's load ignores groups of other partitions.
  Harness h3;
  h3.cg.load_partition(h3.cg.partition_for("g") + 1, lp.consumer_groups);
  EXPECT_FALSE(h3.cg.has_group("g"));
}

}  // namespace
}  // namespace flotilla::coordinator
