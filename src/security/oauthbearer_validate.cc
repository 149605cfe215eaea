// The two OAUTHBEARER token validators (Kafka's unsecured one and KIP-768's
// JWKS one) and the JSON error challenge; policy documented in oauthbearer.h.
// Pure functions of (token, config, clock); thread-safe.
#include <algorithm>
#include <chrono>

#include "security/jwt.h"
#include "security/oauthbearer.h"

namespace flotilla::security {

namespace {

OAuthBearerValidation failure(std::string detail) {
  OAuthBearerValidation v;
  v.status = "invalid_token";
  v.detail = std::move(detail);
  return v;
}

int64_t now_ms(const OAuthBearerConfig& config) {
  if (config.now_ms) return config.now_ms();
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string join(const std::vector<std::string>& v, std::string_view sep) {
  std::string out;
  for (size_t i = 0; i < v.size(); ++i) {
    if (i) out += sep;
    out += v[i];
  }
  return out;
}

OAuthBearerValidation validate_unsecured(std::string_view token, const OAuthBearerConfig& c) {
  std::string error;
  auto jwt = parse_jwt(token, error);
  if (!jwt) return failure("unsecured validator: " + error);
  const std::string* alg = jwt_string_claim(jwt->header, "alg");
  if (!alg || *alg != "none") return failure("unsecured validator: an unsecured JWS must have 'none' for the 'alg' header");
  if (!jwt->signature.empty()) return failure("unsecured validator: an unsecured JWS must have an empty signature");
  const std::string* principal = jwt_string_claim(jwt->claims, c.unsecured_principal_claim);
  if (!principal || principal->empty())
    return failure("unsecured validator: no principal name in the JWT claim '" + c.unsecured_principal_claim + "'");
  const int64_t now = now_ms(c);
  const int64_t skew = c.unsecured_clock_skew_ms;
  auto iat = jwt_numeric_date_ms(jwt->claims, "iat", error);
  if (!error.empty()) return failure("unsecured validator: " + error);
  if (iat && *iat > now + skew)
    return failure("unsecured validator: the Issued At value is after the current time plus the allowable clock skew");
  auto exp = jwt_numeric_date_ms(jwt->claims, "exp", error);
  if (!error.empty()) return failure("unsecured validator: " + error);
  if (!exp) return failure("unsecured validator: required claim 'exp' is missing");
  if (now - skew >= *exp)
    return failure("unsecured validator: the current time minus the allowable clock skew is on or after the Expiration Time");
  if (iat && *iat >= *exp) return failure("unsecured validator: the Issued At value is not before the Expiration Time");
  auto scope = jwt_scope_claim(jwt->claims, c.unsecured_scope_claim, error);
  if (!scope) return failure("unsecured validator: " + error);
  for (const std::string& required : c.unsecured_required_scope) {
    if (std::find(scope->begin(), scope->end(), required) == scope->end()) {
      OAuthBearerValidation v = failure("unsecured validator: the token's scope lacks the required scope element '" +
                                        required + "'");
      v.status = "insufficient_scope";
      v.error_scope = join(c.unsecured_required_scope, " ");
      return v;
    }
  }
  OAuthBearerValidation ok;
  ok.ok = true;
  ok.principal = *principal;
  ok.expiry_ms = *exp;
  ok.scope = std::move(*scope);
  return ok;
}

bool audience_matches(const nlohmann::json& aud, const std::vector<std::string>& expected) {
  auto match = [&](const nlohmann::json& a) {
    return a.is_string() && std::find(expected.begin(), expected.end(), a.get_ref<const std::string&>()) != expected.end();
  };
  if (aud.is_array()) return std::any_of(aud.begin(), aud.end(), match);
  return match(aud);
}

OAuthBearerValidation validate_jwks(std::string_view token, const OAuthBearerConfig& c) {
  if (!c.jwks) return failure("JWT validator: no JWKS configured");
  std::string error;
  auto jwt = parse_jwt(token, error);
  if (!jwt) return failure("JWT validator: " + error);
  const std::string* alg_name = jwt_string_claim(jwt->header, "alg");
  if (!alg_name) return failure("JWT validator: the JWS header has no 'alg'");
  if (*alg_name == "none") return failure("JWT validator: 'none' is not an allowed algorithm");
  auto alg = parse_jws_algorithm(*alg_name);
  if (!alg) return failure("JWT validator: unsupported JWS algorithm");
  if (jwt->header.contains("crit")) return failure("JWT validator: the JWS header has critical extensions ('crit')");
  std::optional<std::string> kid;
  if (auto it = jwt->header.find("kid"); it != jwt->header.end()) {
    if (!it->is_string()) return failure("JWT validator: the JWS header's 'kid' is not a string");
    kid = it->get<std::string>();
  }
  const Jwk* key = c.jwks->select(kid, *alg, error);
  if (!key) return failure("JWT validator: " + error);
  if (!jws_verify(*key, *alg, jwt->signing_input, jwt->signature, error)) return failure("JWT validator: " + error);

  const int64_t now = now_ms(c);
  const int64_t skew = c.clock_skew_seconds * 1000;
  auto exp = jwt_numeric_date_ms(jwt->claims, "exp", error);
  if (!error.empty()) return failure("JWT validator: " + error);
  if (!exp) return failure("JWT validator: required claim 'exp' is missing");
  if (now >= *exp + skew) return failure("JWT validator: the token has expired");
  auto iat = jwt_numeric_date_ms(jwt->claims, "iat", error);
  if (!error.empty()) return failure("JWT validator: " + error);
  if (!iat) return failure("JWT validator: required claim 'iat' is missing");
  if (*iat > now + skew) return failure("JWT validator: the token's Issued At is in the future");
  auto nbf = jwt_numeric_date_ms(jwt->claims, "nbf", error);
  if (!error.empty()) return failure("JWT validator: " + error);
  if (nbf && *nbf > now + skew) return failure("JWT validator: the token is not yet valid (nbf)");

  auto aud = jwt->claims.find("aud");
  if (!c.expected_audience.empty()) {
    if (aud == jwt->claims.end()) return failure("JWT validator: required claim 'aud' is missing");
    if (!audience_matches(*aud, c.expected_audience))
      return failure("JWT validator: the token's audience is not one of sasl.oauthbearer.expected.audience");
  } else if (aud != jwt->claims.end()) {
    return failure("JWT validator: the token has an audience (aud) but sasl.oauthbearer.expected.audience is not set");
  }
  if (c.expected_issuer) {
    const std::string* iss = jwt_string_claim(jwt->claims, "iss");
    if (!iss) return failure("JWT validator: required claim 'iss' is missing or not a string");
    if (*iss != *c.expected_issuer)
      return failure("JWT validator: the token's issuer is not sasl.oauthbearer.expected.issuer");
  }
  const std::string* sub = jwt_string_claim(jwt->claims, c.sub_claim_name);
  if (!sub || sub->empty())
    return failure("JWT validator: the subject claim '" + c.sub_claim_name + "' is missing, empty or not a string");
  auto scope = jwt_scope_claim(jwt->claims, c.scope_claim_name, error);
  if (!scope) return failure("JWT validator: " + error);
  OAuthBearerValidation ok;
  ok.ok = true;
  ok.principal = *sub;
  ok.expiry_ms = *exp;
  ok.scope = std::move(*scope);
  return ok;
}

}  // namespace

OAuthBearerValidation validate_oauthbearer_token(std::string_view token, const OAuthBearerConfig& config) {
  try {
    return config.validator == OAuthBearerConfig::Validator::kJwks ? validate_jwks(token, config)
                                                                   : validate_unsecured(token, config);
  } catch (const std::exception&) {  // allocation failure or a JSON accessor misuse: never out of evaluate()
    return failure("internal error validating the token");
  }
}

std::string oauthbearer_error_json(const OAuthBearerValidation& v) {
  // Kafka's layout: {"status":"<s>"[, "scope":"<scope>"][, "openid-configuration":"<url>"]}
  std::string out = R"({"status":)" + nlohmann::json(v.status.empty() ? "invalid_token" : v.status).dump();
  if (!v.error_scope.empty())
    out += R"(, "scope":)" + nlohmann::json(v.error_scope).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  out += "}";
  return out;
}

}  // namespace flotilla::security
