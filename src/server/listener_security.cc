#include "server/listener_security.h"

#include <algorithm>
#include <cctype>

#include "security/jaas.h"
#include "security/oauthbearer.h"
#include "security/ssl_config.h"
#include "security/tls_context.h"

namespace flotilla::server {

namespace {

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

std::optional<std::string> listener_prop(const KafkaConfig& c, const std::string& listener, const std::string& suffix) {
  for (const std::string& name : {lower(listener), listener}) {
    auto it = c.originals.find("listener.name." + name + "." + suffix);
    if (it != c.originals.end()) return it->second;
  }
  return std::nullopt;
}

std::vector<std::string> split_trim(const std::string& s) {
  std::vector<std::string> out;
  size_t b = 0;
  while (b <= s.size()) {
    size_t e = s.find(',', b);
    if (e == std::string::npos) e = s.size();
    std::string item = s.substr(b, e - b);
    item.erase(0, item.find_first_not_of(" \t"));
    item.erase(item.find_last_not_of(" \t") + 1);
    if (!item.empty()) out.push_back(item);
    b = e + 1;
  }
  return out;
}

bool implemented(const std::string& mechanism) {
  security::SaslServerConfig probe;
  probe.enabled_mechanisms = {mechanism};
  probe.scram = std::make_shared<security::CredentialCache>();
  return security::make_sasl_server(mechanism, probe) != nullptr;
}

const Endpoint* endpoint_of(const KafkaConfig& c, const std::string& listener) {
  if (const Endpoint* e = c.find_listener(listener)) return e;
  return nullptr;
}

// A listener's ssl.* settings: listener.name.<lower-case name>.ssl.* over ssl.*.
security::SslConfig listener_ssl_config(const KafkaConfig& config, const std::string& listener) {
  try {
    return security::SslConfig::from_map(config.originals, security::listener_config_prefix(listener));
  } catch (const security::SslConfigError& e) {
    throw ConfigError("Invalid TLS configuration for listener " + listener + " (" + e.key() + "): " + e.what());
  }
}

// A listener's OAUTHBEARER validator: the sasl.oauthbearer.* and callback
// handler properties, listener.name.<l>.oauthbearer.<key> over <key> (Kafka's
// per-mechanism listener prefix), and the options of the listener's
// OAuthBearerLoginModule JAAS entry. Without a JAAS entry the unsecured
// validator runs with its default options (Kafka would refuse to start; the
// options are what the entry is for, and an empty one changes nothing).
std::shared_ptr<const security::OAuthBearerConfig> listener_oauthbearer_config(const KafkaConfig& config,
                                                                              const std::string& listener) {
  std::map<std::string, std::string> props;
  for (std::string_view key : {security::kSaslServerCallbackHandlerClass, security::kJwksEndpointUrl,
                               security::kExpectedAudience, security::kExpectedIssuer, security::kSubClaimName,
                               security::kScopeClaimName, security::kClockSkewSeconds}) {
    std::string k(key);
    if (auto v = listener_prop(config, listener, "oauthbearer." + k)) props[k] = *v;
    else if (auto it = config.originals.find(k); it != config.originals.end()) props[k] = it->second;
  }
  std::string jkey = "listener.name." + lower(listener) + ".oauthbearer.sasl.jaas.config";
  std::map<std::string, std::string> options;
  if (auto jaas = listener_jaas_config(config, listener, "OAUTHBEARER")) {
    try {
      options = net::jaas_options(*jaas);
    } catch (const net::SecurityConfigError& e) {
      throw ConfigError("Invalid value for configuration " + jkey + ": " + e.what());
    }
  }
  std::string error;
  auto made = security::make_oauthbearer_config(props, options, error);
  if (!made) throw ConfigError("Invalid OAUTHBEARER configuration for listener " + listener + ": " + error);
  return made;
}

}  // namespace

std::shared_ptr<security::ReloadableTlsContext> make_listener_tls(const KafkaConfig& config, const std::string& listener) {
  auto ssl = listener_ssl_config(config, listener);
  if (!ssl.has_keystore())
    throw ConfigError("Listener " + listener + " uses TLS but has no key store: set " + security::listener_config_prefix(listener) +
                      "ssl.keystore.location (or ssl.keystore.location)");
  try {
    return std::make_shared<security::ReloadableTlsContext>(ssl, security::TlsMode::SERVER);
  } catch (const security::SslConfigError& e) {
    throw ConfigError("Invalid TLS configuration for listener " + listener + " (" + e.key() + "): " + e.what());
  }
}

std::shared_ptr<const security::TlsContext> make_client_tls(const KafkaConfig& config, const std::string& listener) {
  auto ssl = listener_ssl_config(config, listener);
  try {
    return security::TlsContext::create(ssl, security::TlsMode::CLIENT);
  } catch (const security::SslConfigError& e) {
    throw ConfigError("Invalid TLS configuration for connections to listener " + listener + " (" + e.key() + "): " + e.what());
  }
}

std::vector<std::string> listener_sasl_mechanisms(const KafkaConfig& config, const std::string& listener) {
  if (auto v = listener_prop(config, listener, "sasl.enabled.mechanisms")) return split_trim(*v);
  return config.sasl_enabled_mechanisms;
}

std::optional<std::string> listener_jaas_config(const KafkaConfig& config, const std::string& listener, const std::string& mechanism) {
  if (auto v = listener_prop(config, listener, lower(mechanism) + ".sasl.jaas.config")) return v;
  auto it = config.originals.find("sasl.jaas.config");
  if (it != config.originals.end()) return it->second;
  return std::nullopt;
}

std::shared_ptr<const net::ListenerSecurity> make_listener_security(const KafkaConfig& config, const Endpoint& endpoint,
                                                                     std::shared_ptr<const security::CredentialCache> scram,
                                                                     std::shared_ptr<const security::DelegationTokenCredentials> tokens) {
  auto s = std::make_shared<net::ListenerSecurity>();
  auto protocol = security::parse_security_protocol(endpoint.security_protocol);
  if (!protocol) throw ConfigError("Invalid security protocol " + endpoint.security_protocol + " for listener " + endpoint.listener);
  s->protocol = *protocol;
  s->reauth_ms = config.connections_max_reauth_ms;
  s->authentication_timeout_ms = config.connections_authentication_timeout_ms;
  if (security::uses_tls(s->protocol)) s->tls = make_listener_tls(config, endpoint.listener);
  if (!security::uses_sasl(s->protocol)) return s;

  auto sasl = std::make_shared<security::SaslServerConfig>();
  std::string key = "listener.name." + lower(endpoint.listener) + ".sasl.enabled.mechanisms";
  std::vector<std::string> unsupported;
  for (const auto& m : listener_sasl_mechanisms(config, endpoint.listener)) {
    if (implemented(m)) sasl->enabled_mechanisms.push_back(m);
    else unsupported.push_back(m);
  }
  if (sasl->enabled_mechanisms.empty()) {
    std::string names;
    for (const auto& m : unsupported) names += (names.empty() ? "" : ",") + m;
    throw ConfigError("Listener " + endpoint.listener + " is " + endpoint.security_protocol + " but enables no SASL mechanism Flotilla implements (" +
                      (names.empty() ? "none" : names) + "; set sasl.enabled.mechanisms or " + key +
                      " to PLAIN, SCRAM-SHA-256, SCRAM-SHA-512 and/or OAUTHBEARER)");
  }
  if (std::find(sasl->enabled_mechanisms.begin(), sasl->enabled_mechanisms.end(), "PLAIN") != sasl->enabled_mechanisms.end()) {
    auto jaas = listener_jaas_config(config, endpoint.listener, "PLAIN");
    std::string jkey = "listener.name." + lower(endpoint.listener) + ".plain.sasl.jaas.config";
    if (!jaas) throw ConfigError("Listener " + endpoint.listener + " enables SASL PLAIN but has no JAAS config: set " + jkey);
    std::map<std::string, std::string> opts;
    try {
      opts = net::jaas_options(*jaas);
    } catch (const net::SecurityConfigError& e) {
      throw ConfigError(std::string("Invalid value for configuration ") + jkey + ": " + e.what());
    }
    security::JaasConfig parsed;
    parsed.options = std::move(opts);
    sasl->plain_users = security::plain_users(parsed);
  }
  if (std::find(sasl->enabled_mechanisms.begin(), sasl->enabled_mechanisms.end(), security::kOAuthBearer) !=
      sasl->enabled_mechanisms.end())
    sasl->oauthbearer = listener_oauthbearer_config(config, endpoint.listener);
  sasl->scram = std::move(scram);
  sasl->tokens = std::move(tokens);
  s->sasl = std::move(sasl);
  return s;
}

std::shared_ptr<const net::ClientSecurity> make_client_security(const KafkaConfig& config, const std::string& listener,
                                                                const std::string& mechanism, const char* mechanism_property) {
  const Endpoint* ep = endpoint_of(config, listener);
  // A broker-only node has no controller listener of its own: the protocol
  // comes from the map, as in Kafka.
  std::string protocol_name = ep ? ep->security_protocol : "PLAINTEXT";
  if (!ep)
    if (auto it = config.security_protocol_map.find(listener); it != config.security_protocol_map.end()) protocol_name = it->second;
  auto protocol = security::parse_security_protocol(protocol_name);
  if (!protocol || *protocol == security::SecurityProtocol::PLAINTEXT) return nullptr;
  auto s = std::make_shared<net::ClientSecurity>();
  s->protocol = *protocol;
  // Kafka: the node's client toward a listener uses that listener's ssl.* settings as client settings.
  if (security::uses_tls(*protocol)) s->tls = make_client_tls(config, listener);
  if (!security::uses_sasl(*protocol)) return s;
  s->sasl_mechanism = mechanism;
  if (mechanism != "PLAIN" && mechanism != "SCRAM-SHA-256" && mechanism != "SCRAM-SHA-512")
    throw ConfigError("Invalid value " + mechanism + " for configuration " + mechanism_property + " (listener " + listener +
                      " is " + protocol_name + "): supported are PLAIN, SCRAM-SHA-256, SCRAM-SHA-512");
  auto jaas = listener_jaas_config(config, listener, mechanism);
  std::string jkey = "listener.name." + lower(listener) + "." + lower(mechanism) + ".sasl.jaas.config";
  if (!jaas) throw ConfigError("No JAAS config with this node's credentials for " + mechanism + " on listener " + listener + ": set " + jkey);
  try {
    auto opts = net::jaas_options(*jaas);
    s->username = opts["username"];
    s->password = opts["password"];
  } catch (const net::SecurityConfigError& e) {
    throw ConfigError("Invalid value for configuration " + jkey + ": " + e.what());
  }
  if (s->username.empty()) throw ConfigError("The JAAS config " + jkey + " has no username= for this node's own connections");
  return s;
}

}  // namespace flotilla::server
