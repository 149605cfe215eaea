// JSON Web Key Sets (RFC 7517) and JWS signature checks (RFC 7515/7518) over
// OpenSSL 3, for the OAUTHBEARER validator of KIP-768.
//
// Supported: RSA keys (kty "RSA", n/e, 2048 to 16384 bits) for RS256/RS384/
// RS512, EC keys (kty "EC", crv "P-256"/"P-384", x/y of the curve's exact
// length, on the curve) for ES256/ES384. Keys built with OSSL_PARAM_BLD and
// EVP_PKEY_fromdata. Keys of another type, with `use` other than "sig", or
// that fail to parse are skipped (a JWKS commonly mixes key types); a set with
// no usable key is an error. Private members ("d", ...) are never read.
//
// The endpoint: `file:///path` (read once, at most 1 MiB). https endpoints
// (Kafka's periodic refresh) are not supported: a clear configuration error.
//
// A JwkSet is immutable after loading; share it with shared_ptr<const>. Its
// EVP_PKEYs are only read, which OpenSSL 3 allows from many threads at once.
#pragma once

#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

typedef struct evp_pkey_st EVP_PKEY;

namespace flotilla::security {

enum class JwsAlgorithm { RS256, RS384, RS512, ES256, ES384 };

// nullopt for "none" and every algorithm we do not verify (HS256, PS256, ...).
std::optional<JwsAlgorithm> parse_jws_algorithm(std::string_view name);
std::string_view jws_algorithm_name(JwsAlgorithm alg);

struct Jwk {
  std::string kid;                 // may be empty
  std::string kty;                 // "RSA" or "EC"
  std::string alg;                 // the key's "alg", empty when absent
  std::shared_ptr<EVP_PKEY> key;   // public key
  size_t ec_coordinate_bytes = 0;  // 32 (P-256) or 48 (P-384) for EC keys
};

class JwkSet {
 public:
  // From the JSON text of a JWKS ({"keys":[...]}); nullptr with `error`.
  static std::shared_ptr<const JwkSet> parse(std::string_view json_text, std::string& error);
  // From sasl.oauthbearer.jwks.endpoint.url; only file: URLs.
  static std::shared_ptr<const JwkSet> load(std::string_view url, std::string& error);

  // The key a JWS with header `kid` (nullopt when absent) and `alg` is checked
  // with: the key with that kid (of the algorithm's type, and of that alg if
  // the key names one); without a kid, the only key that fits. nullptr with `error`.
  const Jwk* select(const std::optional<std::string>& kid, JwsAlgorithm alg, std::string& error) const;

  size_t size() const { return keys_.size(); }
  size_t skipped() const { return skipped_; }

 private:
  std::vector<Jwk> keys_;
  size_t skipped_ = 0;
};

// Whether `signature` (JWS form: PKCS#1 v1.5 for RS*, raw R||S for ES*) signs
// `signing_input` under `key`. False (with `error`) also for internal errors.
bool jws_verify(const Jwk& key, JwsAlgorithm alg, std::string_view signing_input, std::span<const uint8_t> signature,
                std::string& error);

}  // namespace flotilla::security
