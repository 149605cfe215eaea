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

#include "net/client_sasl.h"

namespace flotilla::net {

class SecurityConfigError : public std::invalid_argument {
 public:
  using std::invalid_argument::invalid_argument;
};

// The login-module options of a JAAS config text
// (`<LoginModule> required key="value" ...;`); throws SecurityConfigError.
std::map<std::string, std::string> jaas_options(const std::string& jaas);

// From client properties; throws SecurityConfigError for an unknown protocol,
// a SASL protocol without a mechanism it implements or without credentials.
ClientSecurity client_security_from_properties(const std::map<std::string, std::string>& props);

}  // namespace flotilla::net
