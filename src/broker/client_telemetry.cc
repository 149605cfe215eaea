#include "broker/client_telemetry.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <set>

#include "common/client_pattern.h"
#include "common/crc32c.h"
#include "metadata/client_metrics_config.h"
#include "protocol/compression.h"
#include "protocol/otlp_metrics.h"

namespace flotilla::broker {

namespace client_telemetry_detail {

// Java's Uuid.hashCode: the xor of the two halves folded to 32 bits.
int32_t java_hash(const Uuid& u) {
  uint64_t h = u.hi ^ u.lo;
  return static_cast<int32_t>(static_cast<uint32_t>(h >> 32) ^ static_cast<uint32_t>(h));
}

// Java's Set.toString of the (sorted) metrics, then the interval, CRC32C'd; xor the instance's hash.
int32_t subscription_id_of(const std::vector<std::string>& metrics, int32_t interval_ms, const Uuid& id) {
  std::string s = "[";
  for (size_t i = 0; i < metrics.size(); ++i) s += (i ? ", " : "") + metrics[i];
  s += "]" + std::to_string(interval_ms);
  return static_cast<int32_t>(crc32c(s.data(), s.size())) ^ java_hash(id);
}

bool reserved(const Uuid& id) { return id.is_zero() || (id.hi == 0 && id.lo == 1); }  // ZERO_UUID, METADATA_TOPIC_ID

void split_peer(const std::string& peer, std::string& host, std::string& port) {
  auto c = peer.rfind(':');
  host = c == std::string::npos ? peer : peer.substr(0, c);
  port = c == std::string::npos ? "" : peer.substr(c + 1);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
}

}  // namespace client_telemetry_detail


ClientTelemetry::ClientTelemetry(ClientTelemetryConfig config, ClientMetricsStore* store) : config_(config), store_(store) {}

const std::vector<int8_t>& ClientTelemetry::accepted_compression_types() {
  static const std::vector<int8_t> t = {static_cast<int8_t>(records::Compression::ZSTD), static_cast<int8_t>(records::Compression::LZ4),
                                        static_cast<int8_t>(records::Compression::GZIP), static_cast<int8_t>(records::Compression::SNAPPY)};
  return t;
}

void ClientTelemetry::refresh(const metadata::MetadataImage& image) {
  constexpr int8_t kClientMetrics = static_cast<int8_t>(metadata::ConfigResourceType::CLIENT_METRICS);
  std::map<std::string, metadata::ConfigMap> now;
  const auto& all = image.configs();
  for (auto it = all.lower_bound(metadata::ConfigResource{kClientMetrics, ""}); it != all.end() && it->first.type == kClientMetrics; ++it)
    if (!it->second.empty()) now[it->first.name] = it->second;
  std::lock_guard lock(mu_);
  if (now == subscription_configs_) return;
  std::vector<Subscription> subs;
  for (const auto& [name, configs] : now) {
    auto parsed = metadata::parse_client_metrics_subscription(name, configs);
    Subscription s{name, parsed.metrics, parsed.interval_ms, {}};
    bool ok = true;
    for (const auto& [selector, source] : parsed.match) {
      if (auto re = ClientPattern::compile(source)) {
        s.match.emplace_back(selector, std::move(*re));
      } else {
        ok = false;  // the controller validated it: only a record written before it did so
      }
    }
    if (!ok) {
      spdlog::warn("[ClientMetricsManager] Ignoring client metrics subscription '{}': a match pattern does not compile", name);
      continue;
    }
    subs.push_back(std::move(s));
  }
  subscription_configs_ = std::move(now);
  subscriptions_ = std::move(subs);
  ++subscription_version_;
  spdlog::info("[ClientMetricsManager] {} client metrics subscription(s) in effect", subscriptions_.size());
}

std::vector<std::string> ClientTelemetry::subscription_names() const {
  std::lock_guard lock(mu_);
  std::vector<std::string> out;
  for (const auto& s : subscriptions_) out.push_back(s.name);
  return out;
}

void ClientTelemetry::note_client_software(uint64_t connection_id, const std::string& name, const std::string& version) {
  std::lock_guard lock(mu_);
  software_[connection_id] = {name, version};
  while (software_.size() > config_.max_instances) software_.erase(software_.begin());  // the oldest connections
}

TelemetryClientInfo ClientTelemetry::client_info(const Uuid& id, const TelemetryRequestContext& ctx) const {
  TelemetryClientInfo info;
  info.client_instance_id = id;
  info.client_id = ctx.client_id.value_or("");
  if (auto it = software_.find(ctx.connection_id); it != software_.end()) {
    info.software_name = it->second.first;
    info.software_version = it->second.second;
  }
  client_telemetry_detail::split_peer(ctx.peer, info.source_address, info.source_port);
  return info;
}

void ClientTelemetry::evaluate(Instance& in) const {
  std::map<std::string, std::string> attrs = {
      {"client_instance_id", in.info.client_instance_id.to_string()}, {"client_id", in.info.client_id},
      {"client_software_name", in.info.software_name},                {"client_software_version", in.info.software_version},
      {"client_source_address", in.info.source_address},              {"client_source_port", in.info.source_port}};
  std::set<std::string> metrics;
  bool all = false;
  int32_t interval = metadata::kClientMetricsDefaultIntervalMs;
  for (const auto& s : subscriptions_) {
    bool match = std::all_of(s.match.begin(), s.match.end(), [&](const auto& m) {
      const std::string& v = attrs[m.first];
      // Java's null attribute (unknown software) never matches.
      if (v.empty() && (m.first == "client_software_name" || m.first == "client_software_version")) return false;
      return m.second.full_match(v);
    });
    if (!match) continue;
    for (const auto& m : s.metrics) {
      metrics.insert(m);
      all |= m == "*";
    }
    interval = std::min(interval, s.interval_ms);
  }
  if (all) metrics = {"*"};
  in.metrics.assign(metrics.begin(), metrics.end());
  in.push_interval_ms = interval;
  in.subscription_id = client_telemetry_detail::subscription_id_of(in.metrics, interval, in.info.client_instance_id);
  in.subscription_version = subscription_version_;
  in.last_get_ms = in.last_push_ms = 0;
  in.terminating = false;
}

ClientTelemetry::Instance& ClientTelemetry::instance(const Uuid& id, const TelemetryRequestContext& ctx, int64_t now_ms) {
  auto it = instances_.find(id);
  if (it != instances_.end()) {
    Instance& in = it->second;
    int64_t expiry = std::max<int64_t>(config_.instance_expiry_ms, int64_t{in.push_interval_ms} * 3);
    if (now_ms - in.last_seen_ms > expiry) {  // forgotten: as if new
      lru_.erase(in.lru);
      instances_.erase(it);
      it = instances_.end();
    }
  }
  if (it == instances_.end()) {
    while (instances_.size() >= config_.max_instances && !lru_.empty()) {
      instances_.erase(lru_.back());
      lru_.pop_back();
    }
    lru_.push_front(id);
    it = instances_.emplace(id, Instance{}).first;
    it->second.lru = lru_.begin();
    it->second.info = client_info(id, ctx);
    evaluate(it->second);
  } else {
    lru_.splice(lru_.begin(), lru_, it->second.lru);
    if (it->second.subscription_version != subscription_version_) evaluate(it->second);
  }
  it->second.last_seen_ms = now_ms;
  return it->second;
}

msg::GetTelemetrySubscriptionsResponse ClientTelemetry::get_subscriptions(const msg::GetTelemetrySubscriptionsRequest& request,
                                                                          const TelemetryRequestContext& ctx, int64_t now_ms) {
  std::lock_guard lock(mu_);
  msg::GetTelemetrySubscriptionsResponse resp;
  Uuid id = request.client_instance_id;
  if (id.is_zero()) {
    do id = Uuid::random();
    while (instances_.count(id));
  }
  Instance& in = instance(id, ctx, now_ms);
  // Kafka's validateGetRequest: no second Get within the interval.
  if (now_ms - std::max(in.last_get_ms, in.last_push_ms) < in.push_interval_ms) {
    resp.error_code = code(ErrorCode::THROTTLING_QUOTA_EXCEEDED);
    return resp;
  }
  in.last_get_ms = now_ms;
  resp.client_instance_id = id;
  resp.subscription_id = in.subscription_id;
  resp.accepted_compression_types = accepted_compression_types();
  resp.push_interval_ms = in.push_interval_ms;
  resp.telemetry_max_bytes = config_.telemetry_max_bytes;
  resp.delta_temporality = true;
  resp.requested_metrics = in.metrics;
  return resp;
}

msg::PushTelemetryResponse ClientTelemetry::push(const msg::PushTelemetryRequest& request, const TelemetryRequestContext& ctx,
                                                 int64_t now_ms) {
  msg::PushTelemetryResponse resp;
  const Uuid& id = request.client_instance_id;
  if (client_telemetry_detail::reserved(id)) {
    resp.error_code = code(ErrorCode::INVALID_REQUEST);
    return resp;
  }
  TelemetryClientInfo info;
  {
    std::lock_guard lock(mu_);
    Instance& in = instance(id, ctx, now_ms);
    ErrorCode ec = ErrorCode::NONE;
    // Kafka's validatePushRequest, in its order.
    if (in.terminating) {
      ec = ErrorCode::INVALID_REQUEST;
    } else {
      bool accept = in.last_get_ms > in.last_push_ms || now_ms - in.last_push_ms >= in.push_interval_ms;
      if (accept) in.last_push_ms = now_ms;
      if (!accept && !request.terminating) ec = ErrorCode::THROTTLING_QUOTA_EXCEEDED;
      else if (request.subscription_id != in.subscription_id) ec = ErrorCode::UNKNOWN_SUBSCRIPTION_ID;
      else if (request.compression_type < 0 || request.compression_type > 4) ec = ErrorCode::UNSUPPORTED_COMPRESSION_TYPE;
      else if (request.metrics.size() > static_cast<size_t>(config_.telemetry_max_bytes)) ec = ErrorCode::TELEMETRY_TOO_LARGE;
    }
    in.terminating = request.terminating;
    if (ec != ErrorCode::NONE) {
      spdlog::debug("[ClientMetricsManager] PushTelemetry from client instance {} refused: {}", id.to_string(), error_name(ec));
      resp.error_code = code(ec);
      return resp;
    }
    info = in.info;
  }
  if (request.metrics.empty()) return resp;
  // Decoding happens outside the lock: it is bounded by telemetry.max.bytes and the decoder's limits.
  otlp::MetricsData data;
  try {
    auto c = static_cast<records::Compression>(request.compression_type);
    std::span<const uint8_t> raw(request.metrics);
    std::vector<uint8_t> plain;
    if (c != records::Compression::NONE) {
      plain = records::decompress(c, raw, config_.max_decompressed_bytes);
      raw = plain;
    }
    data = otlp::decode_otlp_metrics(raw);
  } catch (const std::exception& e) {  // DecodeError, or a codec's own
    spdlog::info("[ClientMetricsManager] PushTelemetry from client instance {} ({}): cannot decode its metrics: {}", id.to_string(),
                 ctx.peer, e.what());
    resp.error_code = code(ErrorCode::INVALID_RECORD);
    return resp;
  }
  bool first = store_ && !store_->client_metrics(id);
  if (store_) store_->record(info, data, now_ms);
  if (first || spdlog::should_log(spdlog::level::debug)) {
    std::set<std::string> names;
    for (const auto& m : data.metrics) names.insert(m.name);
    std::string list;
    for (const auto& n : names) list += (list.empty() ? "" : ", ") + n;
    spdlog::log(first ? spdlog::level::info : spdlog::level::debug,
                "[ClientMetricsManager] Client instance {} (client id '{}', {} {}, {}) pushed {} metric(s): {}", id.to_string(),
                info.client_id, info.software_name, info.software_version, ctx.peer, data.metrics.size(), list);
  }
  return resp;
}

}  // namespace flotilla::broker
