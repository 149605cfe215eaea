// RequestMetrics' table: one slot per (api key, version), filled on first use.
#include "net/net_metrics.h"

#include <array>
#include <atomic>
#include <mutex>
#include <vector>

#include "protocol/api.h"

namespace flotilla::net {
namespace {

constexpr int kMaxKey = 128, kMaxVersion = 32;
constexpr int kFetchConsumer = kMaxKey, kFetchFollower = kMaxKey + 1;  // pseudo keys after the real ones

struct Table {
  std::array<std::atomic<const RequestSeries*>, (kMaxKey + 2) * kMaxVersion> slots{};
  std::mutex mu;  // creation only
  std::vector<std::unique_ptr<RequestSeries>> owned;
  metrics::Family<metrics::Counter>& requests = metrics::global().counter(
      "kafka_network_requestmetrics_requests_total", "Requests answered, by Kafka API name and version (RequestsPerSec)", {"request", "version"});
  metrics::Family<metrics::Histogram>& total_time = metrics::global().histogram(
      "kafka_network_requestmetrics_totaltimems", "Time from a request's arrival to its response's last byte sent, in ms (TotalTimeMs)",
      {"request"}, metrics::Histogram::latency_ms_bounds());
};

Table& table() {
  static Table* t = new Table();  // never destroyed: connections may outlive static destruction order
  return *t;
}

// `key` is an API key or a pseudo key; `name` its RequestMetrics name.
const RequestSeries* series_of(int key, const char* name, int16_t api_version) {
  Table& t = table();
  auto& slot = t.slots[static_cast<size_t>(key) * kMaxVersion + static_cast<size_t>(api_version)];
  if (const RequestSeries* s = slot.load(std::memory_order_acquire)) return s;
  std::lock_guard lock(t.mu);
  if (const RequestSeries* s = slot.load(std::memory_order_acquire)) return s;
  auto s = std::make_unique<RequestSeries>();
  s->requests = t.requests.with({name, std::to_string(api_version)});
  s->total_time = t.total_time.with({name});
  const RequestSeries* raw = s.get();
  t.owned.push_back(std::move(s));
  slot.store(raw, std::memory_order_release);
  return raw;
}

}  // namespace

const RequestSeries* request_series(int16_t api_key, int16_t api_version) {
  if (api_key < 0 || api_key >= kMaxKey || api_version < 0 || api_version >= kMaxVersion) return nullptr;
  const auto& slot = table().slots[static_cast<size_t>(api_key) * kMaxVersion + static_cast<size_t>(api_version)];
  if (const RequestSeries* s = slot.load(std::memory_order_acquire)) return s;  // the common case: no search
  const protocol::ApiInfo* info = protocol::api_info(api_key);
  if (!info) return nullptr;
  return series_of(api_key, info->name, api_version);
}

const RequestSeries* fetch_series(bool follower, int16_t api_version) {
  if (api_version < 0 || api_version >= kMaxVersion) return nullptr;
  return follower ? series_of(kFetchFollower, "FetchFollower", api_version) : series_of(kFetchConsumer, "FetchConsumer", api_version);
}

}  // namespace flotilla::net
