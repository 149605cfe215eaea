// A node's security settings, from its KafkaConfig: each listener's
// net::ListenerSecurity (SASL mechanisms, PLAIN users from the JAAS config,
// SCRAM credentials from the metadata image) and the net::ClientSecurity its
// own outgoing connections use toward a controller or broker listener.
//
// Kafka's property names: sasl.enabled.mechanisms and
// listener.name.<listener>.sasl.enabled.mechanisms;
// listener.name.<listener>.<mechanism>.sasl.jaas.config, else sasl.jaas.config
// (the listener name lower-case, as Kafka writes it; the exact case works too);
// sasl.mechanism.inter.broker.protocol / sasl.mechanism.controller.protocol;
// OAUTHBEARER's validator from sasl.server.callback.handler.class and
// sasl.oauthbearer.* (each also as listener.name.<listener>.oauthbearer.<key>)
// plus the unsecured validator's options in the OAUTHBEARER JAAS entry.
// Invalid settings throw ConfigError naming the property, never its value.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "net/client_security.h"
#include "net/listener_security.h"
#include "security/credential_cache.h"
#include "security/delegation_token.h"
#include "server/config.h"

namespace flotilla::server {

std::vector<std::string> listener_sasl_mechanisms(const KafkaConfig& config, const std::string& listener);
std::optional<std::string> listener_jaas_config(const KafkaConfig& config, const std::string& listener, const std::string& mechanism);

// Throws ConfigError when a SASL listener enables no mechanism we implement,
// PLAIN without a JAAS config, or an OAUTHBEARER validator that cannot be
// built (unknown callback handler, unreadable JWKS file).
std::shared_ptr<const net::ListenerSecurity> make_listener_security(const KafkaConfig& config, const Endpoint& endpoint,
                                                                     std::shared_ptr<const security::CredentialCache> scram,
                                                                     std::shared_ptr<const security::DelegationTokenCredentials> tokens = nullptr);

// SSL / SASL_SSL listeners: the server TLS context from
// listener.name.<lower-case listener>.ssl.* over ssl.*; throws ConfigError
// naming the key at fault (never a password).
std::shared_ptr<security::ReloadableTlsContext> make_listener_tls(const KafkaConfig& config, const std::string& listener);
// The client TLS context for this node's connections to `listener` of other nodes (same keys, client mode).
std::shared_ptr<const security::TlsContext> make_client_tls(const KafkaConfig& config, const std::string& listener);

// For connections to `listener` of other nodes (the controller listener, or
// the inter-broker listener) with `mechanism`; null when it is PLAINTEXT.
std::shared_ptr<const net::ClientSecurity> make_client_security(const KafkaConfig& config, const std::string& listener,
                                                                const std::string& mechanism, const char* mechanism_property);

}  // namespace flotilla::server
