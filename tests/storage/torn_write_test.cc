// Torn writes at every byte of a partition log's last batch. A crash (kill -9,
// power loss) leaves the last write of the active segment in one of two
// shapes: the file ends inside it (the size was committed, the rest of the
// data was not: a cut), or the file keeps its size and the bytes from some
// point on are zeros (a partially written page, or the preallocated tail).
// For every byte position p of the last batch and both shapes, recovery must:
//   - end the log at the last complete batch (the torn one's base offset; a
//     batch whose zeroed bytes were zeros already is whole, and stays),
//   - leave nothing but zeros after that end in the file (a torn header
//     that reads as zeros is a preallocated tail, kept and written over),
//   - give back every earlier batch byte for byte,
//   - forget the torn batch in the producer state too (the producer's retry
//     of it is a new append, not a duplicate) and put the next append at the
//     torn batch's base offset;
// and the log so repaired must load the same again.
//
// Two start-ups: an unclean one (no clean-shutdown marker: the tail's CRCs
// are checked), and one under a clean-shutdown marker with its summary (the
// summary's segment sizes no longer match the cut file, so the log is loaded
// from its files with sizes and offsets checked, CRCs not). Only the cut is
// torn under the marker: the marker is written after every log was flushed,
// and removed (synced) before anything is appended again, so a crash cannot
// leave a same-size zeroed tail behind it (that would be media corruption,
// which a clean start trusts as Kafka's does).
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iterator>

#include "common/clock.h"
#include "log_helpers.h"
#include "protocol/record_batch.h"
#include "torn_file.h"
#include "read_all.h"
#include "storage/clean_shutdown_summary.h"
#include "storage/log_manager.h"
#include "temp_dir.h"

using namespace flotilla;
using namespace flotilla::storage;
using namespace flotilla::storage::testing;
namespace fs = std::filesystem;
using flotilla::testing::Tear;
using flotilla::testing::file_bytes;
using flotilla::testing::name_of;
using flotilla::testing::tear;

namespace {

// Each test recovers a log hundreds of times: on tmpfs when there is one. The
// tests check what recovery reads and leaves in the files, not what reaches a
// disk, and on a disk each of a recovery's fsyncs costs milliseconds (20 s a
// test instead of 0.2). TempDir puts a relative prefix under the temp dir; an
// absolute one stands alone (std::filesystem's operator/).
std::string scratch(const std::string& name) {
  std::error_code ec;
  return fs::is_directory("/dev/shm", ec) && ::access("/dev/shm", W_OK) == 0 ? "/dev/shm/" + name : name;
}


struct Span {
  int64_t pos = 0, size = 0, base = 0, last = 0;
};
// The batches of a segment file, in order (up to a zero tail).
std::vector<Span> spans_of(const std::vector<uint8_t>& f) {
  std::vector<Span> out;
  size_t pos = 0;
  while (pos + records::kHeaderSize <= f.size()) {
    records::BatchHeader h;
    if (!records::parse_header(std::span<const uint8_t>(f).subspan(pos), h) || h.magic != 2) break;
    out.push_back({static_cast<int64_t>(pos), h.total_size(), h.base_offset, h.last_offset()});
    pos += static_cast<size_t>(h.total_size());
  }
  return out;
}

// Every batch of the log, [log start, log end), as the bytes reads return.
std::vector<uint8_t> all_bytes(const Log& log) {
  std::vector<uint8_t> out;
  int64_t off = log.log_start_offset();
  while (off < log.log_end_offset()) {
    auto b = bytes_of(log.read(off, 1 << 20, INT64_MAX, true).records);
    if (b.empty()) break;
    records::for_each_batch(b, [&](const records::BatchHeader& h, std::span<const uint8_t>) { off = h.last_offset() + 1; });
    out.insert(out.end(), b.begin(), b.end());
  }
  return out;
}

LogConfig test_config() {
  LogConfig c;
  c.index_interval_bytes = 64;  // index entries in both segments: a cut one must go too
  return c;
}

constexpr int64_t kPid = 7;

// The idempotent producer's batch number `n`: 1 + n % 3 records of 6-byte values.
std::vector<uint8_t> producer_batch(int n, int32_t& seq) {
  records::BatchBuilder b;
  const int count = 1 + n % 3;
  b.set_producer(kPid, 0, seq);
  for (int i = 0; i < count; ++i) {
    const std::string v = "v" + std::to_string(100 + n) + std::to_string(i);
    b.add(1000 + n, std::nullopt, sp(v));
  }
  seq += count;
  return b.build();
}

// A log over two segments, written by an idempotent producer: `crash` holds
// the dir as a kill -9 after the last append (flushed) leaves it, `clean` as a
// clean shutdown leaves it (marker and summary). `retry` is the last batch
// as the producer would send it again.
struct Fixture {
  TempDir crash{scratch("flotilla-torn-crash")}, clean{scratch("flotilla-torn-clean")};
  std::vector<uint8_t> seg0, seg1;  // the two segment files' bytes (the crash image's)
  std::vector<uint8_t> retry;
  Span last;
  Fixture() {
    {
      LogManager m({clean.path.string()}, test_config());
      Log* l = m.get_or_create("t", 0, Uuid{4, 5}, test_config());
      int32_t seq = 0;
      for (int n = 0; n < 6; ++n) {
        if (n == 4) l->roll();
        auto b = producer_batch(n, seq);
        if (n == 5) retry = b;
        append(*l, b);
      }
      l->flush(l->log_end_offset());
      fs::copy(clean.path, crash.path, fs::copy_options::recursive | fs::copy_options::overwrite_existing);
      m.close_all();
    }
    fs::remove(crash.path / ".kafka_cleanshutdown");
    EXPECT_FALSE(fs::exists(crash.path / kCleanShutdownSummaryFile));
    EXPECT_TRUE(fs::exists(clean.path / ".kafka_cleanshutdown"));
    EXPECT_TRUE(fs::exists(clean.path / kCleanShutdownSummaryFile));
    seg0 = file_bytes(crash.path / "t-0" / "00000000000000000000.log");
    auto spans = spans_of(seg0);
    const int64_t second_base = spans.back().last + 1;
    seg1 = file_bytes(crash.path / "t-0" / offset_file_name(second_base, ".log"));
    spans = spans_of(seg1);
    EXPECT_EQ(spans.size(), 2u);
    last = spans.back();
    EXPECT_EQ(last.pos + last.size, static_cast<int64_t>(seg1.size()));
    EXPECT_EQ(file_bytes(clean.path / "t-0" / offset_file_name(second_base, ".log")), seg1);
  }
  std::vector<uint8_t> whole() const {
    std::vector<uint8_t> w(seg0);
    w.insert(w.end(), seg1.begin(), seg1.end());
    return w;
  }
  std::string segment1_name() const { return offset_file_name(spans_of(seg1).front().base, ".log"); }
};

// Whether zeroing [at, end) of `batch` changes nothing (its last bytes may be
// zeros already: a record ends with its header count, 0): the batch is whole.
bool zeros_from(const std::vector<uint8_t>& bytes, int64_t from, int64_t to) {
  return std::all_of(bytes.begin() + from, bytes.begin() + to, [](uint8_t b) { return b == 0; });
}

// The bytes after `from` in a segment file are zeros (a kept preallocated-style tail) or absent.
void expect_nothing_after(const fs::path& seg, int64_t from) {
  const auto bytes = file_bytes(seg);
  ASSERT_GE(static_cast<int64_t>(bytes.size()), from);
  EXPECT_TRUE(zeros_from(bytes, from, static_cast<int64_t>(bytes.size()))) << "data left after the log's end in " << seg;
}

// Copies `image` to `work`, tears the last batch at `at` (relative to the
// batch), recovers (through a LogManager, which uses the clean-shutdown
// marker and summary when there are, or Log::open as a LogManager opens a
// log after a crash) and checks what the header says.
void recover_and_check(const Fixture& fx, const fs::path& image, const fs::path& work, int64_t at, Tear how, bool through_manager) {
  SCOPED_TRACE(std::string(name_of(how)) + " at byte " + std::to_string(at) + " of the last batch (" + std::to_string(fx.last.size) +
               " bytes), from " + image.filename().string());
  fs::remove_all(work);
  fs::copy(image, work, fs::copy_options::recursive);
  const fs::path seg = work / "t-0" / fx.segment1_name();
  tear(seg, fx.last.pos + at, how);
  const bool intact = how == Tear::kZeroTail && zeros_from(fx.seg1, fx.last.pos + at, fx.last.pos + fx.last.size);

  std::vector<uint8_t> expected(fx.seg0);
  expected.insert(expected.end(), fx.seg1.begin(), fx.seg1.begin() + (intact ? fx.last.pos + fx.last.size : fx.last.pos));
  std::unique_ptr<LogManager> manager;
  std::unique_ptr<Log> opened;
  Log* l = nullptr;
  if (through_manager) {
    manager = std::make_unique<LogManager>(std::vector<std::string>{work.string()}, test_config());
    l = manager->get("t", 0);
  } else {
    opened = Log::open((work / "t-0").string(), test_config(), Uuid{4, 5});
    l = opened.get();
  }
  ASSERT_NE(l, nullptr);
  ASSERT_EQ(l->log_end_offset(), intact ? fx.last.last + 1 : fx.last.base) << "the log must end at the last complete batch";
  ASSERT_EQ(l->segment_count(), 2);
  EXPECT_EQ(all_bytes(*l), expected) << "a batch before the torn one changed";
  expect_nothing_after(seg, static_cast<int64_t>(expected.size() - fx.seg0.size()));
  // The producer's retry of the lost batch is new to the recovered producer
  // state, and lands where the torn batch began (a whole one is a duplicate).
  auto retry = fx.retry;
  auto info = append(*l, retry);
  EXPECT_EQ(info.error, ErrorCode::NONE) << info.error_message;
  EXPECT_EQ(info.duplicate, intact) << (intact ? "the whole batch was not in the producer state" : "the producer state still held the torn batch");
  EXPECT_EQ(info.first_offset, fx.last.base);
  EXPECT_EQ(info.last_offset, fx.last.last);
  EXPECT_EQ(l->log_end_offset(), fx.last.last + 1);
  EXPECT_EQ(all_bytes(*l), fx.whole()) << "the retried batch is not the batch it replaced";
  // A second crash, after the repair: the log loads as it was.
  manager.reset();
  opened.reset();
  auto again = Log::open((work / "t-0").string(), test_config(), Uuid{4, 5});
  EXPECT_EQ(again->log_end_offset(), fx.last.last + 1) << "the repaired log does not load as it was";
  EXPECT_EQ(all_bytes(*again), fx.whole());
}

}  // namespace

TEST(TornWrites, UncleanStartEndsTheLogAtTheLastCompleteBatchForEveryByteOfTheLast) {
  Fixture fx;
  TempDir work{scratch("flotilla-torn-work")};
  for (Tear how : {Tear::kCut, Tear::kZeroTail})
    for (int64_t at = 0; at < fx.last.size; ++at) {
      recover_and_check(fx, fx.crash.path, work.path / "d", at, how, /*through_manager=*/false);
      if (::testing::Test::HasFatalFailure()) return;
    }
}

TEST(TornWrites, CleanShutdownSummaryOfACutSegmentIsNotTrustedForEveryByteOfTheLastBatch) {
  Fixture fx;
  TempDir work{scratch("flotilla-torn-work")};
  for (int64_t at = 0; at < fx.last.size; ++at) {
    recover_and_check(fx, fx.clean.path, work.path / "d", at, Tear::kCut, /*through_manager=*/true);
    if (::testing::Test::HasFatalFailure()) return;
  }
}

// The metadata log's recovery is the same Log::open over a preallocated
// segment (tests/raft/torn_write_test.cc); here the data log with
// log.preallocate: a crash leaves the zeros ahead of the last write, and a
// torn batch is followed by them whatever the shape.
TEST(TornWrites, PreallocatedSegmentEndsAtTheLastCompleteBatchForEveryByteOfTheLast) {
  TempDir image{scratch("flotilla-torn-prealloc")}, work{scratch("flotilla-torn-work")};
  LogConfig c = test_config();
  c.preallocate = true;
  std::vector<uint8_t> data;
  Span last;
  {
    auto log = Log::open((image.path / "t-0").string(), c, Uuid{1, 2});
    int32_t seq = 0;
    for (int n = 0; n < 5; ++n) append(*log, producer_batch(n, seq));
    log->flush(log->log_end_offset());
    const fs::path seg = image.path / "t-0" / "00000000000000000000.log";
    auto bytes = file_bytes(seg);
    auto spans = spans_of(bytes);
    ASSERT_EQ(spans.size(), 5u);
    last = spans.back();
    data.assign(bytes.begin(), bytes.begin() + last.pos + last.size);
    ASSERT_GT(bytes.size(), data.size()) << "no preallocated tail";
    fs::copy(image.path / "t-0", image.path / "crash", fs::copy_options::recursive);  // the files as a kill -9 leaves them
  }
  const std::vector<uint8_t> expected(data.begin(), data.begin() + last.pos);
  for (Tear how : {Tear::kCut, Tear::kZeroTail})
    for (int64_t at = 0; at < last.size; ++at) {
      SCOPED_TRACE(std::string(name_of(how)) + " at byte " + std::to_string(at));
      const fs::path dir = work.path / "t-0";
      fs::remove_all(dir);
      fs::copy(image.path / "crash", dir, fs::copy_options::recursive);
      tear(dir / "00000000000000000000.log", last.pos + at, how);
      const bool intact = how == Tear::kZeroTail && zeros_from(data, last.pos + at, last.pos + last.size);
      auto log = Log::open(dir.string(), c, Uuid{1, 2});
      ASSERT_EQ(log->log_end_offset(), intact ? last.last + 1 : last.base);
      ASSERT_EQ(all_bytes(*log), intact ? data : expected);
      expect_nothing_after(dir / "00000000000000000000.log", intact ? static_cast<int64_t>(data.size()) : last.pos);
      int32_t seq = 0;
      std::vector<uint8_t> retry;
      for (int n = 0; n < 5; ++n) retry = producer_batch(n, seq);
      auto info = append(*log, retry);
      EXPECT_EQ(info.duplicate, intact);
      EXPECT_EQ(info.first_offset, last.base);
      ASSERT_EQ(all_bytes(*log), data);
    }
}
