#include "broker/client_metrics_store.h"

#include <algorithm>

namespace flotilla::broker {

void ClientMetricsStore::record(const TelemetryClientInfo& client, const otlp::MetricsData& data, int64_t now_ms) {
  std::lock_guard lock(mu_);
  ++seq_;
  auto it = instances_.find(client.client_instance_id);
  if (it == instances_.end()) {
    if (max_clients_ == 0) return;
    while (instances_.size() >= max_clients_) {
      auto oldest = std::min_element(instances_.begin(), instances_.end(),
                                     [](const auto& a, const auto& b) { return a.second.updated < b.second.updated; });
      instances_.erase(oldest);
    }
    it = instances_.emplace(client.client_instance_id, Instance{}).first;
  }
  Instance& in = it->second;
  in.client = client;
  in.resource_attributes = data.resource_attributes;
  in.last_push_ms = now_ms;
  in.pushes++;
  in.updated = seq_;
  for (const auto& m : data.metrics) {
    for (const auto& p : m.points) {
      std::string key = m.name;
      key += '\0';
      for (const auto& [k, v] : p.attributes) key += k + "=" + v + '\0';
      Series& s = in.series[key];
      s.value.name = m.name;
      s.value.kind = otlp::kind_name(m.kind);
      s.value.attributes = p.attributes;
      s.value.value = p.value;
      s.value.time_unix_nano = p.time_unix_nano;
      s.updated = seq_;
    }
  }
  if (in.series.size() > max_series_) {
    // Evict the least recently updated series (this push's are the newest).
    std::vector<std::pair<uint64_t, std::string>> by_age;
    by_age.reserve(in.series.size());
    for (const auto& [k, s] : in.series) by_age.emplace_back(s.updated, k);
    std::sort(by_age.begin(), by_age.end());
    for (size_t i = 0; i < by_age.size() - max_series_; ++i) in.series.erase(by_age[i].second);
  }
}

void ClientMetricsStore::forget(const Uuid& id) {
  std::lock_guard lock(mu_);
  instances_.erase(id);
}

size_t ClientMetricsStore::size() const {
  std::lock_guard lock(mu_);
  return instances_.size();
}

ClientInstanceMetrics ClientMetricsStore::snapshot(const Instance& in) {
  ClientInstanceMetrics out;
  out.client = in.client;
  out.resource_attributes = in.resource_attributes;
  out.last_push_ms = in.last_push_ms;
  out.pushes = in.pushes;
  for (const auto& [k, s] : in.series) out.metrics.push_back(s.value);
  return out;
}

std::vector<ClientInstanceMetrics> ClientMetricsStore::client_metrics() const {
  std::lock_guard lock(mu_);
  std::vector<ClientInstanceMetrics> out;
  for (const auto& [id, in] : instances_) out.push_back(snapshot(in));
  return out;
}

std::optional<ClientInstanceMetrics> ClientMetricsStore::client_metrics(const Uuid& id) const {
  std::lock_guard lock(mu_);
  auto it = instances_.find(id);
  if (it == instances_.end()) return std::nullopt;
  return snapshot(it->second);
}

}  // namespace flotilla::broker
