// The deterministic simulation in CI: 5,000 seeds (3 and 5 voters, with an
// observer), in shards so ctest runs them in parallel. A failing seed prints
// the one command that replays it with a trace.
#include <gtest/gtest.h>

#include "sim/raft_sim.h"

using namespace flotilla::raft::sim;

namespace {
constexpr uint64_t kShards = 20;
constexpr uint64_t kSeedsPerShard = 250;  // 20 x 250 = 5,000 seeds
}  // namespace

class RaftSimulation : public ::testing::TestWithParam<uint64_t> {};

TEST_P(RaftSimulation, SafetyUnderFaultsThenLiveness) {
  uint64_t shard = GetParam();
  int failures = 0;
  for (uint64_t i = 0; i < kSeedsPerShard; ++i) {
    SimOptions o;
    o.seed = shard * kSeedsPerShard + i + 1;
    o.voters = o.seed % 2 ? 3 : 5;
    o.reconfigure = o.seed % 3 == 0;  // a third of the seeds change the voter set as they run
    SimResult r = run_simulation(o);
    if (!r.ok) {
      ADD_FAILURE() << "seed " << o.seed << " (" << o.voters << " voters): " << r.violation << "\n  replay: " << replay_command(o);
      if (++failures >= 3) return;
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Seeds, RaftSimulation, ::testing::Range<uint64_t>(0, kShards));

// A partitioned voter that comes back does not disturb a healthy leader
// (pre-vote): deterministic scenario on top of the same world.
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
