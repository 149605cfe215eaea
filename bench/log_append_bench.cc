// Log append and read: the broker's per-request storage cost.
#include <benchmark/benchmark.h>
#include <unistd.h>

#include <filesystem>

#include "protocol/record_batch.h"
#include "storage/log.h"

using namespace flotilla;

namespace {

std::vector<uint8_t> one_mib_batch() {
  records::BatchBuilder b;
  std::vector<uint8_t> v(1024, 7);
  for (int i = 0; i < 1000; ++i) b.add(1000 + i, std::nullopt, std::span<const uint8_t>(v));
  return b.build();
}

void BM_LogAppend1MiB(benchmark::State& s) {
  auto dir = std::filesystem::temp_directory_path() / ("flotilla-bench-" + std::to_string(::getpid()));
  std::filesystem::remove_all(dir);
  storage::LogConfig c;
  c.segment_bytes = 256 << 20;
  c.retention_bytes = 512 << 20;
  auto log = storage::Log::open(dir, c, Uuid{1, 1});
  auto batch = one_mib_batch();
  auto v = records::validate_batches(batch, 1 << 30);
  int n = 0;
  for (auto _ : s) {
    log->append(batch, v, 0);
    if (++n % 256 == 0) log->apply_retention(0);
  }
  s.SetBytesProcessed(static_cast<int64_t>(s.iterations() * batch.size()));
  log->remove();
}
BENCHMARK(BM_LogAppend1MiB)->UseRealTime();

void BM_LogRead1MiB(benchmark::State& s) {
  auto dir = std::filesystem::temp_directory_path() / ("flotilla-bench-r-" + std::to_string(::getpid()));
  std::filesystem::remove_all(dir);
  auto log = storage::Log::open(dir, storage::LogConfig{}, Uuid{1, 1});
  auto batch = one_mib_batch();
  auto v = records::validate_batches(batch, 1 << 30);
  for (int i = 0; i < 64; ++i) log->append(batch, v, 0);
  int64_t off = 0;
  for (auto _ : s) {
    auto rr = log->read(off, 1 << 20, log->log_end_offset(), true);
    benchmark::DoNotOptimize(rr);
    off = (off + 1000) % 64000;
  }
  log->remove();
}
BENCHMARK(BM_LogRead1MiB);

// Small appends and reads: the per-request costs (file lookups, pins) that
// 1 MiB batches hide behind the copy.
std::vector<uint8_t> small_batch() {
  records::BatchBuilder b;
  std::vector<uint8_t> v(100, 7);
  for (int i = 0; i < 10; ++i) b.add(1000 + i, std::nullopt, std::span<const uint8_t>(v));
  return b.build();
}

void BM_LogAppend1KiB(benchmark::State& s) {
  auto dir = std::filesystem::temp_directory_path() / ("flotilla-bench-s-" + std::to_string(::getpid()));
  std::filesystem::remove_all(dir);
  storage::LogConfig c;
  c.segment_bytes = 64 << 20;
  c.retention_bytes = 128 << 20;
  auto log = storage::Log::open(dir, c, Uuid{1, 1});
  auto batch = small_batch();
  auto v = records::validate_batches(batch, 1 << 30);
  int n = 0;
  for (auto _ : s) {
    log->append(batch, v, 0);
    if (++n % 65536 == 0) log->apply_retention(0);
  }
  s.SetBytesProcessed(static_cast<int64_t>(s.iterations() * batch.size()));
  log->remove();
}
BENCHMARK(BM_LogAppend1KiB)->UseRealTime();

void BM_LogRead1KiB(benchmark::State& s) {
  auto dir = std::filesystem::temp_directory_path() / ("flotilla-bench-sr-" + std::to_string(::getpid()));
  std::filesystem::remove_all(dir);
  auto log = storage::Log::open(dir, storage::LogConfig{}, Uuid{1, 1});
  auto batch = small_batch();
  auto v = records::validate_batches(batch, 1 << 30);
  for (int i = 0; i < 20000; ++i) log->append(batch, v, 0);
  int64_t off = 0;
  for (auto _ : s) {
    auto rr = log->read(off, 2048, log->log_end_offset(), true);
    benchmark::DoNotOptimize(rr);
    off = (off + 7919) % 200000;
  }
  log->remove();
}
BENCHMARK(BM_LogRead1KiB);

}  // namespace
