// RequestHandler: client telemetry, KIP-714 — GetTelemetrySubscriptions (71)
// and PushTelemetry (72), answered by the node's ClientTelemetry (served only
// when the node has one), and ListClientMetricsResources (74; Kafka 4.1 calls
// v1 ListConfigResources, KIP-1142): v0 the names of the CLIENT_METRICS config
// resources in the metadata image, v1 the resources of the asked config types.
//
// A body that does not decode closes the connection (as every API); a push
// whose payload does not decompress or decode is INVALID_RECORD
// (client_telemetry.h).
#include <chrono>
#include <set>

#include "broker/api_util.h"
#include "broker/client_telemetry.h"
#include "broker/request_handler.h"
#include "coordinator/consumer_group.h"
#include "coordinator/group_service.h"
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
  using metadata::ConfigResourceType;
  auto t8 = [](ConfigResourceType t) { return static_cast<int8_t>(t); };
  // v0: CLIENT_METRICS only. v1 (KIP-1142, Kafka 4.1's ListConfigResources):
  // the listed types, every supported one when none is named; a type not
  // supported fails the request with UNSUPPORTED_VERSION, as Kafka.
  std::set<int8_t> supported{t8(ConfigResourceType::CLIENT_METRICS)};
  if (req->api_version >= 1)
    supported = {t8(ConfigResourceType::TOPIC), t8(ConfigResourceType::BROKER), t8(ConfigResourceType::BROKER_LOGGER),
                 t8(ConfigResourceType::CLIENT_METRICS), t8(ConfigResourceType::GROUP)};
  std::set<int8_t> wanted(request.resource_types.begin(), request.resource_types.end());
  if (wanted.empty()) wanted = supported;
  for (int8_t t : wanted)
    if (!supported.count(t)) {
      resp.error_code = code(ErrorCode::UNSUPPORTED_VERSION);
      return send(*req, respond, resp);
    }
  auto image = replicas_.image();
  auto add = [&](const std::string& name, int8_t type) {
    ListClientMetricsResourcesResponse::ClientMetricsResource r;
    r.name = name;
    r.type = type;
    resp.client_metrics_resources.push_back(std::move(r));
  };
  // Resources of a type that have configs in the image (Kafka: the
  // ClientMetricsManager's subscriptions, fed by the same records).
  auto configured = [&](int8_t type, std::set<std::string>& names) {
    const auto& all = image->configs();
    for (auto it = all.lower_bound(metadata::ConfigResource{type, ""}); it != all.end() && it->first.type == type; ++it)
      if (!it->second.empty() && !it->first.name.empty()) names.insert(it->first.name);
  };
  for (int8_t t : wanted) {
    std::set<std::string> names;
    if (t == t8(ConfigResourceType::TOPIC)) {
      for (const auto& [name, topic] : image->topics_by_name()) names.insert(name);
    } else if (t == t8(ConfigResourceType::BROKER) || t == t8(ConfigResourceType::BROKER_LOGGER)) {
      for (const auto& [id, b] : image->brokers()) names.insert(std::to_string(id));
    } else if (t == t8(ConfigResourceType::GROUP)) {
      // The groups this node coordinates, and every group with a config.
      if (groups_) {
        std::vector<coordinator::ListedGroup> out;
        groups_->coordinator().list_groups({}, out);
        for (const auto& g : out) names.insert(g.group_id);
        for (const auto& g : groups_->consumer_groups().list()) names.insert(g.group_id);
      }
      configured(t, names);
    } else {
      configured(t, names);
    }
    for (const auto& n : names) add(n, t);
  }
  send(*req, respond, resp);
}

}  // namespace flotilla::broker
