// How a client authenticates to a listener, from Kafka's client properties
// (the --command-config / --producer.config files of the tools, and the node's
// own settings for its outgoing connections): security.protocol,
// sasl.mechanism, sasl.jaas.config (PlainLoginModule / ScramLoginModule with
// username= and password=) or librdkafka's sasl.username / sasl.password.
//
// Secrets: the password lives in ClientSecurity only; errors name the
// property, never its value.
#pragma once

#include <map>
#include <optional>
#include <stdexcept>
#include <string>

#include "security/principal.h"
#include "security/tls_context.h"

namespace flotilla::net {

// How a client (a tool, or this node toward another node) authenticates to a listener.
struct ClientSecurity {
  security::SecurityProtocol protocol = security::SecurityProtocol::PLAINTEXT;
  std::string sasl_mechanism;  // sasl.mechanism.inter.broker.protocol / sasl.mechanism.controller.protocol
  std::string username;        // from the listener's JAAS config (username=..., password=...)
  std::string password;
  // ScramLoginModule's tokenauth=true: username/password are a delegation
  // token's id and HMAC (Kafka's ScramExtensions).
  bool token_auth = false;
  // SSL / SASL_SSL: the client-side TLS context (trust store, optional key
  // store for client authentication, ssl.endpoint.identification.algorithm).
  std::shared_ptr<const security::TlsContext> tls;
};

class SecurityConfigError : public std::invalid_argument {
 public:
  using std::invalid_argument::invalid_argument;
};

// The login-module options of a JAAS config text (security/jaas.h);
// throws SecurityConfigError (whose message never holds a value).
std::map<std::string, std::string> jaas_options(const std::string& jaas);

// From client properties; throws SecurityConfigError for an unknown protocol,
// a SASL protocol without a mechanism it implements or without credentials.
ClientSecurity client_security_from_properties(const std::map<std::string, std::string>& props);

}  // namespace flotilla::net
