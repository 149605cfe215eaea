// RaftDriver over a real storage::Log in a temp dir, on an asio io_context
// run by the test: single-voter leadership, quorum-state file, commits to
// listeners, replay on restart, refused appends.
#include <gtest/gtest.h>

#include <asio.hpp>
#include <chrono>
#include <filesystem>
#include <fstream>

#include "common/bytes.h"
#include "protocol/messages.h"
#include "protocol/metadata_record.h"
#include "raft/driver.h"
#include "raft/snapshot.h"
#include "test_io.h"

using namespace flotilla;
using namespace flotilla::protocol;
using namespace flotilla::raft;
using flotilla::raft::testing::run_until;
using flotilla::raft::testing::temp_dir;

namespace {

std::string slurp(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

struct Recorder : RaftListener {
  std::vector<CommittedBatch> batches;
  std::vector<LeaderAndEpoch> leaders;
  std::vector<std::pair<SnapshotId, SnapshotContents>> snapshots;
  int64_t next = 0;  // the offset the listener expects next (commits continue after a snapshot)
  void handle_commit(const CommittedBatch& b) override {
    batches.push_back(b);
    next = b.last_offset + 1;
  }
  void handle_leader_change(LeaderAndEpoch l) override { leaders.push_back(l); }
  void handle_load_snapshot(const SnapshotId& id, const SnapshotContents& contents) override {
    snapshots.emplace_back(id, contents);
    next = id.end_offset;
  }
  int64_t next_offset() const { return next; }
  // It has heard of a leader (the latest change names one).
  bool knows_leader() const { return !leaders.empty() && leaders.back().leader_id >= 0; }
};

RaftConfig single(int32_t id) {
  RaftConfig c;
  c.node_id = id;
  c.voters = {id};
  c.cluster_id = "cluster";
  c.random_seed = 42;
  return c;
}

}  // namespace

TEST(RaftDriver, SingleVoterLeadsCommitsAndReplaysAfterRestart) {
  auto dir = temp_dir("single");
  {
    asio::io_context io;
    RaftDriver d(io, single(1), RaftDriver::open_metadata_log(dir), dir);
    Recorder r;
    d.register_listener(&r);
    d.register_listener(&r);  // idempotent
    EXPECT_FALSE(d.append({{1}}, 1).has_value());  // not started
    d.start();
    ASSERT_TRUE(run_until(io, [&] { return r.knows_leader(); }));
    EXPECT_EQ(r.leaders.back(), (LeaderAndEpoch{1, 1}));
    EXPECT_EQ(d.leader_and_epoch(), (LeaderAndEpoch{1, 1}));
    // The listener had the LeaderChangeMessage batch before it heard of the leadership.
    ASSERT_EQ(r.batches.size(), 1u);
    EXPECT_TRUE(r.batches[0].is_control);
    EXPECT_EQ(r.batches[0].base_offset, 0);
    EXPECT_EQ(r.batches[0].epoch, 1);
    EXPECT_EQ(d.high_watermark(), 1);
    EXPECT_EQ(slurp(dir / "__cluster_metadata-0" / "quorum-state"),
              R"({"clusterId":"","leaderId":1,"leaderEpoch":1,"votedId":-1,"appliedOffset":0,"currentVoters":[{"voterId":1}],"data_version":0})");

    EXPECT_FALSE(d.append({{1}}, 2).has_value());  // wrong epoch
    auto a = d.append({{10, 11}, {12}}, 1);
    auto b = d.append({{13}}, 1);
    ASSERT_TRUE(a && b);
    EXPECT_EQ(*a, 2);
    EXPECT_EQ(*b, 3);
    ASSERT_TRUE(run_until(io, [&] { return r.next_offset() == 4; }));
    ASSERT_EQ(r.batches.size(), 2u);  // same turn: one batch
    EXPECT_FALSE(r.batches[1].is_control);
    EXPECT_EQ(r.batches[1].base_offset, 1);
    EXPECT_EQ(r.batches[1].last_offset, 3);
    EXPECT_EQ(r.batches[1].records, (std::vector<std::vector<uint8_t>>{{10, 11}, {12}, {13}}));
    EXPECT_EQ(d.high_watermark(), 4);
    d.shutdown();
  }
  {
    asio::io_context io;
    RaftDriver d(io, single(1), RaftDriver::open_metadata_log(dir), dir);
    d.start();
    Recorder r;
    d.register_listener(&r);
    ASSERT_TRUE(run_until(io, [&] { return r.knows_leader(); }));
    EXPECT_EQ(r.leaders.back(), (LeaderAndEpoch{1, 2}));
    // Everything from before, then the new epoch's LeaderChangeMessage.
    ASSERT_EQ(r.batches.size(), 3u);
    EXPECT_EQ(r.batches[1].records, (std::vector<std::vector<uint8_t>>{{10, 11}, {12}, {13}}));
    EXPECT_TRUE(r.batches[2].is_control);
    EXPECT_EQ(r.batches[2].base_offset, 4);
    EXPECT_EQ(r.batches[2].epoch, 2);
    EXPECT_NE(slurp(dir / "__cluster_metadata-0" / "quorum-state").find("\"leaderEpoch\":2"), std::string::npos);
    // A listener registered late also gets the whole history.
    Recorder late;
    d.register_listener(&late);
    ASSERT_TRUE(run_until(io, [&] { return late.next_offset() == 5 && late.knows_leader(); }));
    d.unregister_listener(&late);
    auto off = d.append({{7}}, 2);
    ASSERT_TRUE(off);
    EXPECT_EQ(*off, 5);
    ASSERT_TRUE(run_until(io, [&] { return r.next_offset() == 6; }));
    EXPECT_EQ(late.next_offset(), 5);
    d.shutdown();
  }
  std::filesystem::remove_all(dir);
}

TEST(RaftDriver, ManyAppendsAreGroupCommitted) {
  auto dir = temp_dir("group");
  asio::io_context io;
  RaftDriver d(io, single(5), RaftDriver::open_metadata_log(dir), dir);
  Recorder r;
  d.register_listener(&r);
  d.start();
  ASSERT_TRUE(run_until(io, [&] { return r.knows_leader(); }));
  int32_t epoch = d.leader_and_epoch().epoch;
  int64_t last = 0;
  // Appends spread over several turns while flushes are in flight.
  for (int i = 0; i < 200; ++i) {
    auto off = d.append({{static_cast<uint8_t>(i)}}, epoch);
    ASSERT_TRUE(off);
    last = *off;
    if (i % 10 == 0) io.poll();
  }
  ASSERT_TRUE(run_until(io, [&] { return r.next_offset() == last + 1; }));
  size_t records = 0;
  for (size_t i = 1; i < r.batches.size(); ++i) records += r.batches[i].records.size();
  EXPECT_EQ(records, 200u);
  EXPECT_LT(r.batches.size(), 200u);
  d.shutdown();
  std::filesystem::remove_all(dir);
}

TEST(RaftDriver, NoVotersIsAnError) {
  auto dir = temp_dir("novoters");
  asio::io_context io;
  RaftConfig c;
  c.node_id = 1;
  RaftDriver d(io, c, RaftDriver::open_metadata_log(dir), dir);
  EXPECT_THROW(d.start(), std::runtime_error);
  std::filesystem::remove_all(dir);
}

TEST(RaftDriver, StandaloneCheckpointProvidesVotersAndQuorumStateV1) {
  auto dir = temp_dir("standalone");
  Voter self;
  self.id = 3;
  self.directory_id = Uuid::random();
  self.endpoints = {VoterEndpoint{"CONTROLLER", "localhost", 9093}};
  write_standalone_checkpoint(dir / "__cluster_metadata-0", self, 0);
  asio::io_context io;
  RaftConfig c;
  c.node_id = 3;
  c.cluster_id = "cluster";
  RaftDriver d(io, c, RaftDriver::open_metadata_log(dir), dir / "__cluster_metadata-0");
  Recorder r;
  d.register_listener(&r);
  d.start();
  ASSERT_TRUE(run_until(io, [&] { return r.knows_leader(); }));
  EXPECT_EQ(r.leaders.back(), (LeaderAndEpoch{3, 1}));
  EXPECT_EQ(slurp(dir / "__cluster_metadata-0" / "quorum-state"),
            R"({"leaderId":3,"leaderEpoch":1,"votedId":-1,"votedDirectoryId":"AAAAAAAAAAAAAAAAAAAAAA","data_version":1})");
  d.shutdown();
  std::filesystem::remove_all(dir);
}
