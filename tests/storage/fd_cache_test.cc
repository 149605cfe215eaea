// The fd cache (storage/fd_cache.h): its bound, pins that outlive eviction,
// reopening, concurrent use; and logs working within a small bound (appends,
// reads of every segment, roll, truncation, cleaning, restart), the process's
// open descriptors counted in /proc/self/fd.
#include "storage/fd_cache.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include "common/clock.h"
#include "log_helpers.h"
#include "read_all.h"
#include "storage/file_io.h"
#include "storage/log.h"
#include "storage/log_cleaner.h"
#include "temp_dir.h"

using namespace flotilla;
using namespace flotilla::storage;
namespace fs = std::filesystem;
using flotilla::storage::testing::read_all;
using flotilla::storage::testing::sp;
using flotilla::storage::testing::TempDir;

namespace {

size_t open_fds() {
  size_t n = 0;
  for ([[maybe_unused]] const auto& e : fs::directory_iterator("/proc/self/fd")) ++n;
  return n - 1;  // the iterator's own
}

void write_text(const fs::path& p, const std::string& s) {
  std::ofstream(p, std::ios::binary) << s;
}

std::string pread_all(int fd, size_t n) {
  std::string s(n, '\0');
  EXPECT_TRUE(pread_fully(fd, reinterpret_cast<uint8_t*>(s.data()), n, 0));
  return s;
}

// n files "f<i>" holding "content-<i>", each behind a CachedFile of `cache`.
struct Files {
  TempDir d{"fdcache"};
  std::vector<std::unique_ptr<CachedFile>> files;
  Files(FdCache& cache, int n) {
    for (int i = 0; i < n; ++i) {
      write_text(d.path / ("f" + std::to_string(i)), "content-" + std::to_string(i));
      files.push_back(std::make_unique<CachedFile>(d.path / ("f" + std::to_string(i)), O_RDONLY, cache));
    }
  }
  static std::string content(int i) { return "content-" + std::to_string(i); }
};

}  // namespace

TEST(FdCache, BoundIsRespected) {
  FdCache cache(4);
  Files f(cache, 20);
  const size_t base = open_fds();
  for (int round = 0; round < 3; ++round)
    for (int i = 0; i < 20; ++i) {
      auto h = f.files[i]->acquire();
      EXPECT_EQ(pread_all(h->fd, Files::content(i).size()), Files::content(i));
      EXPECT_LE(cache.cached(), 4u);
      EXPECT_LE(open_fds(), base + 4 + 1);  // the cached ones and this pin
    }
  EXPECT_EQ(cache.cached(), 4u);
  EXPECT_LE(open_fds(), base + 4);
  // The 4 most recent are cached, the others not.
  for (int i = 0; i < 16; ++i) EXPECT_FALSE(f.files[i]->is_cached()) << i;
  for (int i = 16; i < 20; ++i) EXPECT_TRUE(f.files[i]->is_cached()) << i;
  cache.set_capacity(2);
  EXPECT_EQ(cache.cached(), 2u);
  EXPECT_LE(open_fds(), base + 2);
  f.files.clear();  // destroying a CachedFile drops its entry
  EXPECT_EQ(cache.cached(), 0u);
  EXPECT_LE(open_fds(), base);
}

TEST(FdCache, HitMovesToFrontAndCostsNoOpen) {
  FdCache cache(2);
  Files f(cache, 3);
  f.files[0]->acquire();
  f.files[1]->acquire();
  f.files[0]->acquire();  // 0 is now the most recent: 1 goes when 2 comes
  f.files[2]->acquire();
  EXPECT_TRUE(f.files[0]->is_cached());
  EXPECT_FALSE(f.files[1]->is_cached());
  EXPECT_EQ(cache.stats().opens, 3u);
  EXPECT_EQ(cache.stats().hits, 1u);
}

TEST(FdCache, PinSurvivesEviction) {
  FdCache cache(2);
  Files f(cache, 5);
  auto pin = f.files[0]->acquire();
  const int fd = pin->fd;
  for (int i = 1; i < 5; ++i) f.files[i]->acquire();
  EXPECT_FALSE(f.files[0]->is_cached());
  EXPECT_EQ(cache.cached(), 2u);
  // The pinned descriptor is still open and reads the file.
  EXPECT_NE(::fcntl(fd, F_GETFD), -1);
  EXPECT_EQ(pread_all(fd, Files::content(0).size()), Files::content(0));
  pin.reset();
  EXPECT_EQ(::fcntl(fd, F_GETFD), -1);  // released: closed
}

TEST(FdCache, PinSurvivesTheFilesDestruction) {
  FdCache cache(2);
  Files f(cache, 1);
  auto pin = f.files[0]->acquire();
  f.files.clear();
  fs::remove_all(f.d.path / "f0");
  EXPECT_EQ(pread_all(pin->fd, Files::content(0).size()), Files::content(0));  // as sendfile of a deleted segment
}

TEST(FdCache, ReopenAfterEvictionReadsTheSameBytes) {
  FdCache cache(1);
  TempDir d("fdcache");
  CachedFile a(d.path / "a", O_RDWR | O_CREAT, cache), b(d.path / "b", O_RDWR | O_CREAT, cache);
  {
    auto h = a.open_with(O_RDWR | O_CREAT | O_TRUNC);
    const std::string data = "written through the first descriptor";
    ASSERT_EQ(pwrite_fully(h->fd, reinterpret_cast<const uint8_t*>(data.data()), data.size(), 0), 0);
  }
  b.acquire();  // evicts a (closing the descriptor the write went through)
  EXPECT_FALSE(a.is_cached());
  auto h = a.acquire();  // reopened without O_TRUNC
  EXPECT_EQ(pread_all(h->fd, 36), "written through the first descriptor");
  EXPECT_EQ(::fdatasync(h->fd), 0);
}

TEST(FdCache, OpenFailureNamesTheFileAndErrno) {
  FdCache cache(2);
  TempDir d("fdcache");
  CachedFile missing(d.path / "missing.log", O_RDWR, cache);
  try {
    missing.acquire();
    FAIL() << "opened a missing file";
  } catch (const PartitionIoError& e) {  // not a log dir failure
    EXPECT_EQ(e.err, ENOENT);
    EXPECT_NE(std::string(e.what()).find("missing.log"), std::string::npos);
  }
  EXPECT_EQ(cache.cached(), 0u);
}

TEST(FdCache, ConcurrentAcquireFromTwoThreads) {
  FdCache cache(5);
  Files f(cache, 20);
  const size_t base = open_fds();
  std::atomic<int> bad{0};
  auto work = [&](int seed) {
    for (int k = 0; k < 20000; ++k) {
      int i = (k * 7 + seed) % 20;
      auto h = f.files[i]->acquire();
      char buf[16] = {};
      const std::string want = Files::content(i);
      if (::pread(h->fd, buf, want.size(), 0) != static_cast<ssize_t>(want.size()) || want != std::string(buf, want.size())) ++bad;
    }
  };
  std::thread t1(work, 0), t2(work, 3);
  t1.join();
  t2.join();
  EXPECT_EQ(bad.load(), 0);
  EXPECT_LE(cache.cached(), 5u);
  EXPECT_LE(open_fds(), base + 5);
  auto st = cache.stats();
  EXPECT_EQ(st.hits + st.opens, 40000u) << "every acquire is a hit or an open";
}

// ---- Logs within a small bound (the global cache every Log uses).

namespace {

struct GlobalBound {
  explicit GlobalBound(size_t n) { FdCache::global().set_capacity(n); }
  ~GlobalBound() { FdCache::global().set_capacity(FdCache::default_capacity()); }
};

std::vector<uint8_t> kv_batch(const std::string& key, const std::string& value) {
  records::BatchBuilder b(records::Compression::NONE);
  b.add(wall_clock_ms(), sp(key), std::optional<std::span<const uint8_t>>(sp(value)));
  return b.build();
}

std::string value_of(int log, int i) { return "log" + std::to_string(log) + "-value" + std::to_string(i) + std::string(40, 'x'); }

}  // namespace

TEST(FdCacheLogs, FiftyLogsWithEightDescriptors) {
  constexpr size_t kBound = 8;
  constexpr int kLogs = 50, kRecords = 40;
  TempDir d("fdcache-logs");
  FdCache::global().set_capacity(1);  // empty it first, then measure
  GlobalBound bound(kBound);
  const size_t base = open_fds();
  size_t peak = 0;
  auto check = [&](const char* phase) {
    size_t n = open_fds();
    peak = std::max(peak, n);
    EXPECT_LE(n, base + kBound) << phase;
    EXPECT_LE(FdCache::global().cached(), kBound) << phase;
  };
  LogConfig c = flotilla::storage::testing::compact_config();
  c.segment_bytes = 400;  // a few records a segment
  std::vector<std::unique_ptr<Log>> logs;
  for (int l = 0; l < kLogs; ++l) {
    logs.push_back(Log::open(d.path / ("t-" + std::to_string(l)), c, Uuid{1, static_cast<uint64_t>(l + 1)}));
    check("open");
  }
  // Appends interleaved over the logs: each log's active segment is evicted between its appends.
  for (int i = 0; i < kRecords; ++i)
    for (int l = 0; l < kLogs; ++l) {
      flotilla::storage::testing::append(*logs[l], kv_batch("k" + std::to_string(i % 5), value_of(l, i)));
      check("append");
    }
  for (int l = 0; l < kLogs; ++l) {
    ASSERT_GE(logs[l]->segment_count(), 4) << l;
    logs[l]->flush(logs[l]->log_end_offset());
    check("flush");
  }
  // Reads of every segment, one batch at a time (each read pins its segment until the result goes).
  for (int l = 0; l < kLogs; ++l) {
    for (int64_t o = 0; o < kRecords; ++o) {
      auto rr = logs[l]->read(o, 1, logs[l]->log_end_offset(), true);
      auto recs = records::decode_records(flotilla::storage::testing::bytes_of(rr.records));
      ASSERT_EQ(recs.size(), 1u);
      EXPECT_EQ(flotilla::storage::testing::str(recs[0].value), value_of(l, static_cast<int>(o)));
      EXPECT_LE(open_fds(), base + kBound + 1);  // + this read's pin
    }
    check("read");
  }
  // A held read result keeps its descriptor past eviction.
  auto held = logs[0]->read(0, 1 << 20, logs[0]->log_end_offset(), true);
  for (int l = 1; l < kLogs; ++l) read_all(*logs[l]);
  EXPECT_LE(open_fds(), base + kBound + held.records.files.size());
  auto held_bytes = flotilla::storage::testing::bytes_of(held.records);
  EXPECT_FALSE(held_bytes.empty());
  held = {};
  check("held read released");
  // Roll, truncation.
  for (int l = 0; l < kLogs; ++l) {
    logs[l]->roll();
    flotilla::storage::testing::append(*logs[l], kv_batch("k0", value_of(l, kRecords)));
    if (l % 2 == 0) logs[l]->truncate_to(kRecords - 5);
    check("roll/truncate");
  }
  // The cleaner over every log.
  {
    CleanerConfig cc;
    LogCleaner cleaner(cc);
    for (int l = 0; l < kLogs; ++l) {
      logs[l]->set_cleanable_limit(logs[l]->log_end_offset());
      cleaner.add_log("t", l, logs[l].get());
    }
    int cleaned = 0;
    while (cleaner.clean_once()) {
      ++cleaned;
      check("clean");
    }
    EXPECT_GE(cleaned, kLogs);
    for (int l = 0; l < kLogs; ++l) cleaner.remove_log(logs[l].get());
  }
  // What each log holds now: the latest value per key.
  std::vector<std::map<std::string, std::string>> latest(kLogs);
  for (int l = 0; l < kLogs; ++l) {
    for (const auto& r : read_all(*logs[l]).records)
      latest[l][flotilla::storage::testing::str(r.key)] = flotilla::storage::testing::str(r.value);
    EXPECT_EQ(latest[l].size(), 5u) << l;
    check("read after clean");
  }
  std::vector<int64_t> ends;
  for (auto& log : logs) ends.push_back(log->log_end_offset());
  for (auto& log : logs) log->close();
  logs.clear();
  check("close");
  // Restart: recovery walks every segment within the bound (not a clean shutdown: CRCs checked too).
  for (int l = 0; l < kLogs; ++l) {
    logs.push_back(Log::open(d.path / ("t-" + std::to_string(l)), c, Uuid{}, 0, false));
    EXPECT_EQ(logs[l]->log_end_offset(), ends[l]);
    check("recovery");
  }
  for (int l = 0; l < kLogs; ++l) {
    std::map<std::string, std::string> now;
    for (const auto& r : read_all(*logs[l]).records)
      now[flotilla::storage::testing::str(r.key)] = flotilla::storage::testing::str(r.value);
    EXPECT_EQ(now, latest[l]) << l;
    check("read after restart");
  }
  logs.clear();
  EXPECT_GT(peak, base);  // the counting saw the cache at work
}
