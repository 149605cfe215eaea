// Eligible leader replicas (KIP-966): PartitionChange's transitions as Kafka's
// PartitionChangeBuilder makes them, and the controller keeping ELR and
// LastKnownElr through AlterPartition, fencing, unfencing and unclean
// restarts when eligible.leader.replicas.version is 1 (metadata.version
// 4.0-IV1+), and not at all when it is 0.
#include <gtest/gtest.h>

#include "controller/harness.h"
#include "controller/partition_change.h"
#include "metadata/features.h"
#include "protocol/metadata_record.h"

namespace flotilla::controller {
namespace {

using namespace testing;
using V = std::vector<int32_t>;

constexpr int16_t kMv40 = metadata::kLatestMetadataVersion;  // 4.0-IV3

metadata::PartitionRegistration partition(V replicas, V isr, int32_t leader, V elr = {}, V last_known = {}) {
  metadata::PartitionRegistration p;
  p.replicas = std::move(replicas);
  p.isr = std::move(isr);
  p.leader = leader;
  p.elr = std::move(elr);
  p.last_known_elr = std::move(last_known);
  p.directories.assign(p.replicas.size(), Uuid{});
  return p;
}

auto live_except(std::initializer_list<int32_t> down) {
  V d(down);
  return [d](int32_t b) { return !contains(d, b); };
}

// ---------------------------------------------------------------- PartitionChange

TEST(ElrChange, ShrinkWhileMinIsrHoldsAddsNoElr) {
  auto p = partition({1, 2, 3}, {1, 2, 3}, 1);
  auto r = PartitionChange(p, Uuid::random(), 0, live_except({3}), kMv40).set_eligible_leader_replicas(true, 2).set_target_isr({1, 2}).build();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->isr, V({1, 2}));
  EXPECT_FALSE(r->eligible_leader_replicas.has_value());
  EXPECT_FALSE(r->last_known_elr.has_value());
}

TEST(ElrChange, ShrinkBelowMinIsrMovesTheRemovedReplicaToTheElr) {
  auto p = partition({1, 2, 3}, {1, 2}, 1);
  auto r = PartitionChange(p, Uuid::random(), 0, live_except({2, 3}), kMv40).set_eligible_leader_replicas(true, 2).set_target_isr({1}).build();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->isr, V({1}));
  EXPECT_EQ(r->eligible_leader_replicas, V({2}));
  EXPECT_EQ(r->leader, -2);
}

TEST(ElrChange, LastIsrMemberLeavesIntoTheElrAndIsRememberedAsLastLeader) {
  auto p = partition({1, 2, 3}, {1}, 1, {2});
  auto r = PartitionChange(p, Uuid::random(), 0, live_except({1, 2, 3}), kMv40).set_eligible_leader_replicas(true, 2).set_target_isr({}).build();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->isr, V{});  // with ELR the ISR may become empty
  EXPECT_EQ(r->leader, -1);
  EXPECT_EQ(r->eligible_leader_replicas, V({1, 2}));
  EXPECT_EQ(r->last_known_elr, V({1}));
}

TEST(ElrChange, WithoutElrTheIsrNeverEmpties) {
  auto p = partition({1, 2, 3}, {1}, 1);
  auto r = PartitionChange(p, Uuid::random(), 0, live_except({1, 2, 3}), kMv40).set_eligible_leader_replicas(false, 2).set_target_isr({}).build();
  ASSERT_TRUE(r);
  EXPECT_FALSE(r->isr.has_value());
  EXPECT_FALSE(r->eligible_leader_replicas.has_value());
  EXPECT_FALSE(r->last_known_elr.has_value());
  EXPECT_EQ(r->leader, -1);
}

TEST(ElrChange, CleanElectionFromTheElrWhenTheIsrIsEmpty) {
  auto p = partition({1, 2, 3}, {}, -1, {1, 2}, {1});
  // Broker 2 comes back (unfencing): it is in the ELR, so it may lead.
  auto r = PartitionChange(p, Uuid::random(), 0, live_except({1, 3}), kMv40).set_eligible_leader_replicas(true, 2).build();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->leader, 2);
  EXPECT_EQ(r->isr, V({2}));
  EXPECT_EQ(r->eligible_leader_replicas, V({1}));
  EXPECT_EQ(r->last_known_elr, V{});  // a leader again: cleared
  EXPECT_EQ(r->leader_recovery_state, -1);  // a clean election
}

TEST(ElrChange, AReplicaOutsideIsrAndElrIsNotElectedCleanly) {
  auto p = partition({1, 2, 3}, {}, -1, {1, 2}, {1});
  auto r = PartitionChange(p, Uuid::random(), 0, live_except({1, 2}), kMv40).set_eligible_leader_replicas(true, 2).build();
  EXPECT_FALSE(r.has_value());  // 3 is live but not eligible: nothing changes
  // An unclean election may take it, and clears the ELR.
  auto u = PartitionChange(p, Uuid::random(), 0, live_except({1, 2}), kMv40)
               .set_eligible_leader_replicas(true, 2)
               .set_election(Election::UNCLEAN)
               .build();
  ASSERT_TRUE(u);
  EXPECT_EQ(u->leader, 3);
  EXPECT_EQ(u->isr, V({3}));
  EXPECT_EQ(u->eligible_leader_replicas, V{});
  EXPECT_EQ(u->leader_recovery_state, kLeaderRecovering);
}

TEST(ElrChange, LastKnownLeaderIsElectedWhenIsrAndElrAreEmpty) {
  // Every ELR member restarted uncleanly: only the last leader is left to try.
  auto p = partition({1, 2, 3}, {}, -1, {}, {1});
  auto r = PartitionChange(p, Uuid::random(), 0, live_except({2, 3}), kMv40).set_eligible_leader_replicas(true, 2).build();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->leader, 1);
  EXPECT_EQ(r->isr, V({1}));
  EXPECT_EQ(r->leader_recovery_state, kLeaderRecovering);
  EXPECT_EQ(r->last_known_elr, V{});
  // Not while it is down.
  EXPECT_FALSE(PartitionChange(p, Uuid::random(), 0, live_except({1}), kMv40).set_eligible_leader_replicas(true, 2).build().has_value());
}

TEST(ElrChange, IsrBackAtMinIsrClearsTheElr) {
  auto p = partition({1, 2, 3}, {1}, 1, {2, 3});
  auto r = PartitionChange(p, Uuid::random(), 0, live_except({}), kMv40).set_eligible_leader_replicas(true, 2).set_target_isr({1, 3}).build();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->isr, V({1, 3}));
  EXPECT_EQ(r->eligible_leader_replicas, V{});
  // Still below min ISR: a replica back in the ISR leaves the ELR, the others stay.
  auto p3 = partition({1, 2, 3, 4}, {1}, 1, {2, 3});
  auto r3 = PartitionChange(p3, Uuid::random(), 0, live_except({}), kMv40).set_eligible_leader_replicas(true, 3).set_target_isr({1, 3}).build();
  ASSERT_TRUE(r3);
  EXPECT_EQ(r3->eligible_leader_replicas, V({2}));
}

TEST(ElrChange, UncleanShutdownReplicasNeverStayInTheElr) {
  auto p = partition({1, 2, 3}, {1}, 1, {2, 3});
  auto r = PartitionChange(p, Uuid::random(), 0, live_except({2}), kMv40)
               .set_eligible_leader_replicas(true, 2)
               .set_unclean_shutdown_replicas({2})
               .build();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->eligible_leader_replicas, V({3}));
}

// ---------------------------------------------------------------- the controller

// Brokers 1..3 live, topic "t" on [1,2,3] with min.insync.replicas=2, formatted
// at 4.0-IV3 with eligible.leader.replicas.version=`elr`.
struct ElrCluster : LiveBrokers {
  static ControllerConfig config_with(int16_t elr) {
    ControllerConfig cc;
    auto b = metadata::bootstrap_for_version(kMv40, "the test");
    if (elr > 0) {
      msg::FeatureLevelRecord f;
      f.name = metadata::kEligibleLeaderReplicasFeature;
      f.feature_level = elr;
      b.records.push_back(protocol::frame_metadata_record(f, 0));
    }
    cc.bootstrap = b;
    return cc;
  }
  explicit ElrCluster(int16_t elr = 1) : LiveBrokers(kMv40, config_with(elr), 3, {{1, 2, 3}}, {{"min.insync.replicas", "2"}}) {}
  void fence(int32_t id) { heartbeat(id, epochs.at(id), caught_up(), /*fence=*/true); }
  const metadata::PartitionRegistration& t0() const { return partition("t", 0); }
};

TEST(ElrController, FeatureNeedsMetadataVersion40IV1) {
  ElrCluster on(1);
  EXPECT_TRUE(metadata::eligible_leader_replicas_enabled(*on.image()));
  ElrCluster off(0);
  EXPECT_FALSE(metadata::eligible_leader_replicas_enabled(*off.image()));
  EXPECT_EQ(metadata::partition_record_version(kMv40), 2);
  EXPECT_EQ(metadata::partition_record_version(metadata::kLatestProductionMetadataVersion), 1);
}

TEST(ElrController, FencingShrinksTheIsrIntoTheElrThenLeaderless) {
  ElrCluster c;
  c.fence(3);
  EXPECT_EQ(c.t0().isr, V({1, 2}));
  EXPECT_TRUE(c.t0().elr.empty());  // min ISR still held
  c.fence(2);
  EXPECT_EQ(c.t0().isr, V({1}));
  EXPECT_EQ(c.t0().elr, V({2}));
  EXPECT_EQ(c.t0().leader, 1);
  c.fence(1);
  EXPECT_EQ(c.t0().isr, V{});
  EXPECT_EQ(c.t0().elr, V({1, 2}));
  EXPECT_EQ(c.t0().last_known_elr, V({1}));
  EXPECT_EQ(c.t0().leader, -1);
  // The records are PartitionChangeRecord v2 (4.0-IV1+).
  auto batch = decode_batch(c.raft.log().back());
  bool found = false;
  for (const auto& r : batch)
    if (std::holds_alternative<msg::PartitionChangeRecord>(r.record)) {
      EXPECT_EQ(r.version, 2);
      found = true;
    }
  EXPECT_TRUE(found);
}

TEST(ElrController, AnElrMemberComingBackLeadsCleanly) {
  ElrCluster c;
  c.fence(3);
  c.fence(2);
  c.fence(1);
  // Broker 2 restarts cleanly (its previous epoch recorded) and is unfenced.
  auto req = registration(2, std::nullopt, Uuid::random());
  req.previous_broker_epoch = c.epochs[2];
  auto r = c.call<msg::BrokerRegistrationResponse>([&](auto done) { c.controller->register_broker(req, 4, done); });
  ASSERT_EQ(r.error_code, 0);
  EXPECT_EQ(c.t0().elr, V({1, 2}));  // a clean restart keeps it eligible
  ASSERT_FALSE(c.heartbeat(2, r.broker_epoch, c.caught_up()).is_fenced);
  EXPECT_EQ(c.t0().leader, 2);
  EXPECT_EQ(c.t0().isr, V({2}));
  EXPECT_EQ(c.t0().elr, V({1}));
  EXPECT_TRUE(c.t0().last_known_elr.empty());
  EXPECT_EQ(c.t0().leader_recovery_state, kLeaderRecovered);
}

TEST(ElrController, AnUncleanRestartLeavesTheElr) {
  ElrCluster c;
  c.fence(3);
  c.fence(2);
  c.fence(1);
  // Broker 2 comes back without a recorded clean shutdown (kill -9).
  auto r = c.register_broker(2);
  ASSERT_EQ(r.error_code, 0);
  EXPECT_EQ(c.t0().elr, V({1}));
  ASSERT_FALSE(c.heartbeat(2, r.broker_epoch, c.caught_up()).is_fenced);
  EXPECT_EQ(c.t0().leader, -1);  // 2 is not eligible: the partition stays offline
  EXPECT_EQ(c.t0().last_known_elr, V({1}));
}

TEST(ElrController, AlterPartitionExpansionClearsTheElr) {
  ElrCluster c;
  c.fence(3);
  c.fence(2);
  ASSERT_EQ(c.t0().elr, V({2}));
  auto r2 = c.register_broker(2);
  ASSERT_FALSE(c.heartbeat(2, r2.broker_epoch, c.caught_up()).is_fenced);
  c.epochs[2] = r2.broker_epoch;
  // The uncleanly restarted 2 left the ELR; it catches up and rejoins the ISR.
  EXPECT_TRUE(c.t0().elr.empty());
  c.set_isr(0, {1, 2});
  EXPECT_EQ(c.t0().isr, V({1, 2}));
  EXPECT_TRUE(c.t0().elr.empty());
  // The leader shrinks the ISR below min ISR: the follower goes to the ELR.
  c.set_isr(0, {1});
  EXPECT_EQ(c.t0().elr, V({2}));
  c.set_isr(0, {1, 2});
  EXPECT_TRUE(c.t0().elr.empty());
}

TEST(ElrController, DisabledKeepsTheLastIsrMember) {
  ElrCluster c(0);
  c.fence(3);
  c.fence(2);
  c.fence(1);
  EXPECT_EQ(c.t0().isr, V({1}));
  EXPECT_TRUE(c.t0().elr.empty());
  EXPECT_TRUE(c.t0().last_known_elr.empty());
  EXPECT_EQ(c.t0().leader, -1);
  auto batch = decode_batch(c.raft.log().back());
  for (const auto& r : batch) {
    if (std::holds_alternative<msg::PartitionChangeRecord>(r.record)) {
      EXPECT_EQ(r.version, 2);  // 4.0-IV1+: v2 either way
    }
  }
}

}  // namespace
}  // namespace flotilla::controller
