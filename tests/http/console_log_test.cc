// MetadataLogTimeline (http/console_log.h): the console's metadata-log reader
// over segment files written here -- incremental reads, NO_OP_RECORDs counted
// but not kept, a torn tail waited for, a deleted segment skipped, filtering,
// paging and the entry bound; and a leader-change control record decoded.
#include "http/console_log.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <fstream>

#include "common/bytes.h"
#include "protocol/metadata_record.h"
#include "protocol/record_batch.h"

namespace flotilla::http::console_log_test {
namespace {

namespace fs = std::filesystem;

struct Dir {
  fs::path path = fs::temp_directory_path() / ("console_log_test-" + std::to_string(::getpid()) + "-" +
                                               ::testing::UnitTest::GetInstance()->current_test_info()->name());
  Dir() {
    fs::remove_all(path);
    fs::create_directories(path);
  }
  ~Dir() { fs::remove_all(path); }
  fs::path segment(int64_t base) const {
    char name[32];
    std::snprintf(name, sizeof name, "%020lld.log", static_cast<long long>(base));
    return path / name;
  }
};

void append(const fs::path& p, const std::vector<uint8_t>& bytes) {
  std::ofstream f(p, std::ios::binary | std::ios::app);
  f.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
}

std::vector<uint8_t> topic_batch(int64_t base, const std::string& name, int noops = 0) {
  records::BatchBuilder b(records::Compression::NONE, base);
  b.set_partition_leader_epoch(3);
  msg::TopicRecord t;
  t.name = name;
  t.topic_id = Uuid{1, static_cast<uint64_t>(base + 1)};
  b.add(1700000000000 + base, std::nullopt, protocol::frame_metadata_record(t, 0));
  for (int i = 0; i < noops; ++i) b.add(1700000000000 + base, std::nullopt, protocol::frame_metadata_record(msg::NoOpRecord{}, 0));
  return b.build();
}

std::vector<uint8_t> fence_batch(int64_t base, int32_t broker) {
  records::BatchBuilder b(records::Compression::NONE, base);
  msg::PartitionChangeRecord c;
  c.partition_id = 0;
  c.topic_id = Uuid{1, 2};
  c.leader = 7;
  b.add(1, std::nullopt, protocol::frame_metadata_record(c, 0));
  msg::BrokerRegistrationChangeRecord f;
  f.broker_id = broker;
  f.broker_epoch = 5;
  f.fenced = 1;
  b.add(1, std::nullopt, protocol::frame_metadata_record(f, 0));
  return b.build();
}

TEST(ConsoleLog, ReadsIncrementallyAndCountsNoOps) {
  Dir d;
  append(d.segment(0), topic_batch(0, "a", 2));  // offsets 0..2
  MetadataLogTimeline t(d.path.string());
  t.refresh();
  auto p = t.query({}, -1, 100);
  ASSERT_EQ(p.entries.size(), 1u);
  EXPECT_EQ(p.entries[0].type, "TOPIC_RECORD");
  EXPECT_EQ(p.entries[0].epoch, 3);
  EXPECT_EQ(p.entries[0].timestamp, 1700000000000);
  EXPECT_EQ(p.entries[0].data["name"], "a");
  EXPECT_EQ(p.counts["NO_OP_RECORD"], 2);
  EXPECT_EQ(p.next_offset, 3);

  // A torn batch at the tail waits; once whole it is read, and nothing twice.
  auto more = fence_batch(3, 9);
  append(d.segment(0), std::vector<uint8_t>(more.begin(), more.begin() + 30));
  t.refresh();
  EXPECT_EQ(t.query({}, -1, 100).entries.size(), 1u);
  append(d.segment(0), std::vector<uint8_t>(more.begin() + 30, more.end()));
  t.refresh();
  t.refresh();
  p = t.query({}, -1, 100);
  ASSERT_EQ(p.entries.size(), 3u);
  EXPECT_EQ(p.entries[0].offset, 4);  // newest first
  EXPECT_EQ(p.entries[0].type, "BROKER_REGISTRATION_CHANGE_RECORD");
  EXPECT_EQ(p.entries[0].data["fenced"], 1);
  EXPECT_EQ(p.entries[0].batch, 3);
  EXPECT_EQ(p.entries[1].type, "PARTITION_CHANGE_RECORD");
  EXPECT_EQ(p.next_offset, 5);
}

TEST(ConsoleLog, ZeroTailNewSegmentsAndDeletedSegments) {
  Dir d;
  append(d.segment(0), topic_batch(0, "a"));
  append(d.segment(0), std::vector<uint8_t>(4096, 0));  // preallocated tail
  MetadataLogTimeline t(d.path.string());
  t.refresh();
  append(d.segment(1), topic_batch(1, "b"));
  t.refresh();
  EXPECT_EQ(t.query({}, -1, 100).entries.size(), 2u);
  fs::remove(d.segment(0));  // the cleaner: no error, what was read stays
  append(d.segment(1), topic_batch(2, "c"));
  t.refresh();
  auto p = t.query({}, -1, 100);
  ASSERT_EQ(p.entries.size(), 3u);
  EXPECT_EQ(p.entries[0].data["name"], "c");
}

TEST(ConsoleLog, FiltersPagesAndStaysBounded) {
  Dir d;
  for (int64_t o = 0; o < 20; o += 2) append(d.segment(0), topic_batch(o, "t" + std::to_string(o), 1));
  MetadataLogTimeline t(d.path.string(), 4);
  t.refresh();
  auto p = t.query({}, -1, 100);
  ASSERT_EQ(p.entries.size(), 4u);  // the bound: the newest 4
  EXPECT_EQ(p.cached_from, 12);
  EXPECT_EQ(p.counts["TOPIC_RECORD"], 10);
  p = t.query({"TOPIC_RECORD"}, -1, 2);
  ASSERT_EQ(p.entries.size(), 2u);
  EXPECT_EQ(p.entries[0].offset, 18);
  EXPECT_EQ(p.next_before, 16);
  p = t.query({"TOPIC_RECORD"}, p.next_before, 2);
  ASSERT_EQ(p.entries.size(), 2u);
  EXPECT_EQ(p.entries[0].offset, 14);
  EXPECT_TRUE(t.query({"NO_SUCH_TYPE"}, -1, 10).entries.empty());
}

TEST(ConsoleLog, LeaderChangeControlRecord) {
  Dir d;
  records::BatchBuilder b(records::Compression::NONE, 0);
  b.set_control(true);
  b.set_partition_leader_epoch(2);
  ByteWriter key;
  key.put_i16(0);
  key.put_i16(2);  // LEADER_CHANGE
  msg::LeaderChangeMessage m;
  m.leader_id = 3;
  m.voters.emplace_back().voter_id = 3;
  ByteWriter value;
  m.encode(value, 0);
  b.add(5, key.buffer(), value.buffer());
  append(d.segment(0), b.build());
  MetadataLogTimeline t(d.path.string());
  t.refresh();
  auto p = t.query({"LEADER_CHANGE"}, -1, 10);
  ASSERT_EQ(p.entries.size(), 1u);
  EXPECT_TRUE(p.entries[0].control);
  EXPECT_EQ(p.entries[0].data["leaderId"], 3);
  EXPECT_EQ(p.entries[0].epoch, 2);
}

TEST(ConsoleLog, MissingDirectoryIsEmpty) {
  MetadataLogTimeline t("/nonexistent/console-log-test");
  t.refresh();
  auto p = t.query({}, -1, 10);
  EXPECT_TRUE(p.entries.empty());
  EXPECT_EQ(p.next_offset, 0);
}

}  // namespace
}  // namespace flotilla::http::console_log_test
