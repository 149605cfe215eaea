// The ACL APIs on a broker listener (Kafka's AclApis):
// - DescribeAcls (29, v0-3): answered from this broker's metadata image with
//   Kafka's filter semantics (metadata/acls.h: the ACLs the StandardAuthorizer
//   of this image holds); a filter with UNKNOWN parts is INVALID_REQUEST.
// - CreateAcls (30) / DeleteAcls (31), v0-3: forwarded to the active
//   controller (ControllerChannel), which validates each binding/filter and
//   writes the records; answered once this broker's image shows the change.
// Without an authorizer (authorizer.class.name empty) Kafka answers all three
// with SECURITY_DISABLED: DescribeAcls here ("No Authorizer is configured on
// the broker"), CreateAcls/DeleteAcls from the controller ("No Authorizer is
// configured.").
// Kafka authorizes DescribeAcls with DESCRIBE on CLUSTER and the other two
// with ALTER on CLUSTER (authorization.h); a refused caller gets
// CLUSTER_AUTHORIZATION_FAILED.
//
// Threading: the broker's io_context thread.
#include <spdlog/spdlog.h>

#include "broker/api_util.h"
#include "broker/request_handler.h"
#include "metadata/acls.h"
#include "protocol/messages.h"

namespace flotilla::broker {

using namespace api::prelude;

namespace {

CreateAclsResponse create_error(const CreateAclsRequest& request, ErrorCode e) {
  CreateAclsResponse resp;
  for (size_t i = 0; i < request.creations.size(); ++i)
    resp.results.push_back({code(e), std::string(error_message(e))});
  return resp;
}

DeleteAclsResponse delete_error(const DeleteAclsRequest& request, ErrorCode e) {
  DeleteAclsResponse resp;
  for (size_t i = 0; i < request.filters.size(); ++i) {
    DeleteAclsResponse::DeleteAclsFilterResult r;
    r.error_code = code(e);
    r.error_message = std::string(error_message(e));
    resp.filter_results.push_back(std::move(r));
  }
  return resp;
}

}  // namespace

void RequestHandler::handle_describe_acls(std::shared_ptr<net::Request> req, net::Respond respond) {
  DescribeAclsRequest request;
  if (!decode(*req, request)) return close_connection(respond);
  DescribeAclsResponse resp;
  if (authorize_cluster(authz(*req), AclOperation::DESCRIBE) != ErrorCode::NONE) {
    resp.error_code = code(ErrorCode::CLUSTER_AUTHORIZATION_FAILED);
    resp.error_message = std::string(error_message(ErrorCode::CLUSTER_AUTHORIZATION_FAILED));
    return send(*req, respond, resp);
  }
  if (!config_.authorizer_configured) {
    resp.error_code = code(ErrorCode::SECURITY_DISABLED);
    resp.error_message = "No Authorizer is configured on the broker";
    return send(*req, respond, resp);
  }
  auto image = replicas_.image();
  metadata::MetadataImage empty;
  send(*req, respond, metadata::describe_acls(image ? *image : empty, request, req->api_version));
}

void RequestHandler::handle_create_acls(std::shared_ptr<net::Request> req, net::Respond respond) {
  CreateAclsRequest request;
  if (!decode(*req, request)) return close_connection(respond);
  if (authorize_cluster(authz(*req), AclOperation::ALTER) != ErrorCode::NONE)
    return send(*req, respond, create_error(request, ErrorCode::CLUSTER_AUTHORIZATION_FAILED));
  if (!controller_) return send(*req, respond, create_error(request, ErrorCode::NOT_CONTROLLER));
  controller_->create_acls(std::move(request), req->api_version,
                           [req, respond](CreateAclsResponse r) mutable { send(*req, respond, r); });
}

void RequestHandler::handle_delete_acls(std::shared_ptr<net::Request> req, net::Respond respond) {
  DeleteAclsRequest request;
  if (!decode(*req, request)) return close_connection(respond);
  if (authorize_cluster(authz(*req), AclOperation::ALTER) != ErrorCode::NONE)
    return send(*req, respond, delete_error(request, ErrorCode::CLUSTER_AUTHORIZATION_FAILED));
  if (!controller_) return send(*req, respond, delete_error(request, ErrorCode::NOT_CONTROLLER));
  controller_->delete_acls(std::move(request), req->api_version,
                           [req, respond](DeleteAclsResponse r) mutable { send(*req, respond, r); });
}

}  // namespace flotilla::broker
