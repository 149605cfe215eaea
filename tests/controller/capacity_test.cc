// Partition capacity (issue 21, controller/capacity.cc): CreateTopics and
// CreatePartitions that would take a broker past the budget it registered
// with (FlotillaMaxPartitions) or the cluster past max.partitions are refused
// with POLICY_VIOLATION and nothing is written; placement leaves full brokers
// out while others can take the replicas; the budget survives a controller
// failover and a snapshot load.
#include <gtest/gtest.h>

#include <algorithm>

#include "controller/harness.h"
#include "metadata/snapshot.h"
#include "raft/snapshot.h"

namespace flotilla::controller::testing {
namespace {

constexpr int16_t kPolicyViolation = 44;

struct Capacity : Harness {
  explicit Capacity(ControllerConfig cc = {}, bool activate = true)
      : Harness(metadata::kLatestProductionMetadataVersion, std::move(cc), activate) {}

  // Registers and unfences broker `id` with partition budget `budget` (-1: none sent).
  void broker_with_budget(int32_t id, int32_t budget) {
    auto req = registration(id, std::nullopt, Uuid::random());
    req.flotilla_max_partitions = budget;
    auto r = call<msg::BrokerRegistrationResponse>([&](auto done) { controller->register_broker(req, 4, done); });
    ASSERT_EQ(r.error_code, 0);
    auto h = heartbeat(id, r.broker_epoch, caught_up());
    ASSERT_EQ(h.error_code, 0);
    ASSERT_FALSE(h.is_fenced);
  }
  msg::CreateTopicsResponse create_validate_only(const std::string& name, int32_t partitions, int16_t rf) {
    auto req = create_topic_request(name, partitions, rf);
    req.validate_only = true;
    return call<msg::CreateTopicsResponse>([&](auto done) { controller->create_topics(req, 7, done); });
  }
  msg::CreatePartitionsResponse grow(const std::string& topic, int32_t count, bool validate_only = false) {
    msg::CreatePartitionsRequest req;
    req.topics.resize(1);
    req.topics[0].name = topic;
    req.topics[0].count = count;
    req.validate_only = validate_only;
    return call<msg::CreatePartitionsResponse>([&](auto done) { controller->create_partitions(req, 3, done); });
  }
  // Replicas of broker `b` in the committed image (counted the slow way).
  int64_t hosted(int32_t b) const {
    int64_t n = 0;
    for (const auto& [name, t] : image()->topics_by_name())
      for (const auto& [idx, p] : t.partitions) n += std::count(p.replicas.begin(), p.replicas.end(), b);
    return n;
  }
};

TEST(ControllerCapacity, CreateTopicsPastABrokerBudgetIsRefusedAndWritesNothing) {
  Capacity h;
  h.broker_with_budget(1, 10);
  EXPECT_EQ(h.image()->broker(1)->max_partitions, 10);
  const size_t batches = h.raft.log().size();

  auto r = h.create("big", 12, 1);
  ASSERT_EQ(r.topics.size(), 1u);
  EXPECT_EQ(r.topics[0].error_code, kPolicyViolation);
  const std::string msg = r.topics[0].error_message.value_or("");
  EXPECT_NE(msg.find("Creating 12 partition replicas would put broker 1 at 12 replicas, above its limit of 10"), std::string::npos) << msg;
  EXPECT_NE(msg.find("max.broker.partitions"), std::string::npos) << msg;
  EXPECT_NE(msg.find("file-descriptor limit"), std::string::npos) << msg;
  EXPECT_EQ(h.raft.log().size(), batches);  // nothing appended
  EXPECT_FALSE(h.image()->topic("big"));

  // validateOnly reports the same.
  auto v = h.create_validate_only("big", 12, 1);
  EXPECT_EQ(v.topics.at(0).error_code, kPolicyViolation);
  EXPECT_EQ(v.topics.at(0).error_message, r.topics[0].error_message);
  EXPECT_EQ(h.raft.log().size(), batches);

  // Up to the budget is fine; one more is not; a deletion makes room again.
  EXPECT_EQ(h.create("a", 6, 1).topics.at(0).error_code, 0);
  EXPECT_EQ(h.create("b", 4, 1).topics.at(0).error_code, 0);
  EXPECT_EQ(h.hosted(1), 10);
  auto over = h.create("c", 1, 1);
  EXPECT_EQ(over.topics.at(0).error_code, kPolicyViolation);
  EXPECT_NE(over.topics.at(0).error_message.value_or("").find("at 11 replicas, above its limit of 10"), std::string::npos);
  msg::DeleteTopicsRequest d;
  d.topic_names = {"b"};
  auto dr = h.call<msg::DeleteTopicsResponse>([&](auto done) { h.controller->delete_topics(d, 5, done); });
  ASSERT_EQ(dr.responses.at(0).error_code, 0);
  EXPECT_EQ(h.create("c", 4, 1).topics.at(0).error_code, 0);
  EXPECT_EQ(h.create("d", 1, 1).topics.at(0).error_code, kPolicyViolation);
}

TEST(ControllerCapacity, TopicsOfOneRequestCountTogether) {
  Capacity h;
  h.broker_with_budget(1, 10);
  auto req = create_topic_request("x", 6, 1);
  req.topics.push_back(create_topic_request("y", 6, 1).topics[0]);
  auto r = h.call<msg::CreateTopicsResponse>([&](auto done) { h.controller->create_topics(req, 7, done); });
  ASSERT_EQ(r.topics.size(), 2u);
  EXPECT_EQ(r.topics[0].error_code, 0);
  EXPECT_EQ(r.topics[1].error_code, kPolicyViolation);
  EXPECT_TRUE(h.image()->topic("x"));
  EXPECT_FALSE(h.image()->topic("y"));
}

TEST(ControllerCapacity, ManualAssignmentsAreCheckedToo) {
  Capacity h;
  h.broker_with_budget(1, 2);
  h.broker_with_budget(2, -1);  // an old or foreign broker: unlimited
  auto r = h.create_assigned("m", {{1, 2}, {1, 2}, {1, 2}});
  EXPECT_EQ(r.topics.at(0).error_code, kPolicyViolation);
  EXPECT_NE(r.topics.at(0).error_message.value_or("").find("broker 1 at 3 replicas"), std::string::npos);
  EXPECT_EQ(h.create_assigned("m", {{2}, {2}, {2}, {2}, {2}}).topics.at(0).error_code, 0);
}

TEST(ControllerCapacity, CreatePartitionsPastTheBudgetIsRefused) {
  Capacity h;
  h.broker_with_budget(1, 10);
  ASSERT_EQ(h.create("t", 8, 1).topics.at(0).error_code, 0);
  const size_t batches = h.raft.log().size();
  auto r = h.grow("t", 12);
  EXPECT_EQ(r.results.at(0).error_code, kPolicyViolation);
  const std::string msg = r.results.at(0).error_message.value_or("");
  EXPECT_NE(msg.find("Adding 4 partition replicas would put broker 1 at 12 replicas, above its limit of 10"), std::string::npos) << msg;
  auto v = h.grow("t", 12, /*validate_only=*/true);
  EXPECT_EQ(v.results.at(0).error_code, kPolicyViolation);
  EXPECT_EQ(v.results.at(0).error_message, r.results.at(0).error_message);
  EXPECT_EQ(h.raft.log().size(), batches);
  EXPECT_EQ(h.image()->topic("t")->partitions.size(), 8u);
  EXPECT_EQ(h.grow("t", 10).results.at(0).error_code, 0);
  EXPECT_EQ(h.image()->topic("t")->partitions.size(), 10u);
}

TEST(ControllerCapacity, PlacementSkipsAFullBroker) {
  Capacity h;
  h.broker_with_budget(1, 2);
  h.broker_with_budget(2, 100);
  h.broker_with_budget(3, 100);
  // Round-robin would put 4 of 12 replicas on broker 1: it takes at most 2,
  // the others take the rest.
  auto r = h.create("spread", 12, 1);
  ASSERT_EQ(r.topics.at(0).error_code, 0) << r.topics.at(0).error_message.value_or("");
  EXPECT_LE(h.hosted(1), 2);
  EXPECT_EQ(h.hosted(1) + h.hosted(2) + h.hosted(3), 12);
  // Fill broker 1, then RF 2 goes to brokers 2 and 3 only.
  if (const int64_t room = 2 - h.hosted(1); room > 0) {
    ASSERT_EQ(h.create_assigned("fill", std::vector<std::vector<int32_t>>(static_cast<size_t>(room), {1})).topics.at(0).error_code, 0);
  }
  ASSERT_EQ(h.hosted(1), 2);
  auto r2 = h.create("pairs", 6, 2);
  ASSERT_EQ(r2.topics.at(0).error_code, 0) << r2.topics.at(0).error_message.value_or("");
  for (const auto& [idx, p] : h.image()->topic("pairs")->partitions) EXPECT_EQ(std::count(p.replicas.begin(), p.replicas.end(), 1), 0);
  // RF 3 needs broker 1, which is full: refused, naming it.
  auto r3 = h.create("triples", 1, 3);
  EXPECT_EQ(r3.topics.at(0).error_code, kPolicyViolation);
  EXPECT_NE(r3.topics.at(0).error_message.value_or("").find("broker 1 at 3 replicas, above its limit of 2"), std::string::npos)
      << r3.topics.at(0).error_message.value_or("");
}

TEST(ControllerCapacity, MaxPartitionsBoundsTheCluster) {
  ControllerConfig cc;
  cc.max_partitions = 5;
  Capacity h(cc);
  h.broker_with_budget(1, -1);
  h.broker_with_budget(2, -1);
  ASSERT_EQ(h.create("a", 3, 2).topics.at(0).error_code, 0);  // 3 partitions (6 replicas): partitions count
  auto r = h.create("b", 3, 1);
  EXPECT_EQ(r.topics.at(0).error_code, kPolicyViolation);
  const std::string msg = r.topics.at(0).error_message.value_or("");
  EXPECT_NE(msg.find("Creating 3 partitions would bring the cluster to 6 partitions, above its limit of 5 (max.partitions)"),
            std::string::npos)
      << msg;
  EXPECT_EQ(h.grow("a", 6).results.at(0).error_code, kPolicyViolation);
  EXPECT_EQ(h.create("b", 2, 1).topics.at(0).error_code, 0);
  EXPECT_EQ(h.create("c", 1, 1).topics.at(0).error_code, kPolicyViolation);
}

TEST(ControllerCapacity, ANewControllerKnowsTheBudgetFromTheRecord) {
  Capacity h;
  h.broker_with_budget(1, 10);
  ASSERT_EQ(h.create("t", 8, 1).topics.at(0).error_code, 0);
  h.fail_over(2, false);
  h.settle();
  ASSERT_TRUE(h.controller->is_active());
  ASSERT_TRUE(h.image()->broker(1));
  EXPECT_EQ(h.image()->broker(1)->max_partitions, 10);
  EXPECT_EQ(h.create("u", 4, 1).topics.at(0).error_code, kPolicyViolation);
  EXPECT_EQ(h.create("u", 2, 1).topics.at(0).error_code, 0);
}

TEST(ControllerCapacity, ASnapshotLoadKeepsTheBudgetAndTheCounts) {
  Capacity h;
  h.broker_with_budget(1, 10);
  ASSERT_EQ(h.create("t", 8, 1).topics.at(0).error_code, 0);
  // The snapshot's records carry the budget (tagged field).
  auto records = metadata::image_records(*h.image());
  metadata::MetadataDelta d(nullptr);
  for (const auto& v : records) ASSERT_TRUE(d.replay_value(v));
  EXPECT_EQ(d.apply()->broker(1)->max_partitions, 10);

  // A standby loads it, then becomes active.
  Capacity s({}, /*activate=*/false);
  for (int i = 0; i < 5; ++i) s.raft.inject({protocol::frame_metadata_record(msg::NoOpRecord{}, 0)});
  s.raft.commit();
  raft::SnapshotContents contents;
  raft::CommittedBatch b;
  b.records = records;
  contents.batches.push_back(b);
  s.controller->handle_load_snapshot(raft::SnapshotId{s.raft.next_offset(), 0}, contents);
  s.raft.elect(s.node_id);
  s.settle();
  ASSERT_TRUE(s.controller->is_active());
  ASSERT_TRUE(s.image()->broker(1));
  EXPECT_EQ(s.image()->broker(1)->max_partitions, 10);
  EXPECT_EQ(s.create("u", 3, 1).topics.at(0).error_code, kPolicyViolation);
  EXPECT_EQ(s.create("u", 2, 1).topics.at(0).error_code, 0);
}

TEST(ControllerCapacity, ReassignmentsThatAddReplicasAreChecked) {
  Capacity h;
  h.broker_with_budget(1, -1);
  h.broker_with_budget(2, 2);
  ASSERT_EQ(h.create_assigned("r", {{1}, {1}, {1}}).topics.at(0).error_code, 0);
  msg::AlterPartitionReassignmentsRequest req;
  req.topics.emplace_back();
  req.topics[0].name = "r";
  for (int32_t p = 0; p < 3; ++p) {
    msg::AlterPartitionReassignmentsRequest::ReassignablePartition rp;
    rp.partition_index = p;
    rp.replicas = std::vector<int32_t>{1, 2};
    req.topics[0].partitions.push_back(rp);
  }
  auto r = h.call<msg::AlterPartitionReassignmentsResponse>([&](auto done) { h.controller->alter_partition_reassignments(req, 0, done); });
  const auto& ps = r.responses.at(0).partitions;
  ASSERT_EQ(ps.size(), 3u);
  EXPECT_EQ(ps[0].error_code, 0);
  EXPECT_EQ(ps[1].error_code, 0);
  EXPECT_EQ(ps[2].error_code, kPolicyViolation);  // the third would be broker 2's third replica
  EXPECT_NE(ps[2].error_message.value_or("").find("broker 2 at 3 replicas, above its limit of 2"), std::string::npos)
      << ps[2].error_message.value_or("");
  EXPECT_EQ(h.hosted(2), 2);
}

TEST(ControllerCapacity, ReplicaCountsFollowDeltasAsARecountWould) {
  Capacity h;
  h.broker_with_budget(1, -1);
  h.broker_with_budget(2, -1);
  h.broker_with_budget(3, -1);
  ReplicaCounts incremental;
  auto before = h.image();
  incremental.recount(*before);
  size_t seen = h.raft.log().size();
  auto follow = [&] {
    for (; seen < h.raft.log().size(); ++seen) {
      const auto& batch = h.raft.log()[seen];
      if (batch.is_control) continue;
      metadata::MetadataDelta d(before);
      for (const auto& v : batch.records) d.replay_value(v);
      auto after = d.apply();
      incremental.apply(*before, *after, d);
      before = after;
    }
  };
  ASSERT_EQ(h.create("a", 5, 2).topics.at(0).error_code, 0);
  ASSERT_EQ(h.create("b", 3, 3).topics.at(0).error_code, 0);
  ASSERT_EQ(h.grow("a", 7).results.at(0).error_code, 0);
  msg::DeleteTopicsRequest d;
  d.topic_names = {"b"};
  ASSERT_EQ(h.call<msg::DeleteTopicsResponse>([&](auto done) { h.controller->delete_topics(d, 5, done); }).responses.at(0).error_code, 0);
  follow();
  ReplicaCounts full;
  full.recount(*h.image());
  EXPECT_EQ(incremental.partitions(), 7);
  EXPECT_EQ(full.partitions(), 7);
  for (int32_t b = 1; b <= 3; ++b) {
    EXPECT_EQ(incremental.replicas(b), h.hosted(b)) << b;
    EXPECT_EQ(full.replicas(b), h.hosted(b)) << b;
  }
  EXPECT_EQ(with_thousands(100500), "100,500");
  EXPECT_EQ(with_thousands(999), "999");
  EXPECT_EQ(with_thousands(1000), "1,000");
}

}  // namespace
}  // namespace flotilla::controller::testing
