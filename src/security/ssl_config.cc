#include "security/ssl_config.h"

#include <openssl/ssl.h>

#include <algorithm>
#include <cctype>
#include <memory>
#include <mutex>
#include <optional>
#include <unordered_map>

#include "security/principal_mapper.h"

namespace flotilla::security {

namespace {

std::string lower(std::string_view s) {
  std::string out(s);
  for (auto& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::string upper(std::string_view s) {
  std::string out(s);
  for (auto& c : out) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return out;
}

std::string trim(std::string_view s) {
  size_t b = 0, e = s.size();
  while (b < e && std::isspace(static_cast<unsigned char>(s[b]))) ++b;
  while (e > b && std::isspace(static_cast<unsigned char>(s[e - 1]))) --e;
  return std::string(s.substr(b, e - b));
}

// Kafka's LIST type: comma-separated, whitespace around items dropped, "" = empty list.
std::vector<std::string> split_list(std::string_view s) {
  std::vector<std::string> out;
  if (trim(s).empty()) return out;
  size_t start = 0;
  while (true) {
    size_t comma = s.find(',', start);
    std::string item = trim(s.substr(start, comma == std::string_view::npos ? s.size() - start : comma - start));
    if (!item.empty()) out.push_back(std::move(item));
    if (comma == std::string_view::npos) break;
    start = comma + 1;
  }
  return out;
}

[[noreturn]] void invalid(const std::string& key, std::string_view value, std::string_view why) {
  std::string shown = is_ssl_password_key(key) ? "[hidden]" : std::string(value);
  throw SslConfigError(key, "Invalid value " + shown + " for configuration " + key + ": " + std::string(why));
}

[[noreturn]] void fail(const std::string& key, std::string_view message) {
  throw SslConfigError(key, std::string(message));
}

std::optional<TlsVersion> parse_tls_version(std::string_view s) {
  if (s == "TLSv1") return TlsVersion::TLSv1;
  if (s == "TLSv1.1") return TlsVersion::TLSv1_1;
  if (s == "TLSv1.2") return TlsVersion::TLSv1_2;
  if (s == "TLSv1.3") return TlsVersion::TLSv1_3;
  return std::nullopt;
}

void check_store_type(const std::string& key, const std::string& type) {
  std::string t = upper(type);
  if (t == "JKS")
    invalid(key, type,
            "JKS key stores are not supported by Flotilla; convert the store to PKCS12 "
            "(keytool -importkeystore -deststoretype PKCS12) or use PEM");
  if (t != "PKCS12" && t != "PEM") invalid(key, type, "supported store types are PKCS12 and PEM");
}

void validate_keystore(const SslConfig& c) {
  using namespace ssl_keys;
  const bool pem = upper(c.keystore_type) == "PEM";
  if (!c.keystore_key.empty()) {
    if (!pem)
      fail(kKeystoreKey,
           std::string("SSL private key (ssl.keystore.key) can be specified only for PEM, but key store type is ") +
               c.keystore_type + ".");
    if (c.keystore_certificate_chain.empty())
      fail(kKeystoreCertificateChain,
           "SSL private key (ssl.keystore.key) is specified, but certificate chain "
           "(ssl.keystore.certificate.chain) is not specified.");
    if (!c.keystore_location.empty())
      fail(kKeystoreLocation,
           "Both SSL key store location (ssl.keystore.location) and separate private key "
           "(ssl.keystore.key) are specified.");
    if (!c.keystore_password.empty())
      fail(kKeystorePassword,
           "SSL key store password (ssl.keystore.password) cannot be specified with PEM format, "
           "only key password (ssl.key.password) may be specified.");
    return;
  }
  if (!c.keystore_certificate_chain.empty())
    fail(kKeystoreKey,
         "SSL certificate chain (ssl.keystore.certificate.chain) is specified, but private key "
         "(ssl.keystore.key) is not specified.");
  if (c.keystore_location.empty()) return;
  check_store_type(kKeystoreType, c.keystore_type);
  if (pem && !c.keystore_password.empty())
    fail(kKeystorePassword,
         "SSL key store password (ssl.keystore.password) cannot be specified with PEM format, "
         "only key password (ssl.key.password) may be specified.");
  if (!pem && c.keystore_password.empty())
    fail(kKeystorePassword,
         "SSL key store (ssl.keystore.location) is specified, but key store password "
         "(ssl.keystore.password) is not specified.");
}

void validate_truststore(const SslConfig& c) {
  using namespace ssl_keys;
  const bool pem = upper(c.truststore_type) == "PEM";
  if (!c.truststore_certificates.empty()) {
    if (!pem)
      fail(kTruststoreCertificates, std::string("SSL trust store certs (ssl.truststore.certificates) can be specified "
                                                "only for PEM, but trust store type is ") +
                                        c.truststore_type + ".");
    if (!c.truststore_location.empty())
      fail(kTruststoreLocation,
           "Both SSL trust store location (ssl.truststore.location) and separate trust "
           "certificates (ssl.truststore.certificates) are specified.");
    if (!c.truststore_password.empty())
      fail(kTruststorePassword,
           "SSL trust store password (ssl.truststore.password) cannot be specified for PEM format.");
    return;
  }
  if (c.truststore_location.empty()) return;
  check_store_type(kTruststoreType, c.truststore_type);
  if (pem && !c.truststore_password.empty())
    fail(kTruststorePassword, "SSL trust store password (ssl.truststore.password) cannot be specified for PEM format.");
}

struct CipherTable {
  // standard (IANA) name and OpenSSL name -> (OpenSSL name, is TLS 1.3)
  std::unordered_map<std::string, std::pair<std::string, bool>> by_name;
};

const CipherTable& cipher_table() {
  static const CipherTable table = [] {
    CipherTable t;
    std::unique_ptr<SSL_CTX, decltype(&SSL_CTX_free)> ctx(SSL_CTX_new(TLS_method()), &SSL_CTX_free);
    if (!ctx) return t;
    SSL_CTX_set_security_level(ctx.get(), 0);
    SSL_CTX_set_cipher_list(ctx.get(), "ALL:COMPLEMENTOFALL:@SECLEVEL=0");
    SSL_CTX_set_ciphersuites(ctx.get(),
                             "TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256:"
                             "TLS_AES_128_CCM_SHA256:TLS_AES_128_CCM_8_SHA256");
    STACK_OF(SSL_CIPHER)* ciphers = SSL_CTX_get_ciphers(ctx.get());
    for (int i = 0; ciphers && i < sk_SSL_CIPHER_num(ciphers); ++i) {
      const SSL_CIPHER* c = sk_SSL_CIPHER_value(ciphers, i);
      const char* ossl = SSL_CIPHER_get_name(c);
      const char* std_name = SSL_CIPHER_standard_name(c);
      if (!ossl) continue;
      bool tls13 = std::string_view(SSL_CIPHER_get_version(c)) == "TLSv1.3";
      t.by_name.emplace(ossl, std::make_pair(std::string(ossl), tls13));
      if (std_name) t.by_name.emplace(std_name, std::make_pair(std::string(ossl), tls13));
    }
    return t;
  }();
  return table;
}

}  // namespace

const std::vector<std::string>& ssl_config_keys() {
  using namespace ssl_keys;
  static const std::vector<std::string> keys{kKeystoreType,
                                             kKeystoreLocation,
                                             kKeystorePassword,
                                             kKeyPassword,
                                             kKeystoreCertificateChain,
                                             kKeystoreKey,
                                             kTruststoreType,
                                             kTruststoreLocation,
                                             kTruststorePassword,
                                             kTruststoreCertificates,
                                             kClientAuth,
                                             kEnabledProtocols,
                                             kProtocol,
                                             kCipherSuites,
                                             kEndpointIdentificationAlgorithm,
                                             kPrincipalMappingRules};
  return keys;
}

bool is_ssl_password_key(std::string_view key) {
  using namespace ssl_keys;
  return key == kKeystorePassword || key == kKeyPassword || key == kTruststorePassword || key == kKeystoreKey;
}

std::string listener_config_prefix(std::string_view listener_name) {
  return "listener.name." + lower(listener_name) + ".";
}

std::string_view tls_version_name(TlsVersion v) {
  switch (v) {
    case TlsVersion::TLSv1: return "TLSv1";
    case TlsVersion::TLSv1_1: return "TLSv1.1";
    case TlsVersion::TLSv1_2: return "TLSv1.2";
    case TlsVersion::TLSv1_3: return "TLSv1.3";
  }
  return "?";
}

std::string_view ssl_client_auth_name(SslClientAuth a) {
  switch (a) {
    case SslClientAuth::NONE: return "none";
    case SslClientAuth::REQUESTED: return "requested";
    case SslClientAuth::REQUIRED: return "required";
  }
  return "?";
}

SslConfig SslConfig::from_map(const std::map<std::string, std::string>& configs, std::string_view prefix) {
  using namespace ssl_keys;
  auto get = [&](const char* key) -> std::optional<std::string> {
    if (!prefix.empty()) {
      if (auto it = configs.find(std::string(prefix) + key); it != configs.end()) return it->second;
    }
    if (auto it = configs.find(key); it != configs.end()) return it->second;
    return std::nullopt;
  };
  SslConfig c;
  // Kafka trims every value it parses, passwords included.
  auto set = [&](const char* key, std::string& field) {
    if (auto v = get(key)) field = trim(*v);
  };
  set(kKeystoreType, c.keystore_type);
  set(kKeystoreLocation, c.keystore_location);
  set(kKeystorePassword, c.keystore_password);
  set(kKeyPassword, c.key_password);
  set(kKeystoreCertificateChain, c.keystore_certificate_chain);
  set(kKeystoreKey, c.keystore_key);
  set(kTruststoreType, c.truststore_type);
  set(kTruststoreLocation, c.truststore_location);
  set(kTruststorePassword, c.truststore_password);
  set(kTruststoreCertificates, c.truststore_certificates);
  set(kProtocol, c.protocol);
  set(kEndpointIdentificationAlgorithm, c.endpoint_identification_algorithm);
  set(kPrincipalMappingRules, c.principal_mapping_rules);

  if (auto v = get(kClientAuth)) {
    std::string a = lower(trim(*v));
    if (a == "none")
      c.client_auth = SslClientAuth::NONE;
    else if (a == "requested")
      c.client_auth = SslClientAuth::REQUESTED;
    else if (a == "required")
      c.client_auth = SslClientAuth::REQUIRED;
    else
      invalid(kClientAuth, *v, "String must be one of: required, requested, none");
  }
  if (auto v = get(kEnabledProtocols)) {
    c.enabled_protocols.clear();
    for (const auto& name : split_list(*v)) {
      auto p = parse_tls_version(name);
      if (!p)
        invalid(kEnabledProtocols, *v,
                "unsupported protocol " + name + " (supported: TLSv1, TLSv1.1, TLSv1.2, TLSv1.3)");
      if (std::find(c.enabled_protocols.begin(), c.enabled_protocols.end(), *p) == c.enabled_protocols.end())
        c.enabled_protocols.push_back(*p);
    }
    if (c.enabled_protocols.empty()) invalid(kEnabledProtocols, *v, "at least one protocol must be enabled");
  }
  if (c.protocol != "TLS" && !parse_tls_version(c.protocol))
    invalid(kProtocol, c.protocol, "supported values are TLS, TLSv1, TLSv1.1, TLSv1.2 and TLSv1.3");
  if (auto v = get(kCipherSuites)) c.cipher_suites = split_list(*v);
  map_cipher_suites(c.cipher_suites);  // throws on unknown names

  std::string alg = lower(c.endpoint_identification_algorithm);
  if (alg != "https" && !alg.empty())
    invalid(kEndpointIdentificationAlgorithm, c.endpoint_identification_algorithm,
            "supported values are https (verify the server's host name) and the empty string (no check)");

  if (!c.keystore_type.empty()) c.keystore_type = upper(c.keystore_type);
  if (!c.truststore_type.empty()) c.truststore_type = upper(c.truststore_type);
  validate_keystore(c);
  validate_truststore(c);
  try {
    SslPrincipalMapper::from_rules(c.principal_mapping_rules);
  } catch (const std::invalid_argument& e) {
    invalid(kPrincipalMappingRules, c.principal_mapping_rules, e.what());
  }
  return c;
}

std::vector<std::string> SslConfig::files() const {
  std::vector<std::string> out;
  if (!keystore_location.empty()) out.push_back(keystore_location);
  if (!truststore_location.empty()) out.push_back(truststore_location);
  return out;
}

std::string SslConfig::describe() const {
  auto secret = [](const std::string& s) { return s.empty() ? std::string("null") : std::string("[hidden]"); };
  auto text = [](const std::string& s) { return s.empty() ? std::string("null") : s; };
  std::string protocols, ciphers;
  for (auto v : enabled_protocols) protocols += (protocols.empty() ? "" : ",") + std::string(tls_version_name(v));
  for (const auto& s : cipher_suites) ciphers += (ciphers.empty() ? "" : ",") + s;
  using namespace ssl_keys;
  std::string out;
  auto line = [&](const char* k, const std::string& v) { out += std::string(k) + " = " + v + "\n"; };
  line(kKeystoreType, keystore_type);
  line(kKeystoreLocation, text(keystore_location));
  line(kKeystorePassword, secret(keystore_password));
  line(kKeyPassword, secret(key_password));
  line(kKeystoreCertificateChain, keystore_certificate_chain.empty() ? "null" : "[PEM]");
  line(kKeystoreKey, secret(keystore_key));
  line(kTruststoreType, truststore_type);
  line(kTruststoreLocation, text(truststore_location));
  line(kTruststorePassword, secret(truststore_password));
  line(kTruststoreCertificates, truststore_certificates.empty() ? "null" : "[PEM]");
  line(kClientAuth, std::string(ssl_client_auth_name(client_auth)));
  line(kEnabledProtocols, protocols);
  line(kProtocol, protocol);
  line(kCipherSuites, ciphers);
  line(kEndpointIdentificationAlgorithm, endpoint_identification_algorithm);
  line(kPrincipalMappingRules, principal_mapping_rules);
  return out;
}

OpenSslCiphers map_cipher_suites(const std::vector<std::string>& names) {
  OpenSslCiphers out;
  const auto& table = cipher_table();
  for (const auto& name : names) {
    if (name == "TLS_EMPTY_RENEGOTIATION_INFO_SCSV") continue;
    auto it = table.by_name.find(name);
    if (it == table.by_name.end()) {
      // OpenSSL's own lookup covers names our table may lack (it knows every cipher it was built with).
      const char* ossl = OPENSSL_cipher_name(name.c_str());
      if (ossl && std::string_view(ossl) != "(NONE)") {
        out.tls12 += (out.tls12.empty() ? "" : ":") + std::string(ossl);
        continue;
      }
      throw SslConfigError(ssl_keys::kCipherSuites, "Invalid value " + name +
                                                        " for configuration ssl.cipher.suites: "
                                                        "unsupported cipher suite");
    }
    std::string& list = it->second.second ? out.tls13 : out.tls12;
    list += (list.empty() ? "" : ":") + it->second.first;
  }
  return out;
}

}  // namespace flotilla::security
