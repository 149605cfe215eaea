// ElectLeaders (PREFERRED and UNCLEAN, named partitions and all of them),
// automatic preferred-leader balancing, UnregisterBroker, and the
// PartitionChange builder they share — on the fake Raft and virtual clock of
// harness.h.
#include <gtest/gtest.h>

#include <map>

#include "controller/controller_metrics.h"
#include "controller/partition_change.h"
#include "harness.h"

using namespace flotilla;
using namespace flotilla::controller;
using namespace flotilla::controller::testing;

namespace {

using Assignment = std::vector<std::vector<int32_t>>;

// Live brokers 1..n and a topic "t" with the given assignment.
struct Brokers : LiveBrokers {
  explicit Brokers(std::vector<std::vector<int32_t>> assignment, int n = 3, ControllerConfig cc = {},
                   std::vector<std::pair<std::string, std::string>> configs = {})
      : LiveBrokers(metadata::kLatestProductionMetadataVersion, std::move(cc), n, std::move(assignment), std::move(configs)) {}
  void fence(int32_t b) { EXPECT_EQ(heartbeat(b, epochs.at(b), caught_up(), /*fence=*/true).error_code, 0); }
  void unfence(int32_t b) { EXPECT_FALSE(heartbeat(b, epochs.at(b), caught_up()).is_fenced); }
  void keep_alive() {
    for (auto [b, e] : epochs)
      if (image()->broker(b) && !image()->broker(b)->fenced) heartbeat(b, e, caught_up());
  }
  msg::ElectLeadersResponse elect(int8_t type, std::optional<std::vector<std::pair<std::string, std::vector<int32_t>>>> parts,
                                  int16_t version = 2) {
    msg::ElectLeadersRequest req;
    req.election_type = type;
    if (parts) {
      req.topic_partitions.emplace();
      for (auto& [t, ps] : *parts) {
        msg::ElectLeadersRequest::TopicPartitions tp;
        tp.topic = t;
        tp.partitions = ps;
        req.topic_partitions->push_back(tp);
      }
    }
    return call<msg::ElectLeadersResponse>([&](auto done) { controller->elect_leaders(req, version, done); });
  }
  // The single partition result of a single-partition election.
  static const msg::ElectLeadersResponse::PartitionResult& only(const msg::ElectLeadersResponse& r) {
    return r.replica_election_results.at(0).partition_result.at(0);
  }
};

constexpr int8_t kPreferred = 0, kUnclean = 1;

}  // namespace

TEST(ElectLeaders, PreferredElectionMovesLeadershipBackOnceThePreferredReplicaIsInSync) {
  Brokers c(Assignment{{1, 2}});
  ASSERT_EQ(c.partition("t", 0).leader, 1);
  // Broker 1 leaves: broker 2 leads, broker 1 drops out of the ISR.
  c.fence(1);
  ASSERT_EQ(c.partition("t", 0).leader, 2);
  ASSERT_EQ(c.partition("t", 0).isr, std::vector<int32_t>{2});
  c.unfence(1);
  ASSERT_EQ(c.partition("t", 0).leader, 2);
  // Broker 1 is live but not in sync: it cannot lead yet.
  auto r = c.elect(kPreferred, {{{"t", {0}}}});
  EXPECT_EQ(r.error_code, 0);
  EXPECT_EQ(Brokers::only(r).error_code, ec(ErrorCode::PREFERRED_LEADER_NOT_AVAILABLE));
  EXPECT_EQ(Brokers::only(r).error_message, std::optional<std::string>("The preferred leader was not available."));
  EXPECT_EQ(c.partition("t", 0).leader, 2);

  c.set_isr(0, {2, 1});
  int32_t epoch_before = c.partition("t", 0).leader_epoch;
  size_t batches = c.raft.log().size();
  r = c.elect(kPreferred, {{{"t", {0}}}});
  EXPECT_EQ(Brokers::only(r).error_code, 0);
  EXPECT_EQ(Brokers::only(r).error_message, std::nullopt);
  EXPECT_EQ(c.partition("t", 0).leader, 1);
  EXPECT_EQ(c.partition("t", 0).leader_epoch, epoch_before + 1);
  EXPECT_EQ(c.partition("t", 0).isr, (std::vector<int32_t>{2, 1}));  // the ISR is untouched
  // One PartitionChangeRecord setting only the leader.
  ASSERT_EQ(c.raft.log().size(), batches + 1);
  auto changes = records_of<msg::PartitionChangeRecord>(decode_batch(c.raft.log().back()));
  ASSERT_EQ(changes.size(), 1u);
  EXPECT_EQ(changes[0].leader, 1);
  EXPECT_FALSE(changes[0].isr.has_value());
  EXPECT_FALSE(changes[0].replicas.has_value());

  // Already there: nothing to do, nothing written.
  batches = c.raft.log().size();
  r = c.elect(kPreferred, {{{"t", {0}}}});
  EXPECT_EQ(Brokers::only(r).error_code, ec(ErrorCode::ELECTION_NOT_NEEDED));
  EXPECT_EQ(Brokers::only(r).error_message, std::optional<std::string>("Leader election not needed for topic partition."));
  EXPECT_EQ(c.raft.log().size(), batches);
}

TEST(ElectLeaders, UnknownTopicsPartitionsAndElectionTypes) {
  Brokers c(Assignment{{1}});
  auto r = c.elect(kPreferred, {{{"nope", {0}}, {"t", {0, 5}}}});
  ASSERT_EQ(r.replica_election_results.size(), 2u);
  EXPECT_EQ(r.replica_election_results[0].topic, "nope");
  EXPECT_EQ(Brokers::only(r).error_code, ec(ErrorCode::UNKNOWN_TOPIC_OR_PARTITION));
  EXPECT_EQ(Brokers::only(r).error_message, std::optional<std::string>("No such topic as nope"));
  const auto& t = r.replica_election_results[1].partition_result;
  ASSERT_EQ(t.size(), 2u);
  EXPECT_EQ(t[0].error_code, ec(ErrorCode::ELECTION_NOT_NEEDED));
  EXPECT_EQ(t[1].partition_id, 5);
  EXPECT_EQ(t[1].error_code, ec(ErrorCode::UNKNOWN_TOPIC_OR_PARTITION));
  EXPECT_EQ(t[1].error_message, std::optional<std::string>("No such partition as t-5"));

  // An election type Kafka does not have: the whole request fails.
  auto bad = c.elect(7, {{{"t", {0}}}});
  EXPECT_EQ(bad.error_code, ec(ErrorCode::INVALID_REQUEST));
  EXPECT_EQ(Brokers::only(bad).error_code, ec(ErrorCode::INVALID_REQUEST));
  // v0 has no election type field: it is a preferred election whatever the struct says.
  auto v0 = c.elect(7, {{{"t", {0}}}}, 0);
  EXPECT_EQ(Brokers::only(v0).error_code, ec(ErrorCode::ELECTION_NOT_NEEDED));
}

TEST(ElectLeaders, AllPartitionsAnswersOnlyThoseThatNeededAnElection) {
  Brokers c(Assignment{{1, 2}, {2, 1}, {1, 2}});
  ASSERT_EQ(c.create_assigned("other", {{2, 1}}).topics.at(0).error_code, 0);
  c.fence(1);  // partitions 0 and 2 of "t" move to broker 2
  c.unfence(1);
  c.set_isr(0, {2, 1});  // only partition 0 gets broker 1 back in sync
  auto r = c.elect(kPreferred, std::nullopt);
  EXPECT_EQ(r.error_code, 0);
  ASSERT_EQ(r.replica_election_results.size(), 2u);  // every topic is listed
  EXPECT_EQ(r.replica_election_results[0].topic, "other");
  EXPECT_TRUE(r.replica_election_results[0].partition_result.empty());
  const auto& t = r.replica_election_results[1].partition_result;
  ASSERT_EQ(t.size(), 2u);
  EXPECT_EQ(t[0].partition_id, 0);
  EXPECT_EQ(t[0].error_code, 0);
  EXPECT_EQ(t[1].partition_id, 2);
  EXPECT_EQ(t[1].error_code, ec(ErrorCode::PREFERRED_LEADER_NOT_AVAILABLE));
  EXPECT_EQ(c.partition("t", 0).leader, 1);
  EXPECT_EQ(c.partition("t", 1).leader, 2);
  EXPECT_EQ(c.partition("t", 2).leader, 2);
}

TEST(ElectLeaders, UncleanElectionPicksALiveReplicaOutsideTheIsr) {
  Brokers c(Assignment{{1, 2}});
  c.fence(2);  // ISR {1}
  c.fence(1);  // the last ISR member stays in the ISR; no leader
  ASSERT_EQ(c.partition("t", 0).leader, -1);
  ASSERT_EQ(c.partition("t", 0).isr, std::vector<int32_t>{1});
  c.unfence(2);  // not in the ISR: unfencing does not make it leader
  ASSERT_EQ(c.partition("t", 0).leader, -1);

  EXPECT_EQ(Brokers::only(c.elect(kPreferred, {{{"t", {0}}}})).error_code, ec(ErrorCode::PREFERRED_LEADER_NOT_AVAILABLE));
  const int64_t unclean_before = controller_metrics().unclean_leader_elections.load();
  auto r = c.elect(kUnclean, {{{"t", {0}}}});
  EXPECT_EQ(Brokers::only(r).error_code, 0);
  const auto& p = c.partition("t", 0);
  EXPECT_EQ(p.leader, 2);
  EXPECT_EQ(p.isr, std::vector<int32_t>{2});
  EXPECT_EQ(p.leader_recovery_state, 1);  // RECOVERING until the new leader says otherwise
  // Counted once committed (kafka_controller_controllerstats_uncleanleaderelections_total).
  EXPECT_EQ(controller_metrics().unclean_leader_elections.load(), unclean_before + 1);
  // It has a leader now.
  auto again = c.elect(kUnclean, {{{"t", {0}}}});
  EXPECT_EQ(Brokers::only(again).error_code, ec(ErrorCode::ELECTION_NOT_NEEDED));
  EXPECT_EQ(controller_metrics().unclean_leader_elections.load(), unclean_before + 1);
}

TEST(ElectLeaders, UncleanElectionWithoutALiveReplica) {
  Brokers c(Assignment{{1}}, 1);
  c.fence(1);
  ASSERT_EQ(c.partition("t", 0).leader, -1);
  auto r = c.elect(kUnclean, {{{"t", {0}}}});
  EXPECT_EQ(Brokers::only(r).error_code, ec(ErrorCode::ELIGIBLE_LEADERS_NOT_AVAILABLE));
  EXPECT_EQ(Brokers::only(r).error_message, std::optional<std::string>("Eligible topic partition leaders are not available."));
  // All partitions: the failure is reported.
  auto all = c.elect(kUnclean, std::nullopt);
  ASSERT_EQ(all.replica_election_results.size(), 1u);
  EXPECT_EQ(all.replica_election_results[0].partition_result.at(0).error_code, ec(ErrorCode::ELIGIBLE_LEADERS_NOT_AVAILABLE));
}

TEST(ElectLeaders, NotControllerWhenInactive) {
  Harness h(metadata::kLatestProductionMetadataVersion, {}, /*activate=*/false);
  msg::ElectLeadersRequest req;
  req.topic_partitions.emplace();
  req.topic_partitions->resize(1);
  (*req.topic_partitions)[0].topic = "t";
  (*req.topic_partitions)[0].partitions = {0, 1};
  auto r = h.call<msg::ElectLeadersResponse>([&](auto done) { h.controller->elect_leaders(req, 2, done); });
  EXPECT_EQ(r.error_code, ec(ErrorCode::NOT_CONTROLLER));
  ASSERT_EQ(r.replica_election_results.at(0).partition_result.size(), 2u);  // v0 clients see it per partition
  EXPECT_EQ(r.replica_election_results[0].partition_result[1].error_code, ec(ErrorCode::NOT_CONTROLLER));
}

// ---------------------------------------------------------------- balancing

TEST(LeaderBalancing, PreferredLeadersComeBackAfterTheCheckInterval) {
  ControllerConfig cc;
  cc.leader_imbalance_check_interval_ms = 10000;
  Brokers c(Assignment{{1, 2}, {2, 1}}, 2, cc);
  c.fence(1);
  c.unfence(1);
  c.set_isr(0, {2, 1});
  ASSERT_EQ(c.partition("t", 0).leader, 2);
  c.tick();  // sees the imbalance: balancing is due in 10 s
  c.now += 9000;
  c.keep_alive();
  c.tick();
  EXPECT_EQ(c.partition("t", 0).leader, 2);
  c.now += 1000;
  c.keep_alive();
  c.tick();
  EXPECT_EQ(c.partition("t", 0).leader, 1);
  EXPECT_EQ(c.partition("t", 1).leader, 2);
  // Balanced: no more elections.
  size_t batches = c.raft.log().size();
  for (int i = 0; i < 3; ++i) {
    c.now += 10000;
    c.keep_alive();
    c.tick();
  }
  for (size_t i = batches; i < c.raft.log().size(); ++i)
    EXPECT_TRUE(records_of<msg::PartitionChangeRecord>(decode_batch(c.raft.log()[i])).empty());
}

TEST(LeaderBalancing, WaitsForThePreferredReplicaToBeInSync) {
  ControllerConfig cc;
  cc.leader_imbalance_check_interval_ms = 1000;
  Brokers c(Assignment{{1, 2}}, 2, cc);
  c.fence(1);
  c.unfence(1);  // live, not in the ISR
  for (int i = 0; i < 5; ++i) {
    c.now += 1000;
    c.keep_alive();
    c.tick();
    EXPECT_EQ(c.partition("t", 0).leader, 2);
  }
  c.set_isr(0, {2, 1});
  for (int i = 0; i < 3; ++i) {
    c.now += 1000;
    c.keep_alive();
    c.tick();
  }
  EXPECT_EQ(c.partition("t", 0).leader, 1);
}

TEST(LeaderBalancing, DisabledByAutoLeaderRebalanceEnable) {
  ControllerConfig cc;
  cc.leader_imbalance_check_interval_ms = 1000;
  cc.auto_leader_rebalance_enable = false;
  Brokers c(Assignment{{1, 2}}, 2, cc);
  c.fence(1);
  c.unfence(1);
  c.set_isr(0, {2, 1});
  for (int i = 0; i < 5; ++i) {
    c.now += 1000;
    c.keep_alive();
    c.tick();
  }
  EXPECT_EQ(c.partition("t", 0).leader, 2);
}

// ---------------------------------------------------------------- UnregisterBroker

TEST(UnregisterBroker, RemovesTheRegistrationAndItsIsrMemberships) {
  Brokers c(Assignment{{1, 2}});
  ASSERT_EQ(c.create_assigned("u", {{2}}).topics.at(0).error_code, 0);
  auto unregister = [&](int32_t id) {
    msg::UnregisterBrokerRequest req;
    req.broker_id = id;
    return c.call<msg::UnregisterBrokerResponse>([&](auto done) { c.controller->unregister_broker(req, 0, done); });
  };
  auto missing = unregister(9);
  EXPECT_EQ(missing.error_code, ec(ErrorCode::BROKER_ID_NOT_REGISTERED));
  EXPECT_EQ(missing.error_message, std::optional<std::string>("Broker ID 9 is not currently registered"));

  c.fence(2);
  auto r = unregister(2);
  EXPECT_EQ(r.error_code, 0);
  EXPECT_EQ(r.error_message, std::nullopt);
  EXPECT_FALSE(c.image()->broker(2));
  auto batch = decode_batch(c.raft.log().back());
  auto unreg = records_of<msg::UnregisterBrokerRecord>(batch);
  ASSERT_EQ(unreg.size(), 1u);
  EXPECT_EQ(unreg[0].broker_id, 2);
  EXPECT_EQ(unreg[0].broker_epoch, c.epochs[2]);
  EXPECT_EQ(c.partition("t", 0).isr, std::vector<int32_t>{1});
  EXPECT_EQ(c.partition("u", 0).isr, std::vector<int32_t>{2});  // the last member stays
  EXPECT_EQ(unregister(2).error_code, ec(ErrorCode::BROKER_ID_NOT_REGISTERED));

  // A live broker too (as in Kafka): its leadership moves first.
  auto live = unregister(1);
  EXPECT_EQ(live.error_code, 0);
  EXPECT_FALSE(c.image()->broker(1));
  EXPECT_EQ(c.partition("t", 0).leader, -1);
}

// ---------------------------------------------------------------- PartitionChange

TEST(PartitionChange, ReassignmentSetsAsKafkaComputesThem) {
  auto r = reassignment_replicas({1, 2, 3}, {3, 4, 5});
  EXPECT_EQ(r.replicas, (std::vector<int32_t>{3, 4, 5, 1, 2}));
  EXPECT_EQ(r.removing, (std::vector<int32_t>{1, 2}));
  EXPECT_EQ(r.adding, (std::vector<int32_t>{4, 5}));
  auto same = reassignment_replicas({1, 2}, {2, 1});
  EXPECT_EQ(same.replicas, (std::vector<int32_t>{2, 1}));
  EXPECT_TRUE(same.removing.empty());
  EXPECT_TRUE(same.adding.empty());
}

TEST(PartitionChange, NoChangeIsNoRecordAndIsrShrinksBumpTheEpochOnlyOnOldVersions) {
  metadata::PartitionRegistration p;
  p.replicas = {1, 2, 3};
  p.isr = {1, 2, 3};
  p.leader = 1;
  p.directories = {Uuid{}, Uuid{}, Uuid{}};  // as recorded from 3.7-IV2 on
  auto all_live = [](int32_t) { return true; };
  Uuid id = Uuid::random();
  EXPECT_FALSE(PartitionChange(p, id, 0, all_live, 21).build().has_value());
  auto shrink_new = PartitionChange(p, id, 0, all_live, 21).set_target_isr({1, 2}).build();
  ASSERT_TRUE(shrink_new);
  EXPECT_EQ(shrink_new->leader, -2);
  auto shrink_old = PartitionChange(p, id, 0, all_live, 11).set_target_isr({1, 2}).build();
  ASSERT_TRUE(shrink_old);
  EXPECT_EQ(shrink_old->leader, 1);  // before 3.6-IV0: the same leader, a new epoch
  // The leader leaves the ISR: the next live ISR member in replica order leads.
  auto moved = PartitionChange(p, id, 0, [](int32_t b) { return b != 2; }, 21).set_target_isr({2, 3}).build();
  ASSERT_TRUE(moved);
  EXPECT_EQ(moved->leader, 3);
  // Never an empty ISR.
  auto empty = PartitionChange(p, id, 0, all_live, 21).set_target_isr({}).build();
  ASSERT_TRUE(empty);
  EXPECT_FALSE(empty->isr.has_value());
  EXPECT_EQ(empty->leader, -1);
}
