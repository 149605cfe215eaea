#include "broker/client_quotas.h"

#include <spdlog/spdlog.h>

#include <algorithm>

#include "common/clock.h"

namespace flotilla::broker {

void ClientQuotas::publish(const metadata::MetadataDelta& delta, std::shared_ptr<const metadata::MetadataImage> image) {
  if (first_ || !delta.changed_configs().empty()) {
    leader_.update(*image, node_id_);
    follower_.update(*image, node_id_);
  }
  first_ = false;
  if (delta.changed_client_quotas().empty()) return;
  managers_.apply(applied_, image->client_quotas());
  applied_ = image->client_quotas();  // a copy: holding the image would keep all of it alive
  spdlog::debug("[ClientQuotas] Applied the client quotas of metadata offset {}", image->offset());
}

const std::string& ClientQuotas::user_of(const net::Request& req) { return req.session->principal.name; }

const std::string& ClientQuotas::client_of(const net::Request& req) {
  static const std::string kNone;
  return req.client_id ? *req.client_id : kNone;
}

void ClientQuotas::begin(net::Request& req) const {
  req.accounting = const_cast<ClientQuotas*>(this);
  req.handler_start_us = monotonic_us();
}

void ClientQuotas::end(net::Request& req) const {
  if (!req.accounted && req.handler_us < 0) req.handler_us = monotonic_us() - req.handler_start_us;
}

void ClientQuotas::throttle(const net::Request& req, int32_t ms) {
  if (ms <= 0) return;
  req.throttle_time_ms = std::max(req.throttle_time_ms, ms);
  net::throttle_connection(req, ms);
}

int32_t ClientQuotas::record_request_time(const net::Request& req) {
  if (req.accounted) return 0;
  req.accounted = true;
  if (!managers_.request.quotas_enabled()) return 0;
  const int64_t now_us = monotonic_us();
  const int64_t us = req.handler_us >= 0 ? req.handler_us : now_us - req.handler_start_us;
  // Kafka's nanosToPercentage: the share of one thread's second, in percent.
  const double percent = static_cast<double>(std::max<int64_t>(us, 0)) / 10000.0;
  return managers_.request.record_and_get_throttle_ms(user_of(req), client_of(req), percent, now_us / 1000);
}

int32_t ClientQuotas::on_response(const net::Request& req) {
  throttle(req, record_request_time(req));
  return req.throttle_time_ms;
}

int32_t ClientQuotas::record_produce(const net::Request& req, int64_t bytes) {
  if (!managers_.produce.quotas_enabled()) return 0;
  int32_t t = managers_.produce.record_and_get_throttle_ms(user_of(req), client_of(req), static_cast<double>(bytes), monotonic_ms());
  throttle(req, t);
  return t;
}

int64_t ClientQuotas::max_fetch_bytes(const net::Request& req) {
  if (!managers_.fetch.quotas_enabled()) return INT32_MAX;
  double m = managers_.fetch.max_value_in_quota_window(user_of(req), client_of(req), monotonic_ms());
  return m >= static_cast<double>(INT32_MAX) ? INT32_MAX : static_cast<int64_t>(m);
}

int32_t ClientQuotas::record_fetch(const net::Request& req, int64_t bytes) {
  // Kafka's order: the request quota, then the bandwidth; a throttled fetch
  // sends no data, so its bytes are taken back.
  int32_t request_ms = record_request_time(req);
  int32_t bandwidth_ms = 0;
  const int64_t now = monotonic_ms();
  if (managers_.fetch.quotas_enabled()) {
    bandwidth_ms = managers_.fetch.record_and_get_throttle_ms(user_of(req), client_of(req), static_cast<double>(bytes), now);
    if (std::max(request_ms, bandwidth_ms) > 0) managers_.fetch.unrecord(user_of(req), client_of(req), static_cast<double>(bytes), now);
  }
  int32_t t = std::max(request_ms, bandwidth_ms);
  throttle(req, t);
  return t;
}

security::ClientQuotaManager::MutationOutcome ClientQuotas::record_mutation(const net::Request& req, bool strict, int32_t partitions) {
  auto& m = managers_.controller_mutation;
  if (!m.quotas_enabled() || partitions <= 0) return {};
  const int64_t now = monotonic_ms();
  return strict ? m.record_strict_mutation(user_of(req), client_of(req), partitions, now)
                : m.record_permissive_mutation(user_of(req), client_of(req), partitions, now);
}

void ClientQuotas::refund_mutation(const net::Request& req, int32_t partitions) {
  managers_.controller_mutation.refund_mutation(user_of(req), client_of(req), partitions, monotonic_ms());
}

}  // namespace flotilla::broker
