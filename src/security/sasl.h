// SASL mechanisms, server and client side, as byte-token exchanges with no I/O:
// the network layer carries the tokens (in SaslAuthenticate requests, or raw
// frames after a v0 SaslHandshake, KIP-152) and asks a SaslServer what to
// answer. One SaslServer (or SaslClient) per authentication exchange.
//
// A failed exchange reports one message for every cause a client could use to
// learn which users exist (unknown user, wrong password, bad proof): the cause
// goes only to `log_detail`, which never holds a secret.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "security/credential_cache.h"
#include "security/scram.h"

namespace flotilla::security {

struct SaslStep {
  Bytes challenge;               // the server's token for the client (may be empty)
  bool complete = false;         // authenticated: principal() is valid
  bool failed = false;           // the exchange is over; close after answering
  std::string error_message;     // for the client, when failed (SaslAuthenticate error_message)
  std::string log_detail;        // for the server log, when failed (no secrets)
};

class SaslServer {
 public:
  virtual ~SaslServer() = default;
  virtual std::string_view mechanism() const = 0;
  // One token from the client. After a step that is complete or failed, no more.
  virtual SaslStep evaluate(std::span<const uint8_t> token) = 0;
  // The authenticated user name (the principal's name), once complete.
  virtual const std::string& authorized_id() const = 0;
  // For OAUTHBEARER: when the token's validity ends (ms since epoch), which
  // bounds the session (KIP-368); nullopt for password mechanisms.
  virtual std::optional<int64_t> credential_expiry_ms() const { return std::nullopt; }
  // SCRAM with the `tokenauth=true` extension: authenticated by a delegation
  // token (authorized_id() is the token's owner), Kafka's tokenAuthenticated.
  virtual bool token_authenticated() const { return false; }
};

struct OAuthBearerConfig;  // security/oauthbearer.h
class DelegationTokenCredentials;  // security/delegation_token.h

// What a listener's SASL servers authenticate against.
struct SaslServerConfig {
  std::vector<std::string> enabled_mechanisms;          // sasl.enabled.mechanisms of the listener
  std::map<std::string, std::string> plain_users;       // PLAIN: user_<name>="<password>" of the JAAS config
  std::shared_ptr<const CredentialCache> scram;         // SCRAM-SHA-256/512: from the metadata log
  std::shared_ptr<const DelegationTokenCredentials> tokens;  // SCRAM with tokenauth=true (null: refused)
  size_t max_token_bytes = 1 << 16;                     // larger tokens fail the exchange
  // OAUTHBEARER: the validator and its options (make_oauthbearer_config);
  // nullptr selects Kafka's default, the unsecured validator with default options.
  std::shared_ptr<const OAuthBearerConfig> oauthbearer;
};

// Kafka's answer to a client whose exchange failed for a reason it must not
// learn (SaslServerAuthenticator, for a SaslException): "Authentication failed
// during authentication due to invalid credentials with SASL mechanism <M>"
// ("during re-authentication" for KIP-368 re-authentication).
std::string sasl_authentication_failed_message(std::string_view mechanism, bool reauthentication = false);

// nullptr if `mechanism` is not enabled in `config` or not implemented.
std::unique_ptr<SaslServer> make_sasl_server(std::string_view mechanism, const SaslServerConfig& config);

class SaslClient {
 public:
  virtual ~SaslClient() = default;
  virtual std::string_view mechanism() const = 0;
  // The first token the client sends.
  virtual Bytes initial() = 0;
  // The server's challenge in, the client's next token out; nullopt when the
  // server's token is invalid (e.g. a SCRAM server signature that does not verify).
  // `done()` is true once the server's final message verified.
  virtual std::optional<Bytes> evaluate(std::span<const uint8_t> challenge) = 0;
  virtual bool done() const = 0;
};

// PLAIN, SCRAM-SHA-256, SCRAM-SHA-512 with a username and password; nullptr for
// others (OAUTHBEARER clients carry a token: make_oauthbearer_client in oauthbearer.h).
// `token_auth`: SCRAM's tokenauth=true (a delegation token; PLAIN: nullptr).
std::unique_ptr<SaslClient> make_sasl_client(std::string_view mechanism, const std::string& username,
                                             const std::string& password, bool token_auth = false);

}  // namespace flotilla::security
