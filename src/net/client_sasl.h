// The client side of SASL for the node's own outgoing connections (Raft RPCs,
// broker registration and heartbeats, forwarding, replica fetchers, the
// transaction markers): right after the TCP connect, SaslHandshake v1 and
// SaslAuthenticate v1 rounds until the mechanism's client is done, before any
// other request leaves. The password stays in ClientSecurity and the
// SaslClient; no log line or error message carries it.
//
// Threading: runs on the connection's io_context as a coroutine.
#pragma once

#include <asio.hpp>
#include <cstdint>
#include <memory>
#include <string>
#include <system_error>

#include "net/client_security.h"
#include "net/transport.h"

namespace flotilla::net {

struct SaslClientResult {
  std::error_code error;           // set: the exchange failed (the connection is unusable)
  std::string message;             // why, for a log line (the server's message; never a secret)
  int64_t session_lifetime_ms = 0; // KIP-368: the server closes the session after this (0: never)
};

asio::awaitable<SaslClientResult> sasl_client_authenticate(std::shared_ptr<Transport> socket,
                                                           std::shared_ptr<const ClientSecurity> security,
                                                           std::string client_id);

}  // namespace flotilla::net
