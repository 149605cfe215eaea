#include "common/metrics.h"

#include <algorithm>
#include <cmath>
#include <stdexcept>

#include <fmt/format.h>

namespace flotilla::metrics {

Histogram::Histogram(std::vector<double> bounds) : bounds_(std::move(bounds)) {
  std::sort(bounds_.begin(), bounds_.end());
  counts_ = std::make_unique<std::atomic<uint64_t>[]>(bounds_.size() + 1);
  for (size_t i = 0; i <= bounds_.size(); ++i) counts_[i].store(0, std::memory_order_relaxed);
}

size_t Histogram::bucket_of(double v) const noexcept {
  // A binary search: 24 bounds are 5 comparisons.
  return static_cast<size_t>(std::lower_bound(bounds_.begin(), bounds_.end(), v) - bounds_.begin());
}

std::vector<uint64_t> Histogram::counts() const {
  std::vector<uint64_t> out(bounds_.size() + 1);
  for (size_t i = 0; i < out.size(); ++i) out[i] = counts_[i].load(std::memory_order_relaxed);
  return out;
}

uint64_t Histogram::count() const {
  uint64_t n = 0;
  for (size_t i = 0; i <= bounds_.size(); ++i) n += counts_[i].load(std::memory_order_relaxed);
  return n;
}

double Histogram::quantile(double q) const {
  auto c = counts();
  uint64_t total = 0;
  for (auto n : c) total += n;
  if (total == 0) return 0;
  double rank = q * static_cast<double>(total);
  uint64_t seen = 0;
  for (size_t i = 0; i < c.size(); ++i) {
    if (c[i] == 0) continue;
    if (static_cast<double>(seen + c[i]) >= rank) {
      double lo = i == 0 ? 0 : bounds_[i - 1];
      if (i == bounds_.size()) return lo;  // above the last bound: its lower edge is all we know
      double hi = bounds_[i];
      double within = (rank - static_cast<double>(seen)) / static_cast<double>(c[i]);
      return lo + (hi - lo) * std::clamp(within, 0.0, 1.0);
    }
    seen += c[i];
  }
  return bounds_.empty() ? 0 : bounds_.back();
}

std::vector<double> Histogram::latency_ms_bounds() {
  std::vector<double> b;
  for (double decade = 0.01; decade < 100000; decade *= 10)
    for (double m : {1.0, 2.5, 5.0, 7.5})
      if (decade * m >= 0.05 && decade * m <= 60000) b.push_back(decade * m);
  return b;
}

void append_value(std::string& out, double v) {
  if (std::isnan(v)) {
    out += "NaN";
  } else if (std::isinf(v)) {
    out += v > 0 ? "+Inf" : "-Inf";
  } else {
    char buf[40];  // a double's shortest form is at most 24 characters
    const char* end = v == std::floor(v) && std::fabs(v) < 1e15 ? fmt::format_to_n(buf, sizeof buf, "{}", static_cast<int64_t>(v)).out
                                                                 : fmt::format_to_n(buf, sizeof buf, "{}", v).out;
    out.append(buf, static_cast<size_t>(end - buf));
  }
}

std::string format_value(double v) {
  std::string out;
  append_value(out, v);
  return out;
}

std::string sanitize_name(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (char c : s) {
    if (c >= 'A' && c <= 'Z') out += static_cast<char>(c - 'A' + 'a');
    else if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == ':') out += c;
    else out += '_';
  }
  return out;
}

namespace {

void append_escaped(std::string& out, std::string_view v, bool help) {
  for (char c : v) {
    if (c == '\\') out += "\\\\";
    else if (c == '\n') out += "\\n";
    else if (c == '"' && !help) out += "\\\"";
    else out += c;
  }
}

void append_labels(std::string& out, const Labels& labels, std::string_view extra_key, std::string_view extra_value) {
  if (labels.empty() && extra_key.empty()) return;
  out += '{';
  bool first = true;
  auto one = [&](std::string_view k, std::string_view v) {
    if (!first) out += ',';
    first = false;
    out += k;
    out += "=\"";
    append_escaped(out, v, false);
    out += '"';
  };
  for (const auto& [k, v] : labels) one(k, v);
  if (!extra_key.empty()) one(extra_key, extra_value);
  out += '}';
}

}  // namespace

void Exposition::family(std::string_view name, std::string_view help, std::string_view type) {
  out_ += "# HELP ";
  out_ += name;
  out_ += ' ';
  append_escaped(out_, help, true);
  out_ += "\n# TYPE ";
  out_ += name;
  out_ += ' ';
  out_ += type;
  out_ += '\n';
}

void Exposition::sample(std::string_view name, const Labels& labels, double value) {
  sample(name, labels, {}, {}, value);
}

void Exposition::sample(std::string_view name, const Labels& labels, std::string_view extra_key, std::string_view extra_value,
                        double value) {
  out_ += name;
  append_labels(out_, labels, extra_key, extra_value);
  out_ += ' ';
  append_value(out_, value);
  out_ += '\n';
}

Labels FamilyBase::labels_of(const std::vector<std::string>& values) const {
  Labels l;
  l.reserve(label_names_.size());
  for (size_t i = 0; i < label_names_.size() && i < values.size(); ++i) l.emplace_back(label_names_[i], values[i]);
  return l;
}

template <>
void Family<Counter>::render(Exposition& e) const {
  e.family(name_, help_, "counter");
  for (const auto& [values, c] : children()) e.sample(name_, labels_of(values), static_cast<double>(c->value()));
}

template <>
void Family<Gauge>::render(Exposition& e) const {
  e.family(name_, help_, "gauge");
  for (const auto& [values, g] : children()) e.sample(name_, labels_of(values), g->value());
}

template <>
void Family<Histogram>::render(Exposition& e) const {
  auto kids = children();
  if (style == HistogramStyle::Summary) {
    // Kafka's percentiles, as the JMX exporter prints them: name{...,quantile="0.99"}.
    e.family(name_, help_, "summary");
    for (const auto& [values, h] : kids) {
      Labels l = labels_of(values);
      for (auto [q, text] : {std::pair{0.5, "0.5"}, {0.75, "0.75"}, {0.95, "0.95"}, {0.98, "0.98"}, {0.99, "0.99"}, {0.999, "0.999"}})
        e.sample(name_, l, "quantile", text, h->quantile(q));
      e.sample(name_ + "_sum", l, h->sum());
      e.sample(name_ + "_count", l, static_cast<double>(h->count()));
    }
    return;
  }
  e.family(name_, help_, "histogram");
  for (const auto& [values, h] : kids) {
    Labels l = labels_of(values);
    auto counts = h->counts();
    uint64_t cumulative = 0;
    for (size_t i = 0; i < counts.size(); ++i) {
      cumulative += counts[i];
      e.sample(name_ + "_bucket", l, "le", i < h->bounds().size() ? format_value(h->bounds()[i]) : "+Inf",
               static_cast<double>(cumulative));
    }
    e.sample(name_ + "_sum", l, h->sum());
    e.sample(name_ + "_count", l, static_cast<double>(cumulative));
  }
}

template <class M>
Family<M>& Registry::get(const std::string& name, const std::string& help, std::vector<std::string> label_names,
                         typename Family<M>::Factory factory) {
  std::lock_guard lock(mu_);
  if (auto it = by_name_.find(name); it != by_name_.end()) {
    auto* f = dynamic_cast<Family<M>*>(it->second);
    if (!f) throw std::logic_error("metric " + name + " registered with another type");
    return *f;
  }
  auto f = std::make_unique<Family<M>>(name, help, std::move(label_names), std::move(factory));
  auto* raw = f.get();
  families_.push_back(std::move(f));
  by_name_[name] = raw;
  return *raw;
}

Family<Counter>& Registry::counter(const std::string& name, const std::string& help, std::vector<std::string> label_names) {
  return get<Counter>(name, help, std::move(label_names), [] { return std::make_shared<Counter>(); });
}

Family<Gauge>& Registry::gauge(const std::string& name, const std::string& help, std::vector<std::string> label_names) {
  return get<Gauge>(name, help, std::move(label_names), [] { return std::make_shared<Gauge>(); });
}

Family<Histogram>& Registry::histogram(const std::string& name, const std::string& help, std::vector<std::string> label_names,
                                       std::vector<double> bounds, HistogramStyle style) {
  auto& f = get<Histogram>(name, help, std::move(label_names), [bounds] { return std::make_shared<Histogram>(bounds); });
  f.style = style;
  return f;
}

int Registry::add_collector(Collector c) {
  std::lock_guard lock(mu_);
  int id = next_collector_++;
  collectors_.emplace_back(id, std::make_shared<Collector>(std::move(c)));
  return id;
}

void Registry::remove_collector(int id) {
  std::lock_guard lock(mu_);
  std::erase_if(collectors_, [id](const auto& p) { return p.first == id; });
}

void Registry::render(std::string& out) const {
  // The lists are copied under the lock, rendered outside it: a scrape never
  // holds the registry while it formats (a new family may be added meanwhile).
  std::vector<FamilyBase*> families;
  std::vector<std::shared_ptr<Collector>> collectors;
  {
    std::lock_guard lock(mu_);
    for (const auto& f : families_) families.push_back(f.get());
    for (const auto& [id, c] : collectors_) collectors.push_back(c);
  }
  Exposition e(out);
  for (auto* f : families) f->render(e);
  for (const auto& c : collectors) (*c)(e);
}

Registry& global() {
  static Registry* r = new Registry();  // never destroyed: threads may update metrics during exit
  return *r;
}

}  // namespace flotilla::metrics
