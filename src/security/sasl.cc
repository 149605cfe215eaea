// The SASL factories: which mechanism a name selects, and whether a listener
// enabled it. Mechanism names are case-sensitive, as Kafka's are.
#include "security/sasl.h"

#include <algorithm>

#include "security/oauthbearer.h"
#include "security/sasl_mechanisms.h"

namespace flotilla::security {

std::string sasl_authentication_failed_message(std::string_view mechanism, bool reauthentication) {
  return std::string("Authentication failed during ") + (reauthentication ? "re-authentication" : "authentication") +
         " due to invalid credentials with SASL mechanism " + std::string(mechanism);
}

std::string random_scram_nonce() {
  static constexpr char kNonceChars[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
  std::string out;
  out.reserve(32);
  while (out.size() < 32) {
    for (uint8_t b : random_bytes(48)) {
      if (b >= 248) continue;  // 248 = 4 * 62: keeps the characters uniform
      out += kNonceChars[b % 62];
      if (out.size() == 32) break;
    }
  }
  return out;
}

std::unique_ptr<SaslServer> make_sasl_server(std::string_view mechanism, const SaslServerConfig& config) {
  const auto& enabled = config.enabled_mechanisms;
  if (std::find(enabled.begin(), enabled.end(), mechanism) == enabled.end()) return nullptr;
  if (mechanism == "PLAIN") return make_plain_server(config);
  if (auto scram = parse_scram_mechanism(mechanism)) return make_scram_server(*scram, config);
  if (mechanism == kOAuthBearer) return make_oauthbearer_server(config);
  return nullptr;
}

std::unique_ptr<SaslClient> make_sasl_client(std::string_view mechanism, const std::string& username,
                                             const std::string& password, bool token_auth) {
  if (mechanism == "PLAIN") return token_auth ? nullptr : make_plain_client(username, password);
  if (auto scram = parse_scram_mechanism(mechanism)) return make_scram_client(*scram, username, password, {}, token_auth);
  return nullptr;
}

}  // namespace flotilla::security
