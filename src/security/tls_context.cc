#include "security/tls_context.h"

#include <arpa/inet.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/pkcs12.h>
#include <openssl/provider.h>
#include <openssl/x509v3.h>

#include <algorithm>
#include <cstring>
#include <fstream>
#include <iterator>

namespace flotilla::security {

namespace {

using BioPtr = std::unique_ptr<BIO, decltype(&BIO_free)>;
using X509Ptr = std::unique_ptr<X509, decltype(&X509_free)>;
using PkeyPtr = std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)>;

// The last OpenSSL error as text (library reason only: never data), queue cleared.
std::string openssl_reason() {
  unsigned long code = 0, last = 0;
  while ((code = ERR_get_error()) != 0) last = code;
  if (last == 0) return "unknown error";
  const char* reason = ERR_reason_error_string(last);
  return reason ? reason : "error " + std::to_string(last);
}

[[noreturn]] void config_error(const std::string& key, const std::string& message) {
  ERR_clear_error();
  throw SslConfigError(key, message);
}

// Stores are small; a location naming something huge (or endless, /dev/zero)
// is refused rather than read into memory.
constexpr std::streamsize kMaxStoreFile = 16 << 20;

std::string read_file(const std::string& key, const std::string& path, const char* what) {
  std::ifstream in(path, std::ios::binary);
  if (!in)
    config_error(key, std::string("Failed to load SSL ") + what + " " + path + ": cannot open the file (" + key + ")");
  std::string data(static_cast<size_t>(kMaxStoreFile) + 1, '\0');
  in.read(data.data(), kMaxStoreFile + 1);
  data.resize(static_cast<size_t>(in.gcount()));
  if (in.gcount() > kMaxStoreFile)
    config_error(key, std::string("Failed to load SSL ") + what + " " + path + ": larger than 16 MiB (" + key + ")");
  return data;
}

BioPtr memory_bio(const std::string& data) {
  return BioPtr(BIO_new_mem_buf(data.data(), static_cast<int>(data.size())), &BIO_free);
}

// Password callback: the password given, or refuse (never prompt on a terminal).
int password_cb(char* buf, int size, int /*rwflag*/, void* u) {
  const auto* pw = static_cast<const std::string*>(u);
  if (!pw || pw->empty() || size <= 0) return -1;
  int n = std::min(size, static_cast<int>(pw->size()));
  std::memcpy(buf, pw->data(), static_cast<size_t>(n));
  return n;
}

std::vector<X509Ptr> read_pem_certificates(const std::string& pem) {
  std::vector<X509Ptr> out;
  BioPtr bio = memory_bio(pem);
  while (X509* c = PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr)) out.emplace_back(c, &X509_free);
  ERR_clear_error();  // the loop ends on "no start line"
  return out;
}

struct KeyMaterial {
  PkeyPtr key{nullptr, &EVP_PKEY_free};
  std::vector<X509Ptr> chain;  // leaf first
};

// A PEM private key (PKCS#8, encrypted or not, or a traditional key) and the
// certificates that go with it (the same text for a PEM key store file).
KeyMaterial pem_key_material(const std::string& key_pem, const std::string& certs_pem, const std::string& key_password,
                             const std::string& where, const std::string& where_key) {
  KeyMaterial m;
  BioPtr bio = memory_bio(key_pem);
  std::string pw = key_password;
  m.key.reset(PEM_read_bio_PrivateKey(bio.get(), nullptr, &password_cb, &pw));
  if (!m.key) {
    std::string reason = openssl_reason();
    bool encrypted = key_pem.find("ENCRYPTED") != std::string::npos;
    if (encrypted && key_password.empty())
      config_error(ssl_keys::kKeyPassword, "Failed to load the private key of " + where + ": it is encrypted and " +
                                               "ssl.key.password is not set");
    if (encrypted)
      config_error(ssl_keys::kKeyPassword, "Failed to load the private key of " + where +
                                               ": wrong ssl.key.password or corrupt key (" + reason + ")");
    config_error(where_key,
                 "Failed to load the private key of " + where + ": no PEM private key found (" + reason + ")");
  }
  m.chain = read_pem_certificates(certs_pem);
  if (m.chain.empty()) config_error(where_key, "Failed to load " + where + ": no PEM certificate found");
  return m;
}

void ensure_legacy_provider() {
  // Key stores written by older Java keytools encrypt with RC2/3DES, which
  // OpenSSL 3 keeps in its legacy provider. Loading a provider explicitly
  // stops the default one from loading implicitly, so load both.
  static std::once_flag once;
  std::call_once(once, [] {
    OSSL_PROVIDER_load(nullptr, "default");
    OSSL_PROVIDER_load(nullptr, "legacy");
    ERR_clear_error();
  });
}

struct Pkcs12Contents {
  PkeyPtr key{nullptr, &EVP_PKEY_free};
  X509Ptr cert{nullptr, &X509_free};
  std::vector<X509Ptr> others;
};

std::vector<X509Ptr> pkcs12_unencrypted_certificates(const std::string& data) {
  std::vector<X509Ptr> out;
  BioPtr bio = memory_bio(data);
  std::unique_ptr<PKCS12, decltype(&PKCS12_free)> p12(d2i_PKCS12_bio(bio.get(), nullptr), &PKCS12_free);
  if (!p12) return out;
  STACK_OF(PKCS7)* safes = PKCS12_unpack_authsafes(p12.get());
  for (int i = 0; safes && i < sk_PKCS7_num(safes); ++i) {
    PKCS7* p7 = sk_PKCS7_value(safes, i);
    if (OBJ_obj2nid(p7->type) != NID_pkcs7_data) continue;  // encrypted: needs the password
    STACK_OF(PKCS12_SAFEBAG)* bags = PKCS12_unpack_p7data(p7);
    for (int j = 0; bags && j < sk_PKCS12_SAFEBAG_num(bags); ++j) {
      const PKCS12_SAFEBAG* bag = sk_PKCS12_SAFEBAG_value(bags, j);
      if (PKCS12_SAFEBAG_get_nid(bag) != NID_certBag) continue;
      if (X509* x = PKCS12_SAFEBAG_get1_cert(bag)) out.emplace_back(x, &X509_free);
    }
    sk_PKCS12_SAFEBAG_pop_free(bags, PKCS12_SAFEBAG_free);
  }
  sk_PKCS7_pop_free(safes, PKCS7_free);
  ERR_clear_error();
  return out;
}

Pkcs12Contents read_pkcs12(const std::string& data, const std::string& password, const std::string& location_key,
                           const std::string& password_key, const std::string& path, const char* what) {
  auto attempt = [&](Pkcs12Contents& out) {
    BioPtr bio = memory_bio(data);
    std::unique_ptr<PKCS12, decltype(&PKCS12_free)> p12(d2i_PKCS12_bio(bio.get(), nullptr), &PKCS12_free);
    if (!p12)
      config_error(location_key,
                   std::string("Failed to load SSL ") + what + " " + path + " of type PKCS12: not a PKCS12 file");
    if (!password.empty() && PKCS12_verify_mac(p12.get(), password.c_str(), -1) != 1 && PKCS12_mac_present(p12.get()))
      config_error(password_key, std::string("Failed to load SSL ") + what + " " + path + " of type PKCS12: wrong " +
                                     password_key + " (integrity check failed)");
    EVP_PKEY* key = nullptr;
    X509* cert = nullptr;
    STACK_OF(X509)* ca = nullptr;
    if (PKCS12_parse(p12.get(), password.empty() ? nullptr : password.c_str(), &key, &cert, &ca) != 1) return false;
    out.key.reset(key);
    out.cert.reset(cert);
    for (int i = 0; ca && i < sk_X509_num(ca); ++i) out.others.emplace_back(sk_X509_value(ca, i), &X509_free);
    sk_X509_free(ca);
    return true;
  };
  Pkcs12Contents out;
  if (attempt(out)) return out;
  ERR_clear_error();
  ensure_legacy_provider();
  out = Pkcs12Contents{};
  if (attempt(out)) return out;
  std::string reason = openssl_reason();
  if (password.empty()) {
    // Java reads a store without its password by skipping the integrity check
    // and the encrypted parts: what is left are the unencrypted certificates.
    out = Pkcs12Contents{};
    out.others = pkcs12_unencrypted_certificates(data);
    if (!out.others.empty()) return out;
  }
  if (password.empty())
    config_error(password_key, std::string("Failed to load SSL ") + what + " " + path + " of type PKCS12: it needs " +
                                   password_key + ", which is not set (" + reason + ")");
  config_error(password_key, std::string("Failed to load SSL ") + what + " " + path + " of type PKCS12: wrong " +
                                 password_key + " or unsupported file (" + reason + ")");
}

void load_keystore(SSL_CTX* ctx, const SslConfig& c) {
  using namespace ssl_keys;
  KeyMaterial m;
  if (!c.keystore_key.empty()) {
    m = pem_key_material(c.keystore_key, c.keystore_certificate_chain, c.key_password, "ssl.keystore.key",
                         kKeystoreKey);
  } else if (c.keystore_type == "PEM") {
    std::string pem = read_file(kKeystoreLocation, c.keystore_location, "keystore");
    m = pem_key_material(pem, pem, c.key_password, "SSL keystore " + c.keystore_location, kKeystoreLocation);
  } else {
    std::string data = read_file(kKeystoreLocation, c.keystore_location, "keystore");
    auto p =
        read_pkcs12(data, c.keystore_password, kKeystoreLocation, kKeystorePassword, c.keystore_location, "keystore");
    if (!p.key || !p.cert)
      config_error(kKeystoreLocation, "Failed to load SSL keystore " + c.keystore_location +
                                          " of type PKCS12: it holds no private key with its certificate");
    m.key = std::move(p.key);
    m.chain.push_back(std::move(p.cert));
    for (auto& x : p.others) m.chain.push_back(std::move(x));
  }
  const std::string key = c.keystore_key.empty() ? kKeystoreLocation : kKeystoreKey;
  if (SSL_CTX_use_certificate(ctx, m.chain[0].get()) != 1)
    config_error(key, "The key store certificate was refused: " + openssl_reason());
  for (size_t i = 1; i < m.chain.size(); ++i) {
    if (SSL_CTX_add1_chain_cert(ctx, m.chain[i].get()) != 1)
      config_error(key, "A key store chain certificate was refused: " + openssl_reason());
  }
  if (SSL_CTX_use_PrivateKey(ctx, m.key.get()) != 1 || SSL_CTX_check_private_key(ctx) != 1)
    config_error(key, "The key store's private key does not match its certificate (" + openssl_reason() + ")");
}

void load_truststore(SSL_CTX* ctx, const SslConfig& c, TlsMode mode) {
  using namespace ssl_keys;
  if (!c.has_truststore()) {
    // Java's default trust store is the JDK's cacerts: the system CAs here.
    SSL_CTX_set_default_verify_paths(ctx);
    ERR_clear_error();
    return;
  }
  std::vector<X509Ptr> certs;
  std::string key = kTruststoreLocation;
  if (!c.truststore_certificates.empty()) {
    key = kTruststoreCertificates;
    certs = read_pem_certificates(c.truststore_certificates);
  } else {
    std::string data = read_file(kTruststoreLocation, c.truststore_location, "truststore");
    if (c.truststore_type == "PEM") {
      certs = read_pem_certificates(data);
    } else {
      auto p = read_pkcs12(data, c.truststore_password, kTruststoreLocation, kTruststorePassword, c.truststore_location,
                           "truststore");
      if (p.cert) certs.push_back(std::move(p.cert));
      for (auto& x : p.others) certs.push_back(std::move(x));
    }
  }
  if (certs.empty()) config_error(key, "The trust store (" + key + ") holds no certificate");
  X509_STORE* store = SSL_CTX_get_cert_store(ctx);
  for (auto& x : certs) {
    if (X509_STORE_add_cert(store, x.get()) != 1) {
      unsigned long e = ERR_peek_last_error();
      if (ERR_GET_REASON(e) != X509_R_CERT_ALREADY_IN_HASH_TABLE)
        config_error(key, "A trust store certificate was refused: " + openssl_reason());
      ERR_clear_error();
    }
    if (mode == TlsMode::SERVER) SSL_CTX_add_client_CA(ctx, x.get());
  }
}

int openssl_version(TlsVersion v) {
  switch (v) {
    case TlsVersion::TLSv1: return TLS1_VERSION;
    case TlsVersion::TLSv1_1: return TLS1_1_VERSION;
    case TlsVersion::TLSv1_2: return TLS1_2_VERSION;
    case TlsVersion::TLSv1_3: return TLS1_3_VERSION;
  }
  return TLS1_2_VERSION;
}

void set_protocols_and_ciphers(SSL_CTX* ctx, const SslConfig& c, TlsMode mode) {
  using namespace ssl_keys;
  std::vector<TlsVersion> enabled = c.enabled_protocols;
  // ssl.protocol caps what a client offers (Kafka: "TLSv1.2" keeps a client off TLSv1.3).
  if (mode == TlsMode::CLIENT && c.protocol != "TLS") {
    int cap = c.protocol == "TLSv1.3" ? 3 : c.protocol == "TLSv1.2" ? 2 : c.protocol == "TLSv1.1" ? 1 : 0;
    std::erase_if(enabled, [&](TlsVersion v) { return static_cast<int>(v) > cap; });
    if (enabled.empty())
      config_error(kProtocol, "ssl.protocol " + c.protocol + " excludes every protocol in ssl.enabled.protocols");
  }
  OpenSslCiphers ciphers = map_cipher_suites(c.cipher_suites);
  if (!c.cipher_suites.empty()) {
    // Without suites for one protocol generation, that generation cannot be negotiated.
    if (ciphers.tls13.empty()) std::erase(enabled, TlsVersion::TLSv1_3);
    if (ciphers.tls12.empty()) std::erase_if(enabled, [](TlsVersion v) { return v != TlsVersion::TLSv1_3; });
    if (enabled.empty())
      config_error(kCipherSuites, "ssl.cipher.suites has no cipher suite for any protocol in ssl.enabled.protocols");
    if (!ciphers.tls12.empty() && SSL_CTX_set_cipher_list(ctx, ciphers.tls12.c_str()) != 1)
      config_error(kCipherSuites,
                   "ssl.cipher.suites: OpenSSL refused " + ciphers.tls12 + " (" + openssl_reason() + ")");
    if (!ciphers.tls13.empty() && SSL_CTX_set_ciphersuites(ctx, ciphers.tls13.c_str()) != 1)
      config_error(kCipherSuites,
                   "ssl.cipher.suites: OpenSSL refused " + ciphers.tls13 + " (" + openssl_reason() + ")");
  }
  auto [lo, hi] = std::minmax_element(enabled.begin(), enabled.end());
  if (SSL_CTX_set_min_proto_version(ctx, openssl_version(*lo)) != 1 ||
      SSL_CTX_set_max_proto_version(ctx, openssl_version(*hi)) != 1)
    config_error(kEnabledProtocols, "OpenSSL refused the protocol range " + std::string(tls_version_name(*lo)) + " - " +
                                        std::string(tls_version_name(*hi)));
  // Holes inside the range ("TLSv1.1,TLSv1.3") are switched off one by one.
  const std::pair<TlsVersion, uint64_t> off[] = {{TlsVersion::TLSv1, SSL_OP_NO_TLSv1},
                                                 {TlsVersion::TLSv1_1, SSL_OP_NO_TLSv1_1},
                                                 {TlsVersion::TLSv1_2, SSL_OP_NO_TLSv1_2},
                                                 {TlsVersion::TLSv1_3, SSL_OP_NO_TLSv1_3}};
  for (auto [v, op] : off) {
    if (std::find(enabled.begin(), enabled.end(), v) == enabled.end()) SSL_CTX_set_options(ctx, op);
  }
}

std::vector<TlsContext::FileStamp> stamp_files(const SslConfig& c);

}  // namespace

std::shared_ptr<const TlsContext> TlsContext::create(const SslConfig& config, TlsMode mode) {
  ERR_clear_error();
  std::shared_ptr<TlsContext> t(new TlsContext());
  t->config_ = config;
  t->mode_ = mode;
  try {
    t->mapper_ = SslPrincipalMapper::from_rules(config.principal_mapping_rules);
  } catch (const std::invalid_argument& e) {
    config_error(ssl_keys::kPrincipalMappingRules, std::string("Invalid ssl.principal.mapping.rules: ") + e.what());
  }
  t->context_ = std::make_unique<asio::ssl::context>(mode == TlsMode::SERVER ? asio::ssl::context::tls_server
                                                                             : asio::ssl::context::tls_client);
  SSL_CTX* ctx = t->context_->native_handle();
  SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_COMPRESSION);
  SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS);
  set_protocols_and_ciphers(ctx, config, mode);

  if (mode == TlsMode::SERVER) {
    if (!config.has_keystore())
      config_error(ssl_keys::kKeystoreLocation,
                   "An SSL listener needs a key store: set ssl.keystore.location "
                   "(or ssl.keystore.key with ssl.keystore.certificate.chain)");
    SSL_CTX_set_options(ctx, SSL_OP_CIPHER_SERVER_PREFERENCE);
    SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
    static const unsigned char sid_ctx[] = "flotilla";
    SSL_CTX_set_session_id_context(ctx, sid_ctx, sizeof(sid_ctx) - 1);
    SSL_CTX_set_num_tickets(ctx, 1);
    int verify = SSL_VERIFY_NONE;
    if (config.client_auth == SslClientAuth::REQUESTED) verify = SSL_VERIFY_PEER;
    if (config.client_auth == SslClientAuth::REQUIRED) verify = SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT;
    SSL_CTX_set_verify(ctx, verify, nullptr);
  } else {
    SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, nullptr);
  }
  // Stamped before reading: a file replaced while it is read then counts as changed.
  t->stamps_ = stamp_files(config);
  if (config.has_keystore()) load_keystore(ctx, config);
  load_truststore(ctx, config, mode);
  ERR_clear_error();
  return t;
}

void TlsContext::prepare_client(SSL* ssl, std::string_view host_view) const {
  std::string host(host_view);
  unsigned char addr[16];
  bool is_ip = inet_pton(AF_INET, host.c_str(), addr) == 1 || inet_pton(AF_INET6, host.c_str(), addr) == 1;
  if (!is_ip && !host.empty()) SSL_set_tlsext_host_name(ssl, host.c_str());
  if (!config_.verify_hostname()) return;
  if (host.empty())
    throw std::invalid_argument("prepare_client: no host name to verify the server certificate against");
  X509_VERIFY_PARAM* param = SSL_get0_param(ssl);
  if (is_ip) {
    X509_VERIFY_PARAM_set1_ip_asc(param, host.c_str());
  } else {
    SSL_set_hostflags(ssl, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
    SSL_set1_host(ssl, host.c_str());
  }
}

std::string TlsContext::certificate_subject() const {
  return rfc2253_subject(SSL_CTX_get0_certificate(context_->native_handle()));
}

namespace {
std::vector<TlsContext::FileStamp> stamp_files(const SslConfig& c) {
  std::vector<TlsContext::FileStamp> out;
  for (const auto& f : c.files()) {
    std::error_code ec;
    TlsContext::FileStamp s;
    s.path = f;
    s.mtime = std::filesystem::last_write_time(s.path, ec);
    s.size = std::filesystem::file_size(s.path, ec);
    out.push_back(std::move(s));
  }
  return out;
}
}  // namespace

bool TlsContext::files_changed() const {
  for (const auto& s : stamps_) {
    std::error_code ec;
    auto mtime = std::filesystem::last_write_time(s.path, ec);
    if (ec) return true;
    auto size = std::filesystem::file_size(s.path, ec);
    if (ec || mtime != s.mtime || size != s.size) return true;
  }
  return false;
}

namespace {
std::shared_ptr<const TlsContext> successor(const TlsContext& old, const SslConfig& new_config) {
  auto fresh = TlsContext::create(new_config, old.mode());
  if (old.mode() == TlsMode::SERVER && fresh->certificate_subject() != old.certificate_subject())
    throw SslConfigError(ssl_keys::kKeystoreLocation, "Keystore DistinguishedName does not match: existing={" +
                                                          old.certificate_subject() + "}, new={" +
                                                          fresh->certificate_subject() + "}");
  return fresh;
}
}  // namespace

void ReloadableTlsContext::reconfigure(const SslConfig& new_config) {
  auto fresh = successor(*current(), new_config);
  std::lock_guard lock(mu_);
  current_ = std::move(fresh);
}

void ReloadableTlsContext::validate(const SslConfig& new_config) const { successor(*current(), new_config); }

bool ReloadableTlsContext::reload_if_files_changed() {
  auto old = current();
  if (!old->files_changed()) return false;
  reconfigure(old->config());
  return true;
}

}  // namespace flotilla::security
