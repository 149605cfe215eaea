// Statistics of `flotilla perf produce` with kafka-producer-perf-test's output
// lines, and Java-style date formatting for `perf consume`.
//
// Latencies are kept in microseconds (the Java tool keeps whole ms, which on a
// sub-millisecond path prints 0 everywhere), so avg, max and the percentiles
// are all of the same samples: max >= p99.9 >= p99 >= p95 >= p50 and
// avg <= max always hold. The lines keep Kafka's wording; the percentiles
// carry two decimals (Java prints whole ms there).
#pragma once

#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <string>

namespace flotilla::tools {

class LatencyStats {
 public:
  void start_window(int64_t now_ms) { window_start_ms_ = now_ms; }
  // `records` records (of `bytes` payload bytes) acknowledged after latency_us.
  void record(int64_t latency_us, int64_t records, int64_t bytes);
  // Java's percentile rule: the latency (ms, at microsecond resolution) at index
  // (int)(p * count) of the sorted samples; 0 without samples.
  double percentile(double p) const;
  int64_t count() const { return count_; }
  int64_t bytes() const { return bytes_; }
  // "N records sent, X records/sec (Y MB/sec), A ms avg latency, M ms max latency." (and resets the window)
  std::string window_line(int64_t now_ms);
  // "N records sent, X records/sec (Y MB/sec), A ms avg latency, M ms max latency, P ms 50th, P ms 95th, P ms 99th, P ms 99.9th."
  std::string total_line(int64_t elapsed_ms) const;
  nlohmann::json to_json(int64_t elapsed_ms) const;

 private:
  int64_t count_ = 0, bytes_ = 0;
  double total_latency_ms_ = 0;
  int64_t max_latency_us_ = 0;
  std::map<int64_t, int64_t> hist_;  // latency in us -> records (one entry per distinct latency: per request, not per record)
  int64_t window_start_ms_ = 0, window_count_ = 0, window_bytes_ = 0, window_max_latency_us_ = 0;
  double window_total_latency_ms_ = 0;
};

// SimpleDateFormat subset (y, M, d, H, m, s, S and literals) in local time.
std::string java_date(int64_t ms, const std::string& pattern);

}  // namespace flotilla::tools
