#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <thread>

#include "log_helpers.h"
#include "protocol/record_batch.h"
#include "read_all.h"
#include "temp_dir.h"
#include "storage/checkpoints.h"
#include "storage/leader_epoch_cache.h"
#include "storage/log.h"
#include "storage/log_files.h"
#include "storage/log_manager.h"
#include "storage/meta_properties.h"

using namespace flotilla;
using namespace flotilla::storage;
using namespace flotilla::storage::testing;
namespace fs = std::filesystem;

namespace {

std::vector<uint8_t> batch(int records, int64_t ts = 1000, size_t value_size = 10) {
  records::BatchBuilder b;
  std::vector<uint8_t> v(value_size, 'v');
  for (int i = 0; i < records; ++i) b.add(ts + i, std::nullopt, std::span<const uint8_t>(v));
  return b.build();
}

// (base offset, last offset) of the batches a read returned.
std::vector<std::pair<int64_t, int64_t>> batches_of(const ReadResult& rr) {
  std::vector<std::pair<int64_t, int64_t>> out;
  auto b = bytes_of(rr.records);
  records::for_each_batch(b, [&](const records::BatchHeader& h, std::span<const uint8_t>) { out.emplace_back(h.base_offset, h.last_offset()); });
  return out;
}

LogConfig small_segments(int64_t bytes) {
  LogConfig c;
  c.segment_bytes = bytes;
  c.index_interval_bytes = 100;
  return c;
}

}  // namespace

TEST(Log, AppendAssignsOffsetsAndReadsBackWholeBatches) {
  TempDir d;
  auto log = Log::open(d.path / "t-0", LogConfig{}, Uuid{1, 2});
  EXPECT_EQ(append(*log, batch(3)).first_offset, 0);
  EXPECT_EQ(append(*log, batch(2)).first_offset, 3);
  EXPECT_EQ(log->log_end_offset(), 5);
  for (int64_t off = 0; off < 5; ++off) {
    auto rr = log->read(off, 1 << 20, 5, true);
    auto bs = batches_of(rr);
    ASSERT_FALSE(bs.empty());
    EXPECT_LE(bs[0].first, off);
    EXPECT_GE(bs[0].second, off);
  }
  EXPECT_EQ(batches_of(log->read(0, 1 << 20, 5, true)).size(), 2u);
  EXPECT_EQ(batches_of(log->read(0, 1 << 20, 3, true)).size(), 1u);  // the high watermark caps the read
  EXPECT_TRUE(log->read(5, 1 << 20, 5, true).records.files.empty());
  EXPECT_THROW(log->read(6, 100, 10, true), OffsetOutOfRange);
  // min_one: a budget smaller than a batch still returns one whole batch.
  EXPECT_EQ(batches_of(log->read(0, 1, 5, true)).size(), 1u);
  EXPECT_TRUE(batches_of(log->read(0, 1, 5, false)).empty());
  // Read bytes are the stored batches with assigned offsets and valid CRCs.
  auto all = bytes_of(log->read(0, 1 << 20, 5, true).records);
  EXPECT_EQ(records::validate_batches(all, 1 << 30).error, ErrorCode::NONE);
  EXPECT_TRUE(fs::exists(d.path / "t-0" / "00000000000000000000.log"));
  EXPECT_TRUE(fs::exists(d.path / "t-0" / "00000000000000000000.index"));
  EXPECT_TRUE(fs::exists(d.path / "t-0" / "00000000000000000000.timeindex"));
  std::ifstream pm(d.path / "t-0" / "partition.metadata");
  std::string text((std::istreambuf_iterator<char>(pm)), {});
  EXPECT_EQ(text, "version: 0\ntopic_id: " + Uuid({1, 2}).to_string() + "\n");
}

TEST(Log, RollsBySizeAndReadsAcrossSegments) {
  TempDir d;
  auto log = Log::open(d.path / "t-0", small_segments(1000), Uuid{1, 2});
  for (int i = 0; i < 50; ++i) append(*log, batch(2, 1000 + i, 50));
  EXPECT_GT(log->segment_count(), 5);
  EXPECT_EQ(log->log_end_offset(), 100);
  // Every offset is found, and a big read spans segments contiguously.
  for (int64_t off = 0; off < 100; off += 3) {
    auto bs = batches_of(log->read(off, 1 << 20, 100, true));
    ASSERT_FALSE(bs.empty()) << off;
    EXPECT_EQ(bs[0].first, off - off % 2);
  }
  auto bs = batches_of(log->read(0, 1 << 20, 100, true));
  ASSERT_EQ(bs.size(), 50u);
  for (size_t i = 0; i < bs.size(); ++i) EXPECT_EQ(bs[i].first, static_cast<int64_t>(2 * i));
  // max_bytes limits to whole batches.
  auto one = log->read(0, 250, 100, true);
  EXPECT_LE(one.records.size(), 250);
  EXPECT_GE(batches_of(one).size(), 1u);
  bool twenty_digit = false;
  for (const auto& e : fs::directory_iterator(d.path / "t-0"))
    if (e.path().extension() == ".log") twenty_digit = e.path().stem().string().size() == 20;
  EXPECT_TRUE(twenty_digit);
}

// The scrape's gauges follow every change: appends, rolls, retention, the
// log start offset, truncation, a full truncation, a reopen.
TEST(Log, ItsGaugesFollowEveryChange) {
  TempDir d;
  LogConfig c = small_segments(300);
  c.retention_bytes = 1000;
  auto log = Log::open(d.path / "t-0", c, Uuid{1, 2});
  expect_gauges_match(*log, "empty");
  for (int i = 0; i < 40; ++i) {
    append(*log, batch(1, 1000 + i, 50));
    expect_gauges_match(*log, "append");
  }
  EXPECT_GT(log->gauges()->segments.load(), 3);
  EXPECT_GT(log->apply_retention(2000), 0);
  expect_gauges_match(*log, "retention");
  log->set_log_start_offset(log->log_start_offset() + 3);
  expect_gauges_match(*log, "log start offset");
  log->truncate_to(log->log_end_offset() - 5);
  expect_gauges_match(*log, "truncation");
  log->roll();
  append(*log, batch(2));
  expect_gauges_match(*log, "roll");
  const auto kept = log->gauges();
  log->close();
  log = Log::open(d.path / "t-0", c, Uuid{1, 2});
  expect_gauges_match(*log, "reopened");
  EXPECT_EQ(log->gauges()->size_bytes.load(), kept->size_bytes.load());
  log->truncate_fully_and_start_at(500);
  expect_gauges_match(*log, "full truncation");
  EXPECT_EQ(log->gauges()->log_start_offset.load(), 500);
  auto own = std::make_shared<LogGauges>();  // a partition's, which its log publishes into
  log->share_gauges(own);
  EXPECT_EQ(own->log_start_offset.load(), 500) << "republished at once";
  append(*log, batch(2));
  EXPECT_EQ(own->log_end_offset.load(), 502);
  expect_gauges_match(*log, "shared");
  EXPECT_EQ(kept->log_end_offset.load(), 37) << "a held gauge outlives its log";
}

TEST(Log, OffsetForTimestampAndMaxTimestamp) {
  TempDir d;
  auto log = Log::open(d.path / "t-0", small_segments(500), Uuid{1, 2});
  for (int i = 0; i < 20; ++i) append(*log, batch(1, 1000 * (i + 1)));
  auto f = log->offset_for_timestamp(5500);
  ASSERT_TRUE(f.has_value());
  EXPECT_EQ(f->first, 5);
  EXPECT_EQ(f->second, 6000);
  EXPECT_FALSE(log->offset_for_timestamp(999999).has_value());
  EXPECT_EQ(log->offset_for_timestamp(0)->first, 0);
  auto m = log->max_timestamp_and_offset();
  ASSERT_TRUE(m.has_value());
  EXPECT_EQ(m->first, 20000);
  EXPECT_EQ(m->second, 19);
}

TEST(Log, RetentionByBytesAndTime) {
  TempDir d;
  LogConfig c = small_segments(300);
  c.retention_bytes = 1000;
  auto log = Log::open(d.path / "t-0", c, Uuid{1, 2});
  for (int i = 0; i < 40; ++i) append(*log, batch(1, 1000 + i, 50));
  int before = log->segment_count();
  EXPECT_GT(log->apply_retention(2000), 0);
  EXPECT_LT(log->segment_count(), before);
  EXPECT_GT(log->log_start_offset(), 0);
  EXPECT_LE(log->size_bytes(), 1000 + 300);
  EXPECT_THROW(log->read(0, 100, 40, true), OffsetOutOfRange);
  // By time: every closed segment is older than retention.ms.
  LogConfig t = small_segments(300);
  t.retention_ms = 10;
  auto log2 = Log::open(d.path / "u-0", t, Uuid{1, 3});
  for (int i = 0; i < 20; ++i) append(*log2, batch(1, 1000 + i, 50));
  log2->apply_retention(1000000);
  EXPECT_EQ(log2->segment_count(), 1);
  EXPECT_EQ(log2->log_end_offset(), 20);
}

TEST(Log, RecoveryTruncatesATornTail) {
  TempDir d;
  {
    auto log = Log::open(d.path / "t-0", LogConfig{}, Uuid{1, 2});
    for (int i = 0; i < 10; ++i) append(*log, batch(2));
  }
  auto seg = d.path / "t-0" / "00000000000000000000.log";
  fs::resize_file(seg, fs::file_size(seg) - 5);
  auto log = Log::open(d.path / "t-0", LogConfig{}, Uuid{1, 2});
  EXPECT_EQ(log->log_end_offset(), 18);
  EXPECT_EQ(append(*log, batch(1)).first_offset, 18);
  EXPECT_EQ(batches_of(log->read(0, 1 << 20, 19, true)).size(), 10u);
}

TEST(Log, RecoveryTruncatesAtACorruptBatch) {
  TempDir d;
  std::vector<uint8_t> b = batch(1);
  {
    auto log = Log::open(d.path / "t-0", LogConfig{}, Uuid{1, 2});
    for (int i = 0; i < 10; ++i) append(*log, batch(1));
  }
  auto seg = d.path / "t-0" / "00000000000000000000.log";
  {
    std::fstream f(seg, std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(static_cast<long>(b.size() * 6 + 70));  // inside the 7th batch's records
    f.put('X');
  }
  auto log = Log::open(d.path / "t-0", LogConfig{}, Uuid{1, 2});
  EXPECT_EQ(log->log_end_offset(), 6);
  EXPECT_EQ(fs::file_size(seg), b.size() * 6);
}

TEST(Log, TruncateToAndAppendAsFollower) {
  TempDir d;
  auto log = Log::open(d.path / "t-0", small_segments(400), Uuid{1, 2});
  for (int i = 0; i < 20; ++i) append(*log, batch(2, 1000, 40));
  log->truncate_to(13);  // the batch 12-13 straddles: it goes
  EXPECT_EQ(log->log_end_offset(), 12);
  auto b = batch(3);
  store_be64(b.data(), 12);
  EXPECT_EQ(log->append_as_follower(b).last_offset, 14);
  auto bad = batch(1);
  store_be64(bad.data(), 99);
  EXPECT_THROW(log->append_as_follower(bad), StorageError);
  EXPECT_EQ(batches_of(log->read(10, 1 << 20, 15, true)).back().second, 14);
  log->truncate_fully_and_start_at(100);
  EXPECT_EQ(log->log_start_offset(), 100);
  EXPECT_EQ(log->log_end_offset(), 100);
  EXPECT_EQ(append(*log, batch(1)).first_offset, 100);
}

TEST(Log, FlushFromAnotherThreadWhileAppending) {
  TempDir d;
  auto log = Log::open(d.path / "t-0", small_segments(2000), Uuid{1, 2});
  std::atomic<bool> stop{false};
  std::thread flusher([&] {
    while (!stop) log->flush(log->log_end_offset());
  });
  for (int i = 0; i < 300; ++i) append(*log, batch(1, 1000, 30));
  stop = true;
  flusher.join();
  log->flush(log->log_end_offset());
  EXPECT_EQ(log->flushed_offset(), 300);
}

TEST(Checkpoints, ExactTextAndRoundTrip) {
  TempDir d;
  TopicPartitionOffsets o = {{{"a", 0}, 5}, {{"b-c", 3}, 7}};
  write_offset_checkpoint(d.path / "recovery-point-offset-checkpoint", o);
  std::ifstream f(d.path / "recovery-point-offset-checkpoint");
  std::string text((std::istreambuf_iterator<char>(f)), {});
  EXPECT_EQ(text, "0\n2\na 0 5\nb-c 3 7\n");
  EXPECT_EQ(read_offset_checkpoint(d.path / "recovery-point-offset-checkpoint"), o);
  EXPECT_TRUE(read_offset_checkpoint(d.path / "missing").empty());
}

TEST(MetaProperties, RoundTrip) {
  TempDir d;
  MetaProperties mp{1, "abcdefghijklmnopqrstuv", 3, "AAAAAAAAAAAAAAAAAAAAAQ"};
  write_meta_properties(d.path / "meta.properties", mp);
  auto back = read_meta_properties(d.path / "meta.properties");
  EXPECT_EQ(back.version, 1);
  EXPECT_EQ(back.cluster_id, mp.cluster_id);
  EXPECT_EQ(back.node_id, 3);
  EXPECT_EQ(back.directory_id, mp.directory_id);
  EXPECT_THROW(read_meta_properties(d.path / "nope"), std::runtime_error);
}

TEST(LogManager, ReopensPartitionsAndSkipsTheMetadataLog) {
  TempDir d;
  {
    LogManager m({d.path.string()}, LogConfig{});
    Log* l = m.get_or_create("my-topic", 3, Uuid{4, 5}, LogConfig{});
    append(*l, batch(4));
    fs::create_directories(d.path / "__cluster_metadata-0");
    m.close_all();
  }
  LogManager m({d.path.string()}, LogConfig{});
  Log* l = m.get("my-topic", 3);
  ASSERT_NE(l, nullptr);
  EXPECT_EQ(l->log_end_offset(), 4);
  EXPECT_EQ(l->topic_id(), Uuid({4, 5}));
  EXPECT_EQ(m.get("__cluster_metadata", 0), nullptr);
  EXPECT_EQ(m.all().size(), 1u);
  m.remove("my-topic", 3);
  EXPECT_FALSE(fs::exists(d.path / "my-topic-3"));
}

// A clean shutdown leaves Kafka's `.kafka_cleanshutdown` marker; the next
// start trusts the flushed logs (no CRC read of their data) and removes the
// marker at once, so that after a crash the tail is checked again.
TEST(LogManager, ACleanShutdownSkipsTheCrcChecksOnceACrashDoesNot) {
  TempDir d;
  const fs::path marker = d.path / ".kafka_cleanshutdown";
  const fs::path seg = d.path / "t-0" / "00000000000000000000.log";
  const size_t batch_size = batch(1).size();
  {
    LogManager m({d.path.string()}, LogConfig{});
    Log* l = m.get_or_create("t", 0, Uuid{4, 5}, LogConfig{});
    for (int i = 0; i < 10; ++i) append(*l, batch(1));
    EXPECT_FALSE(fs::exists(marker));
    m.close_all();
    EXPECT_TRUE(fs::exists(marker));
  }
  {
    std::fstream f(seg, std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(static_cast<long>(batch_size * 6 + 70));  // inside the 7th batch's records
    f.put('X');
  }
  {
    LogManager m({d.path.string()}, LogConfig{});
    EXPECT_FALSE(fs::exists(marker)) << "the marker must go before anything is appended";
    ASSERT_NE(m.get("t", 0), nullptr);
    EXPECT_EQ(m.get("t", 0)->log_end_offset(), 10);  // as Kafka: a clean log is not recovered
    m.close_all();
  }
  fs::remove(marker);  // as if the process had died instead of shutting down
  LogManager m({d.path.string()}, LogConfig{});
  EXPECT_EQ(m.get("t", 0)->log_end_offset(), 6);
  EXPECT_EQ(fs::file_size(seg), batch_size * 6);
}

static std::vector<uint8_t> whole_file(const fs::path& p) {
  std::ifstream f(p, std::ios::binary);
  return std::vector<uint8_t>((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
}

// After a clean shutdown a log's index files are trusted when their sizes
// match what the walk of its batches finds, and rewritten when they do not;
// after a crash they are always rewritten from the walk.
TEST(Log, ACleanLoadChecksTheIndexFilesBySizeAndRewritesOnesThatDiffer) {
  TempDir d;
  const fs::path dir = d.path / "t-0";
  const fs::path index = dir / "00000000000000000000.index";
  const fs::path time_index = dir / "00000000000000000000.timeindex";
  LogConfig c = small_segments(1 << 20);  // an index entry every 100 bytes
  std::vector<uint8_t> written_index, written_time_index;
  {
    auto log = Log::open(dir, c, Uuid{1, 2});
    for (int i = 0; i < 20; ++i) append(*log, batch(2, 1000 + 10 * i, 100));
    log->close();
  }
  written_index = whole_file(index);
  written_time_index = whole_file(time_index);
  ASSERT_GT(written_index.size(), 0u);
  ASSERT_GT(written_time_index.size(), 0u);
  {
    // As written: left as they are (the load does not write them).
    const auto before = fs::last_write_time(index);
    auto log = Log::open(dir, c, Uuid{1, 2}, 0, /*clean_shutdown=*/true);
    EXPECT_EQ(log->log_end_offset(), 40);
    EXPECT_EQ(fs::last_write_time(index), before);
    log->close();
  }
  // Cut short, and one extended with a stale entry: both rewritten from the walk.
  fs::resize_file(index, 8);
  {
    std::ofstream f(time_index, std::ios::binary | std::ios::app);
    f << std::string(12, '\x7f');
  }
  {
    auto log = Log::open(dir, c, Uuid{1, 2}, 0, /*clean_shutdown=*/true);
    EXPECT_EQ(log->log_end_offset(), 40);
    EXPECT_EQ(whole_file(index), written_index);
    EXPECT_EQ(whole_file(time_index), written_time_index);
    // Appends go on writing them where the walk's entries end.
    append(*log, batch(2, 2000, 100));
    log->close();
  }
  EXPECT_GT(whole_file(index).size(), written_index.size());
  // A missing index file after a clean shutdown: built again.
  fs::remove(index);
  {
    auto log = Log::open(dir, c, Uuid{1, 2}, 0, /*clean_shutdown=*/true);
    EXPECT_EQ(log->log_end_offset(), 42);
    log->close();
  }
  EXPECT_GT(whole_file(index).size(), written_index.size());
}

// The small files a load reads (partition.metadata, leader-epoch-checkpoint)
// are read up to a bound: one grown huge costs bounded memory and is rejected
// by its parser (an epoch cache starts empty), not loaded whole.
TEST(Log, AnOversizedEpochCheckpointIsReadBoundedAndIgnored) {
  TempDir d;
  const fs::path dir = d.path / "t-0";
  {
    auto log = Log::open(dir, LogConfig{}, Uuid{1, 2});
    append(*log, batch(1));
    log->close();
  }
  {
    std::ofstream f(dir / LeaderEpochCache::kFileName, std::ios::binary | std::ios::trunc);
    f << "0\n200000\n";
    for (int i = 0; i < 200000; ++i) f << i << " " << i << "\n";  // ~2.2 MB
  }
  ASSERT_GT(fs::file_size(dir / LeaderEpochCache::kFileName), 2 * kMaxSmallFileBytes);
  auto log = Log::open(dir, LogConfig{}, Uuid{1, 2}, 0, /*clean_shutdown=*/true);
  auto content = log->take_loaded_epoch_checkpoint();
  ASSERT_TRUE(content.has_value());
  EXPECT_LE(content->size(), kMaxSmallFileBytes + 4096);
  EXPECT_TRUE(LeaderEpochCache(dir, content).entries().empty());
  EXPECT_TRUE(LeaderEpochCache(dir).entries().empty());  // read from the file: the same bound
  EXPECT_EQ(log->log_end_offset(), 1);
  log->close();
}

TEST(Log, PreallocatedSegmentsSurviveCrashRollAndClose) {
  TempDir d;
  LogConfig c = small_segments(64 << 10);
  c.preallocate = true;
  auto seg0 = d.path / "t-0" / "00000000000000000000.log";
  {
    auto log = Log::open(d.path / "t-0", c, Uuid{1, 2});
    for (int i = 0; i < 10; ++i) append(*log, batch(2, 1000 + i, 100));
    log->flush(log->log_end_offset());
    // The file is allocated ahead of the data.
    EXPECT_GT(static_cast<int64_t>(fs::file_size(seg0)), log->size_bytes());
    // A crash now: the copy of the directory has a zero tail.
    fs::copy(d.path / "t-0", d.path / "c-0", fs::copy_options::recursive);
  }
  {
    auto crashed = Log::open(d.path / "c-0", c, Uuid{1, 2});
    EXPECT_EQ(crashed->log_end_offset(), 20);
    EXPECT_EQ(batches_of(crashed->read(0, 1 << 20, 20, true)).size(), 10u);
    EXPECT_EQ(append(*crashed, batch(1)).first_offset, 20);
    // Rolling trims the old segment to its data; reopening finds every batch.
    for (int i = 0; i < 400; ++i) append(*crashed, batch(2, 2000 + i, 100));
    EXPECT_GT(crashed->segment_count(), 1);
  }
  auto reopened = Log::open(d.path / "c-0", c, Uuid{1, 2});
  EXPECT_EQ(reopened->log_end_offset(), 821);
  EXPECT_EQ(batches_of(reopened->read(0, 1 << 30, 821, true)).size(), 411u);
  // A clean close left no zeros behind the last batch of any segment.
  int64_t total = 0;
  for (const auto& e : fs::directory_iterator(d.path / "c-0"))
    if (e.path().extension() == ".log") total += static_cast<int64_t>(fs::file_size(e.path()));
  EXPECT_EQ(total, reopened->size_bytes());
}
