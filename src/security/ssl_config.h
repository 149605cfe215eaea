// The Kafka `ssl.*` settings of one listener (server side) or of a client, read
// from a flat key->value map the way Kafka reads them: a key under the
// listener's prefix ("listener.name.<lower-cased listener>.ssl.keystore.type")
// overrides the plain key ("ssl.keystore.type"), one key at a time; absent keys
// take Kafka's defaults.
//
// Invariants: a SslConfig that from_map() returned has passed the checks that
// need no file (types, enums, protocol names, which keys combine with which);
// loading files and parsing PEM/PKCS12 happens in tls_context.cc. Every error
// is an SslConfigError naming the config key; no message ever contains the
// value of a password-type key (passwords, inline private keys), only
// "[hidden]". The struct holds secrets in plain std::string: never log it
// field by field (describe() prints it safely).
//
// Threading: plain values, no shared state; the cipher-name lookup builds a
// throwaway SSL_CTX and is safe to call from any thread.
#pragma once

#include <map>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace flotilla::security {

class SslConfigError : public std::runtime_error {
 public:
  SslConfigError(std::string key, const std::string& message) : std::runtime_error(message), key_(std::move(key)) {}
  const std::string& key() const { return key_; }  // the config key at fault ("" when none applies)

 private:
  std::string key_;
};

enum class SslClientAuth { NONE, REQUESTED, REQUIRED };
enum class TlsVersion { TLSv1 = 0, TLSv1_1 = 1, TLSv1_2 = 2, TLSv1_3 = 3 };

// Kafka's config names.
namespace ssl_keys {
inline constexpr const char* kKeystoreType = "ssl.keystore.type";
inline constexpr const char* kKeystoreLocation = "ssl.keystore.location";
inline constexpr const char* kKeystorePassword = "ssl.keystore.password";
inline constexpr const char* kKeyPassword = "ssl.key.password";
inline constexpr const char* kKeystoreCertificateChain = "ssl.keystore.certificate.chain";
inline constexpr const char* kKeystoreKey = "ssl.keystore.key";
inline constexpr const char* kTruststoreType = "ssl.truststore.type";
inline constexpr const char* kTruststoreLocation = "ssl.truststore.location";
inline constexpr const char* kTruststorePassword = "ssl.truststore.password";
inline constexpr const char* kTruststoreCertificates = "ssl.truststore.certificates";
inline constexpr const char* kClientAuth = "ssl.client.auth";
inline constexpr const char* kEnabledProtocols = "ssl.enabled.protocols";
inline constexpr const char* kProtocol = "ssl.protocol";
inline constexpr const char* kCipherSuites = "ssl.cipher.suites";
inline constexpr const char* kEndpointIdentificationAlgorithm = "ssl.endpoint.identification.algorithm";
inline constexpr const char* kPrincipalMappingRules = "ssl.principal.mapping.rules";
}  // namespace ssl_keys

// All keys above, in Kafka's order (for dynamic-config code that asks "is this an ssl key?").
const std::vector<std::string>& ssl_config_keys();
// Keys whose values are secrets (Kafka's Type.PASSWORD): never printed.
bool is_ssl_password_key(std::string_view key);

struct SslConfig {
  std::string keystore_type = "JKS";  // Kafka's default; JKS itself is refused when a keystore is used
  std::string keystore_location;
  std::string keystore_password;
  std::string key_password;
  std::string keystore_certificate_chain;  // inline PEM (KIP-651)
  std::string keystore_key;                // inline PEM private key (KIP-651)
  std::string truststore_type = "JKS";
  std::string truststore_location;
  std::string truststore_password;
  std::string truststore_certificates;  // inline PEM (KIP-651)
  SslClientAuth client_auth = SslClientAuth::NONE;
  std::vector<TlsVersion> enabled_protocols{TlsVersion::TLSv1_2, TlsVersion::TLSv1_3};
  std::string protocol = "TLSv1.3";
  std::vector<std::string> cipher_suites;  // as configured (IANA/Java names); empty = OpenSSL's defaults
  std::string endpoint_identification_algorithm = "https";
  std::string principal_mapping_rules = "DEFAULT";

  // Reads `prefix + key` when present, else `key`, for every ssl key, then
  // validates (see the file comment). prefix "" reads the plain keys only.
  static SslConfig from_map(const std::map<std::string, std::string>& configs, std::string_view prefix = "");

  bool has_keystore() const { return !keystore_location.empty() || !keystore_key.empty(); }
  bool has_truststore() const { return !truststore_location.empty() || !truststore_certificates.empty(); }
  bool verify_hostname() const { return !endpoint_identification_algorithm.empty(); }
  // The files a reload watches (keystore and truststore locations, when set).
  std::vector<std::string> files() const;
  // One line per key, passwords and inline keys as "[hidden]".
  std::string describe() const;
  bool operator==(const SslConfig&) const = default;
};

// "listener.name.<lower-cased name>." — the prefix of a listener's own ssl keys.
std::string listener_config_prefix(std::string_view listener_name);

std::string_view tls_version_name(TlsVersion v);         // "TLSv1.2"
std::string_view ssl_client_auth_name(SslClientAuth a);  // "none", "requested", "required"

// ssl.cipher.suites mapped to OpenSSL's two lists. Names may be IANA/Java
// ("TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384", "TLS_AES_128_GCM_SHA256") or
// OpenSSL's own ("ECDHE-RSA-AES256-GCM-SHA384"). Unknown names throw
// SslConfigError(ssl.cipher.suites); the signalling value
// TLS_EMPTY_RENEGOTIATION_INFO_SCSV that Java lists is skipped.
struct OpenSslCiphers {
  std::string tls12;  // for SSL_CTX_set_cipher_list, ':'-separated ("" = none given)
  std::string tls13;  // for SSL_CTX_set_ciphersuites, ':'-separated ("" = none given)
};
OpenSslCiphers map_cipher_suites(const std::vector<std::string>& names);

}  // namespace flotilla::security
