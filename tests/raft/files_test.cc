// quorum-state JSON (exact text, round trip, file), snapshot files (name,
// round trip), the LogView epoch cache and the BatchAccumulator.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "common/crc32c.h"
#include "protocol/record_batch.h"
#include "raft/batch_accumulator.h"
#include "raft/log_view.h"
#include "raft/quorum_state.h"
#include "raft/snapshot.h"

using namespace flotilla;
using namespace flotilla::raft;

namespace {
std::filesystem::path temp_dir(const std::string& name) {
  auto p = std::filesystem::temp_directory_path() / ("flotilla-raft-" + name + "-" + std::to_string(::getpid()));
  std::filesystem::remove_all(p);
  std::filesystem::create_directories(p);
  return p;
}
std::string slurp(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}
}  // namespace

TEST(QuorumState, Version0ExactText) {
  ElectionState s;
  s.epoch = 3;
  s.leader_id = 1;
  s.voters = {1};
  EXPECT_EQ(quorum_state_to_json(s, 0),
            R"({"clusterId":"","leaderId":1,"leaderEpoch":3,"votedId":-1,"appliedOffset":0,"currentVoters":[{"voterId":1}],"data_version":0})");
  ElectionState v;
  v.epoch = 7;
  v.voted_id = 2;
  v.voters = {3, 1, 2};
  EXPECT_EQ(quorum_state_to_json(v, 0),
            R"({"clusterId":"","leaderId":-1,"leaderEpoch":7,"votedId":2,"appliedOffset":0,"currentVoters":[{"voterId":1},{"voterId":2},{"voterId":3}],"data_version":0})");
}

TEST(QuorumState, Version1ExactText) {
  ElectionState s;
  s.epoch = 2;
  s.voted_id = 1;
  s.voted_directory_id = *Uuid::parse("J8aAPcfLQt2bqs1JT_rMgQ");
  EXPECT_EQ(quorum_state_to_json(s, 1),
            R"({"leaderId":-1,"leaderEpoch":2,"votedId":1,"votedDirectoryId":"J8aAPcfLQt2bqs1JT_rMgQ","data_version":1})");
  ElectionState l;
  l.epoch = 4;
  l.leader_id = 1;
  EXPECT_EQ(quorum_state_to_json(l, 1),
            R"({"leaderId":1,"leaderEpoch":4,"votedId":-1,"votedDirectoryId":"AAAAAAAAAAAAAAAAAAAAAA","data_version":1})");
}

TEST(QuorumState, RoundTripAndKafkaText) {
  ElectionState s;
  s.epoch = 9;
  s.leader_id = 2;
  s.voters = {1, 2, 3};
  int16_t dv = -1;
  EXPECT_EQ(quorum_state_from_json(quorum_state_to_json(s, 0), &dv), s);
  EXPECT_EQ(dv, 0);
  // Text as Kafka writes it, with whitespace and a trailing newline.
  auto k = quorum_state_from_json("{\"clusterId\": \"\", \"leaderId\": 1, \"leaderEpoch\": 2, \"votedId\": -1, "
                                  "\"appliedOffset\": 0, \"currentVoters\": [], \"data_version\": 0}\n");
  EXPECT_EQ(k.epoch, 2);
  EXPECT_EQ(k.leader_id, 1);
  EXPECT_EQ(k.voted_id, -1);
  auto k1 = quorum_state_from_json(R"({"leaderId":-1,"leaderEpoch":2,"votedId":1,"votedDirectoryId":"J8aAPcfLQt2bqs1JT_rMgQ","data_version":1})", &dv);
  EXPECT_EQ(dv, 1);
  EXPECT_EQ(k1.voted_id, 1);
  EXPECT_EQ(k1.voted_directory_id.to_string(), "J8aAPcfLQt2bqs1JT_rMgQ");
  EXPECT_THROW(quorum_state_from_json("{\"leaderId\":1}"), std::runtime_error);               // no data_version
  EXPECT_THROW(quorum_state_from_json("{\"leaderId\":1,\"data_version\":2}"), std::runtime_error);
  EXPECT_THROW(quorum_state_from_json("not json"), std::runtime_error);
}

TEST(QuorumState, FileIsWrittenAtomically) {
  auto dir = temp_dir("qs");
  QuorumStateFile f(dir / "quorum-state");
  EXPECT_FALSE(f.read().has_value());
  ElectionState s;
  s.epoch = 1;
  s.leader_id = 1;
  s.voters = {1};
  f.write(s, 0);
  EXPECT_EQ(slurp(dir / "quorum-state"),
            R"({"clusterId":"","leaderId":1,"leaderEpoch":1,"votedId":-1,"appliedOffset":0,"currentVoters":[{"voterId":1}],"data_version":0})");
  EXPECT_FALSE(std::filesystem::exists(dir / "quorum-state.tmp"));
  EXPECT_EQ(*f.read(), s);
  s.epoch = 2;
  f.write(s, 0);
  EXPECT_EQ(f.read()->epoch, 2);
  std::filesystem::remove_all(dir);
}

TEST(Snapshot, FileNames) {
  EXPECT_EQ(snapshot_file_name(SnapshotId{0, 0}), "00000000000000000000-0000000000.checkpoint");
  EXPECT_EQ(snapshot_file_name(SnapshotId{42, 3}), "00000000000000000042-0000000003.checkpoint");
  auto id = parse_snapshot_file_name("00000000000000001234-0000000017.checkpoint");
  ASSERT_TRUE(id);
  EXPECT_EQ(*id, (SnapshotId{1234, 17}));
  EXPECT_FALSE(parse_snapshot_file_name("00000000000000001234-0000000017.checkpoint.part"));
  EXPECT_FALSE(parse_snapshot_file_name("0000000000000000123x-0000000017.checkpoint"));
  EXPECT_FALSE(parse_snapshot_file_name("bootstrap.checkpoint"));
}

TEST(Snapshot, WriteReadRoundTrip) {
  auto dir = temp_dir("snap");
  SnapshotWriter w(SnapshotId{100, 4}, 123456, 999);
  w.append({{1, 2, 3}, {4}});
  w.append({{5}});
  auto path = w.write(dir);
  EXPECT_EQ(path.filename(), "00000000000000000100-0000000004.checkpoint");
  auto c = read_snapshot(path);
  EXPECT_TRUE(c.has_header);
  EXPECT_TRUE(c.has_footer);
  EXPECT_EQ(c.last_contained_log_timestamp, 123456);
  EXPECT_FALSE(c.kraft_version);
  ASSERT_EQ(c.batches.size(), 2u);
  EXPECT_EQ(c.batches[0].records, (std::vector<std::vector<uint8_t>>{{1, 2, 3}, {4}}));
  EXPECT_EQ(c.batches[1].records, (std::vector<std::vector<uint8_t>>{{5}}));
  EXPECT_EQ(c.batches[0].epoch, 4);
  EXPECT_EQ(c.batches[0].base_offset, 1);  // after the header record
  // Whole v2 batches with correct CRCs: control, data, data, control.
  auto bytes = w.finish();
  std::vector<records::BatchHeader> headers;
  size_t total = 0;
  records::for_each_batch(std::span<const uint8_t>(bytes), [&](const records::BatchHeader& h, std::span<const uint8_t> b) {
    headers.push_back(h);
    total += b.size();
    EXPECT_EQ(h.magic, 2);
    EXPECT_EQ(h.crc, crc32c(b.data() + 21, b.size() - 21));
  });
  EXPECT_EQ(total, bytes.size());
  ASSERT_EQ(headers.size(), 4u);
  EXPECT_TRUE(headers.front().is_control());
  EXPECT_FALSE(headers[1].is_control());
  EXPECT_TRUE(headers.back().is_control());
  EXPECT_EQ(headers.back().base_offset, 4);
  std::filesystem::remove_all(dir);
}

TEST(Snapshot, StandaloneBootstrapVoters) {
  auto dir = temp_dir("standalone") / "__cluster_metadata-0";
  EXPECT_FALSE(read_bootstrap_voters(dir));
  Voter self;
  self.id = 1;
  self.directory_id = *Uuid::parse("J8aAPcfLQt2bqs1JT_rMgQ");
  self.endpoints = {VoterEndpoint{"CONTROLLER", "localhost", 9093}};
  auto p = write_standalone_checkpoint(dir, self, 1000);
  EXPECT_EQ(p.filename(), "00000000000000000000-0000000000.checkpoint");
  auto voters = read_bootstrap_voters(dir);
  ASSERT_TRUE(voters);
  ASSERT_EQ(voters->size(), 1u);
  EXPECT_EQ((*voters)[0], self);
  auto c = read_snapshot(p);
  ASSERT_TRUE(c.kraft_version);
  EXPECT_EQ(*c.kraft_version, 1);
  EXPECT_TRUE(c.batches.empty());
  std::filesystem::remove_all(dir.parent_path());
}

TEST(LogView, EndOffsetForEpochAndTruncation) {
  LogView v;
  v.reset(0, 0, 0, {});
  EXPECT_EQ(v.end_offset_for_epoch(3), (OffsetAndEpoch{0, 0}));
  v.append(1, 0, 3);
  v.append(1, 3, 5);
  v.append(3, 5, 9);
  EXPECT_EQ(v.epochs().size(), 2u);
  EXPECT_EQ(v.last_epoch(), 3);
  EXPECT_EQ(v.end_offset_for_epoch(1), (OffsetAndEpoch{5, 1}));
  EXPECT_EQ(v.end_offset_for_epoch(2), (OffsetAndEpoch{5, 1}));
  EXPECT_EQ(v.end_offset_for_epoch(3), (OffsetAndEpoch{9, 3}));
  EXPECT_EQ(v.end_offset_for_epoch(7), (OffsetAndEpoch{9, 3}));
  EXPECT_EQ(v.end_offset_for_epoch(0), (OffsetAndEpoch{0, 0}));
  v.on_flushed(7);
  v.truncate_to(5);
  EXPECT_EQ(v.end_offset(), 5);
  EXPECT_EQ(v.flushed_offset(), 5);
  EXPECT_EQ(v.last_epoch(), 1);
}

TEST(BatchAccumulator, AtomicAppendsAndSizeLimit) {
  BatchAccumulator acc(2, 10, 200, 25);
  EXPECT_EQ(acc.append({std::vector<uint8_t>(50, 1)}, 0), 10);
  EXPECT_EQ(acc.append({std::vector<uint8_t>(50, 2), std::vector<uint8_t>(50, 3)}, 1), 12);  // exceeds 200: new batch
  EXPECT_EQ(acc.linger_deadline_ms(), std::optional<int64_t>(0));  // a completed batch is due at once
  auto bs = acc.drain();
  ASSERT_EQ(bs.size(), 2u);
  EXPECT_EQ(bs[0].base_offset, 10);
  EXPECT_EQ(bs[0].last_offset, 10);
  EXPECT_EQ(bs[1].base_offset, 11);
  EXPECT_EQ(bs[1].last_offset, 12);
  EXPECT_TRUE(acc.empty());
  EXPECT_EQ(acc.append_control({{{0, 0, 0, 2}, {1}}}, 5), 13);
  auto cs = acc.drain();
  ASSERT_EQ(cs.size(), 1u);
  EXPECT_TRUE(cs[0].is_control);
  records::BatchHeader h;
  ASSERT_TRUE(records::parse_header(std::span<const uint8_t>(*cs[0].bytes), h));
  EXPECT_TRUE(h.is_control());
  EXPECT_EQ(h.partition_leader_epoch, 2);
  EXPECT_EQ(h.base_offset, 13);
}
