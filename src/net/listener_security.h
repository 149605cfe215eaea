// A listener's security settings: its protocol (listener.security.protocol.map)
// and, for SASL_PLAINTEXT / SASL_SSL, what its SASL servers authenticate
// against. Immutable once a listener starts (shared by all its connections);
// SSL/SASL_SSL listeners carry their TLS context, which a dynamic config
// update may replace (new connections take the current one).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string_view>

#include "security/principal.h"
#include "security/sasl.h"
#include "security/tls_context.h"

namespace flotilla::net {

using SaslServerFactory =
    std::function<std::unique_ptr<security::SaslServer>(std::string_view mechanism, const security::SaslServerConfig&)>;

struct ListenerSecurity {
  security::SecurityProtocol protocol = security::SecurityProtocol::PLAINTEXT;
  std::shared_ptr<const security::SaslServerConfig> sasl;  // set for SASL_PLAINTEXT / SASL_SSL
  int64_t reauth_ms = 0;                      // connections.max.reauth.ms (0: sessions never expire)
  // flotilla.connections.authentication.timeout.ms: a connection that has not
  // authenticated this long after it was accepted is closed (<= 0: no bound).
  int64_t authentication_timeout_ms = 10000;
  // SSL / SASL_SSL: the listener's server context (listener.name.<l>.ssl.* over ssl.*).
  std::shared_ptr<security::ReloadableTlsContext> tls;
  SaslServerFactory server_factory;           // empty: security::make_sasl_server (tests inject their own)
};

}  // namespace flotilla::net
