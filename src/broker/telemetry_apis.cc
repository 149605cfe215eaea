// RequestHandler: client telemetry, KIP-714 — GetTelemetrySubscriptions (71)
// and PushTelemetry (72), answered by the node's ClientTelemetry (served only
// when the node has one), and ListClientMetricsResources (74), the names of
// the CLIENT_METRICS config resources in the metadata image.
//
// A body that does not decode closes the connection (as every API); a push
// whose payload does not decompress or decode is INVALID_RECORD
// (client_telemetry.h).
#include <chrono>

#include "broker/api_util.h"
#include "broker/client_telemetry.h"
#include "broker/request_handler.h"
#include "protocol/messages.h"

namespace flotilla::broker {

namespace telemetry_apis {

int64_t steady_now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

TelemetryRequestContext context_of(const net::Request& req) { return TelemetryRequestContext{req.client_id, req.connection_id, req.peer}; }

}  // namespace telemetry_apis

namespace {
using namespace api::prelude;
}  // namespace

void RequestHandler::handle_get_telemetry_subscriptions(std::shared_ptr<net::Request> req, net::Respond respond) {
  GetTelemetrySubscriptionsRequest request;
  if (!decode(*req, request)) return close_connection(respond);
  if (ErrorCode e = authorize_client_telemetry(authz(*req)); e != ErrorCode::NONE) {
    GetTelemetrySubscriptionsResponse resp;
    resp.error_code = code(e);
    return send(*req, respond, resp);
  }
  telemetry_->refresh(*replicas_.image());
  send(*req, respond, telemetry_->get_subscriptions(request, telemetry_apis::context_of(*req), telemetry_apis::steady_now_ms()));
}

void RequestHandler::handle_push_telemetry(std::shared_ptr<net::Request> req, net::Respond respond) {
  PushTelemetryRequest request;
  if (!decode(*req, request)) return close_connection(respond);
  if (ErrorCode e = authorize_client_telemetry(authz(*req)); e != ErrorCode::NONE) {
    PushTelemetryResponse resp;
    resp.error_code = code(e);
    return send(*req, respond, resp);
  }
  telemetry_->refresh(*replicas_.image());
  send(*req, respond, telemetry_->push(request, telemetry_apis::context_of(*req), telemetry_apis::steady_now_ms()));
}

void RequestHandler::handle_list_client_metrics_resources(std::shared_ptr<net::Request> req, net::Respond respond) {
  ListClientMetricsResourcesRequest request;
  if (!decode(*req, request)) return close_connection(respond);
  ListClientMetricsResourcesResponse resp;
  if (ErrorCode e = authorize_list_client_metrics_resources(authz(*req)); e != ErrorCode::NONE) {
    resp.error_code = code(e);
    return send(*req, respond, resp);
  }
  // From the image (Kafka: the ClientMetricsManager's subscriptions, fed by the same records).
  constexpr int8_t kClientMetrics = static_cast<int8_t>(metadata::ConfigResourceType::CLIENT_METRICS);
  auto image = replicas_.image();
  const auto& all = image->configs();
  for (auto it = all.lower_bound(metadata::ConfigResource{kClientMetrics, ""}); it != all.end() && it->first.type == kClientMetrics; ++it) {
    if (it->second.empty()) continue;
    ListClientMetricsResourcesResponse::ClientMetricsResource r;
    r.name = it->first.name;
    resp.client_metrics_resources.push_back(std::move(r));
  }
  send(*req, respond, resp);
}

}  // namespace flotilla::broker
