// A throwaway PKI for the TLS tests, made with libcrypto into a temp directory:
// a CA, a server certificate (SAN IP:127.0.0.1, DNS:localhost), a client
// certificate (CN=alice,OU=eng,O=Example,C=US), an expired server certificate,
// and a second ("rogue") CA with a server certificate of its own. Written as
// PEM (plain and encrypted PKCS#8 keys) and PKCS12 files. EC P-256 keys keep
// generation fast. Built once per test binary (TestPki::get()).
#pragma once

#include <openssl/evp.h>
#include <openssl/x509.h>

#include <filesystem>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace flotilla::security::test {

using X509Ptr = std::unique_ptr<X509, decltype(&X509_free)>;
using PkeyPtr = std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)>;

struct Issued {
  PkeyPtr key{nullptr, &EVP_PKEY_free};
  X509Ptr cert{nullptr, &X509_free};
};

struct CertSpec {
  std::vector<std::pair<std::string, std::string>>
      subject;      // in DER order, e.g. {"C","US"},{"O","Example"},{"CN","alice"}
  std::string san;  // "IP:127.0.0.1,DNS:localhost" or ""
  long not_before_days = -1;
  long not_after_days = 30;
  bool ca = false;
};

// Issues a certificate for spec, signed by issuer (self-signed when null).
Issued issue(const CertSpec& spec, const Issued* issuer);

std::string cert_pem(const X509* cert);
std::string key_pem(const EVP_PKEY* key, const std::string& password = "");  // PKCS#8, AES-256 when a password is given
void write_file(const std::filesystem::path& path, const std::string& data);
void write_pkcs12(const std::filesystem::path& path, const std::string& password, const EVP_PKEY* key, const X509* cert,
                  const std::vector<const X509*>& chain);

struct TestPki {
  std::filesystem::path dir;
  Issued ca, server, client, expired, rogue_ca, rogue_server;

  static constexpr const char* kStorePassword = "st0re-pa55";
  static constexpr const char* kKeyPassword = "k3y-pa55";
  static constexpr const char* kTrustPassword = "tru5t-pa55";

  // Files in dir:
  //   ca.pem, rogue-ca.pem                 trust certificates
  //   server.pem                           server key (plain PKCS#8) + cert + CA (a PEM key store)
  //   server-enc.pem                       the same with the key encrypted by kKeyPassword
  //   server.p12, client.p12               PKCS12 key stores (kStorePassword)
  //   truststore.p12                       the CA only (kTrustPassword)
  //   client.pem, expired.pem, rogue-server.pem  PEM key stores
  std::filesystem::path file(const std::string& name) const { return dir / name; }

  static const TestPki& get();
};

}  // namespace flotilla::security::test
