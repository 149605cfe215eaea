// Partition reassignments (KIP-455) on the controller: the first record, the
// completion once the new replicas are in the ISR (with the leader moved off a
// removed replica), reorderings that complete at once, cancellation, listing,
// and Kafka's errors.
#include <gtest/gtest.h>

#include <map>

#include "controller/partition_change.h"
#include "harness.h"

using namespace flotilla;
using namespace flotilla::controller;
using namespace flotilla::controller::testing;

namespace {

using Assignment = std::vector<std::vector<int32_t>>;
using Ints = std::vector<int32_t>;

struct Reassign : LiveBrokers {
  explicit Reassign(Assignment assignment, int brokers = 3, std::vector<std::pair<std::string, std::string>> configs = {})
      : LiveBrokers(metadata::kLatestProductionMetadataVersion, {}, brokers, std::move(assignment), std::move(configs)) {}
  msg::AlterPartitionReassignmentsResponse reassign(std::vector<std::tuple<std::string, int32_t, std::optional<Ints>>> targets,
                                                    int16_t version = 0, bool allow_rf_change = true) {
    msg::AlterPartitionReassignmentsRequest req;
    req.allow_replication_factor_change = allow_rf_change;
    for (auto& [topic, p, replicas] : targets) {
      if (req.topics.empty() || req.topics.back().name != topic) {
        req.topics.emplace_back();
        req.topics.back().name = topic;
      }
      msg::AlterPartitionReassignmentsRequest::ReassignablePartition rp;
      rp.partition_index = p;
      rp.replicas = replicas;
      req.topics.back().partitions.push_back(rp);
    }
    return call<msg::AlterPartitionReassignmentsResponse>([&](auto done) { controller->alter_partition_reassignments(req, version, done); });
  }
  // One partition: its error code and message.
  std::pair<int16_t, std::string> one(const std::string& topic, int32_t p, std::optional<Ints> replicas) {
    auto r = reassign({{topic, p, std::move(replicas)}});
    EXPECT_EQ(r.error_code, 0);
    const auto& x = r.responses.at(0).partitions.at(0);
    if (x.error_code == 0) {
      EXPECT_EQ(x.error_message, std::nullopt);
    }
    return {x.error_code, x.error_message.value_or("")};
  }
  msg::ListPartitionReassignmentsResponse list(std::optional<std::vector<std::pair<std::string, Ints>>> topics = std::nullopt) {
    msg::ListPartitionReassignmentsRequest req;
    if (topics) {
      req.topics.emplace();
      for (auto& [t, ps] : *topics) {
        msg::ListPartitionReassignmentsRequest::ListPartitionReassignmentsTopics x;
        x.name = t;
        x.partition_indexes = ps;
        req.topics->push_back(x);
      }
    }
    return call<msg::ListPartitionReassignmentsResponse>([&](auto done) { controller->list_partition_reassignments(req, 0, done); });
  }
};

}  // namespace

TEST(Reassignment, MovesAReplicaOnceTheNewOneIsInSync) {
  Reassign c(Assignment{{1, 2}});
  const int32_t epoch0 = c.partition("t", 0).leader_epoch;
  EXPECT_EQ(c.one("t", 0, Ints{2, 3}).first, 0);
  auto p = c.partition("t", 0);
  EXPECT_EQ(p.replicas, (Ints{2, 3, 1}));
  EXPECT_EQ(p.adding_replicas, Ints{3});
  EXPECT_EQ(p.removing_replicas, Ints{1});
  EXPECT_EQ(p.isr, (Ints{1, 2}));
  EXPECT_EQ(p.leader, 1);  // the old leader leads until the end
  EXPECT_EQ(p.leader_epoch, epoch0);

  auto listed = c.list();
  ASSERT_EQ(listed.topics.size(), 1u);
  EXPECT_EQ(listed.error_message, std::nullopt);
  const auto& o = listed.topics[0].partitions.at(0);
  EXPECT_EQ(o.replicas, (Ints{2, 3, 1}));
  EXPECT_EQ(o.adding_replicas, Ints{3});
  EXPECT_EQ(o.removing_replicas, Ints{1});

  // Broker 3 catches up: the reassignment completes in the next batch; broker
  // 1 leaves and with it the leadership (a new leader epoch).
  c.set_isr(0, {1, 2, 3});
  p = c.partition("t", 0);
  EXPECT_EQ(p.replicas, (Ints{2, 3}));
  EXPECT_EQ(p.isr, (Ints{2, 3}));
  EXPECT_TRUE(p.adding_replicas.empty());
  EXPECT_TRUE(p.removing_replicas.empty());
  EXPECT_EQ(p.leader, 2);
  EXPECT_GT(p.leader_epoch, epoch0);
  EXPECT_TRUE(c.list().topics.empty());
}

TEST(Reassignment, KeepsTheLeaderWhenItStays) {
  Reassign c(Assignment{{1, 2}});
  EXPECT_EQ(c.one("t", 0, Ints{1, 3}).first, 0);
  int32_t epoch = c.partition("t", 0).leader_epoch;
  c.set_isr(0, {1, 2, 3});
  auto p = c.partition("t", 0);
  EXPECT_EQ(p.replicas, (Ints{1, 3}));
  EXPECT_EQ(p.isr, (Ints{1, 3}));
  EXPECT_EQ(p.leader, 1);
  EXPECT_EQ(p.leader_epoch, epoch + 1);  // broker 2 left: the epoch moves so it stops acting on it
}

TEST(Reassignment, AReorderingCompletesAtOnce) {
  Reassign c(Assignment{{1, 2, 3}});
  size_t batches = c.raft.log().size();
  EXPECT_EQ(c.one("t", 0, Ints{3, 2, 1}).first, 0);
  EXPECT_EQ(c.raft.log().size(), batches + 1);
  auto p = c.partition("t", 0);
  EXPECT_EQ(p.replicas, (Ints{3, 2, 1}));
  EXPECT_TRUE(p.adding_replicas.empty());
  EXPECT_TRUE(p.removing_replicas.empty());
  EXPECT_EQ(p.leader, 1);  // a valid leader stays; a preferred election moves it
  // The same assignment again: nothing to do.
  batches = c.raft.log().size();
  EXPECT_EQ(c.one("t", 0, Ints{3, 2, 1}).first, 0);
  EXPECT_EQ(c.raft.log().size(), batches);
}

TEST(Reassignment, CancelRevertsToTheOriginalReplicas) {
  Reassign c(Assignment{{1, 2}});
  EXPECT_EQ(c.one("t", 0, std::nullopt),
            std::make_pair(ec(ErrorCode::NO_REASSIGNMENT_IN_PROGRESS), std::string("No partition reassignment is in progress.")));
  EXPECT_EQ(c.one("t", 0, Ints{3}).first, 0);
  EXPECT_EQ(c.partition("t", 0).replicas, (Ints{3, 1, 2}));
  EXPECT_EQ(c.one("t", 0, std::nullopt).first, 0);
  auto p = c.partition("t", 0);
  EXPECT_EQ(p.replicas, (Ints{1, 2}));
  EXPECT_EQ(p.isr, (Ints{1, 2}));
  EXPECT_TRUE(p.adding_replicas.empty());
  EXPECT_TRUE(p.removing_replicas.empty());
  EXPECT_TRUE(c.list().topics.empty());
}

TEST(Reassignment, Errors) {
  Reassign c(Assignment{{1, 2}});
  EXPECT_EQ(c.one("nope", 0, Ints{1}),
            std::make_pair(ec(ErrorCode::UNKNOWN_TOPIC_OR_PARTITION), std::string("Unable to find a topic named nope.")));
  EXPECT_EQ(c.one("t", 4, Ints{1}),
            std::make_pair(ec(ErrorCode::UNKNOWN_TOPIC_OR_PARTITION), std::string("Unable to find partition t:4.")));
  EXPECT_EQ(c.one("t", 0, Ints{}),
            std::make_pair(ec(ErrorCode::INVALID_REPLICA_ASSIGNMENT), std::string("The manual partition assignment includes an empty replica list.")));
  EXPECT_EQ(c.one("t", 0, Ints{1, 9}).second, "The manual partition assignment includes broker 9, but no such broker is registered.");
  EXPECT_EQ(c.one("t", 0, Ints{2, 2}).second, "The manual partition assignment includes the broker 2 more than once.");
  // Other partitions of the same request go ahead.
  auto r = c.reassign({{"t", 0, Ints{2, 1}}, {"t", 7, Ints{1}}});
  ASSERT_EQ(r.responses.at(0).partitions.size(), 2u);
  EXPECT_EQ(r.responses[0].partitions[0].error_code, 0);
  EXPECT_EQ(r.responses[0].partitions[1].error_code, ec(ErrorCode::UNKNOWN_TOPIC_OR_PARTITION));
  EXPECT_EQ(c.partition("t", 0).replicas, (Ints{2, 1}));
}

TEST(Reassignment, ListNamedTopicsAndPartitions) {
  Reassign c(Assignment{{1}, {2}});
  EXPECT_EQ(c.one("t", 0, Ints{3}).first, 0);
  auto l = c.list(std::vector<std::pair<std::string, Ints>>{{"t", {0, 1, 9}}, {"nope", {0}}});
  ASSERT_EQ(l.topics.size(), 1u);
  EXPECT_EQ(l.topics[0].name, "t");
  ASSERT_EQ(l.topics[0].partitions.size(), 1u);
  EXPECT_EQ(l.topics[0].partitions[0].partition_index, 0);
  EXPECT_TRUE(c.list(std::vector<std::pair<std::string, Ints>>{{"t", {1}}}).topics.empty());
}

TEST(Reassignment, NotControllerWhenInactive) {
  Harness h(metadata::kLatestProductionMetadataVersion, {}, /*activate=*/false);
  msg::AlterPartitionReassignmentsRequest req;
  req.topics.resize(1);
  req.topics[0].name = "t";
  req.topics[0].partitions.resize(1);
  auto r = h.call<msg::AlterPartitionReassignmentsResponse>([&](auto done) { h.controller->alter_partition_reassignments(req, 0, done); });
  EXPECT_EQ(r.error_code, ec(ErrorCode::NOT_CONTROLLER));
  auto l = h.call<msg::ListPartitionReassignmentsResponse>(
      [&](auto done) { h.controller->list_partition_reassignments(msg::ListPartitionReassignmentsRequest{}, 0, done); });
  EXPECT_EQ(l.error_code, ec(ErrorCode::NOT_CONTROLLER));
}

TEST(Reassignment, ANewControllerCompletesWhatItsPredecessorLeftCompletable) {
  Reassign c(Assignment{{1, 2}});
  EXPECT_EQ(c.one("t", 0, Ints{2, 3}).first, 0);
  // The leader's ISR change commits; the completion the controller then
  // appends is lost with its leadership.
  bool answered = false;
  c.controller->alter_partition(c.alter_request(1, "t", 0, {1, 2, 3}), 3, [&](msg::AlterPartitionResponse) { answered = true; });
  ASSERT_EQ(c.raft.commit(), 1u);
  c.poll();
  ASSERT_EQ(c.raft.uncommitted(), 1u);  // the completion
  c.fail_over(2, /*lose_uncommitted=*/true);
  c.settle();
  ASSERT_TRUE(is_reassigning(c.partition("t", 0)));
  ASSERT_EQ(c.partition("t", 0).isr, (Ints{1, 2, 3}));
  c.tick();
  auto p = c.partition("t", 0);
  EXPECT_FALSE(is_reassigning(p));
  EXPECT_EQ(p.replicas, (Ints{2, 3}));
  EXPECT_EQ(p.leader, 2);
}

TEST(Reassignment, V1RefusesAReplicationFactorChangeWhenNotAllowed) {
  Reassign c(Assignment{{1, 2}});
  // v1 with AllowReplicationFactorChange false: a different size is refused, as Kafka words it.
  auto r = c.reassign({{"t", 0, Ints{1, 2, 3}}}, 1, false);
  EXPECT_FALSE(r.allow_replication_factor_change);  // echoed
  const auto& x = r.responses.at(0).partitions.at(0);
  EXPECT_EQ(x.error_code, code(ErrorCode::INVALID_REPLICATION_FACTOR));
  EXPECT_EQ(x.error_message, "The replication factor is changed from 2 to 3");
  EXPECT_EQ(c.partition("t", 0).replicas, (Ints{1, 2}));
  // The same size moves.
  EXPECT_EQ(c.reassign({{"t", 0, Ints{2, 3}}}, 1, false).responses.at(0).partitions.at(0).error_code, 0);
  // While that reassignment runs, its target's size (2) is the one compared.
  auto again = c.reassign({{"t", 0, Ints{3}}}, 1, false);
  EXPECT_EQ(again.responses.at(0).partitions.at(0).error_message, "The replication factor is changed from 2 to 1");
  // Allowed (v1 true, or v0 whatever the field holds): the size may change.
  EXPECT_EQ(c.reassign({{"t", 0, Ints{1, 2, 3}}}, 1, true).responses.at(0).partitions.at(0).error_code, 0);
  EXPECT_EQ(c.reassign({{"t", 0, Ints{1, 2}}}, 0, false).responses.at(0).partitions.at(0).error_code, 0);
}
