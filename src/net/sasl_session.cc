#include "net/sasl_session.h"

#include <spdlog/spdlog.h>

#include <algorithm>

#include "common/clock.h"
#include "common/error.h"
#include "protocol/api.h"
#include "protocol/messages.h"

namespace flotilla::net {

namespace {

constexpr int16_t kSaslHandshake = 17, kApiVersions = 18, kSaslAuthenticate = 36;

std::string api_name(int16_t key) {
  const protocol::ApiInfo* info = protocol::api_info(key);
  return info ? info->name : "key " + std::to_string(key);
}

template <class Resp>
Response reply(const Resp& resp, int16_t version, bool close_after) {
  Response r;
  resp.encode(r.body, version);
  r.header_version = protocol::response_header_version(Resp::kApiKey, version);
  r.close_after = close_after;
  return r;
}

}  // namespace

int SaslSession::request_header_version(int16_t api_key, int16_t api_version) {
  if (api_key == kSaslHandshake && api_version >= 0 && api_version <= msg::SaslHandshakeRequest::kMaxVersion)
    return protocol::request_header_version(api_key, api_version);
  if (api_key == kSaslAuthenticate && api_version >= 0 && api_version <= msg::SaslAuthenticateRequest::kMaxVersion)
    return protocol::request_header_version(api_key, api_version);
  return -1;
}

SaslSession::SaslSession(std::string listener, std::shared_ptr<const ListenerSecurity> security, std::string client_host,
                         std::string peer, int64_t now_ms)
    : listener_(std::move(listener)),
      security_(std::move(security)),
      client_host_(std::move(client_host)),
      peer_(std::move(peer)),
      start_ms_(now_ms) {
  auto s = std::make_shared<security::Session>();
  s->listener = listener_;
  s->protocol = security_->protocol;
  s->client_host = client_host_;
  session_ = std::move(s);
  bool sasl = security::uses_sasl(security_->protocol) && security_->sasl;
  phase_ = sasl ? Phase::kHandshake : Phase::kAuthenticated;
  authenticated_once_ = !sasl;
}

std::optional<int64_t> SaslSession::authentication_deadline_ms() const {
  if (authenticated_once_ || security_->authentication_timeout_ms <= 0) return std::nullopt;
  return start_ms_ + security_->authentication_timeout_ms;
}

SaslSession::Outcome SaslSession::close(const std::string& why) {
  phase_ = Phase::kFailed;
  spdlog::warn("[SocketServer listener={}] Closing connection from {}: {}", listener_, peer_, why);
  return Outcome{Outcome::kClose, {}};
}

SaslSession::Outcome SaslSession::on_request(int16_t api_key, int16_t api_version, ByteReader body, int64_t now_ms) {
  bool sasl_listener = security::uses_sasl(security_->protocol) && security_->sasl;
  if (!sasl_listener) {
    // PLAINTEXT/SSL: Kafka's KafkaApis answers these with ILLEGAL_SASL_STATE.
    if (api_key == kSaslHandshake) {
      msg::SaslHandshakeResponse resp;
      resp.error_code = static_cast<int16_t>(ErrorCode::ILLEGAL_SASL_STATE);
      return Outcome{Outcome::kReply, reply(resp, api_version, false)};
    }
    if (api_key == kSaslAuthenticate) {
      msg::SaslAuthenticateResponse resp;
      resp.error_code = static_cast<int16_t>(ErrorCode::ILLEGAL_SASL_STATE);
      resp.error_message = "SaslAuthenticate request received after successful authentication";
      return Outcome{Outcome::kReply, reply(resp, api_version, false)};
    }
    return Outcome{Outcome::kDispatch, {}};
  }
  switch (phase_) {
    case Phase::kHandshake:
      if (api_key == kApiVersions) return Outcome{Outcome::kDispatch, {}};
      if (api_key == kSaslHandshake) return handshake(api_version, body, now_ms);
      return close("Unexpected Kafka request of type " + api_name(api_key) + " during SASL handshake.");
    case Phase::kAuthenticate:
      if (api_key == kSaslAuthenticate) return authenticate(api_version, body, now_ms);
      return close("Unexpected Kafka request of type " + api_name(api_key) + " during SASL authentication.");
    case Phase::kRawToken:  // the caller sends raw frames to on_raw_token
      return close("Unexpected Kafka request during a SASL exchange (v0 handshake: raw tokens expected)");
    case Phase::kFailed:
      return Outcome{Outcome::kClose, {}};
    case Phase::kAuthenticated:
      break;
  }
  if (api_key == kSaslHandshake) {
    // KIP-368 re-authentication: v1+ only (a v0 client cannot re-authenticate).
    if (api_version < 1) return close("SaslHandshake v0 on an authenticated connection");
    return handshake(api_version, body, now_ms);
  }
  if (api_key == kSaslAuthenticate) return close("Unexpected SaslAuthenticate request without a preceding SaslHandshake");
  if (expired(now_ms))
    return close("authentication session of " + session_->principal.to_string() +
                 " expired (connections.max.reauth.ms) and the client did not re-authenticate");
  return Outcome{Outcome::kDispatch, {}};
}

SaslSession::Outcome SaslSession::handshake(int16_t version, ByteReader body, int64_t) {
  msg::SaslHandshakeRequest req;
  try {
    req.decode(body, version);
  } catch (const DecodeError&) {
    return close("malformed SaslHandshake request");
  }
  const auto& enabled = security_->sasl->enabled_mechanisms;
  msg::SaslHandshakeResponse resp;
  resp.mechanisms = enabled;
  bool is_enabled = std::find(enabled.begin(), enabled.end(), req.mechanism) != enabled.end();
  std::unique_ptr<security::SaslServer> server;
  if (is_enabled) {
    server = security_->server_factory ? security_->server_factory(req.mechanism, *security_->sasl)
                                       : security::make_sasl_server(req.mechanism, *security_->sasl);
  }
  if (!server) {
    resp.error_code = static_cast<int16_t>(ErrorCode::UNSUPPORTED_SASL_MECHANISM);
    phase_ = Phase::kFailed;
    // The mechanism name is the client's text: bounded before it reaches a log line.
    spdlog::warn("[SocketServer listener={}] Closing connection from {}: unsupported SASL mechanism {} (enabled: {})", listener_, peer_,
                 req.mechanism.substr(0, 64), fmt::join(enabled, ","));
    return Outcome{Outcome::kReply, reply(resp, version, true)};
  }
  server_ = std::move(server);
  phase_ = version == 0 ? Phase::kRawToken : Phase::kAuthenticate;
  return Outcome{Outcome::kReply, reply(resp, version, false)};
}

bool SaslSession::finish_step(const security::SaslStep& step, int64_t now_ms, std::string* client_error) {
  if (step.failed) {
    *client_error = step.error_message.empty() ? "Authentication failed" : step.error_message;
    spdlog::warn("[SocketServer listener={}] Failed authentication with {} ({}{}{})", listener_, peer_, *client_error,
                 step.log_detail.empty() ? "" : ": ", step.log_detail);
    return false;
  }
  if (!step.complete) return true;
  security::KafkaPrincipal principal;
  principal.name = server_->authorized_id();
  if (authenticated_once_ && !(principal == session_->principal)) {
    *client_error = "Cannot change principals during re-authentication from " + session_->principal.to_string() + ": " +
                    principal.to_string();
    spdlog::warn("[SocketServer listener={}] Failed re-authentication with {} ({})", listener_, peer_, *client_error);
    return false;
  }
  auto s = std::make_shared<security::Session>(*session_);
  s->principal = principal;
  s->sasl_mechanism = std::string(server_->mechanism());
  s->token_authenticated = server_->token_authenticated();
  session_ = std::move(s);
  session_lifetime_ms_ = 0;
  session_expiry_ms_ = 0;
  if (security_->reauth_ms > 0) session_lifetime_ms_ = security_->reauth_ms;
  if (auto exp = server_->credential_expiry_ms()) {
    // A token credential (OAUTHBEARER) bounds the session too; its expiry is wall-clock.
    int64_t left = std::max<int64_t>(0, *exp - wall_clock_ms());
    session_lifetime_ms_ = session_lifetime_ms_ > 0 ? std::min(session_lifetime_ms_, left) : left;
  }
  if (session_lifetime_ms_ > 0) session_expiry_ms_ = now_ms + session_lifetime_ms_;
  spdlog::debug("[SocketServer listener={}] {} {}authenticated as {} via {}", listener_, peer_, authenticated_once_ ? "re-" : "",
                session_->principal.to_string(), session_->sasl_mechanism);
  authenticated_once_ = true;
  phase_ = Phase::kAuthenticated;
  server_.reset();
  return true;
}

SaslSession::Outcome SaslSession::authenticate(int16_t version, ByteReader body, int64_t now_ms) {
  msg::SaslAuthenticateRequest req;
  try {
    req.decode(body, version);
  } catch (const DecodeError&) {
    return close("malformed SaslAuthenticate request");
  }
  if (req.auth_bytes.size() > security_->sasl->max_token_bytes)
    return close("SASL token of " + std::to_string(req.auth_bytes.size()) + " bytes exceeds the limit of " +
                 std::to_string(security_->sasl->max_token_bytes));
  security::SaslStep step = server_->evaluate(req.auth_bytes);
  msg::SaslAuthenticateResponse resp;
  std::string error;
  if (!finish_step(step, now_ms, &error)) {
    phase_ = Phase::kFailed;
    server_.reset();
    resp.error_code = static_cast<int16_t>(ErrorCode::SASL_AUTHENTICATION_FAILED);
    resp.error_message = error;
    return Outcome{Outcome::kReply, reply(resp, version, true)};
  }
  resp.error_message = std::nullopt;
  resp.auth_bytes = std::move(step.challenge);
  if (phase_ == Phase::kAuthenticated) resp.session_lifetime_ms = session_lifetime_ms_;
  return Outcome{Outcome::kReply, reply(resp, version, false)};
}

SaslSession::Outcome SaslSession::on_raw_token(std::span<const uint8_t> frame, int64_t now_ms) {
  if (phase_ != Phase::kRawToken) return close("unexpected raw SASL token");
  if (frame.size() > security_->sasl->max_token_bytes)
    return close("SASL token of " + std::to_string(frame.size()) + " bytes exceeds the limit of " +
                 std::to_string(security_->sasl->max_token_bytes));
  security::SaslStep step = server_->evaluate(frame);
  std::string error;
  if (!finish_step(step, now_ms, &error)) {
    phase_ = Phase::kFailed;
    server_.reset();
    return Outcome{Outcome::kClose, {}};  // KIP-152 v0: no error frame, the connection closes
  }
  Response r;
  r.raw = true;
  r.body.put_bytes(std::span<const uint8_t>(step.challenge));
  return Outcome{Outcome::kReply, std::move(r)};
}

}  // namespace flotilla::net
