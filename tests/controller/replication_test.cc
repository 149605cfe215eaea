// The controller's replication control on a fake Raft and a virtual clock:
// AlterPartition (every error and the committed answer), controlled shutdown,
// fencing and unfencing elections, unclean leader election, re-registration,
// session expiry, and rack-aware replica placement.
#include <gtest/gtest.h>

#include <map>
#include <set>

#include "harness.h"

using namespace flotilla;
using namespace flotilla::controller;
using namespace flotilla::controller::testing;

namespace {

// Three live brokers and a topic "t" with partitions assigned as given.
struct Cluster : LiveBrokers {
  explicit Cluster(std::vector<std::vector<int32_t>> assignment = {{1, 2, 3}}, int16_t mv = metadata::kLatestProductionMetadataVersion,
                   ControllerConfig cc = {}, std::vector<std::pair<std::string, std::string>> configs = {}, int brokers = 3)
      : LiveBrokers(mv, std::move(cc), brokers, std::move(assignment), std::move(configs)) {}
  std::vector<protocol::AnyMetadataRecord> last_batch() const { return decode_batch(raft.log().back()); }
  // Heartbeats from every broker in `ids` (keeping their sessions alive).
  void keep_alive(std::initializer_list<int32_t> ids) {
    for (int32_t id : ids) heartbeat(id, epochs.at(id), caught_up());
  }
};

}  // namespace

// ---------------------------------------------------------------- AlterPartition

TEST(AlterPartition, NotControllerWhenInactive) {
  Harness h(metadata::kLatestProductionMetadataVersion, {}, /*activate=*/false);
  msg::AlterPartitionRequest req;
  req.broker_id = 1;
  auto r = h.alter(req);
  EXPECT_EQ(r.error_code, ec(ErrorCode::NOT_CONTROLLER));
}

TEST(AlterPartition, StaleBrokerEpochIsATopLevelError) {
  Cluster c;
  auto req = c.alter_request(1, "t", 0, {1, 2});
  req.broker_epoch += 1;
  auto r = c.alter(req);
  EXPECT_EQ(r.error_code, ec(ErrorCode::STALE_BROKER_EPOCH));
  EXPECT_TRUE(r.topics.empty());
  req.broker_id = 42;  // not registered at all
  EXPECT_EQ(c.alter(req).error_code, ec(ErrorCode::STALE_BROKER_EPOCH));
}

TEST(AlterPartition, UnknownTopicsAndPartitions) {
  Cluster c;
  auto req = c.alter_request(1, "t", 0, {1, 2});
  req.topics[0].topic_id = Uuid::random();
  auto r = c.alter(req, 3);
  ASSERT_EQ(r.error_code, 0);
  EXPECT_EQ(r.topics.at(0).topic_id, req.topics[0].topic_id);
  EXPECT_EQ(r.topics.at(0).partitions.at(0).error_code, ec(ErrorCode::UNKNOWN_TOPIC_ID));
  req.topics[0].topic_id = Uuid{};
  EXPECT_EQ(Harness::partition_error(c.alter(req, 2)), ec(ErrorCode::UNKNOWN_TOPIC_ID));

  auto by_name = c.alter_request(1, "t", 0, {1, 2}, 1);
  by_name.topics[0].topic_name = "nope";
  auto rn = c.alter(by_name, 1);
  EXPECT_EQ(rn.topics.at(0).topic_name, "nope");
  EXPECT_EQ(Harness::partition_error(rn), ec(ErrorCode::UNKNOWN_TOPIC_OR_PARTITION));

  auto bad_partition = c.alter_request(1, "t", 0, {1, 2});
  bad_partition.topics[0].partitions[0].partition_index = 7;
  EXPECT_EQ(Harness::partition_error(c.alter(bad_partition)), ec(ErrorCode::UNKNOWN_TOPIC_OR_PARTITION));
}

TEST(AlterPartition, EpochAndLeaderChecks) {
  Cluster c;
  const auto before = c.partition("t", 0);
  ASSERT_EQ(before.leader, 1);
  auto older = c.alter_request(1, "t", 0, {1, 2});
  older.topics[0].partitions[0].leader_epoch -= 1;
  EXPECT_EQ(Harness::partition_error(c.alter(older)), ec(ErrorCode::FENCED_LEADER_EPOCH));
  auto newer = c.alter_request(1, "t", 0, {1, 2});
  newer.topics[0].partitions[0].leader_epoch += 1;
  EXPECT_EQ(Harness::partition_error(c.alter(newer)), ec(ErrorCode::NOT_CONTROLLER));
  auto newer_pe = c.alter_request(1, "t", 0, {1, 2});
  newer_pe.topics[0].partitions[0].partition_epoch += 1;
  EXPECT_EQ(Harness::partition_error(c.alter(newer_pe)), ec(ErrorCode::NOT_CONTROLLER));
  auto not_leader = c.alter_request(2, "t", 0, {1, 2});
  EXPECT_EQ(Harness::partition_error(c.alter(not_leader)), ec(ErrorCode::INVALID_REQUEST));
  // A shrink moves the partition epoch; a request from the old one is stale.
  auto stale = c.alter_request(1, "t", 0, {1, 2, 3});
  ASSERT_EQ(Harness::partition_error(c.alter(c.alter_request(1, "t", 0, {1, 2}))), 0);
  stale.topics[0].partitions[0].new_isr_with_epochs.pop_back();
  EXPECT_EQ(Harness::partition_error(c.alter(stale)), ec(ErrorCode::INVALID_UPDATE_VERSION));
  EXPECT_EQ(c.partition("t", 0).isr, (std::vector<int32_t>{1, 2}));
  // Nothing rejected was written.
  EXPECT_EQ(c.partition("t", 0).partition_epoch, before.partition_epoch + 1);
}

TEST(AlterPartition, NewIsrMustBeReplicasWithTheLeader) {
  Cluster c({{1, 2}});
  EXPECT_EQ(Harness::partition_error(c.alter(c.alter_request(1, "t", 0, {1, 3}))), ec(ErrorCode::INVALID_REQUEST));  // 3 is no replica
  EXPECT_EQ(Harness::partition_error(c.alter(c.alter_request(1, "t", 0, {2}))), ec(ErrorCode::INVALID_REQUEST));     // without the leader
  EXPECT_EQ(Harness::partition_error(c.alter(c.alter_request(1, "t", 0, {}))), ec(ErrorCode::INVALID_REQUEST));
  EXPECT_EQ(Harness::partition_error(c.alter(c.alter_request(1, "t", 0, {1, 1}))), ec(ErrorCode::INVALID_REQUEST));  // duplicate
  EXPECT_EQ(c.partition("t", 0).partition_epoch, 0);
}

TEST(AlterPartition, ShrinkAndExpandAnswerTheCommittedState) {
  Cluster c;
  int64_t end = c.raft.next_offset();
  auto r = c.alter(c.alter_request(1, "t", 0, {1, 3}));
  ASSERT_EQ(Harness::partition_error(r), 0);
  // One batch with one PartitionChangeRecord carrying only the ISR.
  ASSERT_EQ(c.raft.next_offset(), end + 1);
  auto batch = c.last_batch();
  ASSERT_EQ(batch.size(), 1u);
  EXPECT_EQ(batch[0].version, 1);  // 3.9-IV0: PartitionChangeRecord v1 (directories)
  auto changes = records_of<msg::PartitionChangeRecord>(batch);
  ASSERT_EQ(changes.size(), 1u);
  EXPECT_EQ(changes[0].isr, (std::optional<std::vector<int32_t>>{{1, 3}}));
  EXPECT_EQ(changes[0].leader, -2);
  EXPECT_FALSE(changes[0].replicas.has_value());
  EXPECT_EQ(changes[0].leader_recovery_state, -1);
  const auto& p = c.partition("t", 0);
  const auto& rp = r.topics.at(0).partitions.at(0);
  EXPECT_EQ(rp.leader_id, 1);
  EXPECT_EQ(rp.leader_epoch, p.leader_epoch);
  EXPECT_EQ(rp.leader_epoch, 0);  // no bump on shrink from 3.6-IV0 on
  EXPECT_EQ(rp.isr, (std::vector<int32_t>{1, 3}));
  EXPECT_EQ(rp.partition_epoch, 1);
  EXPECT_EQ(p.partition_epoch, 1);
  EXPECT_EQ(r.topics.at(0).topic_id, c.image()->topic("t")->id);

  auto e = c.alter(c.alter_request(1, "t", 0, {1, 3, 2}));
  ASSERT_EQ(Harness::partition_error(e), 0);
  EXPECT_EQ(e.topics[0].partitions[0].isr, (std::vector<int32_t>{1, 3, 2}));
  EXPECT_EQ(e.topics[0].partitions[0].partition_epoch, 2);
  EXPECT_EQ(c.partition("t", 0).isr, (std::vector<int32_t>{1, 3, 2}));

  // v0 by name, answered the same way.
  auto v0 = c.alter(c.alter_request(1, "t", 0, {1}, 0), 0);
  ASSERT_EQ(Harness::partition_error(v0), 0);
  EXPECT_EQ(v0.topics[0].topic_name, "t");
  EXPECT_EQ(v0.topics[0].partitions[0].partition_epoch, 3);
}

TEST(AlterPartition, UnchangedIsrIsAnsweredWithoutWriting) {
  Cluster c;
  int64_t end = c.raft.next_offset();
  auto r = c.alter(c.alter_request(1, "t", 0, {1, 2, 3}));
  ASSERT_EQ(Harness::partition_error(r), 0);
  EXPECT_EQ(c.raft.next_offset(), end);
  EXPECT_EQ(r.topics[0].partitions[0].isr, (std::vector<int32_t>{1, 2, 3}));
  EXPECT_EQ(r.topics[0].partitions[0].partition_epoch, 0);
  EXPECT_EQ(r.topics[0].partitions[0].leader_id, 1);
}

TEST(AlterPartition, SeveralPartitionsAreOneBatch) {
  Cluster c({{1, 2, 3}, {1, 3, 2}, {2, 1, 3}});
  auto req = c.alter_request(1, "t", 0, {1, 2});
  auto second = c.alter_request(1, "t", 1, {1, 3});
  req.topics[0].partitions.push_back(second.topics[0].partitions[0]);
  auto third = c.alter_request(1, "t", 2, {1, 2});  // 1 does not lead partition 2
  req.topics[0].partitions.push_back(third.topics[0].partitions[0]);
  size_t batches = c.raft.log().size();
  auto r = c.alter(req);
  ASSERT_EQ(r.error_code, 0);
  ASSERT_EQ(r.topics[0].partitions.size(), 3u);
  EXPECT_EQ(r.topics[0].partitions[0].error_code, 0);
  EXPECT_EQ(r.topics[0].partitions[1].error_code, 0);
  EXPECT_EQ(r.topics[0].partitions[2].error_code, ec(ErrorCode::INVALID_REQUEST));
  EXPECT_EQ(c.raft.log().size(), batches + 1);
  EXPECT_EQ(records_of<msg::PartitionChangeRecord>(c.last_batch()).size(), 2u);
  EXPECT_EQ(c.partition("t", 0).isr, (std::vector<int32_t>{1, 2}));
  EXPECT_EQ(c.partition("t", 1).isr, (std::vector<int32_t>{1, 3}));
}

TEST(AlterPartition, TheSamePartitionTwiceAppliesOnce) {
  Cluster c;
  auto req = c.alter_request(1, "t", 0, {1, 2});
  req.topics[0].partitions.push_back(c.alter_request(1, "t", 0, {1, 3}).topics[0].partitions[0]);
  auto r = c.alter(req);
  EXPECT_EQ(r.topics[0].partitions[0].error_code, 0);
  EXPECT_EQ(r.topics[0].partitions[1].error_code, ec(ErrorCode::INVALID_UPDATE_VERSION));
  EXPECT_EQ(c.partition("t", 0).isr, (std::vector<int32_t>{1, 2}));
}

TEST(AlterPartition, IneligibleReplicas) {
  Cluster c({{1, 2, 3}});
  ASSERT_EQ(Harness::partition_error(c.alter(c.alter_request(1, "t", 0, {1}))), 0);
  // Broker 3 is fenced (it asks to be).
  ASSERT_FALSE(c.heartbeat(3, c.epochs[3], c.caught_up(), /*fence=*/true).error_code);
  ASSERT_TRUE(c.image()->broker(3)->fenced);
  EXPECT_EQ(Harness::partition_error(c.alter(c.alter_request(1, "t", 0, {1, 3}, 3), 3)), ec(ErrorCode::INELIGIBLE_REPLICA));
  EXPECT_EQ(Harness::partition_error(c.alter(c.alter_request(1, "t", 0, {1, 3}, 2), 2)), ec(ErrorCode::INELIGIBLE_REPLICA));
  EXPECT_EQ(Harness::partition_error(c.alter(c.alter_request(1, "t", 0, {1, 3}, 1), 1)), ec(ErrorCode::OPERATION_NOT_ATTEMPTED));
  // v3: the follower's broker epoch must be the registered one.
  auto wrong_epoch = c.alter_request(1, "t", 0, {1, 2}, 3);
  wrong_epoch.topics[0].partitions[0].new_isr_with_epochs[1].broker_epoch -= 1;
  EXPECT_EQ(Harness::partition_error(c.alter(wrong_epoch)), ec(ErrorCode::INELIGIBLE_REPLICA));
  auto unchecked = c.alter_request(1, "t", 0, {1, 2}, 3);
  unchecked.topics[0].partitions[0].new_isr_with_epochs[1].broker_epoch = -1;  // -1: not checked
  EXPECT_EQ(Harness::partition_error(c.alter(unchecked)), 0);
  EXPECT_EQ(c.partition("t", 0).isr, (std::vector<int32_t>{1, 2}));
}

TEST(AlterPartition, BrokerInControlledShutdownIsIneligible) {
  Cluster c({{1, 2, 3}, {3, 1, 2}});
  ASSERT_EQ(Harness::partition_error(c.alter(c.alter_request(1, "t", 0, {1, 2}))), 0);
  auto sd = c.heartbeat(3, c.epochs[3], c.caught_up(), false, true);
  ASSERT_FALSE(sd.should_shut_down);  // 3 leads partition 1
  EXPECT_EQ(Harness::partition_error(c.alter(c.alter_request(1, "t", 0, {1, 2, 3}))), ec(ErrorCode::INELIGIBLE_REPLICA));
}

TEST(AlterPartition, OldMetadataVersionsBumpTheLeaderEpochOnShrink) {
  Cluster c({{1, 2, 3}}, /*mv=*/11);  // 3.5-IV2
  auto r = c.alter(c.alter_request(1, "t", 0, {1, 2}));
  ASSERT_EQ(Harness::partition_error(r), 0);
  auto changes = records_of<msg::PartitionChangeRecord>(c.last_batch());
  ASSERT_EQ(changes.size(), 1u);
  EXPECT_EQ(changes[0].leader, 1);
  EXPECT_EQ(c.last_batch()[0].version, 0);
  EXPECT_EQ(r.topics[0].partitions[0].leader_epoch, 1);
  EXPECT_EQ(c.partition("t", 0).leader_epoch, 1);
  // An expansion does not.
  auto e = c.alter(c.alter_request(1, "t", 0, {1, 2, 3}));
  ASSERT_EQ(Harness::partition_error(e), 0);
  EXPECT_EQ(e.topics[0].partitions[0].leader_epoch, 1);
  EXPECT_EQ(c.partition("t", 0).partition_epoch, 2);
}

// ---------------------------------------------------------------- unclean election and recovery state

TEST(UncleanElection, DisabledLeavesThePartitionLeaderless) {
  Cluster c({{1, 2}});
  ASSERT_EQ(Harness::partition_error(c.alter(c.alter_request(1, "t", 0, {1}))), 0);
  c.heartbeat(1, c.epochs[1], c.caught_up(), /*fence=*/true);
  const auto& p = c.partition("t", 0);
  EXPECT_EQ(p.leader, -1);
  EXPECT_EQ(p.isr, std::vector<int32_t>{1});
}

TEST(UncleanElection, TopicOverrideElectsALiveReplicaOutsideTheIsr) {
  Cluster c({{1, 2}}, metadata::kLatestProductionMetadataVersion, {}, {{"unclean.leader.election.enable", "true"}});
  ASSERT_EQ(Harness::partition_error(c.alter(c.alter_request(1, "t", 0, {1}))), 0);
  int32_t epoch_before = c.partition("t", 0).leader_epoch;
  c.heartbeat(1, c.epochs[1], c.caught_up(), /*fence=*/true);
  const auto& p = c.partition("t", 0);
  EXPECT_EQ(p.leader, 2);
  EXPECT_EQ(p.isr, std::vector<int32_t>{2});
  EXPECT_EQ(p.leader_recovery_state, 1);  // RECOVERING
  EXPECT_EQ(p.leader_epoch, epoch_before + 1);
  // The new leader's ISR cannot grow while it recovers; it says it has recovered with its next change.
  auto grow_recovering = c.alter_request(2, "t", 0, {2, 1});
  grow_recovering.topics[0].partitions[0].leader_recovery_state = 1;
  EXPECT_EQ(Harness::partition_error(c.alter(grow_recovering)), ec(ErrorCode::INVALID_REQUEST));
  auto recovered = c.alter(c.alter_request(2, "t", 0, {2}));  // LeaderRecoveryState 0 (RECOVERED)
  ASSERT_EQ(Harness::partition_error(recovered), 0);
  EXPECT_EQ(recovered.topics[0].partitions[0].leader_recovery_state, 0);
  EXPECT_EQ(c.partition("t", 0).leader_recovery_state, 0);
  auto back = c.alter_request(2, "t", 0, {2});
  back.topics[0].partitions[0].leader_recovery_state = 1;
  EXPECT_EQ(Harness::partition_error(c.alter(back)), ec(ErrorCode::INVALID_REQUEST));  // RECOVERED -> RECOVERING
}

TEST(UncleanElection, ServerConfigAndDynamicDefault) {
  ControllerConfig cc;
  cc.unclean_leader_election_enable = true;
  {
    Cluster c({{1, 2}}, metadata::kLatestProductionMetadataVersion, cc);
    ASSERT_EQ(Harness::partition_error(c.alter(c.alter_request(1, "t", 0, {1}))), 0);
    c.heartbeat(1, c.epochs[1], c.caught_up(), true);
    EXPECT_EQ(c.partition("t", 0).leader, 2);
  }
  {
    // The topic's override wins over server.properties.
    Cluster c({{1, 2}}, metadata::kLatestProductionMetadataVersion, cc, {{"unclean.leader.election.enable", "false"}});
    ASSERT_EQ(Harness::partition_error(c.alter(c.alter_request(1, "t", 0, {1}))), 0);
    c.heartbeat(1, c.epochs[1], c.caught_up(), true);
    EXPECT_EQ(c.partition("t", 0).leader, -1);
  }
  {
    // The cluster-wide dynamic default (a ConfigRecord for broker "").
    Cluster c({{1, 2}});
    msg::ConfigRecord r;
    r.resource_type = static_cast<int8_t>(metadata::ConfigResourceType::BROKER);
    r.resource_name = "";
    r.name = "unclean.leader.election.enable";
    r.value = "true";
    c.raft.inject({protocol::frame_metadata_record(r, 0)});
    c.settle();
    ASSERT_EQ(Harness::partition_error(c.alter(c.alter_request(1, "t", 0, {1}))), 0);
    c.heartbeat(1, c.epochs[1], c.caught_up(), true);
    EXPECT_EQ(c.partition("t", 0).leader, 2);
  }
}

TEST(UncleanElection, UnfencingAReplicaOutsideTheIsrElectsIt) {
  Cluster c({{1, 2}}, metadata::kLatestProductionMetadataVersion, {}, {{"unclean.leader.election.enable", "true"}});
  ASSERT_EQ(Harness::partition_error(c.alter(c.alter_request(1, "t", 0, {1}))), 0);
  c.heartbeat(2, c.epochs[2], c.caught_up(), true);  // 2 fenced first: nothing to elect
  c.heartbeat(1, c.epochs[1], c.caught_up(), true);  // then the leader: nobody live
  EXPECT_EQ(c.partition("t", 0).leader, -1);
  EXPECT_EQ(c.partition("t", 0).isr, std::vector<int32_t>{1});
  auto r2 = c.register_broker(2);
  ASSERT_FALSE(c.heartbeat(2, r2.broker_epoch, c.caught_up()).is_fenced);
  EXPECT_EQ(c.partition("t", 0).leader, 2);
  EXPECT_EQ(c.partition("t", 0).isr, std::vector<int32_t>{2});
}

// ---------------------------------------------------------------- fencing, unfencing, re-registration

TEST(Fencing, LeadershipMovesToTheFirstLiveIsrMemberInReplicaOrder) {
  Cluster c({{1, 3, 2}, {2, 1, 3}});
  c.heartbeat(1, c.epochs[1], c.caught_up(), true);
  EXPECT_EQ(c.partition("t", 0).leader, 3);
  EXPECT_EQ(c.partition("t", 0).isr, (std::vector<int32_t>{3, 2}));
  EXPECT_EQ(c.partition("t", 0).leader_epoch, 1);
  EXPECT_EQ(c.partition("t", 1).leader, 2);  // a good leader stays
  EXPECT_EQ(c.partition("t", 1).leader_epoch, 0);
  EXPECT_EQ(c.partition("t", 1).isr, (std::vector<int32_t>{2, 3}));
  // 3.9: BrokerRegistrationChangeRecord Fenced=1 (after the partition changes).
  auto batch = c.last_batch();
  auto changes = records_of<msg::BrokerRegistrationChangeRecord>(batch);
  ASSERT_EQ(changes.size(), 1u);
  EXPECT_EQ(changes[0].fenced, 1);
  EXPECT_TRUE(records_of<msg::FenceBrokerRecord>(batch).empty());
}

TEST(Fencing, OldMetadataVersionsUseFenceAndUnfenceRecords) {
  Cluster c({{1, 2}}, /*mv=*/5);  // 3.3-IV1
  c.heartbeat(1, c.epochs[1], c.caught_up(), true);
  EXPECT_EQ(records_of<msg::FenceBrokerRecord>(c.last_batch()).size(), 1u);
  auto r = c.register_broker(1);
  c.heartbeat(1, r.broker_epoch, c.caught_up());
  EXPECT_EQ(records_of<msg::UnfenceBrokerRecord>(c.last_batch()).size(), 1u);
  EXPECT_FALSE(c.image()->broker(1)->fenced);
}

TEST(Fencing, SessionExpiryOnTheVirtualClock) {
  ControllerConfig cc;
  cc.broker_session_timeout_ms = 1000;
  Cluster c({{1, 2, 3}, {2, 3, 1}, {3, 1, 2}}, metadata::kLatestProductionMetadataVersion, cc);
  c.now += 600;
  c.keep_alive({1});
  c.now += 500;  // 2 and 3: 1100 ms without a heartbeat
  c.tick();
  EXPECT_FALSE(c.image()->broker(1)->fenced);
  EXPECT_TRUE(c.image()->broker(2)->fenced);
  EXPECT_TRUE(c.image()->broker(3)->fenced);  // both in one tick
  for (int32_t p = 0; p < 3; ++p) {
    EXPECT_EQ(c.partition("t", p).leader, 1);
    EXPECT_EQ(c.partition("t", p).isr, std::vector<int32_t>{1});
  }
  c.now += 499;  // 999 ms since 1's heartbeat
  c.tick();
  EXPECT_FALSE(c.image()->broker(1)->fenced);
  c.now += 1;
  c.tick();
  EXPECT_TRUE(c.image()->broker(1)->fenced);
  for (int32_t p = 0; p < 3; ++p) {
    EXPECT_EQ(c.partition("t", p).leader, -1);  // never an empty ISR: 1 keeps the data
    EXPECT_EQ(c.partition("t", p).isr, std::vector<int32_t>{1});
  }
  // 2 comes back: not in any ISR, so nothing to lead; 1 comes back: leads again.
  auto r2 = c.register_broker(2);
  c.heartbeat(2, r2.broker_epoch, c.caught_up());
  EXPECT_EQ(c.partition("t", 0).leader, -1);
  auto r1 = c.register_broker(1);
  auto h1 = c.heartbeat(1, r1.broker_epoch, c.caught_up());
  EXPECT_FALSE(h1.is_fenced);
  for (int32_t p = 0; p < 3; ++p) EXPECT_EQ(c.partition("t", p).leader, 1);
}

TEST(Fencing, ReRegistrationOfALiveLeaderMovesItsLeadershipFirst) {
  Cluster c({{1, 2, 3}, {1, 2, 3}, {1, 2, 3}});
  // t-1: ISR {1, 2}; t-2: ISR {1}.
  ASSERT_EQ(Harness::partition_error(c.alter(c.alter_request(1, "t", 1, {1, 2}))), 0);
  ASSERT_EQ(Harness::partition_error(c.alter(c.alter_request(1, "t", 2, {1}))), 0);
  // The same incarnation registers again (e.g. a retried request): the new
  // registration is fenced, so the old one's leaderships and ISR places go.
  auto again = c.call<msg::BrokerRegistrationResponse>([&](auto done) {
    c.controller->register_broker(registration(1, std::nullopt, c.image()->broker(1)->incarnation_id), 4, done);
  });
  ASSERT_EQ(again.error_code, 0);
  EXPECT_GT(again.broker_epoch, c.epochs[1]);
  EXPECT_TRUE(c.image()->broker(1)->fenced);
  EXPECT_EQ(c.image()->broker(1)->epoch, again.broker_epoch);
  EXPECT_EQ(c.partition("t", 0).leader, 2);
  EXPECT_EQ(c.partition("t", 0).isr, (std::vector<int32_t>{2, 3}));
  EXPECT_EQ(c.partition("t", 1).leader, 2);
  EXPECT_EQ(c.partition("t", 2).leader, -1);
  EXPECT_EQ(c.partition("t", 2).isr, std::vector<int32_t>{1});
  // The registration record is the batch's first: the broker epoch is its offset.
  const auto& batch = c.raft.log().back();
  EXPECT_EQ(batch.base_offset, again.broker_epoch);
  EXPECT_EQ(decode_batch(batch)[0].api_key, 0);  // RegisterBrokerRecord
  // Unfenced again: leads the partition only it can lead.
  c.heartbeat(1, again.broker_epoch, c.caught_up());
  EXPECT_EQ(c.partition("t", 2).leader, 1);
  EXPECT_EQ(c.partition("t", 0).leader, 2);
}

// ---------------------------------------------------------------- controlled shutdown

TEST(ControlledShutdown, MovesLeadershipThenGrantsOnceTheBrokerCaughtUp) {
  Cluster c({{1, 2, 3}, {1, 3, 2}, {2, 1, 3}, {1, 2, 3}});
  ASSERT_EQ(Harness::partition_error(c.alter(c.alter_request(1, "t", 3, {1}))), 0);  // t-3: ISR {1}
  int64_t before = c.raft.next_offset();
  auto first = c.heartbeat(1, c.epochs[1], c.caught_up(), false, /*shut_down=*/true);
  EXPECT_EQ(first.error_code, 0);
  EXPECT_FALSE(first.should_shut_down);
  EXPECT_FALSE(first.is_fenced);
  // One batch: the InControlledShutdown flag, then the partition changes.
  auto batch = c.last_batch();
  ASSERT_EQ(c.raft.log().back().base_offset, before);
  auto flag = records_of<msg::BrokerRegistrationChangeRecord>(batch);
  ASSERT_EQ(flag.size(), 1u);
  EXPECT_EQ(flag[0].in_controlled_shutdown, 1);
  EXPECT_EQ(batch[0].api_key, 17);
  EXPECT_EQ(batch[0].version, 1);
  EXPECT_TRUE(c.image()->broker(1)->in_controlled_shutdown);
  EXPECT_FALSE(c.image()->broker(1)->fenced);
  EXPECT_EQ(c.partition("t", 0).leader, 2);
  EXPECT_EQ(c.partition("t", 0).isr, (std::vector<int32_t>{2, 3}));
  EXPECT_EQ(c.partition("t", 1).leader, 3);  // replica order
  EXPECT_EQ(c.partition("t", 2).leader, 2);
  EXPECT_EQ(c.partition("t", 2).isr, (std::vector<int32_t>{2, 3}));
  EXPECT_EQ(c.partition("t", 3).leader, -1);  // nobody else to lead it
  EXPECT_EQ(c.partition("t", 3).isr, std::vector<int32_t>{1});
  int64_t shutdown_offset = c.raft.high_watermark() - 1;

  // Its metadata has not reached the records yet.
  auto waiting = c.heartbeat(1, c.epochs[1], shutdown_offset - 1, false, true);
  EXPECT_FALSE(waiting.should_shut_down);
  EXPECT_FALSE(waiting.is_fenced);
  // Not eligible for anything meanwhile: not unfenced, not a placement target.
  EXPECT_EQ(c.create("more", 1, 3).topics[0].error_code, ec(ErrorCode::INVALID_REPLICATION_FACTOR));
  auto granted = c.heartbeat(1, c.epochs[1], shutdown_offset, false, true);
  EXPECT_TRUE(granted.should_shut_down);
  EXPECT_TRUE(granted.is_fenced);
  EXPECT_TRUE(c.image()->broker(1)->fenced);
  auto fence = records_of<msg::BrokerRegistrationChangeRecord>(c.last_batch());
  ASSERT_EQ(fence.size(), 1u);
  EXPECT_EQ(fence[0].fenced, 1);
  // A later heartbeat (a retry) is told the same.
  auto again = c.heartbeat(1, c.epochs[1], c.caught_up(), false, true);
  EXPECT_TRUE(again.should_shut_down);
  EXPECT_TRUE(again.is_fenced);
  // Back only through a new registration.
  EXPECT_TRUE(c.heartbeat(1, c.epochs[1], c.caught_up()).is_fenced);
  auto r = c.register_broker(1);
  EXPECT_FALSE(c.image()->broker(1)->in_controlled_shutdown);
  EXPECT_FALSE(c.heartbeat(1, r.broker_epoch, c.caught_up()).is_fenced);
  EXPECT_EQ(c.partition("t", 3).leader, 1);
}

TEST(ControlledShutdown, WithoutLeadershipsOrWhenFencedItIsImmediate) {
  Cluster c({{1, 2}});
  auto r = c.heartbeat(3, c.epochs[3], c.caught_up(), false, true);  // 3 leads nothing
  EXPECT_TRUE(r.should_shut_down);
  EXPECT_TRUE(r.is_fenced);
  EXPECT_TRUE(c.image()->broker(3)->fenced);
  auto r2 = c.heartbeat(2, c.epochs[2], c.caught_up(), false, true);  // 2 leads nothing, is in t-0's ISR
  EXPECT_TRUE(r2.should_shut_down);
  EXPECT_EQ(c.partition("t", 0).isr, std::vector<int32_t>{1});
  auto reg = c.register_broker(4);  // registered, still fenced
  auto r4 = c.heartbeat(4, reg.broker_epoch, 0, false, true);
  EXPECT_TRUE(r4.should_shut_down);
  EXPECT_TRUE(r4.is_fenced);
}

TEST(ControlledShutdown, ABrokerShuttingDownIsNeverElected) {
  Cluster c({{1, 2, 3}, {2, 1, 3}});
  ASSERT_FALSE(c.heartbeat(1, c.epochs[1], c.caught_up(), false, true).should_shut_down);
  // 1 was removed from t-1's ISR; when 2 fails, 3 leads.
  c.heartbeat(2, c.epochs[2], c.caught_up(), true);
  EXPECT_EQ(c.partition("t", 1).leader, 3);
  // Unfencing of a new broker does not pick 1 either; nor does an unfenced 1 ever come back.
  EXPECT_TRUE(c.heartbeat(1, c.epochs[1], c.caught_up()).error_code == 0);
  EXPECT_FALSE(c.image()->broker(1)->fenced);
  EXPECT_TRUE(c.image()->broker(1)->in_controlled_shutdown);
  c.heartbeat(3, c.epochs[3], c.caught_up(), true);
  EXPECT_EQ(c.partition("t", 1).leader, -1);
  EXPECT_EQ(c.partition("t", 0).leader, -1);
}

TEST(ControlledShutdown, BeforeMetadataVersion3_3_IV3ItIsTheControllersMemory) {
  Cluster c({{1, 2}}, /*mv=*/6);  // 3.3-IV2: BrokerRegistrationChangeRecord v0 only
  auto first = c.heartbeat(1, c.epochs[1], c.caught_up(), false, true);
  EXPECT_FALSE(first.should_shut_down);
  EXPECT_TRUE(records_of<msg::BrokerRegistrationChangeRecord>(c.last_batch()).empty());
  EXPECT_FALSE(c.image()->broker(1)->in_controlled_shutdown);
  EXPECT_EQ(c.partition("t", 0).leader, 2);
  // Still not a candidate: 2 fails and the partition stays leaderless.
  c.heartbeat(2, c.epochs[2], c.caught_up(), true);
  EXPECT_EQ(c.partition("t", 0).leader, -1);
  auto granted = c.heartbeat(1, c.epochs[1], c.caught_up(), false, true);
  EXPECT_TRUE(granted.should_shut_down);
  auto fence = records_of<msg::BrokerRegistrationChangeRecord>(c.last_batch());
  ASSERT_EQ(fence.size(), 1u);
  EXPECT_EQ(fence[0].fenced, 1);
}

TEST(ControlledShutdown, ANewControllerFinishesIt) {
  Cluster c({{1, 2}});
  ASSERT_FALSE(c.heartbeat(1, c.epochs[1], c.caught_up(), false, true).should_shut_down);
  c.fail_over(2, false);
  ASSERT_TRUE(c.controller->is_active());
  EXPECT_TRUE(c.image()->broker(1)->in_controlled_shutdown);
  // The new controller does not know the records' offset: everything so far must be reached.
  auto r = c.heartbeat(1, c.epochs[1], c.caught_up() - 1, false, true);
  EXPECT_FALSE(r.should_shut_down);
  r = c.heartbeat(1, c.epochs[1], c.caught_up(), false, true);
  EXPECT_TRUE(r.should_shut_down);
  EXPECT_TRUE(c.image()->broker(1)->fenced);
}

TEST(ControlledShutdown, AThousandLeadershipsInTwoHeartbeats) {
  std::vector<std::vector<int32_t>> assignment(1000, std::vector<int32_t>{1, 2, 3});
  Cluster c(assignment);
  auto first = c.heartbeat(1, c.epochs[1], c.caught_up(), false, true);
  ASSERT_FALSE(first.should_shut_down);
  EXPECT_EQ(c.raft.log().back().records.size(), 1001u);  // one batch
  for (int32_t p = 0; p < 1000; ++p) ASSERT_EQ(c.partition("t", p).leader, 2);
  EXPECT_TRUE(c.heartbeat(1, c.epochs[1], c.caught_up(), false, true).should_shut_down);
}

// ---------------------------------------------------------------- placement

namespace {
std::map<int32_t, std::string> racks_of(const Harness& h) {
  std::map<int32_t, std::string> out;
  for (const auto& [id, b] : h.image()->brokers()) out[id] = b.rack.value_or("");
  return out;
}
}  // namespace

TEST(Placement, ReplicasSpanEveryRackAndLeadersSpreadEvenly) {
  Harness h;
  const std::map<int32_t, std::string> racks = {{1, "a"}, {2, "a"}, {3, "b"}, {4, "b"}, {5, "c"}, {6, "c"}};
  for (auto [id, rack] : racks) h.live_broker(id, rack);
  ASSERT_EQ(h.create("spread", 30, 3).topics[0].error_code, 0);
  std::map<int32_t, int> leaders, replicas;
  for (const auto& [idx, p] : h.image()->topic("spread")->partitions) {
    std::set<std::string> rs;
    std::set<int32_t> ids(p.replicas.begin(), p.replicas.end());
    EXPECT_EQ(ids.size(), 3u);
    for (int32_t r : p.replicas) {
      rs.insert(racks.at(r));
      replicas[r]++;
    }
    EXPECT_EQ(rs.size(), 3u) << "partition " << idx;
    leaders[p.leader]++;
    EXPECT_EQ(p.leader, p.replicas[0]);
    EXPECT_EQ(p.isr, p.replicas);
  }
  for (auto [id, rack] : racks) {
    EXPECT_EQ(leaders[id], 5) << "broker " << id;
    EXPECT_EQ(replicas[id], 15) << "broker " << id;
  }
  // CreatePartitions places the same way.
  msg::CreatePartitionsRequest cp;
  cp.topics.resize(1);
  cp.topics[0].name = "spread";
  cp.topics[0].count = 36;
  auto r = h.call<msg::CreatePartitionsResponse>([&](auto done) { h.controller->create_partitions(cp, 3, done); });
  ASSERT_EQ(r.results[0].error_code, 0);
  for (int32_t i = 30; i < 36; ++i) {
    std::set<std::string> rs;
    for (int32_t b : h.partition("spread", i).replicas) rs.insert(racks.at(b));
    EXPECT_EQ(rs.size(), 3u);
  }
}

TEST(Placement, ASmallRackIsInEveryPartition) {
  Harness h;
  h.live_broker(1, "a");
  h.live_broker(2, "a");
  h.live_broker(3, "a");
  h.live_broker(4, "b");
  ASSERT_EQ(h.create("t", 12, 2).topics[0].error_code, 0);
  for (const auto& [idx, p] : h.image()->topic("t")->partitions) {
    std::set<std::string> rs;
    for (int32_t r : p.replicas) rs.insert(racks_of(h).at(r));
    EXPECT_EQ(rs.size(), 2u) << idx;
  }
}

TEST(Placement, WithoutRacksReplicasAreConsecutiveBrokers) {
  Harness h;
  for (int32_t b : {1, 2, 3, 4}) h.live_broker(b);
  ASSERT_EQ(h.create("t", 8, 3).topics[0].error_code, 0);
  const std::vector<int32_t> ids = {1, 2, 3, 4};
  std::map<int32_t, int> leaders;
  for (const auto& [idx, p] : h.image()->topic("t")->partitions) {
    size_t first = std::find(ids.begin(), ids.end(), p.replicas[0]) - ids.begin();
    for (size_t j = 0; j < 3; ++j) EXPECT_EQ(p.replicas[j], ids[(first + j) % 4]);
    leaders[p.leader]++;
  }
  for (int32_t b : ids) EXPECT_EQ(leaders[b], 2);
}

TEST(Placement, OnlyLiveBrokersAreTargets) {
  Harness h;
  auto e1 = h.live_broker(1, "a");
  h.live_broker(2, "b");
  h.live_broker(3, "c");
  h.heartbeat(1, e1, h.caught_up(), true);  // fenced
  h.register_broker(4, "d");                // registered, never unfenced
  auto r = h.create("t", 6, 3);
  EXPECT_EQ(r.topics[0].error_code, ec(ErrorCode::INVALID_REPLICATION_FACTOR));
  EXPECT_EQ(r.topics[0].error_message.value_or(""),
            "Unable to replicate the partition 3 time(s): The target replication factor of 3 cannot be reached because only 2 "
            "broker(s) are registered.");
  ASSERT_EQ(h.create("t", 6, 2).topics[0].error_code, 0);
  for (const auto& [idx, p] : h.image()->topic("t")->partitions)
    for (int32_t b : p.replicas) EXPECT_TRUE(b == 2 || b == 3);
}

TEST(Placement, ManualAssignmentsNeedALiveBroker) {
  Cluster c({{1, 2}});
  c.heartbeat(2, c.epochs[2], c.caught_up(), true);  // 2 fenced
  auto t = c.create_assigned("fenced-only", {{2}});
  EXPECT_EQ(t.topics[0].error_code, ec(ErrorCode::INVALID_REPLICA_ASSIGNMENT));
  msg::CreatePartitionsRequest cp;
  cp.topics.resize(1);
  cp.topics[0].name = "t";
  cp.topics[0].count = 2;
  msg::CreatePartitionsRequest::CreatePartitionsAssignment a;
  a.broker_ids = {2, 3};
  cp.topics[0].assignments = std::vector<msg::CreatePartitionsRequest::CreatePartitionsAssignment>{a};
  ASSERT_FALSE(c.heartbeat(3, c.epochs[3], c.caught_up(), true).error_code);  // 3 fenced too
  auto r = c.call<msg::CreatePartitionsResponse>([&](auto done) { c.controller->create_partitions(cp, 3, done); });
  EXPECT_EQ(r.results[0].error_code, ec(ErrorCode::INVALID_REPLICA_ASSIGNMENT));
  EXPECT_EQ(r.results[0].error_message.value_or(""),
            "All brokers specified in the manual partition assignment for partition 1 are fenced or in controlled shutdown.");
  (*cp.topics[0].assignments)[0].broker_ids = {2, 1};
  r = c.call<msg::CreatePartitionsResponse>([&](auto done) { c.controller->create_partitions(cp, 3, done); });
  ASSERT_EQ(r.results[0].error_code, 0);
  EXPECT_EQ(c.partition("t", 1).leader, 1);
  EXPECT_EQ(c.partition("t", 1).isr, std::vector<int32_t>{1});
}
