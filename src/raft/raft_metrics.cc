// Raft's sensors: see raft_metrics.h.
#include "raft/raft_metrics.h"

#include <algorithm>
#include <limits>

namespace flotilla::raft {

namespace {
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
}

PublishedRaftMetrics& raft_metrics() {
  static PublishedRaftMetrics m;
  return m;
}

WindowedStat::WindowedStat(int samples, int64_t window_ms) : samples_(std::max(samples, 1)), window_ms_(std::max<int64_t>(window_ms, 1)) {}

void WindowedStat::purge(int64_t now_ms) {
  const int64_t expire = samples_ * window_ms_;
  while (!window_.empty() && now_ms - window_.front().start_ms >= expire) window_.pop_front();
}

WindowedStat::Sample& WindowedStat::current(int64_t now_ms) {
  if (window_.empty() || now_ms - window_.back().start_ms >= window_ms_) {
    window_.push_back(Sample{now_ms, 0, 0, 0});
    while (static_cast<int>(window_.size()) > samples_) window_.pop_front();
  }
  return window_.back();
}

void WindowedStat::record(double value, int64_t now_ms) {
  purge(now_ms);
  Sample& s = current(now_ms);
  s.max = s.count == 0 ? value : std::max(s.max, value);
  s.sum += value;
  s.count += 1;
}

double WindowedStat::avg(int64_t now_ms) {
  purge(now_ms);
  double sum = 0;
  int64_t count = 0;
  for (const auto& s : window_) {
    sum += s.sum;
    count += s.count;
  }
  return count == 0 ? kNaN : sum / static_cast<double>(count);
}

double WindowedStat::max(int64_t now_ms) {
  purge(now_ms);
  double m = kNaN;
  bool any = false;
  for (const auto& s : window_)
    if (s.count > 0) {
      m = any ? std::max(m, s.max) : s.max;
      any = true;
    }
  return m;
}

double WindowedStat::rate(int64_t now_ms) {
  purge(now_ms);
  double sum = 0;
  for (const auto& s : window_) sum += s.sum;
  int64_t elapsed = window_.empty() ? 0 : now_ms - window_.front().start_ms;
  const int64_t full = elapsed / window_ms_, min_full = samples_ - 1;
  if (full < min_full) elapsed += (min_full - full) * window_ms_;
  return elapsed <= 0 ? 0 : sum / (static_cast<double>(elapsed) / 1000.0);
}

void RaftSensors::appended_as_leader(int64_t last_offset, int64_t records, int64_t now_ms) {
  append_records_.record(static_cast<double>(records), now_ms);
  uncommitted_.push_back(Uncommitted{last_offset, now_ms});
}

void RaftSensors::fetched_as_follower(int64_t records, int64_t now_ms) { fetch_records_.record(static_cast<double>(records), now_ms); }

void RaftSensors::high_watermark(int64_t hw, int64_t now_ms) {
  while (!uncommitted_.empty() && uncommitted_.front().last_offset < hw) {
    commit_latency_.record(static_cast<double>(now_ms - uncommitted_.front().append_ms), now_ms);
    uncommitted_.pop_front();
  }
}

void RaftSensors::leader_changed() { uncommitted_.clear(); }

void RaftSensors::role(bool electing, bool has_leader, int64_t now_ms) {
  if (electing) {
    if (election_start_ms_ < 0) election_start_ms_ = now_ms;
  } else if (has_leader && election_start_ms_ >= 0) {
    election_latency_.record(static_cast<double>(now_ms - election_start_ms_), now_ms);
    election_start_ms_ = -1;
  }
}

void RaftSensors::publish(int32_t log_end_epoch, int32_t unknown_voters, int64_t now_ms, PublishedRaftMetrics& out) {
  constexpr auto r = std::memory_order_relaxed;
  out.commit_latency_avg.store(commit_latency_.avg(now_ms), r);
  out.commit_latency_max.store(commit_latency_.max(now_ms), r);
  out.election_latency_avg.store(election_latency_.avg(now_ms), r);
  out.election_latency_max.store(election_latency_.max(now_ms), r);
  out.append_records_rate.store(append_records_.rate(now_ms), r);
  out.fetch_records_rate.store(fetch_records_.rate(now_ms), r);
  out.log_end_epoch.store(log_end_epoch, r);
  out.number_unknown_voter_connections.store(unknown_voters, r);
  out.published.store(true, r);
}

}  // namespace flotilla::raft
