#include "security/quota_stats.h"

#include <algorithm>
#include <cmath>

namespace flotilla::security {

namespace {

// Java's Math.round(double): floor(x + 0.5), saturating.
int64_t java_round(double x) {
  if (std::isnan(x)) return 0;
  double r = std::floor(x + 0.5);
  if (r >= 9.2233720368547758e18) return INT64_MAX;
  if (r <= -9.2233720368547758e18) return INT64_MIN;
  return static_cast<int64_t>(r);
}

}  // namespace

SampledRate::Sample& SampledRate::current(int64_t now_ms) {
  if (samples_.empty()) {
    samples_.emplace_back();
    samples_.back().reset(now_ms);
  }
  return samples_[current_];
}

SampledRate::Sample& SampledRate::advance(const QuotaWindowConfig& c, int64_t now_ms) {
  // One extra slot for the sample that overlaps the start of the window.
  const size_t max_samples = static_cast<size_t>(c.samples) + 1;
  current_ = (current_ + 1) % max_samples;
  if (current_ >= samples_.size()) {
    samples_.emplace_back();
    samples_.back().reset(now_ms);
    return samples_.back();
  }
  samples_[current_].reset(now_ms);
  return samples_[current_];
}

void SampledRate::record(const QuotaWindowConfig& c, double value, int64_t now_ms) {
  Sample* s = &current(now_ms);
  if (now_ms - s->start_ms >= c.window_ms) s = &advance(c, now_ms);  // the event window is unbounded
  s->value += value;
  s->event_count += 1;
  s->last_event_ms = now_ms;
}

const SampledRate::Sample& SampledRate::oldest(int64_t now_ms) {
  if (samples_.empty()) {
    samples_.emplace_back();
    samples_.back().reset(now_ms);
  }
  const Sample* o = &samples_[0];
  for (const auto& s : samples_)
    if (s.start_ms < o->start_ms) o = &s;
  return *o;
}

void SampledRate::purge_obsolete(const QuotaWindowConfig& c, int64_t now_ms) {
  const int64_t expire_age = static_cast<int64_t>(c.samples) * c.window_ms;
  for (auto& s : samples_)
    if (now_ms - s.last_event_ms >= expire_age) s.reset(now_ms);
}

double SampledRate::total(const QuotaWindowConfig& c, int64_t now_ms) {
  purge_obsolete(c, now_ms);
  double sum = 0;
  for (const auto& s : samples_) sum += s.value;
  return sum;
}

int64_t SampledRate::window_size(const QuotaWindowConfig& c, int64_t now_ms) {
  purge_obsolete(c, now_ms);
  int64_t elapsed = now_ms - oldest(now_ms).start_ms;
  const int64_t full = elapsed / c.window_ms;
  const int64_t min_full = static_cast<int64_t>(c.samples) - 1;
  if (full < min_full) elapsed += (min_full - full) * c.window_ms;
  return std::max<int64_t>(elapsed, 1);
}

int64_t SampledRate::simple_window_size(const QuotaWindowConfig& c, int64_t now_ms) {
  purge_obsolete(c, now_ms);
  return std::max<int64_t>(now_ms - oldest(now_ms).start_ms, c.window_ms);
}

double SampledRate::simple_measure(const QuotaWindowConfig& c, int64_t now_ms) {
  double sum = total(c, now_ms);
  return sum / (static_cast<double>(simple_window_size(c, now_ms)) / 1000.0);
}

double SampledRate::measure(const QuotaWindowConfig& c, int64_t now_ms) {
  double sum = total(c, now_ms);
  return sum / (static_cast<double>(window_size(c, now_ms)) / 1000.0);
}

void TokenBucket::refill(double bound, double burst, int64_t now_ms) {
  if (fresh_) {
    tokens_ = burst;
    fresh_ = false;
  } else {
    tokens_ = std::min(burst, tokens_ + bound * (static_cast<double>(now_ms - last_update_ms_) / 1000.0));
  }
  last_update_ms_ = now_ms;
}

double TokenBucket::measure(const QuotaWindowConfig& c, double bound, int64_t now_ms) {
  const double burst = static_cast<double>(c.samples) * (static_cast<double>(c.window_ms) / 1000.0) * bound;
  refill(bound, burst, now_ms);
  return tokens_;
}

void TokenBucket::record(const QuotaWindowConfig& c, double bound, double value, int64_t now_ms) {
  const double burst = static_cast<double>(c.samples) * (static_cast<double>(c.window_ms) / 1000.0) * bound;
  refill(bound, burst, now_ms);
  tokens_ = std::min(burst, tokens_ - value);
}

int64_t throttle_time_ms(double value, double bound, int64_t window_ms) {
  return java_round((value - bound) / bound * static_cast<double>(window_ms));
}

int64_t token_bucket_throttle_ms(double tokens, double bound) { return java_round(-tokens / bound * 1000.0); }

}  // namespace flotilla::security
