#include "security/scram.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include <stdexcept>

namespace flotilla::security {

namespace {
const EVP_MD* digest(ScramMechanism m) { return m == ScramMechanism::SCRAM_SHA_512 ? EVP_sha512() : EVP_sha256(); }
}  // namespace

std::optional<ScramMechanism> parse_scram_mechanism(std::string_view name) {
  if (name == "SCRAM-SHA-256") return ScramMechanism::SCRAM_SHA_256;
  if (name == "SCRAM-SHA-512") return ScramMechanism::SCRAM_SHA_512;
  return std::nullopt;
}

std::string_view scram_mechanism_name(ScramMechanism m) {
  switch (m) {
    case ScramMechanism::SCRAM_SHA_256: return "SCRAM-SHA-256";
    case ScramMechanism::SCRAM_SHA_512: return "SCRAM-SHA-512";
    default: return "UNKNOWN";
  }
}

size_t scram_hash_size(ScramMechanism m) { return m == ScramMechanism::SCRAM_SHA_512 ? 64 : 32; }

Bytes scram_hash(ScramMechanism m, std::span<const uint8_t> data) {
  Bytes out(EVP_MAX_MD_SIZE);
  unsigned int n = 0;
  if (EVP_Digest(data.data(), data.size(), out.data(), &n, digest(m), nullptr) != 1)
    throw std::runtime_error("EVP_Digest failed");
  out.resize(n);
  return out;
}

Bytes scram_hmac(ScramMechanism m, std::span<const uint8_t> key, std::span<const uint8_t> data) {
  Bytes out(EVP_MAX_MD_SIZE);
  unsigned int n = 0;
  if (!HMAC(digest(m), key.data(), static_cast<int>(key.size()), data.data(), data.size(), out.data(), &n))
    throw std::runtime_error("HMAC failed");
  out.resize(n);
  return out;
}

Bytes scram_salted_password(ScramMechanism m, std::string_view password, std::span<const uint8_t> salt,
                            int32_t iterations) {
  // Hi() of RFC 5802 is PBKDF2 with HMAC as the PRF and one block of output.
  Bytes out(scram_hash_size(m));
  if (PKCS5_PBKDF2_HMAC(password.data(), static_cast<int>(password.size()), salt.data(), static_cast<int>(salt.size()),
                        iterations, digest(m), static_cast<int>(out.size()), out.data()) != 1)
    throw std::runtime_error("PKCS5_PBKDF2_HMAC failed");
  return out;
}

ScramCredential scram_credential_from_salted(ScramMechanism m, std::span<const uint8_t> salted_password,
                                             std::span<const uint8_t> salt, int32_t iterations) {
  ScramCredential c;
  c.salt.assign(salt.begin(), salt.end());
  c.iterations = iterations;
  Bytes client_key = scram_hmac(m, salted_password, as_bytes("Client Key"));
  c.stored_key = scram_hash(m, client_key);
  c.server_key = scram_hmac(m, salted_password, as_bytes("Server Key"));
  OPENSSL_cleanse(client_key.data(), client_key.size());
  return c;
}

ScramCredential scram_credential(ScramMechanism m, std::string_view password, std::span<const uint8_t> salt,
                                 int32_t iterations) {
  Bytes salted = scram_salted_password(m, password, salt, iterations);
  ScramCredential c = scram_credential_from_salted(m, salted, salt, iterations);
  OPENSSL_cleanse(salted.data(), salted.size());
  return c;
}

Bytes random_bytes(size_t n) {
  Bytes out(n);
  if (n > 0 && RAND_bytes(out.data(), static_cast<int>(n)) != 1) throw std::runtime_error("RAND_bytes failed");
  return out;
}

Bytes scram_random_salt() { return random_bytes(32); }

bool constant_time_equal(std::span<const uint8_t> a, std::span<const uint8_t> b) {
  if (a.size() != b.size()) return false;
  return a.empty() || CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

}  // namespace flotilla::security
