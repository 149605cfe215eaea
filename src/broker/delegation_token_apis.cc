// The delegation token APIs of KIP-48 on a broker listener, as Kafka's
// KafkaApis serves them in KRaft mode:
// - every one is refused with DELEGATION_TOKEN_REQUEST_NOT_ALLOWED on a
//   PLAINTEXT connection, an anonymous SSL one, or a session authenticated
//   with a token (token_requests_allowed in authorization.h);
// - CreateDelegationToken (38): a token for another owner needs CREATE_TOKENS
//   on USER <owner>; renewers must be User principals; then forwarded to the
//   active controller with the caller's principal (ControllerChannel);
// - Renew (39) / Expire (40): forwarded (the controller checks owner/renewer);
// - DescribeDelegationToken (41): answered from this broker's image — the
//   tokens the caller owns or renews, or may describe (DESCRIBE on the token,
//   DESCRIBE_TOKENS on its owner), each with its HMAC computed here with
//   delegation.token.secret.key (DELEGATION_TOKEN_AUTH_DISABLED without one).
// No HMAC reaches a log line.
//
// Threading: the broker's io_context thread.
#include "broker/api_util.h"
#include "broker/authorization.h"
#include "broker/request_handler.h"
#include "protocol/messages.h"
#include "security/delegation_token.h"

namespace flotilla::broker {

using namespace api::prelude;

namespace {

template <class Response>
Response token_error(ErrorCode ec) {
  Response r;
  r.error_code = code(ec);
  return r;
}

}  // namespace

void RequestHandler::handle_create_delegation_token(std::shared_ptr<net::Request> req, net::Respond respond) {
  CreateDelegationTokenRequest request;
  if (!decode(*req, request)) return close_connection(respond);
  const security::KafkaPrincipal& caller = req->session->principal;
  security::KafkaPrincipal owner = caller;
  if (request.owner_principal_name && !request.owner_principal_name->empty())
    owner = security::KafkaPrincipal{request.owner_principal_type.value_or("User"), *request.owner_principal_name};
  auto refuse = [&](ErrorCode ec) {
    auto r = token_error<CreateDelegationTokenResponse>(ec);
    r.principal_type = owner.type;
    r.principal_name = owner.name;
    r.token_requester_principal_type = caller.type;
    r.token_requester_principal_name = caller.name;
    send(*req, respond, r);
  };
  if (!token_requests_allowed(*req->session)) return refuse(ErrorCode::DELEGATION_TOKEN_REQUEST_NOT_ALLOWED);
  if (ErrorCode ec = authorize_create_token(authz(*req), owner); ec != ErrorCode::NONE) return refuse(ec);
  for (const auto& r : request.renewers)
    if (r.principal_type != "User") return refuse(ErrorCode::INVALID_PRINCIPAL_TYPE);
  if (!controller_) return refuse(ErrorCode::NOT_CONTROLLER);
  controller_->create_delegation_token(std::move(request), req->api_version, caller,
                                       [req, respond](CreateDelegationTokenResponse r) mutable { send(*req, respond, r); });
}

void RequestHandler::handle_renew_delegation_token(std::shared_ptr<net::Request> req, net::Respond respond) {
  RenewDelegationTokenRequest request;
  if (!decode(*req, request)) return close_connection(respond);
  if (!token_requests_allowed(*req->session))
    return send(*req, respond, token_error<RenewDelegationTokenResponse>(ErrorCode::DELEGATION_TOKEN_REQUEST_NOT_ALLOWED));
  if (!controller_) return send(*req, respond, token_error<RenewDelegationTokenResponse>(ErrorCode::NOT_CONTROLLER));
  controller_->renew_delegation_token(std::move(request), req->api_version, req->session->principal,
                                      [req, respond](RenewDelegationTokenResponse r) mutable { send(*req, respond, r); });
}

void RequestHandler::handle_expire_delegation_token(std::shared_ptr<net::Request> req, net::Respond respond) {
  ExpireDelegationTokenRequest request;
  if (!decode(*req, request)) return close_connection(respond);
  if (!token_requests_allowed(*req->session))
    return send(*req, respond, token_error<ExpireDelegationTokenResponse>(ErrorCode::DELEGATION_TOKEN_REQUEST_NOT_ALLOWED));
  if (!controller_) return send(*req, respond, token_error<ExpireDelegationTokenResponse>(ErrorCode::NOT_CONTROLLER));
  controller_->expire_delegation_token(std::move(request), req->api_version, req->session->principal,
                                       [req, respond](ExpireDelegationTokenResponse r) mutable { send(*req, respond, r); });
}

void RequestHandler::handle_describe_delegation_token(std::shared_ptr<net::Request> req, net::Respond respond) {
  DescribeDelegationTokenRequest request;
  if (!decode(*req, request)) return close_connection(respond);
  if (!token_requests_allowed(*req->session))
    return send(*req, respond, token_error<DescribeDelegationTokenResponse>(ErrorCode::DELEGATION_TOKEN_REQUEST_NOT_ALLOWED));
  if (config_.delegation_token_secret_key.empty())
    return send(*req, respond, token_error<DescribeDelegationTokenResponse>(ErrorCode::DELEGATION_TOKEN_AUTH_DISABLED));
  DescribeDelegationTokenResponse resp;
  // An empty owner list asks for nothing; a null one for every token.
  if (request.owners && request.owners->empty()) return send(*req, respond, resp);
  std::vector<security::KafkaPrincipal> owners;
  if (request.owners)
    for (const auto& o : *request.owners) owners.push_back({o.principal_type, o.principal_name});
  const security::KafkaPrincipal& caller = req->session->principal;
  const Authz auth = authz(*req);
  auto image = replicas_.image();
  if (image) {
    for (const auto& [id, t] : image->delegation_tokens()) {
      // Kafka's DelegationTokenManager.filterToken: only the tokens asked for ...
      if (request.owners && std::none_of(owners.begin(), owners.end(), [&](const auto& o) { return t.may_renew(o); })) continue;
      // ... that the caller may see.
      if (!describe_token_shows(auth, caller, id, t.owner, t.renewers)) continue;
      DescribeDelegationTokenResponse::DescribedDelegationToken d;
      d.principal_type = t.owner.type;
      d.principal_name = t.owner.name;
      d.token_requester_principal_type = t.requester.type;
      d.token_requester_principal_name = t.requester.name;
      d.issue_timestamp = t.issue_timestamp_ms;
      d.expiry_timestamp = t.expiry_timestamp_ms;
      d.max_timestamp = t.max_timestamp_ms;
      d.token_id = id;
      d.hmac = security::delegation_token_hmac(config_.delegation_token_secret_key, id);
      for (const auto& p : t.renewers) d.renewers.push_back({p.type, p.name});
      resp.tokens.push_back(std::move(d));
    }
  }
  send(*req, respond, resp);
}

}  // namespace flotilla::broker
