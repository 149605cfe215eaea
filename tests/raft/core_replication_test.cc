// RaftCore unit tests of replication on virtual time with a seeded Rng: the
// leader's fetch validation (DivergingEpoch, high watermark, parked fetches),
// the follower's append/flush/fetch/truncate loop, and KIP-630 snapshots
// (leader redirects, FetchSnapshot download and install, restarts of a
// download); the log view's epoch cache after cleaning.
#include <gtest/gtest.h>

#include "common/bytes.h"
#include "core_test_util.h"
#include "protocol/messages.h"
#include "protocol/metadata_record.h"
#include "protocol/record_batch.h"
#include "raft/core.h"

using namespace flotilla;
using namespace flotilla::protocol;
using namespace flotilla::raft;
using namespace flotilla::raft::testing;

TEST(RaftCoreReplication, LeaderFetchValidationDivergenceAndHighWatermark) {
  // Node 1 stands in epoch 2 over a log holding epoch 1 records [0, 5).
  RaftCore core(config(1, {1, 2, 3}), Rng(2));
  InitialLogState ls = flushed_log(5, {EpochEntry{1, 0}});
  ElectionState s = voted_for(2, 1);
  core.start(s, ls, 0);
  core.take_actions();
  ASSERT_EQ(core.role(), Role::Candidate);
  VoteResponse g = granted_vote(2);
  core.handle_response(2, g, 1);
  ASSERT_EQ(core.role(), Role::Leader);
  ASSERT_EQ(core.epoch(), 2);
  core.take_actions();  // LeaderChange at 5
  core.on_log_flushed(6, 2);
  EXPECT_EQ(core.high_watermark(), 0);  // no follower has it yet
  core.take_actions();

  auto fetch = [&](int32_t replica, int64_t offset, int32_t last_epoch, uint64_t id, int32_t max_wait = 0) {
    FetchRequest f;
    f.cluster_id = "test-cluster";
    f.replica_id = replica;
    f.current_leader_epoch = 2;
    f.fetch_offset = offset;
    f.last_fetched_epoch = last_epoch;
    f.max_wait_ms = max_wait;
    core.handle_request(id, replica, f, 3);
    return all_of<SendResponse>(core.take_actions());
  };
  // Records of an epoch the leader never had: diverge at the log start.
  auto r1 = fetch(2, 7, 0, 1);
  ASSERT_EQ(r1.size(), 1u);
  auto f1 = std::get<FetchResponse>(r1[0].response);
  ASSERT_TRUE(f1.diverging_epoch);
  EXPECT_EQ(f1.diverging_epoch->epoch, 0);
  EXPECT_EQ(f1.diverging_epoch->offset, 0);
  // Epoch 1 ends at 5 here: a follower with epoch 1 records up to 9 diverges at 5.
  auto r2 = fetch(2, 9, 1, 2);
  auto f2 = std::get<FetchResponse>(r2[0].response);
  ASSERT_TRUE(f2.diverging_epoch);
  EXPECT_EQ(f2.diverging_epoch->epoch, 1);
  EXPECT_EQ(f2.diverging_epoch->offset, 5);
  // A valid position: records from 3 are read; the HW does not move (3 <= epoch start 5).
  auto r3 = fetch(2, 3, 1, 3);
  auto f3 = std::get<FetchResponse>(r3[0].response);
  EXPECT_FALSE(f3.diverging_epoch);
  ASSERT_TRUE(f3.read);
  EXPECT_EQ(f3.read->offset, 3);
  EXPECT_EQ(core.high_watermark(), 0);
  // Fetching at 6: the follower holds the LeaderChangeMessage; majority {1, 2} at 6 -> HW 6.
  auto r4 = fetch(2, 6, 2, 4);
  EXPECT_EQ(core.high_watermark(), 6);
  EXPECT_EQ(std::get<FetchResponse>(r4[0].response).high_watermark, 6);
  // A fenced epoch.
  FetchRequest old;
  old.cluster_id = "test-cluster";
  old.replica_id = 3;
  old.current_leader_epoch = 1;
  core.handle_request(5, 3, old, 4);
  auto r5 = all_of<SendResponse>(core.take_actions());
  EXPECT_EQ(std::get<FetchResponse>(r5[0].response).partition_error, ErrorCode::FENCED_LEADER_EPOCH);
  // A caught-up fetch of a replica that has not seen the current high
  // watermark is answered at once (it learns of the commit)...
  auto news = fetch(3, 6, 2, 60, 500);
  ASSERT_EQ(news.size(), 1u);
  EXPECT_EQ(std::get<FetchResponse>(news[0].response).high_watermark, 6);
  // ...the next one with max_wait is parked, then answered when data arrives.
  EXPECT_TRUE(fetch(3, 6, 2, 6, 500).empty());
  ASSERT_TRUE(core.append({{7}}, 2, 5));
  core.flush_appends(5);
  auto parked = all_of<SendResponse>(core.take_actions());
  ASSERT_EQ(parked.size(), 1u);
  EXPECT_EQ(parked[0].request_id, 6u);
  ASSERT_TRUE(std::get<FetchResponse>(parked[0].response).read);
  // Parked fetches expire with an empty answer.
  EXPECT_TRUE(fetch(3, 7, 2, 7, 100).empty());
  core.poll(50);
  EXPECT_TRUE(all_of<SendResponse>(core.take_actions()).empty());
  core.poll(103);
  auto expired = all_of<SendResponse>(core.take_actions());
  ASSERT_EQ(expired.size(), 1u);
  EXPECT_FALSE(std::get<FetchResponse>(expired[0].response).read);
}

TEST(RaftCoreReplication, FollowerAppendsFlushesThenFetchesAndTruncates) {
  // Leader 1 builds a log; follower 2 replicates it through fetch responses.
  RaftCore leader(config(1, {1, 2}), Rng(1));
  MemLog llog;
  ElectionState ls = voted_for(1, 1);
  leader.start(ls, InitialLogState{}, 0);
  leader.take_actions();
  VoteResponse g = granted_vote(1);
  leader.handle_response(2, g, 0);
  ASSERT_EQ(leader.role(), Role::Leader);
  leader.append({{1}, {2}}, 1, 1);
  leader.flush_appends(1);
  apply_log(leader.take_actions(), llog);
  ASSERT_EQ(llog.end_offset(), 3);

  RaftCore follower(config(2, {1, 2}), Rng(2));
  MemLog flog;
  ElectionState fs = led_by(1, 1);
  follower.start(fs, InitialLogState{}, 0);
  auto as = follower.take_actions();
  auto sends = all_of<SendRequest>(as);
  ASSERT_EQ(sends.size(), 1u);
  auto req = std::get<FetchRequest>(sends[0].request);
  EXPECT_EQ(req.fetch_offset, 0);
  EXPECT_EQ(req.replica_id, 2);

  FetchResponse resp;
  resp.leader_id = 1;
  resp.leader_epoch = 1;
  resp.high_watermark = 1;
  resp.records = std::make_shared<const std::vector<uint8_t>>(llog.read(0, 1 << 20));
  follower.handle_response(1, resp, 10);
  as = follower.take_actions();
  apply_log(as, flog);
  EXPECT_EQ(flog.end_offset(), 3);
  ASSERT_EQ(all_of<FlushLog>(as).size(), 1u);
  EXPECT_TRUE(all_of<SendRequest>(as).empty());  // not before the flush
  EXPECT_EQ(follower.high_watermark(), 1);
  follower.on_log_flushed(3, 11);
  sends = all_of<SendRequest>(follower.take_actions());
  ASSERT_EQ(sends.size(), 1u);
  EXPECT_EQ(std::get<FetchRequest>(sends[0].request).fetch_offset, 3);
  EXPECT_EQ(std::get<FetchRequest>(sends[0].request).last_fetched_epoch, 1);

  // Divergence: the leader says our epoch 1 ends at 2.
  FetchResponse div;
  div.leader_id = 1;
  div.leader_epoch = 1;
  div.high_watermark = 1;
  div.diverging_epoch = OffsetAndEpoch{2, 1};
  follower.handle_response(1, div, 12);
  as = follower.take_actions();
  auto truncs = all_of<TruncateLog>(as);
  ASSERT_EQ(truncs.size(), 1u);
  EXPECT_EQ(truncs[0].offset, 2);
  EXPECT_EQ(follower.log().end_offset(), 2);
  // (Truncation inside a batch is refused by the test log; the core's view is what we check.)
  sends = all_of<SendRequest>(as);
  ASSERT_EQ(sends.size(), 1u);
  EXPECT_EQ(std::get<FetchRequest>(sends[0].request).fetch_offset, 2);

  // A fetch timeout makes the follower prospective (pre-vote for the next epoch).
  follower.poll(12 + 2000);
  EXPECT_EQ(follower.role(), Role::Prospective);
  EXPECT_EQ(follower.epoch(), 1);
}

// KIP-630 on the leader: a log cleaned up to snapshot 20-2 (and a newer
// snapshot 30-3) answers fetches below, at (with another epoch) or from an
// epoch older than its log start with the latest snapshot id (Kafka's
// validateOffsetAndEpoch); FetchSnapshot becomes a read of the file.
TEST(RaftCoreSnapshots, LeaderSendsReplicasBehindTheLogStartToItsLatestSnapshot) {
  RaftCore core(config(1, {1, 2, 3}), Rng(3));
  InitialLogState ls;
  ls.start_offset = 20;
  ls.start_epoch = 2;
  ls.latest_snapshot = OffsetAndEpoch{30, 3};
  ls.end_offset = 40;
  ls.flushed_offset = 40;
  ls.epochs = {EpochEntry{2, 20}, EpochEntry{3, 25}};
  ElectionState s = voted_for(4, 1);
  core.start(s, ls, 0);
  core.take_actions();
  VoteResponse g = granted_vote(4);
  core.handle_response(2, g, 1);
  ASSERT_EQ(core.role(), Role::Leader);
  core.take_actions();

  auto fetch = [&](int64_t offset, int32_t last_epoch, uint64_t id) {
    FetchRequest f;
    f.cluster_id = "test-cluster";
    f.replica_id = 2;
    f.current_leader_epoch = 4;
    f.fetch_offset = offset;
    f.last_fetched_epoch = last_epoch;
    core.handle_request(id, 2, f, 2);
    auto rs = all_of<SendResponse>(core.take_actions());
    EXPECT_EQ(rs.size(), 1u);
    return std::get<FetchResponse>(rs.at(0).response);
  };
  for (auto [offset, epoch] : std::vector<std::pair<int64_t, int32_t>>{{0, 0}, {10, 1}, {20, 1}, {22, 1}}) {
    FetchResponse r = fetch(offset, epoch, 1);
    ASSERT_TRUE(r.snapshot_id) << offset << "/" << epoch;
    EXPECT_EQ(*r.snapshot_id, (OffsetAndEpoch{30, 3}));
    EXPECT_EQ(r.log_start_offset, 20);
    EXPECT_FALSE(r.read);
  }
  // At the log start with the snapshot's epoch, and inside the log: valid.
  FetchResponse at_start = fetch(20, 2, 2);
  EXPECT_FALSE(at_start.snapshot_id);
  EXPECT_FALSE(at_start.diverging_epoch);
  ASSERT_TRUE(at_start.read);
  EXPECT_EQ(at_start.read->offset, 20);
  FetchResponse inside = fetch(27, 3, 3);
  EXPECT_FALSE(inside.snapshot_id);
  ASSERT_TRUE(inside.read);
  // Epoch 2 ends at 25 here: diverging, not a snapshot.
  FetchResponse div = fetch(26, 2, 4);
  EXPECT_FALSE(div.snapshot_id);
  ASSERT_TRUE(div.diverging_epoch);
  EXPECT_EQ(*div.diverging_epoch, (OffsetAndEpoch{25, 2}));

  FetchSnapshotRequest fs;
  fs.cluster_id = "test-cluster";
  fs.replica_id = 2;
  fs.current_leader_epoch = 4;
  fs.snapshot_id = OffsetAndEpoch{30, 3};
  fs.position = 100;
  fs.max_bytes = 4096;
  core.handle_request(9, 2, fs, 3);
  auto rs = all_of<SendResponse>(core.take_actions());
  ASSERT_EQ(rs.size(), 1u);
  auto fr = std::get<FetchSnapshotResponse>(rs[0].response);
  EXPECT_EQ(fr.partition_error, ErrorCode::NONE);
  ASSERT_TRUE(fr.read);
  EXPECT_EQ(fr.read->id, (OffsetAndEpoch{30, 3}));
  EXPECT_EQ(fr.read->position, 100);
  EXPECT_EQ(fr.read->max_bytes, 4096);
  fs.current_leader_epoch = 3;
  core.handle_request(10, 2, fs, 3);
  rs = all_of<SendResponse>(core.take_actions());
  EXPECT_EQ(std::get<FetchSnapshotResponse>(rs.at(0).response).partition_error, ErrorCode::FENCED_LEADER_EPOCH);

  // The cleaner moves the log start up to the newer snapshot.
  core.on_log_start_advanced(30, 3);
  EXPECT_EQ(core.log().start_offset(), 30);
  EXPECT_EQ(core.log().start_epoch(), 3);
  EXPECT_TRUE(fetch(27, 3, 11).snapshot_id);
  EXPECT_FALSE(fetch(30, 3, 12).snapshot_id);
}

// KIP-630 on a follower: told to load snapshot 50-2, it downloads it in
// chunks (FetchSnapshot with position), installs it, and fetches the log
// from its end with the snapshot's epoch as the last fetched epoch.
TEST(RaftCoreSnapshots, FollowerDownloadsInstallsAndContinuesAfterTheSnapshot) {
  RaftCoreConfig c = config(2, {1, 2, 3});
  c.fetch_snapshot_max_bytes = 10;
  RaftCore core(c, Rng(4));
  InitialLogState ls = flushed_log(5, {EpochEntry{1, 0}});
  ElectionState s = led_by(2, 1);
  core.start(s, ls, 0);
  auto sends = all_of<SendRequest>(core.take_actions());
  ASSERT_EQ(sends.size(), 1u);
  EXPECT_EQ(std::get<FetchRequest>(sends[0].request).fetch_offset, 5);

  FetchResponse r;
  r.leader_id = 1;
  r.leader_epoch = 2;
  r.high_watermark = 60;
  r.log_start_offset = 50;
  r.snapshot_id = OffsetAndEpoch{50, 2};
  core.handle_response(1, r, 1);
  sends = all_of<SendRequest>(core.take_actions());
  ASSERT_EQ(sends.size(), 1u);
  auto fs = std::get<FetchSnapshotRequest>(sends[0].request);
  EXPECT_EQ(fs.snapshot_id, (OffsetAndEpoch{50, 2}));
  EXPECT_EQ(fs.position, 0);
  EXPECT_EQ(fs.max_bytes, 10);

  std::vector<uint8_t> file(25);
  for (size_t i = 0; i < file.size(); ++i) file[i] = static_cast<uint8_t>(i);
  auto chunk = [&](int64_t pos, int64_t len) {
    FetchSnapshotResponse x;
    x.leader_id = 1;
    x.leader_epoch = 2;
    x.snapshot_id = OffsetAndEpoch{50, 2};
    x.size = static_cast<int64_t>(file.size());
    x.position = pos;
    x.bytes = std::make_shared<const std::vector<uint8_t>>(file.begin() + pos, file.begin() + pos + len);
    return x;
  };
  core.handle_response(1, chunk(0, 10), 2);
  auto as = core.take_actions();
  auto writes = all_of<WriteSnapshotChunk>(as);
  ASSERT_EQ(writes.size(), 1u);
  EXPECT_EQ(writes[0].position, 0);
  EXPECT_EQ(writes[0].bytes->size(), 10u);
  sends = all_of<SendRequest>(as);
  ASSERT_EQ(sends.size(), 1u);
  EXPECT_EQ(std::get<FetchSnapshotRequest>(sends[0].request).position, 10);
  // A chunk at the wrong position abandons the download: the next Fetch starts over.
  core.handle_response(1, chunk(5, 10), 3);
  as = core.take_actions();
  EXPECT_TRUE(all_of<WriteSnapshotChunk>(as).empty());
  core.poll(100);
  sends = all_of<SendRequest>(core.take_actions());
  ASSERT_EQ(sends.size(), 1u);
  ASSERT_TRUE(std::holds_alternative<FetchRequest>(sends[0].request));
  core.handle_response(1, r, 101);
  core.take_actions();
  core.handle_response(1, chunk(0, 10), 102);
  core.take_actions();
  core.handle_response(1, chunk(10, 10), 103);
  core.take_actions();
  core.handle_response(1, chunk(20, 5), 104);
  as = core.take_actions();
  ASSERT_EQ(all_of<WriteSnapshotChunk>(as).size(), 1u);
  auto installs = all_of<InstallSnapshot>(as);
  ASSERT_EQ(installs.size(), 1u);
  EXPECT_EQ(installs[0].id, (OffsetAndEpoch{50, 2}));
  EXPECT_TRUE(all_of<SendRequest>(as).empty());  // nothing until the install completes
  EXPECT_EQ(core.log().end_offset(), 5);

  core.on_snapshot_installed(OffsetAndEpoch{50, 2}, true, {}, 105);
  EXPECT_EQ(core.log().start_offset(), 50);
  EXPECT_EQ(core.log().end_offset(), 50);
  EXPECT_EQ(core.log().last_epoch(), 2);
  EXPECT_EQ(core.high_watermark(), 50);
  ASSERT_TRUE(core.latest_snapshot());
  EXPECT_EQ(*core.latest_snapshot(), (OffsetAndEpoch{50, 2}));
  as = core.take_actions();
  EXPECT_EQ(all_of<HighWatermarkChanged>(as).size(), 1u);
  sends = all_of<SendRequest>(as);
  ASSERT_EQ(sends.size(), 1u);
  auto next = std::get<FetchRequest>(sends[0].request);
  EXPECT_EQ(next.fetch_offset, 50);
  EXPECT_EQ(next.last_fetched_epoch, 2);
  EXPECT_EQ(next.log_start_offset, 50);
}

// A snapshot the leader no longer has (cleaned meanwhile) or one that fails
// to install sends the follower back to Fetch, which names the current one.
TEST(RaftCoreSnapshots, AMissingOrBrokenSnapshotStartsTheDownloadOver) {
  RaftCore core(config(2, {1, 2, 3}), Rng(5));
  ElectionState s = led_by(2, 1);
  core.start(s, InitialLogState{}, 0);
  core.take_actions();
  FetchResponse r;
  r.leader_id = 1;
  r.leader_epoch = 2;
  r.snapshot_id = OffsetAndEpoch{50, 2};
  core.handle_response(1, r, 1);
  core.take_actions();
  FetchSnapshotResponse gone;
  gone.leader_id = 1;
  gone.leader_epoch = 2;
  gone.snapshot_id = OffsetAndEpoch{50, 2};
  gone.partition_error = ErrorCode::SNAPSHOT_NOT_FOUND;
  core.handle_response(1, gone, 2);
  core.take_actions();
  core.poll(100);
  auto sends = all_of<SendRequest>(core.take_actions());
  ASSERT_EQ(sends.size(), 1u);
  EXPECT_TRUE(std::holds_alternative<FetchRequest>(sends[0].request));

  r.snapshot_id = OffsetAndEpoch{70, 2};
  core.handle_response(1, r, 101);
  core.take_actions();
  FetchSnapshotResponse all;
  all.leader_id = 1;
  all.leader_epoch = 2;
  all.snapshot_id = OffsetAndEpoch{70, 2};
  all.size = 3;
  all.bytes = std::make_shared<const std::vector<uint8_t>>(std::vector<uint8_t>{1, 2, 3});
  core.handle_response(1, all, 102);
  ASSERT_EQ(all_of<InstallSnapshot>(core.take_actions()).size(), 1u);
  core.on_snapshot_installed(OffsetAndEpoch{70, 2}, false, {}, 103);
  EXPECT_EQ(core.log().end_offset(), 0);  // nothing changed
  core.poll(200);
  sends = all_of<SendRequest>(core.take_actions());
  ASSERT_EQ(sends.size(), 1u);
  EXPECT_EQ(std::get<FetchRequest>(sends[0].request).fetch_offset, 0);
}

// The log view after cleaning: the epoch cache keeps what lies at or after
// the new start; epochs older than the snapshot's end at the log start.
TEST(RaftLogView, AdvanceStartTrimsTheEpochCache) {
  LogView v;
  v.reset(0, 100, 100, {EpochEntry{1, 0}, EpochEntry{2, 40}, EpochEntry{4, 70}});
  v.advance_start(50, 2);
  EXPECT_EQ(v.start_offset(), 50);
  EXPECT_EQ(v.start_epoch(), 2);
  ASSERT_EQ(v.epochs().size(), 2u);
  EXPECT_EQ(v.epochs()[0], (EpochEntry{2, 50}));
  EXPECT_EQ(v.end_offset_for_epoch(1), (OffsetAndEpoch{50, 2}));
  EXPECT_EQ(v.end_offset_for_epoch(3), (OffsetAndEpoch{70, 2}));
  v.advance_start(100, 4);
  EXPECT_TRUE(v.epochs().empty());
  EXPECT_EQ(v.last_epoch(), 4);
  EXPECT_EQ(v.end_offset_and_epoch(), (OffsetAndEpoch{100, 4}));
}
