// The SCRAM credential APIs of KIP-554 on a broker listener.
// - DescribeUserScramCredentials (50): answered from this broker's metadata
//   image (metadata/scram_describe.h): mechanisms and iteration counts only.
// - AlterUserScramCredentials (51): forwarded to the active controller
//   (ControllerChannel), which validates it and writes the credential records;
//   the answer comes once they are committed (and, through the forwarding
//   channel, visible in this broker's image).
// Kafka authorizes these with DESCRIBE and ALTER on the CLUSTER resource
// (authorization.h); a refused caller gets CLUSTER_AUTHORIZATION_FAILED.
//
// Threading: the broker's io_context thread.
#include <spdlog/spdlog.h>

#include <set>

#include "broker/api_util.h"
#include "broker/request_handler.h"
#include "metadata/scram_describe.h"
#include "protocol/messages.h"

namespace flotilla::broker {

using namespace api::prelude;

namespace {

AlterUserScramCredentialsResponse alter_error(const AlterUserScramCredentialsRequest& request, ErrorCode e) {
  AlterUserScramCredentialsResponse resp;
  std::set<std::string> users;
  for (const auto& d : request.deletions) users.insert(d.name);
  for (const auto& u : request.upsertions) users.insert(u.name);
  for (const auto& user : users) {
    AlterUserScramCredentialsResponse::AlterUserScramCredentialsResult r;
    r.user = user;
    r.error_code = code(e);
    r.error_message = std::string(error_message(e));
    resp.results.push_back(std::move(r));
  }
  return resp;
}

}  // namespace

void RequestHandler::handle_describe_user_scram_credentials(std::shared_ptr<net::Request> req, net::Respond respond) {
  DescribeUserScramCredentialsRequest request;
  if (!decode(*req, request)) return close_connection(respond);
  if (authorize_cluster(authz(*req), AclOperation::DESCRIBE) != ErrorCode::NONE) {
    DescribeUserScramCredentialsResponse resp;
    resp.error_code = code(ErrorCode::CLUSTER_AUTHORIZATION_FAILED);
    resp.error_message = std::string(error_message(ErrorCode::CLUSTER_AUTHORIZATION_FAILED));
    return send(*req, respond, resp);
  }
  auto image = replicas_.image();
  metadata::MetadataImage empty;
  send(*req, respond, metadata::describe_scram_credentials(image ? *image : empty, request));
}

void RequestHandler::handle_alter_user_scram_credentials(std::shared_ptr<net::Request> req, net::Respond respond) {
  AlterUserScramCredentialsRequest request;
  if (!decode(*req, request)) return close_connection(respond);
  if (authorize_cluster(authz(*req), AclOperation::ALTER) != ErrorCode::NONE)
    return send(*req, respond, alter_error(request, ErrorCode::CLUSTER_AUTHORIZATION_FAILED));
  if (!controller_) return send(*req, respond, alter_error(request, ErrorCode::NOT_CONTROLLER));
  controller_->alter_user_scram_credentials(std::move(request), req->api_version,
                                            [req, respond](AlterUserScramCredentialsResponse r) mutable { send(*req, respond, r); });
}

}  // namespace flotilla::broker
