// Who is on the other end of a connection. Every request carries the Session of
// its connection: the authenticated KafkaPrincipal, the listener it came in on,
// that listener's security protocol and the client's host. Authorization (ACLs)
// and quotas key on these; nothing before authentication completes has a
// principal other than ANONYMOUS.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace flotilla::security {

// Kafka's SecurityProtocol, with its wire ids (BrokerRegistration endpoints).
enum class SecurityProtocol : int16_t { PLAINTEXT = 0, SSL = 1, SASL_PLAINTEXT = 2, SASL_SSL = 3 };

std::optional<SecurityProtocol> parse_security_protocol(std::string_view name);  // case-insensitive
std::string_view security_protocol_name(SecurityProtocol p);
inline bool uses_sasl(SecurityProtocol p) { return p == SecurityProtocol::SASL_PLAINTEXT || p == SecurityProtocol::SASL_SSL; }
inline bool uses_tls(SecurityProtocol p) { return p == SecurityProtocol::SSL || p == SecurityProtocol::SASL_SSL; }

struct KafkaPrincipal {
  std::string type = "User";
  std::string name = "ANONYMOUS";

  std::string to_string() const { return type + ":" + name; }  // "User:alice", as ACLs name principals
  bool operator==(const KafkaPrincipal&) const = default;
};

struct Session {
  KafkaPrincipal principal;
  std::string listener;
  SecurityProtocol protocol = SecurityProtocol::PLAINTEXT;
  std::string client_host;      // address only, no port
  std::string sasl_mechanism;   // empty unless authenticated by SASL
  // Authenticated with a delegation token (SCRAM tokenauth=true): Kafka's
  // KafkaPrincipal.tokenAuthenticated; such a session may not manage tokens.
  bool token_authenticated = false;
};

}  // namespace flotilla::security
