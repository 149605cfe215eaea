// The arithmetic of Kafka's client quotas, on explicit time (milliseconds of
// any monotonic clock): no clock, no I/O, no threads.
//
// - SampledRate: Kafka's Rate over a WindowedSum (SampledStat). Values are
//   summed into samples of `window_ms`; `samples` of them are kept (plus the
//   one "overlapping" slot Kafka keeps, so a ring of samples + 1); a sample
//   whose last event is `samples * window_ms` old is reset. The rate is the
//   sum over the window size, which is the time since the oldest sample
//   started but never less than `samples - 1` full windows plus the elapsed
//   part of the current one (so a new client's first bytes are measured over
//   ~10 s, not over the few ms it has been sending: Kafka's burst allowance).
// - TokenBucket: Kafka's TokenBucket (KIP-599, controller mutations): refilled
//   at `bound` per second up to a burst of `samples * window * bound`; the
//   quota is exceeded while the tokens are below zero.
// - throttle_time_ms: QuotaUtils.throttleTime — the delay X that brings an
//   observed rate O back to the bound T over a window W: X = (O - T) / T * W,
//   rounded as Java's Math.round.
//
// Invariants: the same inputs give the same outputs (the unit tests replay
// Kafka's examples on a virtual clock). Not thread-safe: one owner thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace flotilla::security {

struct QuotaWindowConfig {
  int32_t samples = 11;     // quota.window.num (at least 1)
  int64_t window_ms = 1000;  // quota.window.size.seconds * 1000 (at least 1000)
};

class SampledRate {
 public:
  void record(const QuotaWindowConfig& c, double value, int64_t now_ms);
  // Units per second over the window.
  double measure(const QuotaWindowConfig& c, int64_t now_ms);
  // Kafka's Rate.windowSize (ms, at least 1); purges obsolete samples first.
  int64_t window_size(const QuotaWindowConfig& c, int64_t now_ms);
  // The summed value of the samples still in the window (after a purge at now_ms).
  double total(const QuotaWindowConfig& c, int64_t now_ms);
  // Kafka's SimpleRate (replication throttles): the window is the time since
  // the oldest sample started, but at least one window.
  int64_t simple_window_size(const QuotaWindowConfig& c, int64_t now_ms);
  double simple_measure(const QuotaWindowConfig& c, int64_t now_ms);

 private:
  struct Sample {
    double value = 0;
    int64_t event_count = 0;
    int64_t start_ms = 0;
    int64_t last_event_ms = 0;
    void reset(int64_t now) {
      value = 0;
      event_count = 0;
      start_ms = now;
      last_event_ms = now;
    }
  };
  Sample& current(int64_t now_ms);
  Sample& advance(const QuotaWindowConfig& c, int64_t now_ms);
  const Sample& oldest(int64_t now_ms);
  void purge_obsolete(const QuotaWindowConfig& c, int64_t now_ms);

  std::vector<Sample> samples_;
  size_t current_ = 0;
};

class TokenBucket {
 public:
  // The tokens after refilling at `bound` per second up to the burst. A new
  // bucket is full (Kafka's starts at time 0, so its first refill fills it).
  double measure(const QuotaWindowConfig& c, double bound, int64_t now_ms);
  void record(const QuotaWindowConfig& c, double bound, double value, int64_t now_ms);

 private:
  void refill(double bound, double burst, int64_t now_ms);
  double tokens_ = 0;
  int64_t last_update_ms_ = 0;
  bool fresh_ = true;
};

// QuotaUtils.throttleTime: (value - bound) / bound * window_ms, rounded (Math.round).
int64_t throttle_time_ms(double value, double bound, int64_t window_ms);
// ControllerMutationQuotaManager.throttleTimeMs for a bucket at `tokens` (< 0).
int64_t token_bucket_throttle_ms(double tokens, double bound);

}  // namespace flotilla::security
