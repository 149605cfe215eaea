// SASL/OAUTHBEARER (RFC 7628) as Kafka implements it (KIP-255, KIP-768):
// configuration, the client's initial response, server and client.
//
// The client's only message (RFC 7628 section 3.1, Kafka's
// OAuthBearerClientInitialResponse):
//   n,[a=<authzid>],\x01auth=Bearer <token>\x01[<key>=<value>\x01]*\x01
// keys [A-Za-z]+ ("auth" reserved for the token), values [\x21-\x7E \t\r\n]+.
// Parsed strictly, after a size check (SaslServerConfig::max_token_bytes).
//
// The server's steps (SaslStep), modelled on Kafka's OAuthBearerSaslServer:
//  - a message that does not parse: failed at once, with the generic message
//    (sasl_authentication_failed_message), as Kafka answers a SaslException;
//  - a token the validator rejects: NOT failed yet; the challenge is Kafka's
//    JSON error {"status":"invalid_token"} (or {"status":"insufficient_scope",
//    "scope":"<required scope, space separated>"}); the client answers with the
//    single byte \x01 and that step fails with error_message = the JSON (Kafka
//    raises SaslAuthenticationException(<json>)). Any other answer also fails,
//    with the generic message (stricter than Kafka, which would re-parse it as
//    a new initial response). log_detail is set on both steps: the challenge
//    step's is what the network layer should log if the client just closes;
//  - an authzid other than the token's principal: failed, with Kafka's
//    "Authentication failed: Client requested an authorization id (<a>) that is
//    different from the token's principal name (<p>)";
//  - success: complete with an empty challenge; authorized_id() is the
//    principal, credential_expiry_ms() the token's exp (KIP-368 bounds the
//    session by it). SASL extensions are parsed and accepted (Kafka's default
//    validators accept every extension) and kept in extensions().
//
// Validators (OAuthBearerConfig::validator):
//  - kUnsecured: OAuthBearerUnsecuredValidatorCallbackHandler. alg must be
//    "none" and the signature empty; the principal claim a non-empty string;
//    iat optional (not after now + skew); exp required (now - skew before exp);
//    iat before exp; every required scope element present in the scope claim.
//  - kJwks: OAuthBearerValidatorCallbackHandler (KIP-768) with a JWKS file.
//    alg RS256/RS384/RS512/ES256/ES384 (never none; a "crit" header is refused),
//    the key chosen by kid, the signature verified; exp and iat required
//    (exp + skew after now, iat not after now + skew; nbf, if present, not
//    after now + skew); aud: with expected audiences configured one must be in
//    the claim, without any the token must carry no aud (jose4j's default, which
//    Kafka inherits); iss equal to the expected issuer when one is configured;
//    the sub claim (sasl.oauthbearer.sub.claim.name) a non-empty string and
//    the principal; the scope claim, if present, a string or list of strings.
//
// No token, key or JAAS value ever reaches error_message, log_detail or a
// config error: log details name the claim or check that failed.
//
// Threading: an OAuthBearerConfig is immutable once built and shared by all
// servers of a listener; each server/client object belongs to one exchange and
// one thread at a time. Validation is a few JSON parses and one signature check.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "security/jwks.h"
#include "security/sasl.h"

namespace flotilla::security {

inline constexpr std::string_view kOAuthBearer = "OAUTHBEARER";
inline constexpr std::string_view kOAuthBearerLoginModule =
    "org.apache.kafka.common.security.oauthbearer.OAuthBearerLoginModule";
// Values of <listener prefix>sasl.server.callback.handler.class.
inline constexpr std::string_view kOAuthBearerUnsecuredValidatorHandler =
    "org.apache.kafka.common.security.oauthbearer.internals.unsecured.OAuthBearerUnsecuredValidatorCallbackHandler";
inline constexpr std::string_view kOAuthBearerValidatorHandler =
    "org.apache.kafka.common.security.oauthbearer.OAuthBearerValidatorCallbackHandler";
inline constexpr std::string_view kOAuthBearerValidatorHandlerSecured =  // Kafka 3.1-3.3's name, deprecated
    "org.apache.kafka.common.security.oauthbearer.secured.OAuthBearerValidatorCallbackHandler";

// Config keys (broker properties, after the listener prefix
// listener.name.<listener>.oauthbearer. is resolved).
inline constexpr std::string_view kSaslServerCallbackHandlerClass = "sasl.server.callback.handler.class";
inline constexpr std::string_view kJwksEndpointUrl = "sasl.oauthbearer.jwks.endpoint.url";
inline constexpr std::string_view kExpectedAudience = "sasl.oauthbearer.expected.audience";
inline constexpr std::string_view kExpectedIssuer = "sasl.oauthbearer.expected.issuer";
inline constexpr std::string_view kSubClaimName = "sasl.oauthbearer.sub.claim.name";
inline constexpr std::string_view kScopeClaimName = "sasl.oauthbearer.scope.claim.name";
inline constexpr std::string_view kClockSkewSeconds = "sasl.oauthbearer.clock.skew.seconds";

struct OAuthBearerConfig {
  enum class Validator { kUnsecured, kJwks };
  Validator validator = Validator::kUnsecured;

  // kUnsecured: the listener's JAAS options.
  std::string unsecured_principal_claim = "sub";          // unsecuredValidatorPrincipalClaimName
  std::string unsecured_scope_claim = "scope";            // unsecuredValidatorScopeClaimName
  std::vector<std::string> unsecured_required_scope;      // unsecuredValidatorRequiredScope
  int64_t unsecured_clock_skew_ms = 0;                    // unsecuredValidatorAllowableClockSkewMs

  // kJwks: the sasl.oauthbearer.* properties.
  std::shared_ptr<const JwkSet> jwks;                     // from sasl.oauthbearer.jwks.endpoint.url
  std::vector<std::string> expected_audience;             // sasl.oauthbearer.expected.audience
  std::optional<std::string> expected_issuer;             // sasl.oauthbearer.expected.issuer
  std::string sub_claim_name = "sub";                     // sasl.oauthbearer.sub.claim.name
  std::string scope_claim_name = "scope";                 // sasl.oauthbearer.scope.claim.name
  int64_t clock_skew_seconds = 30;                        // sasl.oauthbearer.clock.skew.seconds

  // The clock (ms since the epoch); empty: the system clock. For tests.
  std::function<int64_t()> now_ms;
};

// Builds a listener's OAUTHBEARER configuration.
//  `props`: the broker properties that apply to the listener's OAUTHBEARER
//    servers, keyed by their unprefixed names (the keys above); the caller
//    resolves listener.name.<l>.oauthbearer.<key> over <key>.
//  `jaas_options`: the options of the listener's OAuthBearerLoginModule entry
//    (listener.name.<l>.oauthbearer.sasl.jaas.config), empty if none.
// The validator: kJwks when sasl.server.callback.handler.class names Kafka's
// OAuthBearerValidatorCallbackHandler (either package), kUnsecured when it is
// unset or names the unsecured handler; any other class is an error. The JWKS
// file is read here, once. nullptr with `error` (never quoting a JAAS value).
std::shared_ptr<const OAuthBearerConfig> make_oauthbearer_config(const std::map<std::string, std::string>& props,
                                                                 const std::map<std::string, std::string>& jaas_options,
                                                                 std::string& error);

// The parsed client initial response.
struct OAuthBearerInitialResponse {
  std::string authzid;                          // empty when absent
  std::string token;                            // the bearer token
  std::map<std::string, std::string> extensions;
};
// nullopt with `error` (which never quotes the token).
std::optional<OAuthBearerInitialResponse> parse_oauthbearer_initial_response(std::string_view message,
                                                                            std::string& error);
std::string format_oauthbearer_initial_response(const OAuthBearerInitialResponse& response);

// The result of validating a token.
struct OAuthBearerValidation {
  bool ok = false;
  std::string principal;
  int64_t expiry_ms = 0;
  std::vector<std::string> scope;
  std::string status;       // on failure: "invalid_token" or "insufficient_scope"
  std::string error_scope;  // on insufficient_scope: the required scope
  std::string detail;       // for the log
};
OAuthBearerValidation validate_oauthbearer_token(std::string_view token, const OAuthBearerConfig& config);

// Kafka's JSON error challenge for a failed validation.
std::string oauthbearer_error_json(const OAuthBearerValidation& failure);

class OAuthBearerServer : public SaslServer {
 public:
  virtual const std::map<std::string, std::string>& extensions() const = 0;
};
std::unique_ptr<SaslServer> make_oauthbearer_server(const SaslServerConfig& config);

// A client that sends `token` (with an optional authzid and SASL extensions).
// On the server's error challenge it answers \x01 (and remembers the JSON in
// error_challenge()); on the empty success token it is done.
class OAuthBearerClient : public SaslClient {
 public:
  virtual const std::string& error_challenge() const = 0;
};
std::unique_ptr<OAuthBearerClient> make_oauthbearer_client(std::string token, std::string authzid = {},
                                                           std::map<std::string, std::string> extensions = {});

}  // namespace flotilla::security
