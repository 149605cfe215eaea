#include "broker/replication_quota.h"

#include <spdlog/spdlog.h>

#include <charconv>

#include "common/config_def.h"

namespace flotilla::broker {

namespace {

std::optional<int64_t> parse_long(const std::string& s) {
  std::string_view v = config::trim(s);
  int64_t out = 0;
  auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), out);
  if (ec != std::errc() || p != v.data() + v.size()) return std::nullopt;
  return out;
}

}  // namespace

std::optional<std::set<int32_t>> ReplicationQuota::parse_throttled_replicas(const std::string& value, int32_t broker) {
  std::string v(config::trim(value));
  if (v == "*") return std::nullopt;
  std::set<int32_t> out;
  for (const auto& entry : config::split_list(v)) {
    auto colon = entry.find(':');
    if (colon == std::string::npos) continue;
    auto partition = parse_long(entry.substr(0, colon));
    auto id = parse_long(entry.substr(colon + 1));
    if (partition && id && *id == broker) out.insert(static_cast<int32_t>(*partition));
  }
  return out;
}

void ReplicationQuota::update(const metadata::MetadataImage& image, int32_t node_id) {
  // The rate: this broker's dynamic config, else the cluster default, else none.
  std::optional<int64_t> rate;
  for (const std::string& name : {std::to_string(node_id), std::string()}) {
    auto it = image.configs().find(metadata::ConfigResource{static_cast<int8_t>(metadata::ConfigResourceType::BROKER), name});
    if (it == image.configs().end()) continue;
    auto v = it->second.find(rate_config_);
    if (v == it->second.end()) continue;
    rate = parse_long(v->second);
    break;
  }
  if (rate && *rate == INT64_MAX) rate.reset();
  if (rate != rate_) spdlog::info("[ReplicationQuota] {} is now {}", rate_config_, rate ? std::to_string(*rate) : "unlimited");
  rate_ = rate;
  throttled_.clear();
  for (const auto& [res, configs] : image.configs()) {
    if (res.type != static_cast<int8_t>(metadata::ConfigResourceType::TOPIC)) continue;
    auto v = configs.find(replicas_config_);
    if (v == configs.end() || config::trim(v->second).empty()) continue;
    auto parts = parse_throttled_replicas(v->second, node_id);
    if (parts && parts->empty()) continue;
    throttled_[res.name] = std::move(parts);
  }
}

bool ReplicationQuota::is_throttled(const std::string& topic, int32_t partition) const {
  auto it = throttled_.find(topic);
  if (it == throttled_.end()) return false;
  return !it->second || it->second->count(partition) != 0;
}

bool ReplicationQuota::is_quota_exceeded(int64_t now_ms) {
  if (!rate_) return false;
  return sensor_.simple_measure(window_, now_ms) > static_cast<double>(*rate_);
}

void ReplicationQuota::record(int64_t bytes, int64_t now_ms) {
  if (bytes > 0) sensor_.record(window_, static_cast<double>(bytes), now_ms);
}

}  // namespace flotilla::broker
