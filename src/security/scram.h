// SCRAM credentials (RFC 5802, RFC 7677) as Kafka keeps them: per user and
// mechanism a salt, an iteration count, StoredKey = H(HMAC(SaltedPassword,
// "Client Key")) and ServerKey = HMAC(SaltedPassword, "Server Key"). The
// password itself, and SaltedPassword, are never stored: a StoredKey lets the
// server check a proof, not compute one.
//
// Pure functions over OpenSSL's libcrypto; thread-safe.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace flotilla::security {

using Bytes = std::vector<uint8_t>;

// Kafka's ScramMechanism type ids (UserScramCredentialRecord.Mechanism, the
// AlterUserScramCredentials request).
enum class ScramMechanism : int8_t { UNKNOWN = 0, SCRAM_SHA_256 = 1, SCRAM_SHA_512 = 2 };

// Kafka's bounds on the iteration count (ScramMechanism.minIterations and the
// broker's cap on AlterUserScramCredentials).
constexpr int32_t kScramMinIterations = 4096;
constexpr int32_t kScramMaxIterations = 16384;

std::optional<ScramMechanism> parse_scram_mechanism(std::string_view name);  // "SCRAM-SHA-256", "SCRAM-SHA-512"
std::string_view scram_mechanism_name(ScramMechanism m);
size_t scram_hash_size(ScramMechanism m);  // 32 or 64

struct ScramCredential {
  Bytes salt;
  Bytes stored_key;
  Bytes server_key;
  int32_t iterations = 0;
  bool operator==(const ScramCredential&) const = default;
};

Bytes scram_hash(ScramMechanism m, std::span<const uint8_t> data);                          // H()
Bytes scram_hmac(ScramMechanism m, std::span<const uint8_t> key, std::span<const uint8_t> data);  // HMAC()
Bytes scram_salted_password(ScramMechanism m, std::string_view password, std::span<const uint8_t> salt,
                            int32_t iterations);                                             // Hi()
// The stored form of a salted password (what the controller computes from an
// AlterUserScramCredentials upsertion, which carries salt and SaltedPassword).
ScramCredential scram_credential_from_salted(ScramMechanism m, std::span<const uint8_t> salted_password,
                                             std::span<const uint8_t> salt, int32_t iterations);
ScramCredential scram_credential(ScramMechanism m, std::string_view password, std::span<const uint8_t> salt,
                                 int32_t iterations);
Bytes random_bytes(size_t n);  // from OpenSSL's CSPRNG; throws if it fails
Bytes scram_random_salt();     // 32 random bytes, like Kafka's ScramFormatter.secureRandomBytes

// Constant-time equality (a mismatch position must not leak through timing).
bool constant_time_equal(std::span<const uint8_t> a, std::span<const uint8_t> b);

inline std::span<const uint8_t> as_bytes(std::string_view s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

}  // namespace flotilla::security
