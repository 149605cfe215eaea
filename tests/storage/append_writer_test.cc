// Deferred client appends (storage/append_writer.h): a write left to the
// AppendWriter thread is counted by later appends but invisible to readers
// until applied; anything else that touches the tail waits for it first; a
// failed write fails the log without making anything after it visible.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/resource.h>

#include <future>

#include "log_helpers.h"
#include "protocol/record_batch.h"
#include "read_all.h"
#include "storage/append_writer.h"
#include "storage/log.h"
#include "temp_dir.h"

using namespace flotilla;
using namespace flotilla::storage;
namespace st = flotilla::storage::testing;

namespace {

using st::TempDir;

// A batch of `records` records whose values are `fill` repeated.
std::vector<uint8_t> batch(int records, char fill, size_t value_size = 100) {
  records::BatchBuilder b;
  std::vector<uint8_t> v(value_size, static_cast<uint8_t>(fill));
  for (int i = 0; i < records; ++i) b.add(1000 + i, std::nullopt, std::span<const uint8_t>(v));
  return b.build();
}

AppendInfo append(Log& log, std::vector<uint8_t>& b, WriteBatch* deferred) {
  auto v = records::validate_batches(b, 1 << 30);
  EXPECT_EQ(v.error, ErrorCode::NONE) << v.message;
  return log.append(b, v, 0, false, deferred);
}

// Submits the batch and waits until the writer thread is done with it.
void write_and_wait(AppendWriter& writer, std::shared_ptr<WriteBatch> wb) {
  std::promise<void> done;
  writer.submit(std::move(wb), [&] { done.set_value(); });
  done.get_future().wait();
}

// Small segments (a roll every dozen or so of these batches), an index entry every batch.
LogConfig rolling_config() {
  LogConfig c;
  c.segment_bytes = 4000;
  c.index_interval_bytes = 100;
  return c;
}

}  // namespace

TEST(AppendWriter, APendingWriteIsCountedButInvisibleUntilApplied) {
  TempDir d;
  AppendWriter writer;
  auto log = Log::open(d.path / "t-0", LogConfig{}, Uuid{1, 2});
  std::vector<uint8_t> b0 = batch(3, 'a'), b1 = batch(2, 'b');
  auto wb = std::make_shared<WriteBatch>();
  EXPECT_EQ(append(*log, b0, wb.get()).first_offset, 0);
  EXPECT_EQ(append(*log, b1, wb.get()).first_offset, 3);  // offsets continue past the pending write
  ASSERT_EQ(wb->writes.size(), 2u);
  EXPECT_EQ(log->log_end_offset(), 0);
  EXPECT_TRUE(log->read(0, 1 << 20, 0, true).records.files.empty());
  EXPECT_THROW(log->read(1, 1 << 20, 5, true), OffsetOutOfRange);

  write_and_wait(writer, wb);
  EXPECT_EQ(log->log_end_offset(), 0);  // still invisible: only apply_written publishes
  EXPECT_EQ(log->gauges()->log_end_offset.load(), 0);
  log->apply_written();
  EXPECT_EQ(log->log_end_offset(), 5);
  st::expect_gauges_match(*log, "applied");
  auto seen = st::read_all(*log);
  ASSERT_EQ(seen.records.size(), 5u);
  EXPECT_EQ(seen.records[0].value->front(), 'a');
  EXPECT_EQ(seen.records[4].value->front(), 'b');
}

TEST(AppendWriter, SynchronousChangesWaitForPendingWritesAndKeepTheOrder) {
  TempDir d;
  AppendWriter writer;
  auto log = Log::open(d.path / "t-0", LogConfig{}, Uuid{1, 2});
  std::vector<uint8_t> b0 = batch(2, 'a'), b1 = batch(2, 'b'), b2 = batch(2, 'c');
  auto wb = std::make_shared<WriteBatch>();
  append(*log, b0, wb.get());
  writer.submit(wb, nullptr);
  // A plain append drains first: it lands after the pending one, never over it.
  EXPECT_EQ(append(*log, b1, nullptr).first_offset, 2);
  EXPECT_EQ(log->log_end_offset(), 4);
  auto seen = st::read_all(*log);
  ASSERT_EQ(seen.records.size(), 4u);
  EXPECT_EQ(seen.records[0].value->front(), 'a');
  EXPECT_EQ(seen.records[2].value->front(), 'b');

  // Truncation waits too, then cuts at a batch boundary below the pending write.
  auto wb2 = std::make_shared<WriteBatch>();
  append(*log, b2, wb2.get());
  writer.submit(wb2, nullptr);
  log->truncate_to(2);
  EXPECT_EQ(log->log_end_offset(), 2);
  seen = st::read_all(*log);
  ASSERT_EQ(seen.records.size(), 2u);
  EXPECT_EQ(seen.records[1].value->front(), 'a');
}

TEST(AppendWriter, ManyPipelinedRequestsRollSegmentsAndSurviveReopen) {
  TempDir d;
  AppendWriter writer;
  std::vector<std::vector<uint8_t>> buffers;
  for (int i = 0; i < 200; ++i) buffers.push_back(batch(2, static_cast<char>('a' + i % 26)));
  {
    auto log = Log::open(d.path / "t-0", rolling_config(), Uuid{1, 2});
    std::vector<std::future<void>> done;
    // Requests of 4 batches each, several in flight, applied as they finish.
    for (int r = 0; r < 50; ++r) {
      auto wb = std::make_shared<WriteBatch>();
      for (int k = 0; k < 4; ++k) EXPECT_EQ(append(*log, buffers[static_cast<size_t>(r * 4 + k)], wb.get()).first_offset, (r * 4 + k) * 2);
      auto p = std::make_shared<std::promise<void>>();
      done.push_back(p->get_future());
      writer.submit(wb, [p] { p->set_value(); });
      if (r % 3 == 2) log->apply_written();
      EXPECT_LE(log->log_end_offset(), (r * 4 + 4) * 2);
    }
    for (auto& f : done) f.wait();
    log->apply_written();
    EXPECT_EQ(log->log_end_offset(), 400);
    EXPECT_GT(log->segment_count(), 10);
    auto seen = st::read_all(*log);
    ASSERT_EQ(seen.records.size(), 400u);
    for (size_t i = 0; i < seen.records.size(); ++i) ASSERT_EQ(seen.records[i].value->front(), 'a' + (i / 2) % 26) << i;
  }
  // Reopened (as after a crash: no clean-shutdown marker), every batch is there and valid.
  auto log = Log::open(d.path / "t-0", rolling_config(), Uuid{1, 2});
  EXPECT_EQ(log->log_end_offset(), 400);
  EXPECT_EQ(st::read_all(*log).records.size(), 400u);
}

TEST(AppendWriter, AFailedWriteFailsTheLogAndNothingAfterItBecomesVisible) {
  TempDir d;
  AppendWriter writer;
  auto log = Log::open(d.path / "t-0", LogConfig{}, Uuid{1, 2});
  std::vector<uint8_t> b0 = batch(2, 'a'), big = batch(50, 'b', 1000), b2 = batch(2, 'c'), b3 = batch(1, 'd');
  append(*log, b0, nullptr);
  // Writes past RLIMIT_FSIZE fail with EFBIG (SIGXFSZ ignored): a disk error on demand.
  struct sigaction ignore {}, old_action {};
  ignore.sa_handler = SIG_IGN;
  ASSERT_EQ(::sigaction(SIGXFSZ, &ignore, &old_action), 0);
  rlimit old_limit{};
  ASSERT_EQ(::getrlimit(RLIMIT_FSIZE, &old_limit), 0);
  rlimit small = old_limit;
  small.rlim_cur = 4096;
  ASSERT_EQ(::setrlimit(RLIMIT_FSIZE, &small), 0);
  auto wb = std::make_shared<WriteBatch>();
  append(*log, big, wb.get());
  append(*log, b2, wb.get());
  write_and_wait(writer, wb);
  ASSERT_EQ(::setrlimit(RLIMIT_FSIZE, &old_limit), 0);
  ::sigaction(SIGXFSZ, &old_action, nullptr);

  EXPECT_NE(wb->writes[0]->error, 0);
  log->apply_written();
  EXPECT_TRUE(log->failed());
  EXPECT_EQ(log->log_end_offset(), 2);  // what was written before stays; nothing after the hole shows
  EXPECT_EQ(st::read_all(*log).records.size(), 2u);
  auto v = records::validate_batches(b3, 1 << 30);
  EXPECT_THROW(log->append(b3, v, 0), StorageError);
}
