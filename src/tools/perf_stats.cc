#include "tools/perf_stats.h"

#include <algorithm>
#include <cstdio>
#include <ctime>

namespace flotilla::tools {

void LatencyStats::record(int64_t latency_us, int64_t records, int64_t bytes) {
  count_ += records;
  bytes_ += bytes;
  if (records <= 0) return;
  latency_us = std::max<int64_t>(latency_us, 0);
  total_latency_ms_ += static_cast<double>(latency_us) / 1000.0 * static_cast<double>(records);
  max_latency_us_ = std::max(max_latency_us_, latency_us);
  hist_[latency_us] += records;
  window_count_ += records;
  window_bytes_ += bytes;
  window_total_latency_ms_ += static_cast<double>(latency_us) / 1000.0 * static_cast<double>(records);
  window_max_latency_us_ = std::max(window_max_latency_us_, latency_us);
}

namespace {
double to_ms(int64_t us) { return static_cast<double>(us) / 1000.0; }
}  // namespace

double LatencyStats::percentile(double p) const {
  if (count_ == 0) return 0;
  // Java: sorted[(int)(p * size)].
  int64_t index = static_cast<int64_t>(p * static_cast<double>(count_));
  if (index >= count_) index = count_ - 1;
  int64_t seen = 0;
  for (const auto& [us, n] : hist_) {
    seen += n;
    if (seen > index) return to_ms(us);
  }
  return hist_.empty() ? 0 : to_ms(hist_.rbegin()->first);
}

std::string LatencyStats::window_line(int64_t now_ms) {
  double elapsed = static_cast<double>(std::max<int64_t>(1, now_ms - window_start_ms_));
  double recs_per_sec = 1000.0 * static_cast<double>(window_count_) / elapsed;
  double mb_per_sec = 1000.0 * static_cast<double>(window_bytes_) / elapsed / (1024.0 * 1024.0);
  char buf[256];
  std::snprintf(buf, sizeof(buf), "%lld records sent, %.1f records/sec (%.2f MB/sec), %.1f ms avg latency, %.1f ms max latency.",
                static_cast<long long>(window_count_), recs_per_sec, mb_per_sec,
                window_count_ ? window_total_latency_ms_ / static_cast<double>(window_count_) : 0.0,
                to_ms(window_max_latency_us_));
  window_start_ms_ = now_ms;
  window_count_ = 0;
  window_bytes_ = 0;
  window_total_latency_ms_ = 0;
  window_max_latency_us_ = 0;
  return buf;
}

std::string LatencyStats::total_line(int64_t elapsed_ms) const {
  double elapsed = static_cast<double>(std::max<int64_t>(1, elapsed_ms));
  double recs_per_sec = 1000.0 * static_cast<double>(count_) / elapsed;
  double mb_per_sec = 1000.0 * static_cast<double>(bytes_) / elapsed / (1024.0 * 1024.0);
  char buf[512];
  std::snprintf(buf, sizeof(buf),
                "%lld records sent, %f records/sec (%.2f MB/sec), %.2f ms avg latency, %.2f ms max latency, %.2f ms 50th, %.2f ms "
                "95th, %.2f ms 99th, %.2f ms 99.9th.",
                static_cast<long long>(count_), recs_per_sec, mb_per_sec, count_ ? total_latency_ms_ / static_cast<double>(count_) : 0.0,
                to_ms(max_latency_us_), percentile(0.5), percentile(0.95), percentile(0.99), percentile(0.999));
  return buf;
}

nlohmann::json LatencyStats::to_json(int64_t elapsed_ms) const {
  double elapsed = static_cast<double>(std::max<int64_t>(1, elapsed_ms));
  nlohmann::json j;
  j["records"] = count_;
  j["bytes"] = bytes_;
  j["elapsed_ms"] = elapsed_ms;
  j["records_per_sec"] = 1000.0 * static_cast<double>(count_) / elapsed;
  j["mb_per_sec"] = 1000.0 * static_cast<double>(bytes_) / elapsed / (1024.0 * 1024.0);
  j["avg_latency_ms"] = count_ ? total_latency_ms_ / static_cast<double>(count_) : 0.0;
  j["max_latency_ms"] = to_ms(max_latency_us_);
  j["p50_ms"] = percentile(0.5);
  j["p95_ms"] = percentile(0.95);
  j["p99_ms"] = percentile(0.99);
  j["p999_ms"] = percentile(0.999);
  return j;
}

std::string java_date(int64_t ms, const std::string& pattern) {
  std::time_t t = static_cast<std::time_t>(ms / 1000);
  std::tm tm{};
  localtime_r(&t, &tm);
  // The subset of SimpleDateFormat the perf tools use.
  std::string out;
  for (size_t i = 0; i < pattern.size();) {
    size_t j = i;
    while (j < pattern.size() && pattern[j] == pattern[i]) ++j;
    size_t n = j - i;
    char c = pattern[i];
    char buf[16];
    switch (c) {
      case 'y': std::snprintf(buf, sizeof(buf), n == 2 ? "%02d" : "%04d", n == 2 ? (tm.tm_year + 1900) % 100 : tm.tm_year + 1900); out += buf; break;
      case 'M': std::snprintf(buf, sizeof(buf), "%02d", tm.tm_mon + 1); out += buf; break;
      case 'd': std::snprintf(buf, sizeof(buf), "%02d", tm.tm_mday); out += buf; break;
      case 'H': std::snprintf(buf, sizeof(buf), "%02d", tm.tm_hour); out += buf; break;
      case 'm': std::snprintf(buf, sizeof(buf), "%02d", tm.tm_min); out += buf; break;
      case 's': std::snprintf(buf, sizeof(buf), "%02d", tm.tm_sec); out += buf; break;
      case 'S': std::snprintf(buf, sizeof(buf), "%03d", static_cast<int>(ms % 1000)); out += buf; break;
      default: out.append(n, c); break;
    }
    i = j;
  }
  return out;
}

}  // namespace flotilla::tools
