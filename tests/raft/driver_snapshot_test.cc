// RaftDriver and KIP-630 over real files: the metadata log cleaner (log start
// moves to a newer snapshot, old snapshots and whole segments go, the latest
// snapshot never), start-up from a cleaned log (listeners get the snapshot
// first), and an observer behind the leader's log start catching up through
// FetchSnapshot in chunks, and that observer restarted (its log starting at
// the fetched snapshot's end) handing its listener the snapshot first.
#include <gtest/gtest.h>

#include <asio.hpp>
#include <chrono>
#include <filesystem>

#include "raft/driver.h"
#include "raft/snapshot.h"
#include "test_io.h"

using namespace flotilla;
using namespace flotilla::raft;
namespace fs = std::filesystem;
using flotilla::raft::testing::run_until;
using flotilla::raft::testing::temp_dir;

namespace {



// Keeps what a state machine would: the record values, from a snapshot and commits.
struct StateRecorder : RaftListener {
  std::vector<std::vector<uint8_t>> values;
  std::vector<SnapshotId> loaded;
  int64_t next = 0;
  LeaderAndEpoch leader;
  void handle_commit(const CommittedBatch& b) override {
    EXPECT_EQ(b.base_offset, next) << "a gap in the delivered log";
    if (!b.is_control)
      for (const auto& v : b.records) values.push_back(v);
    next = b.last_offset + 1;
  }
  void handle_leader_change(LeaderAndEpoch l) override { leader = l; }
  void handle_load_snapshot(const SnapshotId& id, const SnapshotContents& c) override {
    loaded.push_back(id);
    values.clear();
    for (const auto& b : c.batches)
      for (const auto& v : b.records) values.push_back(v);
    next = id.end_offset;
  }
};

RaftConfig config(int32_t id, std::vector<int32_t> voters) {
  RaftConfig c;
  c.node_id = id;
  c.voters = std::move(voters);
  c.cluster_id = "cluster";
  c.random_seed = 7;
  c.max_retention_ms = -1;
  c.max_retention_bytes = 0;  // every snapshot but the latest is over the limit
  return c;
}

storage::LogConfig small_segments() {
  storage::LogConfig l;
  l.segment_bytes = 2048;
  return l;
}

std::vector<uint8_t> value(int i) { return std::vector<uint8_t>(200, static_cast<uint8_t>(i)); }

// The leader's snapshot of its committed state: the values so far as one data batch.
SnapshotId write_snapshot(RaftDriver& d, const StateRecorder& r) {
  SnapshotId id{r.next, d.leader_and_epoch().epoch};
  SnapshotWriter w(id, 0, 1000);
  w.append(r.values);
  w.write_snapshot(d.partition_dir());
  d.on_snapshot_written(id);
  return id;
}

void append_values(asio::io_context& io, RaftDriver& d, StateRecorder& r, int from, int count) {
  for (int i = from; i < from + count; ++i) {
    ASSERT_TRUE(d.append({value(i)}, d.leader_and_epoch().epoch));
    ASSERT_TRUE(run_until(io, [&] { return r.next == d.next_offset(); }));
  }
}

std::vector<fs::path> files_with(const fs::path& dir, const std::string& ext) {
  std::vector<fs::path> out;
  for (const auto& e : fs::directory_iterator(dir))
    if (e.path().extension() == ext) out.push_back(e.path());
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace

TEST(RaftDriverSnapshots, CleanerMovesTheLogStartToANewerSnapshotAndKeepsTheLatest) {
  auto dir = temp_dir("snap-clean");
  fs::path pdir = dir / kMetadataPartitionDir;
  SnapshotId second;
  {
    asio::io_context io;
    RaftDriver d(io, config(1, {1}), RaftDriver::open_metadata_log(dir, small_segments()), dir);
    StateRecorder r;
    d.register_listener(&r);
    d.start();
    ASSERT_TRUE(run_until(io, [&] { return r.leader.leader_id == 1; }));
    append_values(io, d, r, 0, 20);
    SnapshotId first = write_snapshot(d, r);
    // One snapshot: nothing to clean, however far over the size limit.
    EXPECT_EQ(d.log().log_start_offset(), 0);
    EXPECT_TRUE(fs::exists(pdir / snapshot_file_name(first)));
    size_t segments_before = files_with(pdir, ".log").size();
    EXPECT_GT(segments_before, 2u);

    append_values(io, d, r, 20, 20);
    second = write_snapshot(d, r);
    EXPECT_EQ(d.log().log_start_offset(), second.end_offset);
    EXPECT_FALSE(fs::exists(pdir / snapshot_file_name(first)));
    EXPECT_TRUE(fs::exists(pdir / snapshot_file_name(second)));
    EXPECT_EQ(d.core().log().start_offset(), second.end_offset);
    EXPECT_EQ(d.core().log().start_epoch(), second.epoch);
    auto logs = files_with(pdir, ".log");
    EXPECT_LT(logs.size(), segments_before);
    EXPECT_NE(logs.front().filename(), "00000000000000000000.log");
    ASSERT_TRUE(d.latest_snapshot());
    EXPECT_EQ(*d.latest_snapshot(), second);
    append_values(io, d, r, 40, 3);
    d.shutdown();
  }
  {
    // Restart: the log starts at the snapshot; a listener gets it, then the log after it.
    asio::io_context io;
    RaftDriver d(io, config(1, {1}), RaftDriver::open_metadata_log(dir, small_segments()), dir);
    StateRecorder r;
    d.register_listener(&r);
    d.start();
    EXPECT_EQ(d.log().log_start_offset(), second.end_offset);
    ASSERT_TRUE(run_until(io, [&] { return r.leader.leader_id == 1 && r.next == d.next_offset(); }));
    ASSERT_EQ(r.loaded.size(), 1u);
    EXPECT_EQ(r.loaded[0], second);
    ASSERT_EQ(r.values.size(), 43u);
    for (int i = 0; i < 43; ++i) EXPECT_EQ(r.values[i], value(i)) << i;
    d.shutdown();
  }
}

TEST(RaftDriverSnapshots, AnObserverBehindTheLogStartCatchesUpThroughFetchSnapshot) {
  auto dir1 = temp_dir("snap-leader");
  auto dir2 = temp_dir("snap-observer");
  asio::io_context io;
  RaftDriver leader(io, config(1, {1}), RaftDriver::open_metadata_log(dir1, small_segments()), dir1);
  RaftConfig oc = config(2, {1});
  RaftDriver observer(io, oc, RaftDriver::open_metadata_log(dir2, small_segments()), dir2);
  StateRecorder lr, orec;
  leader.register_listener(&lr);
  observer.register_listener(&orec);
  leader.start();
  ASSERT_TRUE(run_until(io, [&] { return lr.leader.leader_id == 1; }));
  append_values(io, leader, lr, 0, 30);
  write_snapshot(leader, lr);
  append_values(io, leader, lr, 30, 30);
  SnapshotId latest = write_snapshot(leader, lr);
  append_values(io, leader, lr, 60, 5);
  ASSERT_EQ(leader.log().log_start_offset(), latest.end_offset);

  // Requests go straight from one driver to the other.
  int snapshot_requests = 0;
  leader.set_sender([](int32_t, RaftRequest, uint64_t) {});
  observer.set_sender([&](int32_t to, RaftRequest req, uint64_t corr) {
    ASSERT_EQ(to, 1);
    if (std::holds_alternative<FetchSnapshotRequest>(req)) {
      ++snapshot_requests;
      std::get<FetchSnapshotRequest>(req).max_bytes = 1000;  // several chunks
    }
    asio::post(io, [&, req = std::move(req), corr]() mutable {
      leader.handle_request(2, std::move(req), [&, corr](RaftResponse resp) {
        asio::post(io, [&, resp = std::move(resp), corr]() mutable { observer.handle_response(1, std::move(resp), corr); });
      });
    });
  });
  observer.start();
  ASSERT_TRUE(run_until(io, [&] { return orec.next == leader.log().log_end_offset(); }, 10000));
  EXPECT_GT(snapshot_requests, 2);  // the snapshot (12 KB) came in 1,000-byte chunks
  ASSERT_EQ(orec.loaded.size(), 1u);
  EXPECT_EQ(orec.loaded[0], latest);
  EXPECT_EQ(orec.values, lr.values);
  EXPECT_EQ(observer.log().log_start_offset(), latest.end_offset);
  EXPECT_TRUE(fs::exists(dir2 / kMetadataPartitionDir / snapshot_file_name(latest)));
  EXPECT_TRUE(files_with(dir2 / kMetadataPartitionDir, ".part").empty());
  // And it follows the log from there.
  append_values(io, leader, lr, 65, 2);
  ASSERT_TRUE(run_until(io, [&] { return orec.next == leader.log().log_end_offset(); }));
  EXPECT_EQ(orec.values, lr.values);
  observer.shutdown();
  leader.shutdown();
}

// A node that installed a fetched snapshot has a log whose first segment
// starts exactly at the snapshot's end. Restarted, its listeners (the
// metadata image) must still get the snapshot first: before the fix they
// started from the log start, and a restarted broker served an image without
// what the snapshot held (its brokers, topics, SCRAM credentials).
TEST(RaftDriverSnapshots, AfterARestartAListenerGetsTheSnapshotWhereTheLogStarts) {
  auto dir1 = temp_dir("snap-leader2");
  auto dir2 = temp_dir("snap-observer2");
  SnapshotId latest;
  std::vector<std::vector<uint8_t>> expected;
  int64_t observer_end = 0;
  {
    asio::io_context io;
    RaftDriver leader(io, config(1, {1}), RaftDriver::open_metadata_log(dir1, small_segments()), dir1);
    RaftDriver observer(io, config(2, {1}), RaftDriver::open_metadata_log(dir2, small_segments()), dir2);
    StateRecorder lr, orec;
    leader.register_listener(&lr);
    observer.register_listener(&orec);
    leader.start();
    ASSERT_TRUE(run_until(io, [&] { return lr.leader.leader_id == 1; }));
    append_values(io, leader, lr, 0, 30);
    write_snapshot(leader, lr);
    append_values(io, leader, lr, 30, 30);
    latest = write_snapshot(leader, lr);
    append_values(io, leader, lr, 60, 3);
    leader.set_sender([](int32_t, RaftRequest, uint64_t) {});
    observer.set_sender([&](int32_t, RaftRequest req, uint64_t corr) {
      asio::post(io, [&, req = std::move(req), corr]() mutable {
        leader.handle_request(2, std::move(req), [&, corr](RaftResponse resp) {
          asio::post(io, [&, resp = std::move(resp), corr]() mutable { observer.handle_response(1, std::move(resp), corr); });
        });
      });
    });
    observer.start();
    ASSERT_TRUE(run_until(io, [&] { return orec.next == leader.log().log_end_offset(); }, 10000));
    ASSERT_EQ(orec.loaded.size(), 1u);
    ASSERT_EQ(observer.log().log_start_offset(), latest.end_offset);
    expected = lr.values;
    observer_end = observer.log().log_end_offset();
    observer.shutdown();
    leader.shutdown();
  }
  // The observer alone, restarted: its log is [snapshot end, end) on disk.
  asio::io_context io;
  RaftDriver observer(io, config(2, {1}), RaftDriver::open_metadata_log(dir2, small_segments()), dir2);
  StateRecorder r;
  observer.register_listener(&r);
  observer.set_sender([](int32_t, RaftRequest, uint64_t) {});
  observer.start();
  EXPECT_EQ(observer.log().log_start_offset(), latest.end_offset);
  ASSERT_TRUE(run_until(io, [&] { return !r.loaded.empty(); }, 2000)) << "the snapshot was not delivered";
  EXPECT_EQ(r.loaded[0], latest);
  ASSERT_EQ(r.values.size(), 60u);  // the values 0-59 the snapshot holds (its end offset counts the control record too)
  EXPECT_TRUE(std::equal(r.values.begin(), r.values.end(), expected.begin()));
  EXPECT_LE(r.next, observer_end);
  observer.shutdown();
}
