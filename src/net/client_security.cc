#include "net/client_security.h"

#include "security/jaas.h"

namespace flotilla::net {

std::map<std::string, std::string> jaas_options(const std::string& jaas) {
  std::string error;
  auto parsed = security::parse_jaas_config(jaas, error);
  if (!parsed) throw SecurityConfigError(error);
  return parsed->options;
}

ClientSecurity client_security_from_properties(const std::map<std::string, std::string>& props) {
  auto get = [&](const char* k) -> std::optional<std::string> {
    auto it = props.find(k);
    if (it == props.end()) return std::nullopt;
    return it->second;
  };
  ClientSecurity s;
  if (auto v = get("security.protocol")) {
    auto p = security::parse_security_protocol(*v);
    if (!p) throw SecurityConfigError("Invalid value " + *v + " for configuration security.protocol");
    s.protocol = *p;
  }
  if (security::uses_tls(s.protocol)) {
    try {
      s.tls = security::TlsContext::create(security::SslConfig::from_map(props), security::TlsMode::CLIENT);
    } catch (const security::SslConfigError& e) {
      throw SecurityConfigError(e.what());
    }
  }
  if (!security::uses_sasl(s.protocol)) return s;
  s.sasl_mechanism = get("sasl.mechanism").value_or("GSSAPI");
  if (s.sasl_mechanism != "PLAIN" && s.sasl_mechanism != "SCRAM-SHA-256" && s.sasl_mechanism != "SCRAM-SHA-512")
    throw SecurityConfigError("Invalid value " + s.sasl_mechanism + " for configuration sasl.mechanism: supported are PLAIN, SCRAM-SHA-256, SCRAM-SHA-512");
  if (auto jaas = get("sasl.jaas.config")) {
    auto opts = jaas_options(*jaas);
    s.username = opts.count("username") ? opts["username"] : "";
    s.password = opts.count("password") ? opts["password"] : "";
    if (auto it = opts.find("tokenauth"); it != opts.end()) {
      if (it->second != "true" && it->second != "false")
        throw SecurityConfigError("Invalid value for the ScramLoginModule option tokenauth: expected true or false");
      s.token_auth = it->second == "true";
    }
  }
  if (auto v = get("sasl.username")) s.username = *v;
  if (auto v = get("sasl.password")) s.password = *v;
  if (s.username.empty())
    throw SecurityConfigError("No username for SASL " + s.sasl_mechanism + ": set sasl.jaas.config (username=, password=) or sasl.username/sasl.password");
  return s;
}

}  // namespace flotilla::net
