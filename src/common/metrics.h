// Metrics: counters, gauges and histograms the hot paths update, and the
// registry the HTTP listener renders in Prometheus's text format (0.0.4).
//
// Names are the ones Prometheus's JMX exporter gives Kafka's MBeans with its
// common Kafka rules (lower case, `kafka_<domain>_<type>_<name>[_total]`),
// so Kafka's dashboards and alerts work unchanged; README lists them all.
//
// Threading and cost:
// - An update (Counter::inc, Gauge::set, Histogram::observe) is one relaxed
//   atomic operation on memory only its metric uses: no lock, no allocation,
//   safe from any thread. The event loop never waits for a scrape.
// - A reader (render, on an HTTP thread) reads each value atomically. Values
//   of different metrics are not a transaction: a scrape may see a counter
//   before and another after the same request, as JMX does.
// - Family::with() takes the family's mutex to find or create the child of a
//   label set: callers on hot paths look a child up once and keep the
//   shared_ptr (a topic's counters live in the partition's state).
// - Collectors run at scrape time on the HTTP thread; they must read only
//   thread-safe snapshots (a published metadata image, atomics), never the
//   event loop's mutable state.
//
// Built with -DFLOTILLA_METRICS=OFF (FLOTILLA_NO_METRICS), every update is a
// no-op the compiler removes: the benchmark of what metrics cost.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace flotilla::metrics {

#ifdef FLOTILLA_NO_METRICS
inline constexpr bool kEnabled = false;
#else
inline constexpr bool kEnabled = true;
#endif

class Counter {
 public:
  void inc(uint64_t n = 1) noexcept {
    if constexpr (kEnabled) v_.fetch_add(n, std::memory_order_relaxed);
  }
  uint64_t value() const noexcept { return v_.load(std::memory_order_relaxed); }

 private:
  std::atomic<uint64_t> v_{0};
};

class Gauge {
 public:
  void set(double v) noexcept {
    if constexpr (kEnabled) v_.store(v, std::memory_order_relaxed);
  }
  void add(double d) noexcept {
    if constexpr (kEnabled) v_.fetch_add(d, std::memory_order_relaxed);
  }
  double value() const noexcept { return v_.load(std::memory_order_relaxed); }

 private:
  std::atomic<double> v_{0};
};

// Cumulative counts over fixed upper bounds (ascending), plus sum and count.
// Quantiles are estimated from the buckets (linear within a bucket), which is
// what the summary rendering prints; the error is at most one bucket's width.
class Histogram {
 public:
  explicit Histogram(std::vector<double> bounds);
  void observe(double v) noexcept {
    if constexpr (kEnabled) {
      size_t i = bucket_of(v);
      counts_[i].fetch_add(1, std::memory_order_relaxed);
      sum_.fetch_add(v, std::memory_order_relaxed);
    }
  }
  const std::vector<double>& bounds() const { return bounds_; }
  // Per bucket (bounds().size() + 1: the last is +Inf), not cumulative.
  std::vector<uint64_t> counts() const;
  uint64_t count() const;
  double sum() const { return sum_.load(std::memory_order_relaxed); }
  double quantile(double q) const;

  // Latency bounds in milliseconds: 0.05 ms … 60 s, about 4 per decade.
  static std::vector<double> latency_ms_bounds();

 private:
  size_t bucket_of(double v) const noexcept;
  std::vector<double> bounds_;
  std::unique_ptr<std::atomic<uint64_t>[]> counts_;
  std::atomic<double> sum_{0};
};

using Labels = std::vector<std::pair<std::string, std::string>>;

// Writes the text exposition format: one HELP/TYPE per family, then samples.
class Exposition {
 public:
  explicit Exposition(std::string& out) : out_(out) {}
  // type: "counter", "gauge", "summary", "histogram" or "untyped".
  void family(std::string_view name, std::string_view help, std::string_view type);
  void sample(std::string_view name, const Labels& labels, double value);
  void sample(std::string_view name, double value) { sample(name, Labels{}, value); }
  // The same, with one extra label appended (le, quantile).
  void sample(std::string_view name, const Labels& labels, std::string_view extra_key, std::string_view extra_value, double value);
  std::string& out() { return out_; }

 private:
  std::string& out_;
};

// A formatted number as Prometheus reads it: integers without a fraction,
// +Inf/-Inf/NaN spelled its way.
std::string format_value(double v);
void append_value(std::string& out, double v);  // the same, appended (no allocation per sample)
// Kafka's `Foo-Bar.baz` becomes `foo_bar_baz`: the JMX exporter's
// lowercaseOutputName and its replacement of characters Prometheus refuses.
std::string sanitize_name(std::string_view s);

enum class HistogramStyle { Summary, Histogram };

class FamilyBase {
 public:
  FamilyBase(std::string name, std::string help, std::vector<std::string> label_names)
      : name_(std::move(name)), help_(std::move(help)), label_names_(std::move(label_names)) {}
  virtual ~FamilyBase() = default;
  virtual void render(Exposition& e) const = 0;
  const std::string& name() const { return name_; }

 protected:
  Labels labels_of(const std::vector<std::string>& values) const;
  std::string name_, help_;
  std::vector<std::string> label_names_;
};

// Metrics of one name, one child per label-value set (in label_names order).
template <class M>
class Family : public FamilyBase {
 public:
  using Factory = std::function<std::shared_ptr<M>()>;
  Family(std::string name, std::string help, std::vector<std::string> label_names, Factory factory)
      : FamilyBase(std::move(name), std::move(help), std::move(label_names)), factory_(std::move(factory)) {}
  // The child for these label values, created on first use. Keep it: a child
  // removed from the family stays valid for whoever holds it.
  std::shared_ptr<M> with(std::vector<std::string> values) {
    std::lock_guard lock(mu_);
    auto& slot = children_[std::move(values)];
    if (!slot) slot = factory_();
    return slot;
  }
  // Stops rendering a child (a deleted topic's series).
  void remove(const std::vector<std::string>& values) {
    std::lock_guard lock(mu_);
    children_.erase(values);
  }
  // Removes every child whose values match `pred`.
  void remove_if(const std::function<bool(const std::vector<std::string>&)>& pred) {
    std::lock_guard lock(mu_);
    std::erase_if(children_, [&](const auto& kv) { return pred(kv.first); });
  }
  std::vector<std::pair<std::vector<std::string>, std::shared_ptr<M>>> children() const {
    std::lock_guard lock(mu_);
    return {children_.begin(), children_.end()};
  }
  void render(Exposition& e) const override;
  HistogramStyle style = HistogramStyle::Summary;  // Family<Histogram> only

 private:
  Factory factory_;
  mutable std::mutex mu_;
  std::map<std::vector<std::string>, std::shared_ptr<M>> children_;
};

// Appends samples computed at scrape time (on the HTTP thread).
using Collector = std::function<void(Exposition&)>;

class Registry {
 public:
  // Families are created once (the same name returns the same family; a
  // different kind or label set under a known name throws std::logic_error).
  Family<Counter>& counter(const std::string& name, const std::string& help, std::vector<std::string> label_names = {});
  Family<Gauge>& gauge(const std::string& name, const std::string& help, std::vector<std::string> label_names = {});
  Family<Histogram>& histogram(const std::string& name, const std::string& help, std::vector<std::string> label_names,
                               std::vector<double> bounds, HistogramStyle style = HistogramStyle::Summary);

  // Returns an id for remove_collector. Collectors render after the families, in the order added.
  int add_collector(Collector c);
  void remove_collector(int id);

  // The whole exposition: every family, then every collector.
  void render(std::string& out) const;

 private:
  template <class M>
  Family<M>& get(const std::string& name, const std::string& help, std::vector<std::string> label_names,
                 typename Family<M>::Factory factory);
  mutable std::mutex mu_;
  std::vector<std::unique_ptr<FamilyBase>> families_;  // in creation order
  std::map<std::string, FamilyBase*> by_name_;
  std::vector<std::pair<int, std::shared_ptr<Collector>>> collectors_;
  int next_collector_ = 1;
};

// The process's registry: what every module updates and /metrics renders.
// (A process runs one node; the C++ tests that run several share it, which
// sums their counters and is harmless there.)
Registry& global();

}  // namespace flotilla::metrics
