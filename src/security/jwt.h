// JSON Web Tokens in compact serialization (RFC 7515/7519) as OAUTHBEARER
// carries them: base64url without padding, a header and a claims object, an
// optional signature. This file only decodes and reads claims; signatures are
// checked in jwks.h, policy (which claims are required, clock skew) lives in
// oauthbearer.cc.
//
// Parsing is strict and bounded: exactly three dot-separated parts, canonical
// base64url (no padding, no '+' '/', zero unused bits), each JSON part an
// object nested at most kJwtMaxJsonDepth deep. Errors are short descriptions
// that never quote the token (a token is a credential).
//
// Also here: the client side of Kafka's unsecured login module
// (OAuthBearerUnsecuredLoginCallbackHandler), which builds an alg=none token
// from unsecuredLogin* JAAS options, for our tools and tests.
//
// Pure functions; thread-safe.
#pragma once

#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "security/scram.h"

namespace flotilla::security {

inline constexpr int kJwtMaxJsonDepth = 32;

std::string base64url_encode(std::span<const uint8_t> data);
// Unpadded, canonical base64url; nullopt otherwise.
std::optional<Bytes> base64url_decode(std::string_view text);

struct Jwt {
  std::string signing_input;  // "<header>.<payload>" exactly as received (what a JWS signs)
  nlohmann::json header;      // always an object
  nlohmann::json claims;      // always an object
  Bytes signature;            // empty for an unsecured JWS
};

// nullopt with `error` set when the text is not a well-formed compact JWS.
std::optional<Jwt> parse_jwt(std::string_view compact, std::string& error);

// A JSON object from text, nullopt (with `error`) for anything else, including
// nesting deeper than kJwtMaxJsonDepth. Never throws.
std::optional<nlohmann::json> parse_json_object(std::string_view text, std::string& error);

// A NumericDate claim (seconds since the epoch, integer or fraction) in ms.
// Absent: nullopt and `error` empty; present but not a finite number in range:
// nullopt and `error` set.
std::optional<int64_t> jwt_numeric_date_ms(const nlohmann::json& claims, const std::string& name, std::string& error);

// A scope claim: absent -> empty; a string -> its space-separated elements; an
// array of strings -> its elements. Anything else: nullopt with `error`.
std::optional<std::vector<std::string>> jwt_scope_claim(const nlohmann::json& claims, const std::string& name,
                                                        std::string& error);

// The string value of a claim, or nullptr when absent or not a string.
const std::string* jwt_string_claim(const nlohmann::json& claims, const std::string& name);

// Kafka's unsecured login module: from the JAAS options
//   unsecuredLoginStringClaim_<name>="value"
//   unsecuredLoginNumberClaim_<name>="1.5"
//   unsecuredLoginListClaim_<name>=",a,b"   (first character is the delimiter)
//   unsecuredLoginPrincipalClaimName (default "sub"; must be a string claim)
//   unsecuredLoginLifetimeSeconds (default 3600)
// a token `base64url({"alg":"none"}).base64url(claims).` with iat = now and
// exp = now + lifetime. nullopt with `error` (naming the option, not its value).
std::optional<std::string> make_unsecured_jws(const std::map<std::string, std::string>& jaas_options, int64_t now_ms,
                                              std::string& error);

}  // namespace flotilla::security
