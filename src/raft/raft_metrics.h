// Raft's sensors (Kafka's KafkaRaftMetrics, `kafka.server:type=raft-metrics`)
// and the values /metrics renders from them.
//
// - WindowedStat: a sampled statistic as Kafka's metrics library keeps it: the
//   values of the last `samples` windows of `window_ms` each (Kafka's defaults,
//   metrics.num.samples=2 and metrics.sample.window.ms=30000), an older window
//   forgotten as a new one starts. avg/max are NaN with no value in the
//   window (as Kafka's Avg and Max); rate() is the windowed sum per second over
//   the elapsed window (at least samples-1 whole windows, as Kafka's Rate).
// - RaftSensors: what the driver records (commit and election latency,
//   records appended as leader and fetched as follower), on the event loop
//   only; publish() copies the current figures into PublishedRaftMetrics.
// - PublishedRaftMetrics: relaxed atomics the HTTP thread reads at scrape
//   time; written only by publish() (the event loop, every 250 ms from the
//   HTTP view's Raft status refresh). One per process (raft_metrics()), as
//   metrics::global() is.
#pragma once

#include <atomic>
#include <cstdint>
#include <deque>
#include <vector>

namespace flotilla::raft {

class WindowedStat {
 public:
  explicit WindowedStat(int samples = 2, int64_t window_ms = 30000);
  void record(double value, int64_t now_ms);
  double avg(int64_t now_ms);
  double max(int64_t now_ms);
  // Sum of the values in the window per second of the window's elapsed time.
  double rate(int64_t now_ms);

 private:
  struct Sample {
    int64_t start_ms = 0;
    int64_t count = 0;
    double sum = 0;
    double max = 0;
  };
  void purge(int64_t now_ms);
  Sample& current(int64_t now_ms);
  int samples_;
  int64_t window_ms_;
  std::deque<Sample> window_;  // oldest first, at most samples_
};

struct PublishedRaftMetrics {
  std::atomic<double> commit_latency_avg{0}, commit_latency_max{0};
  std::atomic<double> election_latency_avg{0}, election_latency_max{0};
  std::atomic<double> append_records_rate{0}, fetch_records_rate{0};
  std::atomic<int32_t> log_end_epoch{0};
  std::atomic<int32_t> number_unknown_voter_connections{0};
  std::atomic<bool> published{false};
};
PublishedRaftMetrics& raft_metrics();

class RaftSensors {
 public:
  // Leader: a batch [.., last_offset] appended at now_ms (commit latency
  // runs from here); follower: records fetched from the leader.
  void appended_as_leader(int64_t last_offset, int64_t records, int64_t now_ms);
  void fetched_as_follower(int64_t records, int64_t now_ms);
  // The high watermark moved to `hw`: every leader batch below it committed now.
  void high_watermark(int64_t hw, int64_t now_ms);
  // Leadership changed: commit latencies of batches of the old term are not measured.
  void leader_changed();
  // The role after each round of actions: an election starts when the node
  // becomes a prospective or a candidate, and ends when it is leader or
  // follower (Kafka's election latency).
  void role(bool electing, bool has_leader, int64_t now_ms);
  void publish(int32_t log_end_epoch, int32_t unknown_voters, int64_t now_ms, PublishedRaftMetrics& out = raft_metrics());

 private:
  struct Uncommitted {
    int64_t last_offset;
    int64_t append_ms;
  };
  std::deque<Uncommitted> uncommitted_;
  WindowedStat commit_latency_, election_latency_, append_records_, fetch_records_;
  int64_t election_start_ms_ = -1;
};

}  // namespace flotilla::raft
