// The client quota APIs of KIP-546 on a broker listener.
// - DescribeClientQuotas (48): answered from this broker's metadata image
//   (metadata/client_quota_describe.h) with Kafka's filter semantics.
// - AlterClientQuotas (49): forwarded to the active controller
//   (ControllerChannel), which validates it and writes the ClientQuotaRecords;
//   the answer comes once they are committed (and, through the forwarding
//   channel, visible in this broker's image).
// Kafka authorizes these with DESCRIBE_CONFIGS and ALTER_CONFIGS on the
// CLUSTER resource; the two checks below are where that goes (they allow
// every caller until the authorizer is wired in). A refused caller gets
// CLUSTER_AUTHORIZATION_FAILED.
//
// Threading: the broker's io_context thread.
#include "broker/api_util.h"
#include "broker/request_handler.h"
#include "metadata/client_quota_describe.h"
#include "protocol/messages.h"

namespace flotilla::broker {

using namespace api::prelude;

namespace {

// DESCRIBE_CONFIGS on CLUSTER (Kafka's DescribeClientQuotas authorization).
bool may_describe_cluster_configs(const net::Request&) { return true; }
// ALTER_CONFIGS on CLUSTER (Kafka's AlterClientQuotas authorization).
bool may_alter_cluster_configs(const net::Request&) { return true; }

// AlterClientQuotasRequest.getErrorResponse: every entry with the error and its default message.
AlterClientQuotasResponse alter_error(const AlterClientQuotasRequest& request, ErrorCode e) {
  AlterClientQuotasResponse resp;
  for (const auto& entry : request.entries) {
    AlterClientQuotasResponse::EntryData d;
    d.error_code = code(e);
    d.error_message = std::string(error_message(e));
    for (const auto& x : entry.entity) d.entity.push_back({x.entity_type, x.entity_name});
    resp.entries.push_back(std::move(d));
  }
  return resp;
}

}  // namespace

void RequestHandler::handle_describe_client_quotas(std::shared_ptr<net::Request> req, net::Respond respond) {
  DescribeClientQuotasRequest request;
  if (!decode(*req, request)) return close_connection(respond);
  if (!may_describe_cluster_configs(*req)) {
    DescribeClientQuotasResponse resp;
    resp.error_code = code(ErrorCode::CLUSTER_AUTHORIZATION_FAILED);
    resp.error_message = std::string(error_message(ErrorCode::CLUSTER_AUTHORIZATION_FAILED));
    resp.entries = std::nullopt;
    return send(*req, respond, resp);
  }
  auto image = replicas_.image();
  metadata::MetadataImage empty;
  auto resp = metadata::describe_client_quotas(image ? *image : empty, request);
  send(*req, respond, resp);
}

void RequestHandler::handle_alter_client_quotas(std::shared_ptr<net::Request> req, net::Respond respond) {
  AlterClientQuotasRequest request;
  if (!decode(*req, request)) return close_connection(respond);
  if (!may_alter_cluster_configs(*req)) {
    auto resp = alter_error(request, ErrorCode::CLUSTER_AUTHORIZATION_FAILED);
    return send(*req, respond, resp);
  }
  if (!controller_) {
    auto resp = alter_error(request, ErrorCode::NOT_CONTROLLER);
    return send(*req, respond, resp);
  }
  controller_->alter_client_quotas(std::move(request), req->api_version,
                                   [req, respond](AlterClientQuotasResponse r) mutable { send(*req, respond, r); });
}

}  // namespace flotilla::broker
