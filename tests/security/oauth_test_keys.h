// Test helpers for OAUTHBEARER: key pairs made with OpenSSL, their public
// halves as JWKs, JWS signing (RS* as PKCS#1 v1.5, ES* as raw R||S), unsecured
// tokens, and a temporary directory for JWKS files. Header-only so the test
// files batch in unity builds.
#pragma once

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>

#include <filesystem>
#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>
#include <random>
#include <stdexcept>
#include <string>

#include "security/jwt.h"

namespace oauth_test {

using flotilla::security::Bytes;
using flotilla::security::base64url_encode;

inline constexpr int64_t kNowMs = 1'700'000'000'000;  // the tests' clock
inline constexpr int64_t kNowS = kNowMs / 1000;

using PkeyPtr = std::shared_ptr<EVP_PKEY>;

inline PkeyPtr rsa_key(size_t bits = 2048) {
  EVP_PKEY* k = EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", bits);
  if (!k) throw std::runtime_error("RSA keygen failed");
  return PkeyPtr(k, EVP_PKEY_free);
}

inline PkeyPtr ec_key(const char* curve) {
  EVP_PKEY* k = EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", curve);
  if (!k) throw std::runtime_error("EC keygen failed");
  return PkeyPtr(k, EVP_PKEY_free);
}

inline std::string bn_param_b64url(EVP_PKEY* k, const char* name, int pad = 0) {
  BIGNUM* bn = nullptr;
  if (EVP_PKEY_get_bn_param(k, name, &bn) != 1) throw std::runtime_error("get_bn_param failed");
  Bytes out(pad ? static_cast<size_t>(pad) : static_cast<size_t>(BN_num_bytes(bn)));
  BN_bn2binpad(bn, out.data(), static_cast<int>(out.size()));
  BN_free(bn);
  return base64url_encode(out);
}

inline nlohmann::json rsa_jwk(const PkeyPtr& k, const std::string& kid) {
  return {{"kty", "RSA"},
          {"kid", kid},
          {"use", "sig"},
          {"n", bn_param_b64url(k.get(), OSSL_PKEY_PARAM_RSA_N)},
          {"e", bn_param_b64url(k.get(), OSSL_PKEY_PARAM_RSA_E)}};
}

inline nlohmann::json ec_jwk(const PkeyPtr& k, const std::string& kid, const std::string& crv) {
  int size = crv == "P-256" ? 32 : 48;
  return {{"kty", "EC"},
          {"kid", kid},
          {"crv", crv},
          {"x", bn_param_b64url(k.get(), OSSL_PKEY_PARAM_EC_PUB_X, size)},
          {"y", bn_param_b64url(k.get(), OSSL_PKEY_PARAM_EC_PUB_Y, size)}};
}

inline std::string b64json(const nlohmann::json& j) {
  std::string s = j.dump();
  return base64url_encode(flotilla::security::as_bytes(s));
}

// header.payload.signature with `alg` in {RS256, RS384, RS512, ES256, ES384}.
inline std::string sign_jws(const PkeyPtr& k, const std::string& alg, const std::string& kid,
                            const nlohmann::json& claims, nlohmann::json extra_header = nlohmann::json::object()) {
  nlohmann::json header = {{"alg", alg}, {"typ", "JWT"}};
  if (!kid.empty()) header["kid"] = kid;
  for (auto& [key, value] : extra_header.items()) header[key] = value;
  std::string input = b64json(header) + "." + b64json(claims);
  const EVP_MD* md = alg.ends_with("256") ? EVP_sha256() : alg.ends_with("384") ? EVP_sha384() : EVP_sha512();
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  size_t len = 0;
  EVP_DigestSignInit(ctx, nullptr, md, nullptr, k.get());
  EVP_DigestSign(ctx, nullptr, &len, reinterpret_cast<const unsigned char*>(input.data()), input.size());
  Bytes sig(len);
  if (EVP_DigestSign(ctx, sig.data(), &len, reinterpret_cast<const unsigned char*>(input.data()), input.size()) != 1)
    throw std::runtime_error("sign failed");
  EVP_MD_CTX_free(ctx);
  sig.resize(len);
  if (alg.starts_with("ES")) {  // DER -> R||S
    size_t n = alg == "ES256" ? 32 : 48;
    const unsigned char* p = sig.data();
    ECDSA_SIG* es = d2i_ECDSA_SIG(nullptr, &p, static_cast<long>(sig.size()));
    Bytes raw(2 * n);
    BN_bn2binpad(ECDSA_SIG_get0_r(es), raw.data(), static_cast<int>(n));
    BN_bn2binpad(ECDSA_SIG_get0_s(es), raw.data() + n, static_cast<int>(n));
    ECDSA_SIG_free(es);
    sig = raw;
  }
  return input + "." + base64url_encode(sig);
}

inline std::string unsecured_jws(const nlohmann::json& claims, nlohmann::json header = {{"alg", "none"}}) {
  return b64json(header) + "." + b64json(claims) + ".";
}

inline Bytes initial_response(const std::string& token, const std::string& gs2 = "n,,") {
  std::string m = gs2 + "\x01" "auth=Bearer " + token + "\x01\x01";
  return Bytes(m.begin(), m.end());
}

inline Bytes to_bytes(std::string_view s) { return Bytes(s.begin(), s.end()); }

class TempDir {
 public:
  TempDir() {
    std::random_device rd;
    path_ = std::filesystem::temp_directory_path() / ("flotilla-oauth-" + std::to_string(rd()) + std::to_string(rd()));
    std::filesystem::create_directories(path_);
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  std::string write(const std::string& name, const std::string& text) const {
    auto p = path_ / name;
    std::ofstream(p, std::ios::binary) << text;
    return p.string();
  }

 private:
  std::filesystem::path path_;
};

}  // namespace oauth_test
