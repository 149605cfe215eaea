#include "server/http_security.h"

#include <openssl/ssl.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cctype>

#include "security/base64.h"
#include "security/principal_mapper.h"
#include "security/scram.h"
#include "security/ssl_config.h"
#include "security/tls_context.h"

namespace flotilla::server {

namespace {

using security::Bytes;
using security::ScramMechanism;

bool iequals_prefix(std::string_view s, std::string_view prefix) {
  if (s.size() < prefix.size()) return false;
  for (size_t i = 0; i < prefix.size(); ++i)
    if (std::tolower(static_cast<unsigned char>(s[i])) != std::tolower(static_cast<unsigned char>(prefix[i]))) return false;
  return true;
}

// StoredKey = H(HMAC(SaltedPassword, "Client Key")) for a candidate password.
Bytes stored_key_of(ScramMechanism m, const std::string& password, const security::ScramCredential& c) {
  Bytes salted = security::scram_salted_password(m, password, c.salt, c.iterations);
  Bytes client_key = security::scram_hmac(m, salted, security::as_bytes("Client Key"));
  std::fill(salted.begin(), salted.end(), 0);
  return security::scram_hash(m, client_key);
}

constexpr ScramMechanism kMechanisms[] = {ScramMechanism::SCRAM_SHA_256, ScramMechanism::SCRAM_SHA_512};

}  // namespace

BasicAuthenticator::BasicAuthenticator(std::shared_ptr<const security::CredentialCache> credentials, size_t max_cached)
    : credentials_(std::move(credentials)), max_cached_(std::max<size_t>(1, max_cached)), cache_secret_(security::random_bytes(32)) {}

std::string BasicAuthenticator::cache_key(const std::string& user, const std::string& password) const {
  std::string data = user;
  data.push_back('\0');
  data += password;
  Bytes mac = security::scram_hmac(ScramMechanism::SCRAM_SHA_256, cache_secret_, security::as_bytes(data));
  std::fill(data.begin(), data.end(), '\0');
  return std::string(mac.begin(), mac.end());
}

uint64_t BasicAuthenticator::cache_hits() const {
  std::lock_guard lock(mu_);
  return hits_;
}

bool BasicAuthenticator::verify(const std::string& user, const std::string& password) {
  std::string key = cache_key(user, password);
  {
    std::lock_guard lock(mu_);
    auto it = cache_.find(key);
    if (it != cache_.end() && it->second.user == user) {
      auto current = credentials_->find(user, static_cast<ScramMechanism>(it->second.mechanism));
      if (current && security::constant_time_equal(current->stored_key, it->second.stored_key)) {
        lru_.splice(lru_.begin(), lru_, it->second.lru);
        ++hits_;
        return true;
      }
      lru_.erase(it->second.lru);  // the credential changed or went away
      cache_.erase(it);
    }
  }
  bool found = false;
  for (ScramMechanism m : kMechanisms) {
    auto cred = credentials_->find(user, m);
    if (!cred) continue;
    found = true;
    Bytes candidate = stored_key_of(m, password, *cred);
    if (!security::constant_time_equal(candidate, cred->stored_key)) continue;
    std::lock_guard lock(mu_);
    if (cache_.count(key)) return true;
    while (cache_.size() >= max_cached_) {
      cache_.erase(lru_.back());
      lru_.pop_back();
    }
    lru_.push_front(key);
    cache_.emplace(key, Entry{user, static_cast<int>(m), cred->stored_key, lru_.begin()});
    return true;
  }
  if (!found) {
    // An unknown user costs what a known one does: no timing hint of who exists.
    static const Bytes salt(32, 0x5a);
    (void)security::scram_salted_password(ScramMechanism::SCRAM_SHA_256, password, salt, security::kScramMinIterations);
  }
  return false;
}

http::AuthResult BasicAuthenticator::authenticate(std::string_view authorization) {
  http::AuthResult r;
  while (!authorization.empty() && authorization.front() == ' ') authorization.remove_prefix(1);
  if (!iequals_prefix(authorization, "Basic ")) return r;
  std::string_view token = authorization.substr(6);
  while (!token.empty() && token.front() == ' ') token.remove_prefix(1);
  while (!token.empty() && (token.back() == ' ' || token.back() == '\t')) token.remove_suffix(1);
  if (token.empty() || token.size() > 4096) return r;
  auto decoded = security::base64_decode(token);
  if (!decoded) return r;
  std::string text(decoded->begin(), decoded->end());
  std::fill(decoded->begin(), decoded->end(), 0);
  auto colon = text.find(':');
  if (colon == std::string::npos || colon == 0) return r;
  std::string user = text.substr(0, colon);
  std::string password = text.substr(colon + 1);
  std::fill(text.begin(), text.end(), '\0');
  bool ok = verify(user, password);
  std::fill(password.begin(), password.end(), '\0');
  if (!ok) return r;
  r.ok = true;
  r.principal.type = "User";
  r.principal.name = user;
  return r;
}

security::SslConfig http_ssl_config(const KafkaConfig& config) {
  using namespace http_security_keys;
  // confluent.http.server.ssl.<key> fills in under listener.name.http.ssl.<key>.
  std::map<std::string, std::string> props = config.originals;
  for (const auto& key : security::ssl_config_keys()) {
    auto it = config.originals.find(std::string(kConfluentSslPrefix) + key);
    if (it != config.originals.end()) props.emplace(std::string(kListenerPrefix) + key, it->second);
  }
  try {
    return security::SslConfig::from_map(props, kListenerPrefix);
  } catch (const security::SslConfigError& e) {
    throw ConfigError("Invalid TLS configuration for the HTTP listener (" + e.key() + "): " + e.what());
  }
}

namespace {

// Gives httplib's SSL_CTX what TlsContext::create gave `src`'s: protocols,
// ciphers, certificate chain and key, trust store, client CA list, client-auth
// mode, and the server options (no renegotiation, no compression, no session cache).
bool copy_tls_context(SSL_CTX* dst, const security::TlsContext& src_ctx) {
  SSL_CTX* src = src_ctx.native_handle();
  SSL_CTX_set_options(dst, SSL_CTX_get_options(src));
  SSL_CTX_set_mode(dst, SSL_CTX_get_mode(src));
  if (SSL_CTX_set_min_proto_version(dst, SSL_CTX_get_min_proto_version(src)) != 1 ||
      SSL_CTX_set_max_proto_version(dst, SSL_CTX_get_max_proto_version(src)) != 1)
    return false;
  const auto& cfg = src_ctx.config();
  if (!cfg.cipher_suites.empty()) {
    auto ciphers = security::map_cipher_suites(cfg.cipher_suites);
    if (!ciphers.tls12.empty() && SSL_CTX_set_cipher_list(dst, ciphers.tls12.c_str()) != 1) return false;
    if (!ciphers.tls13.empty() && SSL_CTX_set_ciphersuites(dst, ciphers.tls13.c_str()) != 1) return false;
  }
  X509* cert = SSL_CTX_get0_certificate(src);
  EVP_PKEY* key = SSL_CTX_get0_privatekey(src);
  if (!cert || !key || SSL_CTX_use_certificate(dst, cert) != 1 || SSL_CTX_use_PrivateKey(dst, key) != 1) return false;
  STACK_OF(X509)* chain = nullptr;
  if (SSL_CTX_get0_chain_certs(src, &chain) == 1 && chain && SSL_CTX_set1_chain(dst, chain) != 1) return false;
  SSL_CTX_set1_cert_store(dst, SSL_CTX_get_cert_store(src));
  if (STACK_OF(X509_NAME)* cas = SSL_CTX_get_client_CA_list(src)) SSL_CTX_set_client_CA_list(dst, SSL_dup_CA_list(cas));
  SSL_CTX_set_verify(dst, SSL_CTX_get_verify_mode(src), nullptr);
  SSL_CTX_set_session_cache_mode(dst, SSL_SESS_CACHE_OFF);
  static const unsigned char sid_ctx[] = "flotilla-http";
  SSL_CTX_set_session_id_context(dst, sid_ctx, sizeof(sid_ctx) - 1);
  SSL_CTX_set_num_tickets(dst, 1);
  return true;
}

}  // namespace

void configure_http_security(const KafkaConfig& config, std::shared_ptr<const security::CredentialCache> credentials,
                             http::HttpServerConfig& hc) {
  using namespace http_security_keys;
  auto get = [&](const char* key) -> std::optional<std::string> {
    auto it = config.originals.find(key);
    if (it == config.originals.end()) return std::nullopt;
    std::string v = it->second;
    v.erase(0, v.find_first_not_of(" \t"));
    v.erase(v.find_last_not_of(" \t") + 1);
    return v;
  };
  std::string method = get(kAuthenticationMethod).value_or("NONE");
  std::transform(method.begin(), method.end(), method.begin(), [](unsigned char c) { return std::toupper(c); });
  if (method == "BASIC") {
    auto auth = std::make_shared<BasicAuthenticator>(std::move(credentials));
    hc.authenticate = [auth](const std::string& header) { return auth->authenticate(header); };
    hc.auth_realm = get(kAuthenticationRealm).value_or("KafkaRest");
    // A quoted-string in WWW-Authenticate: no quote, backslash or control character.
    std::erase_if(hc.auth_realm, [](char c) { return c == '"' || c == '\\' || static_cast<unsigned char>(c) < 0x20; });
    for (const auto& l : hc.listeners)
      if (l.scheme == "http")
        spdlog::warn("[HttpServer] {}=BASIC on the plain listener http://{}:{}: passwords cross the network in clear "
                     "(use an https:// listener)", kAuthenticationMethod, l.host, l.port);
  } else if (method != "NONE" && !method.empty()) {
    throw ConfigError("Invalid value " + method + " for configuration " + kAuthenticationMethod + ": NONE or BASIC expected");
  }

  bool https = std::any_of(hc.listeners.begin(), hc.listeners.end(), [](const auto& l) { return l.scheme == "https"; });
  if (!https) return;
  security::SslConfig ssl = http_ssl_config(config);
  if (!ssl.has_keystore())
    throw ConfigError("http.listeners has an https listener but no key store: set ssl.keystore.location (or " +
                      std::string(kListenerPrefix) + "ssl.keystore.location, " + kConfluentSslPrefix + "ssl.keystore.location)");
  std::shared_ptr<const security::TlsContext> tls;
  try {
    tls = security::TlsContext::create(ssl, security::TlsMode::SERVER);
  } catch (const security::SslConfigError& e) {
    throw ConfigError("Invalid TLS configuration for the HTTP listener (" + e.key() + "): " + e.what());
  }
  hc.setup_tls = [tls](void* ctx) { return copy_tls_context(static_cast<SSL_CTX*>(ctx), *tls); };
  if (ssl.client_auth != security::SslClientAuth::NONE) {
    hc.tls_principal = [tls](const void* ssl_conn) -> std::optional<security::KafkaPrincipal> {
      try {
        return security::principal_from_peer(static_cast<const SSL*>(ssl_conn), tls->principal_mapper());
      } catch (const std::exception& e) {
        spdlog::warn("[HttpServer] Client certificate refused: {}", e.what());
        return std::nullopt;
      }
    };
  }
}

}  // namespace flotilla::server
