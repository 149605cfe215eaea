#include "test_pki.h"

#include <openssl/bio.h>
#include <openssl/ec.h>
#include <openssl/pem.h>
#include <openssl/pkcs12.h>
#include <openssl/x509v3.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <stdexcept>

namespace flotilla::security::test {

namespace {

void check(int ok, const char* what) {
  if (ok != 1) throw std::runtime_error(std::string("test PKI: ") + what + " failed");
}

void add_ext(X509* cert, X509* issuer, int nid, const char* value) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
  X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value);
  if (!ext) throw std::runtime_error(std::string("test PKI: extension ") + value);
  check(X509_add_ext(cert, ext, -1), "X509_add_ext");
  X509_EXTENSION_free(ext);
}

std::string bio_string(BIO* bio) {
  char* data = nullptr;
  long n = BIO_get_mem_data(bio, &data);
  return std::string(data, static_cast<size_t>(n));
}

}  // namespace

Issued issue(const CertSpec& spec, const Issued* issuer) {
  Issued out;
  out.key.reset(EVP_EC_gen("P-256"));
  if (!out.key) throw std::runtime_error("test PKI: EVP_EC_gen");
  out.cert.reset(X509_new());
  X509* x = out.cert.get();
  static long serial = 1;
  check(X509_set_version(x, 2), "X509_set_version");
  check(ASN1_INTEGER_set(X509_get_serialNumber(x), serial++), "serial");
  X509_gmtime_adj(X509_getm_notBefore(x), spec.not_before_days * 86400L);
  X509_gmtime_adj(X509_getm_notAfter(x), spec.not_after_days * 86400L);
  check(X509_set_pubkey(x, out.key.get()), "X509_set_pubkey");
  X509_NAME* name = X509_get_subject_name(x);
  for (const auto& [field, value] : spec.subject) {
    check(X509_NAME_add_entry_by_txt(name, field.c_str(), MBSTRING_UTF8,
                                     reinterpret_cast<const unsigned char*>(value.c_str()), -1, -1, 0),
          "X509_NAME_add_entry_by_txt");
  }
  X509* issuer_cert = issuer ? issuer->cert.get() : x;
  check(X509_set_issuer_name(x, X509_get_subject_name(issuer_cert)), "X509_set_issuer_name");
  if (spec.ca) {
    add_ext(x, issuer_cert, NID_basic_constraints, "critical,CA:TRUE");
    add_ext(x, issuer_cert, NID_key_usage, "critical,keyCertSign,cRLSign");
  } else {
    add_ext(x, issuer_cert, NID_basic_constraints, "CA:FALSE");
    add_ext(x, issuer_cert, NID_ext_key_usage, "serverAuth,clientAuth");
  }
  add_ext(x, issuer_cert, NID_subject_key_identifier, "hash");
  if (!spec.san.empty()) add_ext(x, issuer_cert, NID_subject_alt_name, spec.san.c_str());
  EVP_PKEY* signer = issuer ? issuer->key.get() : out.key.get();
  if (X509_sign(x, signer, EVP_sha256()) <= 0) throw std::runtime_error("test PKI: X509_sign");
  return out;
}

std::string cert_pem(const X509* cert) {
  BIO* bio = BIO_new(BIO_s_mem());
  PEM_write_bio_X509(bio, const_cast<X509*>(cert));
  std::string s = bio_string(bio);
  BIO_free(bio);
  return s;
}

std::string key_pem(const EVP_PKEY* key, const std::string& password) {
  BIO* bio = BIO_new(BIO_s_mem());
  if (password.empty()) {
    PEM_write_bio_PKCS8PrivateKey(bio, key, nullptr, nullptr, 0, nullptr, nullptr);
  } else {
    PEM_write_bio_PKCS8PrivateKey(bio, key, EVP_aes_256_cbc(), password.data(), static_cast<int>(password.size()),
                                  nullptr, nullptr);
  }
  std::string s = bio_string(bio);
  BIO_free(bio);
  return s;
}

void write_file(const std::filesystem::path& path, const std::string& data) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << data;
  if (!out) throw std::runtime_error("test PKI: cannot write " + path.string());
}

void write_pkcs12(const std::filesystem::path& path, const std::string& password, const EVP_PKEY* key, const X509* cert,
                  const std::vector<const X509*>& chain) {
  STACK_OF(X509)* ca = sk_X509_new_null();
  for (const X509* c : chain) sk_X509_push(ca, const_cast<X509*>(c));
  PKCS12* p12 = PKCS12_create(password.c_str(), key ? "flotilla" : nullptr, const_cast<EVP_PKEY*>(key),
                              const_cast<X509*>(cert), ca, 0, 0, 0, 0, 0);
  sk_X509_free(ca);
  if (!p12) throw std::runtime_error("test PKI: PKCS12_create");
  BIO* bio = BIO_new(BIO_s_mem());
  i2d_PKCS12_bio(bio, p12);
  write_file(path, bio_string(bio));
  BIO_free(bio);
  PKCS12_free(p12);
}

const TestPki& TestPki::get() {
  static const TestPki pki = [] {
    TestPki p;
    p.dir = std::filesystem::temp_directory_path() / ("flotilla-tls-test-" + std::to_string(::getpid()));
    std::filesystem::create_directories(p.dir);
    static std::filesystem::path to_remove;
    to_remove = p.dir;
    std::atexit([] {
      std::error_code ec;
      std::filesystem::remove_all(to_remove, ec);
    });
    p.ca = issue({{{"O", "Flotilla Test"}, {"CN", "Flotilla Test CA"}}, "", -1, 30, true}, nullptr);
    p.server = issue({{{"O", "Flotilla Test"}, {"CN", "localhost"}}, "IP:127.0.0.1,DNS:localhost"}, &p.ca);
    p.client = issue({{{"C", "US"}, {"O", "Example"}, {"OU", "eng"}, {"CN", "alice"}}, ""}, &p.ca);
    p.expired = issue({{{"O", "Flotilla Test"}, {"CN", "localhost"}}, "IP:127.0.0.1,DNS:localhost", -10, -1}, &p.ca);
    p.rogue_ca = issue({{{"CN", "Rogue CA"}}, "", -1, 30, true}, nullptr);
    p.rogue_server = issue({{{"CN", "localhost"}}, "IP:127.0.0.1,DNS:localhost"}, &p.rogue_ca);

    std::string ca_pem = cert_pem(p.ca.cert.get());
    write_file(p.file("ca.pem"), ca_pem);
    write_file(p.file("rogue-ca.pem"), cert_pem(p.rogue_ca.cert.get()));
    write_file(p.file("server.pem"), key_pem(p.server.key.get()) + cert_pem(p.server.cert.get()) + ca_pem);
    write_file(p.file("server-enc.pem"),
               key_pem(p.server.key.get(), kKeyPassword) + cert_pem(p.server.cert.get()) + ca_pem);
    write_file(p.file("client.pem"), key_pem(p.client.key.get()) + cert_pem(p.client.cert.get()));
    write_file(p.file("expired.pem"), key_pem(p.expired.key.get()) + cert_pem(p.expired.cert.get()));
    write_file(p.file("rogue-server.pem"), key_pem(p.rogue_server.key.get()) + cert_pem(p.rogue_server.cert.get()));
    write_pkcs12(p.file("server.p12"), kStorePassword, p.server.key.get(), p.server.cert.get(), {p.ca.cert.get()});
    write_pkcs12(p.file("client.p12"), kStorePassword, p.client.key.get(), p.client.cert.get(), {});
    write_pkcs12(p.file("truststore.p12"), kTrustPassword, nullptr, nullptr, {p.ca.cert.get()});
    return p;
  }();
  return pki;
}

}  // namespace flotilla::security::test
