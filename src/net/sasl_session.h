// The server side of a connection's authentication: which requests a
// connection may make before, during and after a SASL exchange, and the
// exchange itself (SaslHandshake v0/v1, SaslAuthenticate v0-v2, the raw
// size-prefixed tokens of KIP-152 after a v0 handshake, KIP-368
// re-authentication). A pure state machine: no I/O, no clock of its own (the
// caller passes the time), so it does not care whether TCP or a TLS stream
// carries the frames, and unit tests drive it directly.
//
// Invariants:
// - session() never changes while a request is being served; a successful
//   exchange replaces it by a new immutable Session (handlers keep the one
//   their request carried).
// - On a SASL listener nothing but ApiVersions, SaslHandshake and
//   SaslAuthenticate is served until an exchange succeeded, nor after the
//   session expired (connections.max.reauth.ms); anything else closes the
//   connection (Kafka's IllegalSaslStateException), with a log line naming the
//   client's address and never a token, password or JAAS value.
// - A failed exchange is answered (SASL_AUTHENTICATION_FAILED with the
//   mechanism's message) and then the connection closes; after a v0 handshake
//   there is no error frame in the protocol, so it just closes.
// - Re-authentication may not change the principal.
//
// Threading: one per connection, used on that connection's event-loop thread.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "common/bytes.h"
#include "net/listener_security.h"
#include "net/server.h"
#include "security/principal.h"
#include "security/sasl.h"

namespace flotilla::net {

class SaslSession {
 public:
  SaslSession(std::string listener, std::shared_ptr<const ListenerSecurity> security, std::string client_host,
              std::string peer, int64_t now_ms);

  struct Outcome {
    enum Kind { kDispatch, kReply, kClose } kind = kDispatch;
    Response response;  // kReply: answer this, in order with the other responses
  };

  // True after a v0 SaslHandshake: the next frame is a raw token, not a request.
  bool expects_raw_token() const { return phase_ == Phase::kRawToken; }
  // A request whose header was parsed; `body` is its body.
  Outcome on_request(int16_t api_key, int16_t api_version, ByteReader body, int64_t now_ms);
  // A raw token frame (KIP-152, after a v0 handshake).
  Outcome on_raw_token(std::span<const uint8_t> frame, int64_t now_ms);

  bool authenticated() const { return authenticated_once_; }
  // When an unfinished first exchange gets the connection closed (nullopt: no bound).
  std::optional<int64_t> authentication_deadline_ms() const;
  const std::shared_ptr<const security::Session>& session() const { return session_; }

  // The header version of the requests this layer answers itself (17, 36);
  // -1 when the version is not one Kafka defines.
  static int request_header_version(int16_t api_key, int16_t api_version);

 private:
  enum class Phase { kHandshake, kAuthenticate, kRawToken, kAuthenticated, kFailed };

  Outcome handshake(int16_t version, ByteReader body, int64_t now_ms);
  Outcome authenticate(int16_t version, ByteReader body, int64_t now_ms);
  Outcome close(const std::string& why);
  // A finished or failed step: the principal is set, or the exchange is over.
  bool finish_step(const security::SaslStep& step, int64_t now_ms, std::string* client_error);
  bool expired(int64_t now_ms) const { return session_expiry_ms_ > 0 && now_ms >= session_expiry_ms_; }

  std::string listener_;
  std::shared_ptr<const ListenerSecurity> security_;
  std::string client_host_;
  std::string peer_;
  Phase phase_;
  bool authenticated_once_ = false;
  int64_t start_ms_;
  int64_t session_expiry_ms_ = 0;    // 0: none
  int64_t session_lifetime_ms_ = 0;  // of the latest exchange, for SaslAuthenticate v1+
  std::unique_ptr<security::SaslServer> server_;
  std::shared_ptr<const security::Session> session_;
};

}  // namespace flotilla::net
