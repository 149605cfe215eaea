#include "log_helpers.h"
#include "read_all.h"
#include "temp_dir.h"
#include "storage/log_cleaner.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <map>

#include "common/clock.h"
#include "common/crc32c.h"
#include "protocol/record_batch.h"
#include "storage/checkpoints.h"
#include "storage/log.h"

using namespace flotilla;
using namespace flotilla::storage;
namespace fs = std::filesystem;
using flotilla::storage::testing::bytes_of;
using flotilla::storage::testing::expect_gauges_match;
using flotilla::storage::testing::read_all;
using flotilla::storage::testing::Seen;
using flotilla::storage::testing::sp;
using flotilla::storage::testing::str;
using flotilla::storage::testing::TempDir;

namespace {

// One batch of (key, value) records; a value "" with tomb=true is a tombstone.
struct KV {
  std::string key;
  std::optional<std::string> value;
};
std::vector<uint8_t> batch(const std::vector<KV>& kvs, records::Compression c = records::Compression::NONE, int64_t ts = 0,
                           int64_t pid = -1) {
  records::BatchBuilder b(c);
  if (pid >= 0) b.set_producer(pid, 0, 0);
  if (ts == 0) ts = wall_clock_ms();
  for (const auto& kv : kvs) {
    std::optional<std::span<const uint8_t>> v;
    if (kv.value) v = sp(*kv.value);
    b.add(ts, sp(kv.key), v);
  }
  return b.build();
}

void append(Log& log, std::vector<uint8_t> b) {
  auto v = records::validate_batches(b, 1 << 30);
  ASSERT_EQ(v.error, ErrorCode::NONE) << v.message;
  log.append(b, v, 0);
  log.set_cleanable_limit(log.log_end_offset());
}


// Compacting, with a short delete.retention.ms for the tombstone tests.
LogConfig compact_config() {
  LogConfig c = flotilla::storage::testing::compact_config();
  c.delete_retention_ms = 1000;
  return c;
}

struct Fixture {
  TempDir d;
  int64_t now = wall_clock_ms();
  std::unique_ptr<Log> log;
  std::unique_ptr<LogCleaner> cleaner;
  explicit Fixture(LogConfig c = compact_config()) {
    log = Log::open(d.path / "t-0", c, Uuid{1, 2});
    CleanerConfig cc;
    cc.clock = [this] { return now; };
    cleaner = std::make_unique<LogCleaner>(cc);
    cleaner->add_log("t", 0, log.get());
  }
  ~Fixture() { cleaner->remove_log(log.get()); }
  // Values "k<i % keys>" = "v<i>", one record a batch, a new segment every `per_segment`.
  void fill(int n, int keys, int per_segment) {
    for (int i = 0; i < n; ++i) {
      if (i > 0 && i % per_segment == 0) log->roll();
      append(*log, batch({{"k" + std::to_string(i % keys), "v" + std::to_string(i)}}));
    }
  }
};

}  // namespace

TEST(LogCleaner, KeepsTheLatestValuePerKeyAndOffsets) {
  Fixture f;
  f.fill(100, 5, 10);  // 10 segments; the last (offsets 90-99) is active
  ASSERT_EQ(f.log->segment_count(), 10);
  const int64_t before_cleaning = f.log->gauges()->size_bytes.load();
  ASSERT_TRUE(f.cleaner->clean_once());
  EXPECT_FALSE(f.cleaner->clean_once());  // nothing dirty left
  expect_gauges_match(*f.log, "cleaned");
  EXPECT_LT(f.log->gauges()->size_bytes.load(), before_cleaning);
  EXPECT_EQ(f.cleaner->checkpoint("t", 0), 90);
  auto s = read_all(*f.log);
  // The cleaned part has one value per key (the latest before 90: offsets 85-89),
  // the active segment is untouched (90-99).
  std::vector<int64_t> offsets;
  for (const auto& r : s.records) offsets.push_back(r.offset);
  std::vector<int64_t> want = {85, 86, 87, 88, 89};
  for (int64_t o = 90; o < 100; ++o) want.push_back(o);
  EXPECT_EQ(offsets, want);
  for (const auto& r : s.records) EXPECT_EQ(str(r.value), "v" + std::to_string(r.offset));
  EXPECT_EQ(f.log->log_end_offset(), 100);
  EXPECT_EQ(f.log->log_start_offset(), 0);
  // A read at a removed offset gets the next batch.
  auto rr = f.log->read(3, 1 << 20, 100, true);
  std::vector<int64_t> bases;
  auto b = bytes_of(rr.records);
  records::for_each_batch(b, [&](const records::BatchHeader& h, std::span<const uint8_t>) { bases.push_back(h.base_offset); });
  ASSERT_FALSE(bases.empty());
  EXPECT_EQ(bases[0], 85);
  // Appends go on.
  append(*f.log, batch({{"k0", "new"}}));
  EXPECT_EQ(f.log->log_end_offset(), 101);
  // Files on disk reopen to the same log.
  f.cleaner->remove_log(f.log.get());
  f.log->close();
  f.log = Log::open(f.d.path / "t-0", compact_config(), Uuid{});
  f.cleaner->add_log("t", 0, f.log.get());
  auto s2 = read_all(*f.log);
  EXPECT_EQ(s2.records.size(), want.size() + 1);
  EXPECT_EQ(f.log->log_end_offset(), 101);
  auto cp = read_offset_checkpoint(f.d.path / "cleaner-offset-checkpoint");
  EXPECT_EQ(cp[std::make_pair(std::string("t"), 0)], 90);
}

TEST(LogCleaner, SecondRoundDedupesAgainstTheCleanPart) {
  Fixture f;
  f.fill(40, 4, 10);
  ASSERT_TRUE(f.cleaner->clean_once());
  f.log->roll();
  for (int i = 40; i < 60; ++i) {
    if (i == 50) f.log->roll();
    append(*f.log, batch({{"k" + std::to_string(i % 2), "v" + std::to_string(i)}}));  // only k0, k1
  }
  f.log->roll();
  append(*f.log, batch({{"x", "active"}}));
  ASSERT_TRUE(f.cleaner->clean_once());
  auto s = read_all(*f.log);
  std::map<std::string, std::vector<int64_t>> by_key;
  for (const auto& r : s.records) by_key[str(r.key)].push_back(r.offset);
  EXPECT_EQ(by_key["k0"], std::vector<int64_t>{58});
  EXPECT_EQ(by_key["k1"], std::vector<int64_t>{59});
  EXPECT_EQ(by_key["k2"], std::vector<int64_t>{38});
  EXPECT_EQ(by_key["k3"], std::vector<int64_t>{39});
  EXPECT_EQ(by_key["x"], std::vector<int64_t>{60});
  // Segments were merged into groups (all small): clean part + active.
  EXPECT_LE(f.log->segment_count(), 3);
}

TEST(LogCleaner, RatioBelowThresholdIsNotCleaned) {
  LogConfig c = compact_config();
  c.min_cleanable_dirty_ratio = 0.9;
  Fixture f(c);
  f.fill(40, 4, 10);
  ASSERT_TRUE(f.cleaner->clean_once());  // all dirty: ratio 1
  f.log->roll();
  append(*f.log, batch({{"k0", "a"}}));
  f.log->roll();
  append(*f.log, batch({{"k0", "b"}}));
  EXPECT_FALSE(f.cleaner->clean_once());  // one small dirty segment against the clean ones
}

TEST(LogCleaner, DeletePolicyOnlyIsNeverCleaned) {
  LogConfig c = compact_config();
  c.cleanup_compact = false;
  c.cleanup_delete = true;
  Fixture f(c);
  f.fill(30, 3, 10);
  EXPECT_FALSE(f.cleaner->clean_once());
}

TEST(LogCleaner, CompactOnlyLogIgnoresRetention) {
  LogConfig c = compact_config();
  c.retention_ms = 1;
  Fixture f(c);
  f.fill(30, 3, 10);
  EXPECT_EQ(f.log->apply_retention(wall_clock_ms() + 100000), 0);
  LogConfig both = c;
  both.cleanup_delete = true;
  f.log->set_config(both);
  EXPECT_EQ(f.log->apply_retention(wall_clock_ms() + 100000), 2);
}

TEST(LogCleaner, TombstonesKeptThenRemovedAfterDeleteRetention) {
  Fixture f;
  append(*f.log, batch({{"a", "1"}, {"b", "1"}}));
  append(*f.log, batch({{"a", std::nullopt}}));  // tombstone for a
  f.log->roll();
  append(*f.log, batch({{"c", "1"}}));
  f.log->roll();
  append(*f.log, batch({{"d", "1"}}));  // active
  ASSERT_TRUE(f.cleaner->clean_once());
  auto s = read_all(*f.log);
  std::map<std::string, std::string> kv;
  for (const auto& r : s.records) kv[str(r.key)] = str(r.value);
  ASSERT_TRUE(kv.count("a"));  // the tombstone is kept on the first cleaning
  EXPECT_EQ(kv["a"], "<null>");
  EXPECT_EQ(kv["b"], "1");
  // Make the log dirty again, then clean within delete.retention.ms: still there.
  f.log->roll();
  append(*f.log, batch({{"e", "1"}}));
  f.log->roll();
  append(*f.log, batch({{"f", "1"}}));
  ASSERT_TRUE(f.cleaner->clean_once());
  kv.clear();
  for (const auto& r : read_all(*f.log).records) kv[str(r.key)] = str(r.value);
  EXPECT_TRUE(kv.count("a"));
  // After delete.retention.ms (injected clock), the next cleaning removes it.
  f.now += 10000;
  f.log->roll();
  append(*f.log, batch({{"g", "1"}}));
  ASSERT_TRUE(f.cleaner->clean_once());
  kv.clear();
  for (const auto& r : read_all(*f.log).records) kv[str(r.key)] = str(r.value);
  EXPECT_FALSE(kv.count("a"));
  EXPECT_EQ(kv["b"], "1");
  EXPECT_EQ(kv["c"], "1");
  EXPECT_EQ(kv["e"], "1");
  EXPECT_EQ(kv["g"], "1");
}

TEST(LogCleaner, CompressedBatchesKeepCodecOffsetsAndProducerFields) {
  for (auto codec : {records::Compression::GZIP, records::Compression::LZ4, records::Compression::ZSTD, records::Compression::SNAPPY}) {
    Fixture f;
    append(*f.log, batch({{"a", "1"}, {"b", "1"}, {"c", "1"}, {"a", "2"}}, codec, 0, 77));
    append(*f.log, batch({{"b", "2"}, {"d", "1"}}, codec));
    f.log->roll();
    append(*f.log, batch({{"x", "1"}}));
    ASSERT_TRUE(f.cleaner->clean_once());
    auto s = read_all(*f.log);
    ASSERT_EQ(s.batches.size(), 3u);
    const auto& h = s.batches[0];
    EXPECT_EQ(h.compression(), codec);
    EXPECT_EQ(h.base_offset, 0);
    EXPECT_EQ(h.last_offset_delta, 3);  // the batch's last offset stays
    EXPECT_EQ(h.producer_id, 77);
    EXPECT_EQ(h.records_count, 2);
    std::vector<std::pair<int64_t, std::string>> got;
    for (const auto& r : s.records) got.emplace_back(r.offset, str(r.key) + "=" + str(r.value));
    std::vector<std::pair<int64_t, std::string>> want = {{2, "c=1"}, {3, "a=2"}, {4, "b=2"}, {5, "d=1"}, {6, "x=1"}};
    EXPECT_EQ(got, want) << static_cast<int>(codec);
  }
}

TEST(LogCleaner, ControlBatchesAndKeylessRecords) {
  Fixture f;
  append(*f.log, batch({{"a", "1"}}));
  // A transaction marker (control batch, key = version 0 type 1 COMMIT).
  records::BatchBuilder cb(records::Compression::NONE, f.log->log_end_offset());
  cb.set_control(true);
  cb.set_transactional(true);
  cb.set_producer(5, 0, -1);
  std::vector<uint8_t> key = {0, 0, 0, 1}, value = {0, 0, 0, 0, 0, 0};
  cb.add(wall_clock_ms(), std::span<const uint8_t>(key), std::span<const uint8_t>(value));
  f.log->append_as_follower(cb.build());  // as a follower (or the coordinator) writes markers
  records::BatchBuilder nk;
  std::string v = "nokey";
  nk.add(wall_clock_ms(), std::nullopt, sp(v));
  append(*f.log, nk.build());
  append(*f.log, batch({{"a", "2"}}));
  f.log->roll();
  append(*f.log, batch({{"x", "1"}}));
  ASSERT_TRUE(f.cleaner->clean_once());
  auto s = read_all(*f.log);
  ASSERT_EQ(s.batches.size(), 3u);
  EXPECT_TRUE(s.batches[0].is_control());
  EXPECT_EQ(s.batches[0].base_offset, 1);
  EXPECT_EQ(s.batches[1].base_offset, 3);
  EXPECT_EQ(s.batches[2].base_offset, 4);
}

TEST(LogCleaner, MinCompactionLagHoldsBackRecentSegments) {
  LogConfig c = compact_config();
  c.min_compaction_lag_ms = 60000;
  Fixture f(c);
  f.fill(30, 3, 10);
  EXPECT_FALSE(f.cleaner->clean_once());
  f.now += 120000;
  EXPECT_TRUE(f.cleaner->clean_once());
}

TEST(LogCleaner, HighWatermarkLimitsTheDirtyRange) {
  Fixture f;
  f.fill(30, 3, 10);
  f.log->set_cleanable_limit(15);  // only the first segment lies wholly below
  ASSERT_TRUE(f.cleaner->clean_once());
  EXPECT_EQ(f.cleaner->checkpoint("t", 0), 10);
}

TEST(LogCleaner, TruncationDuringCleaningAborts) {
  Fixture f;
  f.fill(30, 3, 10);
  auto views = f.log->segment_views();
  uint64_t epoch = f.log->change_epoch();
  f.log->truncate_to(15);
  fs::path cleaned = f.d.path / "t-0" / (offset_file_name(0, ".log") + ".cleaned");
  std::ofstream(cleaned) << "";
  EXPECT_FALSE(f.log->replace_segments(0, 1, cleaned, epoch));
  EXPECT_FALSE(fs::exists(cleaned));
  EXPECT_EQ(f.log->log_end_offset(), 15);
}

TEST(LogCleaner, RecoveryDeletesCleanedAndCompletesSwap) {
  TempDir d;
  fs::path dir = d.path / "t-0";
  {
    auto log = Log::open(dir, compact_config(), Uuid{1, 2});
    for (int i = 0; i < 30; ++i) {
      if (i > 0 && i % 10 == 0) log->roll();
      append(*log, batch({{"k" + std::to_string(i % 3), "v" + std::to_string(i)}}));
    }
    log->close();
  }
  // A cleaned segment covering 0-19 holding only offsets 17, 18, 19 ...
  std::vector<uint8_t> swap_bytes;
  {
    auto log = Log::open(dir, compact_config(), Uuid{});
    auto rr = log->read(17, 1 << 20, 20, true);
    swap_bytes = bytes_of(rr.records);
  }
  // ... left as .swap (the crash came after the commit point) next to a stray .cleaned.
  { std::ofstream(dir / (offset_file_name(0, ".log") + ".swap"), std::ios::binary).write(reinterpret_cast<const char*>(swap_bytes.data()), static_cast<std::streamsize>(swap_bytes.size())); }
  { std::ofstream(dir / (offset_file_name(20, ".log") + ".cleaned")) << "junk"; }
  auto log = Log::open(dir, compact_config(), Uuid{});
  EXPECT_FALSE(fs::exists(dir / (offset_file_name(0, ".log") + ".swap")));
  EXPECT_FALSE(fs::exists(dir / (offset_file_name(20, ".log") + ".cleaned")));
  EXPECT_FALSE(fs::exists(dir / offset_file_name(10, ".log")));
  EXPECT_EQ(log->segment_count(), 2);
  EXPECT_EQ(log->log_end_offset(), 30);
  auto s = read_all(*log);
  ASSERT_EQ(s.records.size(), 13u);
  EXPECT_EQ(s.records[0].offset, 17);
  EXPECT_EQ(s.records[3].offset, 20);
}

TEST(LogCleaner, ReaderHoldingOldSegmentStillReads) {
  Fixture f;
  f.fill(30, 3, 10);
  auto before = f.log->read(0, 1 << 20, 30, true);  // holds fds of the old segments
  ASSERT_TRUE(f.cleaner->clean_once());
  auto b = bytes_of(before.records);
  int n = 0;
  records::for_each_batch(b, [&](const records::BatchHeader&, std::span<const uint8_t>) { ++n; });
  EXPECT_GE(n, 1);
  EXPECT_EQ(read_all(*f.log).records.front().offset, 17);
}

TEST(LogCleaner, BackgroundThreadCleans) {
  TempDir d;
  auto log = Log::open(d.path / "t-0", compact_config(), Uuid{1, 2});
  for (int i = 0; i < 30; ++i) {
    if (i > 0 && i % 10 == 0) log->roll();
    append(*log, batch({{"k" + std::to_string(i % 3), "v" + std::to_string(i)}}));
  }
  CleanerConfig cc;
  cc.backoff_ms = 10;
  LogCleaner cleaner(cc);
  cleaner.add_log("t", 0, log.get());
  cleaner.start();
  for (int i = 0; i < 500 && cleaner.stats().cleanings == 0; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  EXPECT_EQ(cleaner.stats().cleanings, 1);
  // Appends meanwhile are fine.
  append(*log, batch({{"k0", "z"}}));
  cleaner.remove_log(log.get());
  cleaner.stop();
  EXPECT_EQ(read_all(*log).records.front().offset, 17);
}

TEST(LogCleaner, RecordWithoutKeyIsDetected) {
  auto keyed = batch({{"a", "1"}, {"b", "2"}}, records::Compression::GZIP);
  EXPECT_TRUE(records_without_key(keyed).empty());
  records::BatchBuilder nk(records::Compression::LZ4);
  std::string v = "nokey";
  nk.add(wall_clock_ms(), sp(v), sp(v));
  nk.add(wall_clock_ms(), std::nullopt, sp(v));
  auto keyless = nk.build();
  EXPECT_EQ(records_without_key(keyless), std::vector<int32_t>{1});
  std::vector<uint8_t> both = keyed;
  both.insert(both.end(), keyless.begin(), keyless.end());
  EXPECT_EQ(records_without_key(both), std::vector<int32_t>{1});  // the index within its own batch
  records::BatchBuilder plain;
  plain.add(wall_clock_ms(), std::nullopt, sp(v));
  plain.add(wall_clock_ms(), sp(v), sp(v));
  plain.add(wall_clock_ms(), std::nullopt, std::nullopt);
  EXPECT_EQ(records_without_key(plain.build()), (std::vector<int32_t>{0, 2}));
}
