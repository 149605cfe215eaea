// The clean-shutdown summary (storage/clean_shutdown_summary.h): its codec
// refuses anything but a whole, consistent file; a log restored from it is the
// log a load of its files gives (segments, indexes, reads, producer state,
// aborted transactions, epoch checkpoint); it is used only while the
// clean-shutdown marker vouches for it.
#include "log_helpers.h"
#include "read_all.h"
#include "temp_dir.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <iterator>

#include "common/clock.h"
#include "protocol/record_batch.h"
#include "storage/clean_shutdown_summary.h"
#include "storage/log_manager.h"

using namespace flotilla;
using namespace flotilla::storage;
using namespace flotilla::storage::testing;
namespace fs = std::filesystem;

namespace {

LogSummary sample_summary(const std::string& name) {
  LogSummary l;
  l.name = name;
  l.topic_id = Uuid{7, 9};
  l.epoch_checkpoint = "0\n1\n3 40\n";
  l.producer_snapshot = 57;
  SegmentSummary a;
  a.base_offset = 0;
  a.next_offset = 40;
  a.size = 4000;
  a.bytes_since_index = 12;
  a.max_timestamp = 1500;
  a.max_timestamp_offset = 39;
  a.first_timestamp = 1000;
  a.has_txn_index = true;
  a.index = {{10, 1000}, {20, 2000}};
  a.tindex = {{1200, 19}, {1500, 39}};
  SegmentSummary b = a;
  b.base_offset = 40;
  b.next_offset = 57;
  b.has_txn_index = false;
  b.index.clear();
  b.tindex = {{1600, 16}};
  l.segments = {a, b};
  return l;
}

std::vector<uint8_t> bytes(const std::string& s) { return {s.begin(), s.end()}; }

std::vector<uint8_t> batch(const std::vector<std::pair<std::string, std::string>>& kvs) {
  records::BatchBuilder b;
  for (const auto& [k, v] : kvs) b.add(wall_clock_ms(), sp(k), sp(v));
  return b.build();
}

// Transactional and idempotent batches over three segments, with index entries.
void fill(Log& log) {
  for (int32_t seq = 0; seq < 12; ++seq) {
    records::BatchBuilder b;
    b.set_producer(7, 0, seq * 2);
    const std::string v(60, 'v');
    b.add(wall_clock_ms(), std::nullopt, sp(v));
    b.add(wall_clock_ms(), std::nullopt, sp(v));
    append(log, b.build());
    if (seq == 4 || seq == 9) log.roll();
  }
  records::BatchBuilder t;
  t.set_producer(8, 0, 0);
  t.set_transactional(true);
  t.add(wall_clock_ms(), std::nullopt, sp(std::string("aborted")));
  append(log, t.build());
  log.append_marker(8, 0, 0, /*commit=*/false, 0, wall_clock_ms());
  records::BatchBuilder open;  // a transaction still open at the shutdown
  open.set_producer(9, 0, 0);
  open.set_transactional(true);
  open.add(wall_clock_ms(), std::nullopt, sp(std::string("ongoing")));
  append(log, open.build());
}

// Everything a reader or the broker learns of a log.
void expect_same_log(Log& restored, Log& loaded) {
  EXPECT_EQ(restored.topic_id(), loaded.topic_id());
  EXPECT_EQ(restored.log_start_offset(), loaded.log_start_offset());
  EXPECT_EQ(restored.log_end_offset(), loaded.log_end_offset());
  EXPECT_EQ(restored.flushed_offset(), loaded.flushed_offset());
  EXPECT_EQ(restored.segment_count(), loaded.segment_count());
  EXPECT_EQ(restored.size_bytes(), loaded.size_bytes());
  auto rv = restored.segment_views(), lv = loaded.segment_views();
  ASSERT_EQ(rv.size(), lv.size());
  for (size_t i = 0; i < rv.size(); ++i) {
    EXPECT_EQ(rv[i].base_offset, lv[i].base_offset) << i;
    EXPECT_EQ(rv[i].next_offset, lv[i].next_offset) << i;
    EXPECT_EQ(rv[i].size, lv[i].size) << i;
    EXPECT_EQ(rv[i].first_timestamp, lv[i].first_timestamp) << i;
    EXPECT_EQ(rv[i].max_timestamp, lv[i].max_timestamp) << i;
    EXPECT_EQ(rv[i].index_entries, lv[i].index_entries) << i;
    EXPECT_EQ(rv[i].aborted_txns, lv[i].aborted_txns) << i;
  }
  for (int64_t off = loaded.log_start_offset(); off < loaded.log_end_offset(); ++off)
    EXPECT_EQ(bytes_of(restored.read(off, 300, INT64_MAX, true).records), bytes_of(loaded.read(off, 300, INT64_MAX, true).records)) << off;
  EXPECT_EQ(restored.max_timestamp_and_offset(), loaded.max_timestamp_and_offset());
  const int64_t ts = loaded.max_timestamp_and_offset()->first;
  for (int64_t t : {int64_t{0}, ts - 1, ts, ts + 1}) EXPECT_EQ(restored.offset_for_timestamp(t), loaded.offset_for_timestamp(t)) << t;
  EXPECT_EQ(restored.collect_aborted_transactions(0, INT64_MAX), loaded.collect_aborted_transactions(0, INT64_MAX));
  EXPECT_EQ(restored.producer_state().encode_snapshot(), loaded.producer_state().encode_snapshot());
  EXPECT_EQ(restored.last_stable_offset(loaded.log_end_offset()), loaded.last_stable_offset(loaded.log_end_offset()));
  EXPECT_EQ(restored.take_loaded_epoch_checkpoint(), loaded.take_loaded_epoch_checkpoint());
}

LogConfig test_config() {
  LogConfig c;
  c.index_interval_bytes = 150;
  return c;
}

}  // namespace

TEST(CleanShutdownSummary, RoundTripsAndRefusesEveryDamagedOrInconsistentFile) {
  const std::vector<LogSummary> logs{sample_summary("t-0"), sample_summary("other-12")};
  const std::string enc = encode_log_summaries(logs);
  std::string why;
  auto dec = decode_log_summaries(bytes(enc), &why);
  ASSERT_TRUE(dec) << why;
  EXPECT_EQ(*dec, logs);
  EXPECT_TRUE(decode_log_summaries(bytes(encode_log_summaries({})))->empty());

  // Every cut and every flipped byte (the CRC), never a crash.
  for (size_t n = 0; n < enc.size(); ++n) EXPECT_FALSE(decode_log_summaries(bytes(enc.substr(0, n)))) << n;
  for (size_t i = 0; i < enc.size(); ++i) {
    std::string bad = enc;
    bad[i] = static_cast<char>(bad[i] ^ 0x20);
    EXPECT_FALSE(decode_log_summaries(bytes(bad))) << i;
  }
  // Whole and checksummed, but not what a load could produce: refused too.
  auto refused = [](LogSummary l, const char* why) {
    std::string error;
    EXPECT_FALSE(decode_log_summaries(bytes(encode_log_summaries({l})), &error)) << why;
    EXPECT_EQ(error, "inconsistent segments") << why;
  };
  LogSummary l = sample_summary("t-0");
  l.segments[1].base_offset = 30;
  refused(l, "segments overlap");
  l = sample_summary("t-0");
  l.segments[0].index = {{20, 2000}, {10, 1000}};
  refused(l, "index out of order");
  l = sample_summary("t-0");
  l.segments[0].index.push_back({30, 4000});
  refused(l, "index entry past the segment's end");
  l = sample_summary("t-0");
  l.segments.clear();
  refused(l, "no segment");
  l = sample_summary("t-0");
  l.producer_snapshot = -5;
  refused(l, "negative snapshot offset");
}

TEST(CleanShutdownSummary, ALogRestoredFromItIsTheLogItsFilesLoadAs) {
  TempDir d, copy;
  {
    LogManager m({d.path.string()}, test_config());
    Log* l = m.get_or_create("t", 0, Uuid{4, 5}, test_config());
    fill(*l);
    ASSERT_GE(l->segment_count(), 3);
    m.get_or_create("empty", 1, Uuid{6, 6}, test_config());
    std::ofstream(d.path / "t-0" / "leader-epoch-checkpoint") << "0\n1\n0 0\n";
    m.close_all();
  }
  ASSERT_TRUE(fs::exists(d.path / kCleanShutdownSummaryFile));
  // The same files, loaded without the summary (the marker still vouches for them).
  fs::copy(d.path, copy.path, fs::copy_options::recursive | fs::copy_options::overwrite_existing);
  fs::remove(copy.path / kCleanShutdownSummaryFile);
  // Proof the restore reads no file of the partition: its topic id comes from the summary.
  fs::remove(d.path / "t-0" / "partition.metadata");

  LogManager restored({d.path.string()}, test_config());
  LogManager loaded({copy.path.string()}, test_config());
  EXPECT_FALSE(fs::exists(d.path / kCleanShutdownSummaryFile)) << "removed with the marker";
  EXPECT_FALSE(fs::exists(d.path / ".kafka_cleanshutdown"));
  for (auto [topic, p] : {std::pair<std::string, int32_t>{"t", 0}, {"empty", 1}}) {
    SCOPED_TRACE(topic);
    ASSERT_NE(restored.get(topic, p), nullptr);
    ASSERT_NE(loaded.get(topic, p), nullptr);
    expect_same_log(*restored.get(topic, p), *loaded.get(topic, p));
  }
  EXPECT_EQ(restored.get("t", 0)->topic_id(), Uuid({4, 5}));

  // It goes on as a loaded log does, and its next load (after a crash: no marker) agrees.
  Log* r = restored.get("t", 0);
  append(*r, batch({{"k", "after"}}));
  const int64_t end = r->log_end_offset();
  r->flush(end);
  const auto all = bytes_of(r->read(0, 1 << 20, INT64_MAX, true).records);
  restored.close_all();
  fs::remove(d.path / ".kafka_cleanshutdown");
  LogManager again({d.path.string()}, test_config());
  EXPECT_EQ(again.get("t", 0)->log_end_offset(), end);
  EXPECT_EQ(bytes_of(again.get("t", 0)->read(0, 1 << 20, INT64_MAX, true).records), all);
}

TEST(CleanShutdownSummary, IsUsedOnlyWhileTheMarkerVouchesForItAndIgnoredWhenDamaged) {
  TempDir d;
  const fs::path summary = d.path / kCleanShutdownSummaryFile;
  auto shut_down_with = [&](int records) {
    LogManager m({d.path.string()}, test_config());
    Log* l = m.get_or_create("t", 0, Uuid{4, 5}, test_config());
    for (int i = 0; i < records; ++i) append(*l, batch({{"k", std::to_string(i)}}));
    m.close_all();
  };
  shut_down_with(3);
  // A summary with no marker (a crash after it was written): never read, removed.
  const std::string stale = [&] {
    std::ifstream f(summary, std::ios::binary);
    return std::string((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  }();
  {
    LogManager m({d.path.string()}, test_config());  // clean: appends 2 more, shuts down cleanly
    Log* l = m.get("t", 0);
    append(*l, batch({{"k", "3"}}));
    append(*l, batch({{"k", "4"}}));
    l->flush(l->log_end_offset());
    m.close_all();
  }
  fs::remove(d.path / ".kafka_cleanshutdown");
  std::ofstream(summary, std::ios::binary) << stale;  // says 3 records; the log holds 5
  {
    LogManager m({d.path.string()}, test_config());
    EXPECT_EQ(m.get("t", 0)->log_end_offset(), 5);
    EXPECT_FALSE(fs::exists(summary));
    m.close_all();
  }
  // A damaged summary under a marker: the logs are loaded from their files.
  {
    std::fstream f(summary, std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(12);
    f.put('\x7f');
  }
  LogManager m({d.path.string()}, test_config());
  ASSERT_NE(m.get("t", 0), nullptr);
  EXPECT_EQ(m.get("t", 0)->log_end_offset(), 5);
  EXPECT_EQ(m.get("t", 0)->topic_id(), Uuid({4, 5}));
}

TEST(CleanShutdownSummary, ASegmentWhoseSizeChangedSinceTheShutdownIsLoadedFromItsFiles) {
  TempDir d;
  size_t one_batch = 0;
  {
    LogManager m({d.path.string()}, test_config());
    Log* l = m.get_or_create("t", 0, Uuid{4, 5}, test_config());
    for (int i = 0; i < 5; ++i) append(*l, batch({{"k", std::to_string(i)}}));
    one_batch = static_cast<size_t>(l->size_bytes() / 5);
    m.get_or_create("u", 0, Uuid{5, 5}, test_config());
    m.close_all();
  }
  const fs::path seg = d.path / "t-0" / "00000000000000000000.log";
  fs::resize_file(seg, fs::file_size(seg) - 7);  // a torn last batch: the summary's size is wrong now
  LogManager m({d.path.string()}, test_config());
  ASSERT_NE(m.get("t", 0), nullptr);
  EXPECT_EQ(m.get("t", 0)->log_end_offset(), 4) << "the walk of its files found the torn batch";
  EXPECT_EQ(fs::file_size(seg), one_batch * 4);
  EXPECT_EQ(m.get("u", 0)->topic_id(), Uuid({5, 5}));
}
