#include "security/jwks.h"

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>

#include <fstream>
#include <iterator>

#include "security/jwt.h"

namespace flotilla::security {

namespace {

constexpr size_t kMaxJwksFileBytes = 1 << 20;
constexpr int kMinRsaBits = 2048;
constexpr int kMaxRsaBits = 16384;  // OpenSSL's own limit for RSA operations; bounds the cost of a check

struct BnFree {
  void operator()(BIGNUM* b) const { BN_free(b); }
};
struct ParamBldFree {
  void operator()(OSSL_PARAM_BLD* b) const { OSSL_PARAM_BLD_free(b); }
};
struct ParamFree {
  void operator()(OSSL_PARAM* p) const { OSSL_PARAM_free(p); }
};
struct PkeyCtxFree {
  void operator()(EVP_PKEY_CTX* c) const { EVP_PKEY_CTX_free(c); }
};
struct MdCtxFree {
  void operator()(EVP_MD_CTX* c) const { EVP_MD_CTX_free(c); }
};
struct EcdsaSigFree {
  void operator()(ECDSA_SIG* s) const { ECDSA_SIG_free(s); }
};
using BnPtr = std::unique_ptr<BIGNUM, BnFree>;

std::optional<Bytes> b64url_member(const nlohmann::json& jwk, const char* name) {
  const std::string* s = jwt_string_claim(jwk, name);
  if (!s || s->empty()) return std::nullopt;
  return base64url_decode(*s);
}

// A public key from OSSL_PARAMs, checked (EVP_PKEY_public_check): nullptr otherwise.
std::shared_ptr<EVP_PKEY> key_from_params(const char* type, OSSL_PARAM_BLD* bld) {
  std::unique_ptr<OSSL_PARAM, ParamFree> params(OSSL_PARAM_BLD_to_param(bld));
  if (!params) return nullptr;
  std::unique_ptr<EVP_PKEY_CTX, PkeyCtxFree> ctx(EVP_PKEY_CTX_new_from_name(nullptr, type, nullptr));
  EVP_PKEY* raw = nullptr;
  if (!ctx || EVP_PKEY_fromdata_init(ctx.get()) != 1 ||
      EVP_PKEY_fromdata(ctx.get(), &raw, EVP_PKEY_PUBLIC_KEY, params.get()) != 1 || raw == nullptr)
    return nullptr;
  std::shared_ptr<EVP_PKEY> key(raw, EVP_PKEY_free);
  std::unique_ptr<EVP_PKEY_CTX, PkeyCtxFree> check(EVP_PKEY_CTX_new_from_pkey(nullptr, raw, nullptr));
  if (!check || EVP_PKEY_public_check(check.get()) != 1) return nullptr;
  return key;
}

std::shared_ptr<EVP_PKEY> rsa_key(const nlohmann::json& jwk) {
  auto n = b64url_member(jwk, "n");
  auto e = b64url_member(jwk, "e");
  if (!n || !e || n->empty() || e->empty()) return nullptr;
  BnPtr bn_n(BN_bin2bn(n->data(), static_cast<int>(n->size()), nullptr));
  BnPtr bn_e(BN_bin2bn(e->data(), static_cast<int>(e->size()), nullptr));
  std::unique_ptr<OSSL_PARAM_BLD, ParamBldFree> bld(OSSL_PARAM_BLD_new());
  if (!bn_n || !bn_e || !bld || BN_is_zero(bn_e.get()) || BN_num_bits(bn_n.get()) < kMinRsaBits ||
      BN_num_bits(bn_n.get()) > kMaxRsaBits || BN_num_bits(bn_e.get()) > 64)
    return nullptr;
  if (OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_RSA_N, bn_n.get()) != 1 ||
      OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_RSA_E, bn_e.get()) != 1)
    return nullptr;
  return key_from_params("RSA", bld.get());
}

std::shared_ptr<EVP_PKEY> ec_key(const nlohmann::json& jwk, size_t& coordinate_bytes) {
  const std::string* crv = jwt_string_claim(jwk, "crv");
  if (!crv) return nullptr;
  const char* group = nullptr;
  if (*crv == "P-256") {
    group = "prime256v1";
    coordinate_bytes = 32;
  } else if (*crv == "P-384") {
    group = "secp384r1";
    coordinate_bytes = 48;
  } else {
    return nullptr;
  }
  auto x = b64url_member(jwk, "x");
  auto y = b64url_member(jwk, "y");
  if (!x || !y || x->size() != coordinate_bytes || y->size() != coordinate_bytes) return nullptr;
  Bytes point;
  point.reserve(1 + 2 * coordinate_bytes);
  point.push_back(0x04);  // uncompressed
  point.insert(point.end(), x->begin(), x->end());
  point.insert(point.end(), y->begin(), y->end());
  std::unique_ptr<OSSL_PARAM_BLD, ParamBldFree> bld(OSSL_PARAM_BLD_new());
  if (!bld || OSSL_PARAM_BLD_push_utf8_string(bld.get(), OSSL_PKEY_PARAM_GROUP_NAME, group, 0) != 1 ||
      OSSL_PARAM_BLD_push_octet_string(bld.get(), OSSL_PKEY_PARAM_PUB_KEY, point.data(), point.size()) != 1)
    return nullptr;
  return key_from_params("EC", bld.get());
}

bool key_fits(const Jwk& key, JwsAlgorithm alg) {
  bool rsa = alg == JwsAlgorithm::RS256 || alg == JwsAlgorithm::RS384 || alg == JwsAlgorithm::RS512;
  if (rsa != (key.kty == "RSA")) return false;
  if (alg == JwsAlgorithm::ES256 && key.ec_coordinate_bytes != 32) return false;
  if (alg == JwsAlgorithm::ES384 && key.ec_coordinate_bytes != 48) return false;
  return key.alg.empty() || key.alg == jws_algorithm_name(alg);
}

const EVP_MD* digest_for(JwsAlgorithm alg) {
  switch (alg) {
    case JwsAlgorithm::RS256:
    case JwsAlgorithm::ES256: return EVP_sha256();
    case JwsAlgorithm::RS384:
    case JwsAlgorithm::ES384: return EVP_sha384();
    case JwsAlgorithm::RS512: return EVP_sha512();
  }
  return nullptr;
}

// JWS's R||S as the DER ECDSA-Sig-Value OpenSSL verifies; empty when malformed.
Bytes ecdsa_der(std::span<const uint8_t> raw, size_t coordinate_bytes) {
  if (raw.size() != 2 * coordinate_bytes) return {};
  BnPtr r(BN_bin2bn(raw.data(), static_cast<int>(coordinate_bytes), nullptr));
  BnPtr s(BN_bin2bn(raw.data() + coordinate_bytes, static_cast<int>(coordinate_bytes), nullptr));
  std::unique_ptr<ECDSA_SIG, EcdsaSigFree> sig(ECDSA_SIG_new());
  if (!r || !s || !sig || ECDSA_SIG_set0(sig.get(), r.get(), s.get()) != 1) return {};
  r.release();  // owned by sig now
  s.release();
  int len = i2d_ECDSA_SIG(sig.get(), nullptr);
  if (len <= 0) return {};
  Bytes der(static_cast<size_t>(len));
  unsigned char* p = der.data();
  if (i2d_ECDSA_SIG(sig.get(), &p) != len) return {};
  return der;
}

}  // namespace

std::optional<JwsAlgorithm> parse_jws_algorithm(std::string_view name) {
  if (name == "RS256") return JwsAlgorithm::RS256;
  if (name == "RS384") return JwsAlgorithm::RS384;
  if (name == "RS512") return JwsAlgorithm::RS512;
  if (name == "ES256") return JwsAlgorithm::ES256;
  if (name == "ES384") return JwsAlgorithm::ES384;
  return std::nullopt;
}

std::string_view jws_algorithm_name(JwsAlgorithm alg) {
  switch (alg) {
    case JwsAlgorithm::RS256: return "RS256";
    case JwsAlgorithm::RS384: return "RS384";
    case JwsAlgorithm::RS512: return "RS512";
    case JwsAlgorithm::ES256: return "ES256";
    case JwsAlgorithm::ES384: return "ES384";
  }
  return "";
}

std::shared_ptr<const JwkSet> JwkSet::parse(std::string_view json_text, std::string& error) {
  std::string json_error;
  auto doc = parse_json_object(json_text, json_error);
  if (!doc) {
    error = "JWKS is " + json_error;
    return nullptr;
  }
  auto keys = doc->find("keys");
  if (keys == doc->end() || !keys->is_array()) {
    error = "JWKS has no \"keys\" array";
    return nullptr;
  }
  auto set = std::make_shared<JwkSet>();
  for (const auto& entry : *keys) {
    if (!entry.is_object()) {
      ++set->skipped_;
      continue;
    }
    const std::string* use = jwt_string_claim(entry, "use");
    const std::string* kty = jwt_string_claim(entry, "kty");
    if ((use && *use != "sig") || !kty) {
      ++set->skipped_;
      continue;
    }
    Jwk jwk;
    jwk.kty = *kty;
    if (const std::string* kid = jwt_string_claim(entry, "kid")) jwk.kid = *kid;
    if (const std::string* alg = jwt_string_claim(entry, "alg")) jwk.alg = *alg;
    if (*kty == "RSA") jwk.key = rsa_key(entry);
    else if (*kty == "EC") jwk.key = ec_key(entry, jwk.ec_coordinate_bytes);
    if (!jwk.key) {
      ERR_clear_error();
      ++set->skipped_;
      continue;
    }
    set->keys_.push_back(std::move(jwk));
  }
  if (set->keys_.empty()) {
    error = "JWKS holds no usable signature key (RSA of 2048 bits or more, EC P-256 or P-384)";
    return nullptr;
  }
  return set;
}

std::shared_ptr<const JwkSet> JwkSet::load(std::string_view url, std::string& error) {
  static constexpr std::string_view kFile = "file:";
  if (url.starts_with("https:") || url.starts_with("http:")) {
    error = "JWKS endpoint " + std::string(url) +
            ": http(s) endpoints are not supported by this broker; use a file: URL (file:///path/to/jwks.json)";
    return nullptr;
  }
  if (!url.starts_with(kFile)) {
    error = "JWKS endpoint URL must be a file: URL (file:///path/to/jwks.json)";
    return nullptr;
  }
  std::string_view rest = url.substr(kFile.size());
  std::string path;
  if (rest.starts_with("///")) path = std::string(rest.substr(2));
  else if (rest.starts_with("//localhost/")) path = std::string(rest.substr(11));
  else if (rest.starts_with("/") && !rest.starts_with("//")) path = std::string(rest);
  else {
    error = "JWKS endpoint " + std::string(url) + ": a file: URL must name a local absolute path";
    return nullptr;
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    error = "JWKS file " + path + " cannot be read";
    return nullptr;
  }
  std::string text;
  char buf[8192];
  while (in.read(buf, sizeof buf) || in.gcount() > 0) {
    text.append(buf, static_cast<size_t>(in.gcount()));
    if (text.size() > kMaxJwksFileBytes) {
      error = "JWKS file " + path + " is larger than 1 MiB";
      return nullptr;
    }
  }
  std::string parse_error;
  auto set = parse(text, parse_error);
  if (!set) error = "JWKS file " + path + ": " + parse_error;
  return set;
}

const Jwk* JwkSet::select(const std::optional<std::string>& kid, JwsAlgorithm alg, std::string& error) const {
  const Jwk* found = nullptr;
  size_t fitting = 0;
  for (const Jwk& key : keys_) {
    if (kid && key.kid != *kid) continue;
    if (!key_fits(key, alg)) continue;
    found = &key;
    ++fitting;
  }
  if (fitting == 1) return found;
  if (fitting == 0) {
    error = kid ? "no key in the JWKS has the token's kid for algorithm " + std::string(jws_algorithm_name(alg))
                : "no key in the JWKS fits algorithm " + std::string(jws_algorithm_name(alg));
  } else {
    error = kid ? "more than one key in the JWKS has the token's kid" : "the token names no kid and several keys fit";
  }
  return nullptr;
}

bool jws_verify(const Jwk& key, JwsAlgorithm alg, std::string_view signing_input, std::span<const uint8_t> signature,
                std::string& error) {
  if (!key_fits(key, alg)) {
    error = "key does not fit the algorithm";
    return false;
  }
  Bytes der;
  std::span<const uint8_t> sig = signature;
  if (alg == JwsAlgorithm::ES256 || alg == JwsAlgorithm::ES384) {
    der = ecdsa_der(signature, key.ec_coordinate_bytes);
    if (der.empty()) {
      error = "ECDSA signature has the wrong length";
      return false;
    }
    sig = der;
  }
  std::unique_ptr<EVP_MD_CTX, MdCtxFree> ctx(EVP_MD_CTX_new());
  if (!ctx || EVP_DigestVerifyInit(ctx.get(), nullptr, digest_for(alg), nullptr, key.key.get()) != 1) {
    error = "internal error preparing signature verification";
    return false;
  }
  int rc = EVP_DigestVerify(ctx.get(), sig.data(), sig.size(), reinterpret_cast<const unsigned char*>(signing_input.data()),
                            signing_input.size());
  if (rc != 1) {
    ERR_clear_error();  // a bad signature is not this thread's lasting error
    error = "signature does not verify";
    return false;
  }
  return true;
}

}  // namespace flotilla::security
