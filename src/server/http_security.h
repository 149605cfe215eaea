// Security of the HTTP listener (http.listeners): TLS for https:// listeners
// and HTTP Basic authentication against the cluster's SCRAM users.
//
// TLS settings (most specific first, one key at a time):
//   listener.name.http.ssl.<key>      Flotilla's, the Kafka listener-override idiom
//   confluent.http.server.ssl.<key>   Confluent Server's embedded HTTP server
//   ssl.<key>                         the broker's own TLS settings
// so a node whose Kafka listeners already use TLS serves https with the same
// key store unless told otherwise. Key stores and trust stores are read by the
// same code as the Kafka listeners' (security::TlsContext: PEM and PKCS12,
// inline PEM, ssl.client.auth, protocols, cipher suites); the result is copied
// onto the SSL_CTX cpp-httplib creates. A client certificate (ssl.client.auth=
// requested|required) makes the request's principal the certificate's DN after
// ssl.principal.mapping.rules, as on a Kafka SSL listener.
//
// Basic authentication (Confluent Server's Admin REST API names):
//   kafka.rest.authentication.method=BASIC   (NONE: off, the default)
//   kafka.rest.authentication.realm=<realm>  (WWW-Authenticate's realm; default KafkaRest)
// The user name and password are checked against the SCRAM credentials in the
// metadata image (the ones `flotilla configs --entity-type users` and
// `storage format --add-scram` create): SaltedPassword = PBKDF2(password, salt,
// iterations), ClientKey = HMAC(SaltedPassword, "Client Key"), StoredKey =
// H(ClientKey), compared in constant time with the stored StoredKey, for
// SCRAM-SHA-256 and SCRAM-SHA-512. The request then runs as User:<name>, so
// REST calls are authorized by the node's ACLs like a Kafka client's.
//
// Invariants: no password, Authorization header or key material is logged or
// kept in clear. PBKDF2 costs a few milliseconds, so a bounded LRU cache keeps
// (user, HMAC-SHA-256(process-random key, user NUL password)) -> the StoredKey
// the password matched; a hit counts only while the user's current StoredKey
// still equals it, so a changed or deleted credential stops the old password
// at once.
//
// Threading: BasicAuthenticator::authenticate runs on HTTP worker threads,
// several at once: the cache is under a mutex held for a map operation only
// (never across PBKDF2); the credentials are the node's CredentialCache
// (thread-safe snapshots).
#pragma once

#include <cstdint>
#include <list>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "http/http_server.h"
#include "security/credential_cache.h"
#include "security/ssl_config.h"
#include "server/config.h"

namespace flotilla::server {

namespace http_security_keys {
inline constexpr const char* kAuthenticationMethod = "kafka.rest.authentication.method";
inline constexpr const char* kAuthenticationRealm = "kafka.rest.authentication.realm";
inline constexpr const char* kConfluentSslPrefix = "confluent.http.server.";
inline constexpr const char* kListenerPrefix = "listener.name.http.";
}  // namespace http_security_keys

class BasicAuthenticator {
 public:
  explicit BasicAuthenticator(std::shared_ptr<const security::CredentialCache> credentials, size_t max_cached = 1024);

  // The Authorization header's value ("" when absent): ok with User:<name>
  // when it is `Basic base64(user:password)` and the password matches.
  http::AuthResult authenticate(std::string_view authorization);

  // For tests and the benchmark: hits of the verified-password cache.
  uint64_t cache_hits() const;

 private:
  bool verify(const std::string& user, const std::string& password);
  std::string cache_key(const std::string& user, const std::string& password) const;

  std::shared_ptr<const security::CredentialCache> credentials_;
  size_t max_cached_;
  security::Bytes cache_secret_;
  struct Entry {
    std::string user;
    int mechanism = 0;            // security::ScramMechanism
    security::Bytes stored_key;   // the StoredKey the password matched
    std::list<std::string>::iterator lru;
  };
  mutable std::mutex mu_;
  std::list<std::string> lru_;  // cache keys, most recent first
  std::unordered_map<std::string, Entry> cache_;
  uint64_t hits_ = 0;
};

// The TLS settings of the HTTP listener (see the file comment for the order).
// Throws ConfigError naming the key at fault, never a password.
security::SslConfig http_ssl_config(const KafkaConfig& config);

// Fills hc.authenticate / hc.setup_tls / hc.tls_principal from the node's
// configuration. Throws ConfigError on an unknown authentication method, or an
// https listener whose TLS settings cannot be loaded (checked here, at startup).
void configure_http_security(const KafkaConfig& config, std::shared_ptr<const security::CredentialCache> credentials,
                             http::HttpServerConfig& hc);

}  // namespace flotilla::server
