// The deterministic simulation in CI: 5,000 seeds (3 and 5 voters, with an
// observer), in shards so ctest runs them in parallel. A failing seed prints
// the one command that replays it with a trace.
#include <gtest/gtest.h>

#include "sim/raft_sim.h"

using namespace flotilla::raft::sim;

namespace {
constexpr uint64_t kShards = 20;
constexpr uint64_t kSeedsPerShard = 250;  // 20 x 250 = 5,000 seeds

// The scenarios below run in a world whose invariant violations throw and
// whose Raft log lines are off, for the duration of one test.
struct ScenarioWorld {
  ScenarioWorld() {
    flotilla::raft::set_invariant_handler([](const std::string& what) { throw Violation(what); });
    spdlog::set_level(spdlog::level::off);
  }
  ~ScenarioWorld() {
    spdlog::set_level(spdlog::level::info);
    flotilla::raft::set_invariant_handler(nullptr);
  }
};

// A simulation of `voters` voters on `seed`, run until it has a leader.
struct Scenario {
  Simulation sim;
  int32_t leader;
  Scenario(uint64_t seed, int voters, int64_t run_ms) : sim(options(seed, voters)) {
    sim.run_for(run_ms);
    leader = sim.current_leader();
  }
  // A voter other than the leader.
  int32_t follower() const { return leader == 1 ? 2 : 1; }
  static SimOptions options(uint64_t seed, int voters) {
    SimOptions o;
    o.seed = seed;
    o.voters = voters;
    return o;
  }
};
}  // namespace

class RaftSimulation : public ::testing::TestWithParam<uint64_t> {};

TEST_P(RaftSimulation, SafetyUnderFaultsThenLiveness) {
  uint64_t shard = GetParam();
  int failures = 0;
  int64_t installed = 0, taken = 0;
  for (uint64_t i = 0; i < kSeedsPerShard; ++i) {
    SimOptions o;
    o.seed = shard * kSeedsPerShard + i + 1;
    o.voters = o.seed % 2 ? 3 : 5;
    o.reconfigure = o.seed % 3 == 0;  // a third of the seeds change the voter set as they run
    SimResult r = run_simulation(o);
    installed += r.snapshots_installed;
    taken += r.snapshots_taken;
    if (!r.ok) {
      ADD_FAILURE() << "seed " << o.seed << " (" << o.voters << " voters): " << r.violation << "\n  replay: " << replay_command(o);
      if (++failures >= 3) return;
    }
  }
  // The runs exercise KIP-630: snapshots are taken, and replicas that fell
  // behind a cleaned log catch up by downloading one.
  EXPECT_GT(taken, 0);
  EXPECT_GT(installed, 0);
}

INSTANTIATE_TEST_SUITE_P(Seeds, RaftSimulation, ::testing::Range<uint64_t>(0, kShards));

// A partitioned voter that comes back does not disturb a healthy leader
// (pre-vote): deterministic scenario on top of the same world.
TEST(RaftSimulationScenario, APartitionedVoterRejoinsWithoutDisturbingTheLeader) {
  ScenarioWorld world;
  for (uint64_t seed = 1; seed <= 20; ++seed) {
    Scenario s(seed, 5, 2000);
    auto& sim = s.sim;
    int32_t leader = s.leader;
    ASSERT_GT(leader, 0) << "seed " << seed;
    int32_t epoch = sim.epoch_of(leader);
    int32_t victim = s.follower();
    sim.isolate(victim);
    sim.run_for(5000);  // many fetch and election timeouts of the isolated voter
    EXPECT_EQ(sim.epoch_of(victim), epoch) << "seed " << seed << ": pre-vote kept the isolated voter's epoch";
    int64_t hw_at_heal = sim.high_watermark_of(leader);
    sim.heal_network();
    sim.run_for(2000);
    EXPECT_EQ(sim.current_leader(), leader) << "seed " << seed;
    EXPECT_EQ(sim.epoch_of(leader), epoch) << "seed " << seed << ": the rejoining voter bumped the epoch";
    EXPECT_GE(sim.high_watermark_of(victim), hw_at_heal) << "seed " << seed << ": the rejoined voter caught up";
  }
}

TEST(RaftSimulationScenario, SimulationIsDeterministic) {
  SimOptions o;
  o.seed = 4242;
  SimResult a = run_simulation(o), b = run_simulation(o);
  EXPECT_TRUE(a.ok) << a.violation;
  EXPECT_EQ(a.committed, b.committed);
  EXPECT_EQ(a.max_epoch, b.max_epoch);
  EXPECT_EQ(a.at_ms, b.at_ms);
  EXPECT_GT(a.committed, 10);
}

// KIP-630: a voter that was down while the others snapshotted and cleaned
// their logs comes back below the leader's log start and catches up through
// FetchSnapshot (in chunks on the small-fetch seeds), then follows the log.
TEST(RaftSimulationScenario, AVoterBehindTheLogStartCatchesUpThroughFetchSnapshot) {
  ScenarioWorld world;
  int caught_up_by_snapshot = 0;
  for (uint64_t seed = 1; seed <= 20; ++seed) {
    Scenario s(seed, 3, 1000);
    auto& sim = s.sim;
    int32_t leader = s.leader;
    ASSERT_GT(leader, 0) << "seed " << seed;
    int32_t victim = s.follower();
    sim.crash_for(victim, 4000);
    sim.run_for(4000);
    leader = sim.current_leader();
    ASSERT_GT(leader, 0) << "seed " << seed;
    bool behind = sim.log_end_of(victim) < sim.log_start_of(leader);
    int64_t before = sim.snapshots_installed();
    sim.run_for(2000);
    int64_t hw = sim.high_watermark_of(leader);
    EXPECT_GE(sim.high_watermark_of(victim), hw - 50) << "seed " << seed << ": the restarted voter caught up";
    if (behind) {
      EXPECT_GT(sim.snapshots_installed(), before) << "seed " << seed << ": behind the log start without a snapshot download";
      ++caught_up_by_snapshot;
    }
  }
  EXPECT_GT(caught_up_by_snapshot, 10);
}
