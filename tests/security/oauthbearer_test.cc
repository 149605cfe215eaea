// SASL/OAUTHBEARER: the client's initial response, Kafka's unsecured
// validator, the JSON error challenge then %x01, the client, and config.
#include <gtest/gtest.h>

#include "oauth_test_keys.h"
#include "security/jaas.h"
#include "security/oauthbearer.h"

using namespace flotilla::security;
using namespace oauth_test;

namespace {

const std::string kOAuthGeneric =
    "Authentication failed during authentication due to invalid credentials with SASL mechanism OAUTHBEARER";
const std::string kOAuthInvalidToken = R"({"status":"invalid_token"})";

SaslServerConfig unsecured_config(std::function<void(OAuthBearerConfig&)> tweak = {}) {
  auto oc = std::make_shared<OAuthBearerConfig>();
  oc->now_ms = [] { return kNowMs; };
  if (tweak) tweak(*oc);
  SaslServerConfig c;
  c.enabled_mechanisms = {"OAUTHBEARER"};
  c.oauthbearer = oc;
  return c;
}

nlohmann::json good_claims() { return {{"sub", "alice"}, {"iat", kNowS - 10}, {"exp", kNowS + 3600}}; }

struct Exchange {
  std::unique_ptr<SaslServer> server;
  SaslStep first;
};

Exchange start(const Bytes& message, const SaslServerConfig& config = unsecured_config()) {
  Exchange e;
  e.server = make_sasl_server("OAUTHBEARER", config);
  EXPECT_NE(e.server, nullptr);
  e.first = e.server->evaluate(message);
  return e;
}

// A token the validator rejects: a challenge with the JSON error, then the
// client's %x01 fails the exchange with that JSON as the message.
SaslStep expect_rejected(const std::string& token, const std::string& json = kOAuthInvalidToken,
                         const SaslServerConfig& config = unsecured_config()) {
  Exchange e = start(initial_response(token), config);
  EXPECT_FALSE(e.first.failed) << e.first.error_message;
  EXPECT_FALSE(e.first.complete);
  EXPECT_EQ(std::string(e.first.challenge.begin(), e.first.challenge.end()), json);
  EXPECT_FALSE(e.first.log_detail.empty());
  SaslStep last = e.server->evaluate(Bytes{0x01});
  EXPECT_TRUE(last.failed);
  EXPECT_FALSE(last.complete);
  EXPECT_EQ(last.error_message, json);
  EXPECT_TRUE(e.server->authorized_id().empty());
  EXPECT_EQ(e.server->credential_expiry_ms(), std::nullopt);
  for (const std::string& field : {e.first.log_detail, last.log_detail, last.error_message})
    EXPECT_EQ(field.find(token), std::string::npos) << "token leaked: " << field;
  return last;
}

}  // namespace

TEST(OAuthBearerInitialResponse, ParsesAuthzidTokenAndExtensions) {
  std::string err;
  auto r = parse_oauthbearer_initial_response(
      std::string("n,a=al=2Cic=3De,\x01" "auth=bearer  abc.def-_.\x01" "traceId=x y\x01" "team=a\x01\x01"), err);
  ASSERT_TRUE(r) << err;
  EXPECT_EQ(r->authzid, "al,ic=e");
  EXPECT_EQ(r->token, "abc.def-_.");
  EXPECT_EQ(r->extensions, (std::map<std::string, std::string>{{"team", "a"}, {"traceId", "x y"}}));
  // Round trip through the formatter.
  auto again = parse_oauthbearer_initial_response(format_oauthbearer_initial_response(*r), err);
  ASSERT_TRUE(again) << err;
  EXPECT_EQ(again->authzid, r->authzid);
  EXPECT_EQ(again->token, r->token);
  EXPECT_EQ(again->extensions, r->extensions);
}

TEST(OAuthBearerInitialResponse, RejectsMalformedMessages) {
  const std::vector<std::string> bad = {
      "",
      "n,,",
      std::string("y,,\x01" "auth=Bearer t\x01\x01"),          // channel binding flag other than n
      std::string("n,,\x01" "auth=Bearer t\x01"),              // missing final %x01
      std::string("n,,\x01" "auth=Bearer t\x01\x01" "x"),      // trailing data
      std::string("n,,\x01\x01"),                              // no auth
      std::string("n,,\x01" "auth=Basic dXNlcjpwYXNz\x01\x01"),  // wrong scheme
      std::string("n,,\x01" "auth=Bearer\x01\x01"),            // no token
      std::string("n,,\x01" "auth=Bearer a b\x01\x01"),        // space in the token
      std::string("n,,\x01" "auth=Bearer a+b\x01\x01"),        // '+' not a token character
      std::string("n,,\x01" "auth=Bearer t\x01" "k1=v\x01\x01"),   // key with a digit
      std::string("n,,\x01" "auth=Bearer t\x01" "k=\x01\x01"),     // empty value
      std::string("n,,\x01" "auth=Bearer t\x01" "k=v\x01" "k=w\x01\x01"),  // duplicate extension
      std::string("n,,\x01" "auth=Bearer t\x01" "auth=Bearer u\x01\x01"),  // auth twice
      std::string("n,a=,\x01" "auth=Bearer t\x01\x01"),        // empty authzid
      std::string("n,a=x=41,\x01" "auth=Bearer t\x01\x01"),    // bad saslname escape
      std::string("n,a=x\x01" "auth=Bearer t\x01\x01"),        // unterminated authzid
      std::string("n,,\x01" "auth=Bearer t\x01" "k=v\x02\x01\x01"),  // control byte in a value
  };
  for (const std::string& m : bad) {
    std::string err;
    EXPECT_FALSE(parse_oauthbearer_initial_response(m, err)) << "accepted: " << m;
    EXPECT_TRUE(err.starts_with("Invalid OAUTHBEARER client first message")) << err;
  }
}

TEST(OAuthBearerUnsecured, AcceptsAValidToken) {
  std::string token = unsecured_jws(good_claims());
  Exchange e = start(initial_response(token));
  EXPECT_TRUE(e.first.complete) << e.first.log_detail;
  EXPECT_FALSE(e.first.failed);
  EXPECT_TRUE(e.first.challenge.empty());
  EXPECT_EQ(e.server->mechanism(), "OAUTHBEARER");
  EXPECT_EQ(e.server->authorized_id(), "alice");
  EXPECT_EQ(e.server->credential_expiry_ms(), (kNowS + 3600) * 1000);
  // No second token.
  EXPECT_TRUE(e.server->evaluate(initial_response(token)).failed);
}

TEST(OAuthBearerUnsecured, NoConfigMeansKafkasDefaultUnsecuredValidator) {
  SaslServerConfig c;
  c.enabled_mechanisms = {"OAUTHBEARER"};
  nlohmann::json claims = {{"sub", "bob"}, {"exp", 4102444800}};  // 2100-01-01
  Exchange e = start(initial_response(unsecured_jws(claims)), c);
  EXPECT_TRUE(e.first.complete) << e.first.log_detail;
  EXPECT_EQ(e.server->authorized_id(), "bob");
}

TEST(OAuthBearerUnsecured, NotEnabledMeansNoServer) {
  SaslServerConfig c;
  c.enabled_mechanisms = {"PLAIN"};
  EXPECT_EQ(make_sasl_server("OAUTHBEARER", c), nullptr);
}

TEST(OAuthBearerUnsecured, AcceptsATokenFromTheUnsecuredLoginModule) {
  std::string jaas_error;
  auto jaas = parse_jaas_config(
      "org.apache.kafka.common.security.oauthbearer.OAuthBearerLoginModule required "
      "unsecuredLoginStringClaim_sub=\"alice\" unsecuredLoginListClaim_scope=\",read,write\" "
      "unsecuredLoginNumberClaim_level=\"3\" unsecuredLoginLifetimeSeconds=\"60\";",
      jaas_error);
  ASSERT_TRUE(jaas) << jaas_error;
  std::string error;
  auto token = make_unsecured_jws(jaas->options, kNowMs, error);
  ASSERT_TRUE(token) << error;
  auto jwt = parse_jwt(*token, error);
  ASSERT_TRUE(jwt) << error;
  EXPECT_EQ(jwt->header, nlohmann::json({{"alg", "none"}}));
  EXPECT_EQ(jwt->claims["scope"], nlohmann::json({"read", "write"}));
  EXPECT_EQ(jwt->claims["level"], 3);
  EXPECT_EQ(jwt->claims["exp"].get<double>(), kNowS + 60);
  auto config = unsecured_config([](OAuthBearerConfig& c) { c.unsecured_required_scope = {"write"}; });
  Exchange e = start(initial_response(*token), config);
  EXPECT_TRUE(e.first.complete) << e.first.log_detail;
  EXPECT_EQ(e.server->authorized_id(), "alice");
  EXPECT_EQ(e.server->credential_expiry_ms(), kNowMs + 60'000);
}

TEST(OAuthBearerUnsecured, LoginModuleOptionErrors) {
  std::string error;
  EXPECT_FALSE(make_unsecured_jws({{"unsecuredLoginStringClaim_name", "x"}}, kNowMs, error));
  EXPECT_NE(error.find("unsecuredLoginStringClaim_sub"), std::string::npos) << error;
  EXPECT_FALSE(make_unsecured_jws({{"unsecuredLoginStringClaim_sub", "a"}, {"unsecuredLoginStringClaim_exp", "1"}},
                                  kNowMs, error));
  EXPECT_FALSE(make_unsecured_jws({{"unsecuredLoginStringClaim_sub", "a"}, {"unsecuredLoginNumberClaim_n", "x1"}},
                                  kNowMs, error));
  EXPECT_FALSE(make_unsecured_jws({{"unsecuredLoginStringClaim_sub", "a"}, {"unsecuredLoginLifetimeSeconds", "-5"}},
                                  kNowMs, error));
  EXPECT_FALSE(make_unsecured_jws({{"unsecuredLoginStringClaim_sub", "a"}, {"unsecuredLoginNumberClaim_sub", "1"}},
                                  kNowMs, error));
  auto custom = make_unsecured_jws({{"unsecuredLoginPrincipalClaimName", "user"}, {"unsecuredLoginStringClaim_user", "c"}},
                                   kNowMs, error);
  EXPECT_TRUE(custom) << error;
}

TEST(OAuthBearerUnsecured, RejectsAnExpiredToken) {
  nlohmann::json claims = {{"sub", "alice"}, {"iat", kNowS - 100}, {"exp", kNowS - 1}};
  SaslStep s = expect_rejected(unsecured_jws(claims));
  EXPECT_NE(s.log_detail.find("Expiration"), std::string::npos) << s.log_detail;
  // exp == now is expired too.
  expect_rejected(unsecured_jws({{"sub", "alice"}, {"exp", kNowS}}));
}

TEST(OAuthBearerUnsecured, AllowableClockSkewAppliesToExpAndIat) {
  auto skewed = unsecured_config([](OAuthBearerConfig& c) { c.unsecured_clock_skew_ms = 5000; });
  Exchange e = start(initial_response(unsecured_jws({{"sub", "alice"}, {"exp", kNowS - 2}})), skewed);
  EXPECT_TRUE(e.first.complete) << e.first.log_detail;
  Exchange f = start(initial_response(unsecured_jws({{"sub", "alice"}, {"iat", kNowS + 4}, {"exp", kNowS + 60}})), skewed);
  EXPECT_TRUE(f.first.complete) << f.first.log_detail;
  // Without skew, an iat in the future is refused.
  expect_rejected(unsecured_jws({{"sub", "alice"}, {"iat", kNowS + 4}, {"exp", kNowS + 60}}));
}

TEST(OAuthBearerUnsecured, RejectsMissingOrInconsistentTimes) {
  expect_rejected(unsecured_jws({{"sub", "alice"}}));                                       // no exp
  expect_rejected(unsecured_jws({{"sub", "alice"}, {"exp", "tomorrow"}}));                  // not a number
  auto skewed = unsecured_config([](OAuthBearerConfig& c) { c.unsecured_clock_skew_ms = 60'000; });
  SaslStep s = expect_rejected(unsecured_jws({{"sub", "alice"}, {"iat", kNowS + 10}, {"exp", kNowS + 5}}),  // iat after exp
                               kOAuthInvalidToken, skewed);
  EXPECT_NE(s.log_detail.find("not before the Expiration Time"), std::string::npos) << s.log_detail;
  expect_rejected(unsecured_jws({{"sub", "alice"}, {"exp", 1e300}}));                       // out of range
}

TEST(OAuthBearerUnsecured, RejectsAMissingRequiredScope) {
  auto config = unsecured_config([](OAuthBearerConfig& c) { c.unsecured_required_scope = {"read", "admin"}; });
  nlohmann::json claims = good_claims();
  claims["scope"] = "read write";
  expect_rejected(unsecured_jws(claims), R"({"status":"insufficient_scope", "scope":"read admin"})", config);
  claims["scope"] = "read admin";
  EXPECT_TRUE(start(initial_response(unsecured_jws(claims)), config).first.complete);
  claims["scope"] = nlohmann::json::array({"admin", "read"});
  EXPECT_TRUE(start(initial_response(unsecured_jws(claims)), config).first.complete);
  claims["scope"] = 7;  // neither string nor list
  expect_rejected(unsecured_jws(claims), kOAuthInvalidToken, config);
}

TEST(OAuthBearerUnsecured, UsesTheConfiguredPrincipalClaim) {
  auto config = unsecured_config([](OAuthBearerConfig& c) { c.unsecured_principal_claim = "preferred_username"; });
  SaslStep s = expect_rejected(unsecured_jws(good_claims()), kOAuthInvalidToken, config);  // only "sub"
  EXPECT_NE(s.log_detail.find("preferred_username"), std::string::npos) << s.log_detail;
  nlohmann::json claims = good_claims();
  claims["preferred_username"] = "carol";
  Exchange e = start(initial_response(unsecured_jws(claims)), config);
  EXPECT_TRUE(e.first.complete);
  EXPECT_EQ(e.server->authorized_id(), "carol");
  // A principal claim that is not a string, or empty.
  expect_rejected(unsecured_jws({{"sub", 42}, {"exp", kNowS + 60}}));
  expect_rejected(unsecured_jws({{"sub", ""}, {"exp", kNowS + 60}}));
}

TEST(OAuthBearerUnsecured, RejectsAnAlgorithmOtherThanNoneAndSignatures) {
  expect_rejected(unsecured_jws(good_claims(), {{"alg", "HS256"}}));
  expect_rejected(unsecured_jws(good_claims(), {{"typ", "JWT"}}));  // no alg
  expect_rejected(unsecured_jws(good_claims()) + "c2ln");          // a signature
}

TEST(OAuthBearerUnsecured, RejectsMalformedTokens) {
  std::string good = unsecured_jws(good_claims());
  std::string header = good.substr(0, good.find('.'));
  expect_rejected(header + ".e30");                                   // two sections
  expect_rejected(header + ".e30..");                                 // four sections
  SaslStep s = expect_rejected(header + ".A.");                       // base64url of impossible length
  EXPECT_NE(s.log_detail.find("base64url"), std::string::npos) << s.log_detail;
  s = expect_rejected(header + ".e31.");                              // non-canonical (unused bits set)
  EXPECT_NE(s.log_detail.find("base64url"), std::string::npos) << s.log_detail;
  EXPECT_FALSE(base64url_decode("e30="));                             // padded ('=' cannot even reach the validator)
  EXPECT_FALSE(base64url_decode("e3+/"));
  EXPECT_EQ(base64url_decode("e30"), to_bytes("{}"));
  expect_rejected(header + "." + b64json(nlohmann::json::array({1})) + ".");  // claims not an object
  expect_rejected(b64json({{"alg", "none"}}) + "." + base64url_encode(to_bytes("{\"sub\":")) + ".");  // bad JSON
  std::string deep(100, '[');
  s = expect_rejected(header + "." + base64url_encode(to_bytes("{\"a\":" + deep + std::string(100, ']') + "}")) + ".");
  EXPECT_NE(s.log_detail.find("nested too deeply"), std::string::npos) << s.log_detail;
}

TEST(OAuthBearerServer, AMalformedMessageFailsAtOnceWithTheGenericMessage) {
  Exchange e = start(to_bytes(std::string("n,,\x01" "auth=Basic abc\x01\x01")));
  EXPECT_TRUE(e.first.failed);
  EXPECT_EQ(e.first.error_message, kOAuthGeneric);
  EXPECT_TRUE(e.first.challenge.empty());
  EXPECT_NE(e.first.log_detail.find("scheme"), std::string::npos) << e.first.log_detail;
}

TEST(OAuthBearerServer, AnOversizeMessageFailsAtOnce) {
  auto config = unsecured_config();
  config.max_token_bytes = 1024;
  nlohmann::json claims = good_claims();
  claims["pad"] = std::string(2000, 'x');
  Exchange e = start(initial_response(unsecured_jws(claims)), config);
  EXPECT_TRUE(e.first.failed);
  EXPECT_EQ(e.first.error_message, kOAuthGeneric);
  EXPECT_NE(e.first.log_detail.find("exceeds the limit"), std::string::npos);
}

TEST(OAuthBearerServer, AnythingButKvsepAfterTheErrorChallengeFails) {
  std::string expired = unsecured_jws({{"sub", "alice"}, {"exp", kNowS - 100}});
  Exchange e = start(initial_response(expired));
  ASSERT_FALSE(e.first.failed);
  // A second try with a good token is not allowed.
  SaslStep s = e.server->evaluate(initial_response(unsecured_jws(good_claims())));
  EXPECT_TRUE(s.failed);
  EXPECT_FALSE(s.complete);
  EXPECT_EQ(s.error_message, kOAuthGeneric);
  EXPECT_TRUE(e.server->authorized_id().empty());
}

TEST(OAuthBearerServer, AuthzidMustBeThePrincipal) {
  std::string token = unsecured_jws(good_claims());
  Exchange same = start(initial_response(token, "n,a=alice,"));
  EXPECT_TRUE(same.first.complete);
  Exchange other = start(initial_response(token, "n,a=bob,"));
  EXPECT_TRUE(other.first.failed);
  EXPECT_EQ(other.first.error_message,
            "Authentication failed: Client requested an authorization id (bob) that is different from the token's "
            "principal name (alice)");
  EXPECT_TRUE(other.server->authorized_id().empty());
}

TEST(OAuthBearerServer, KeepsTheExtensions) {
  std::string m = "n,,\x01" "auth=Bearer " + unsecured_jws(good_claims()) + "\x01" "logicalCluster=lkc-1\x01\x01";
  Exchange e = start(to_bytes(m));
  ASSERT_TRUE(e.first.complete);
  auto* server = dynamic_cast<OAuthBearerServer*>(e.server.get());
  ASSERT_NE(server, nullptr);
  EXPECT_EQ(server->extensions(), (std::map<std::string, std::string>{{"logicalCluster", "lkc-1"}}));
}

TEST(OAuthBearerClientTest, SendsTheTokenAndAnswersAnErrorWithKvsep) {
  auto client = make_oauthbearer_client("tok.en.", "alice", {{"ext", "v"}});
  EXPECT_EQ(client->mechanism(), "OAUTHBEARER");
  Bytes first = client->initial();
  EXPECT_EQ(std::string(first.begin(), first.end()), std::string("n,a=alice,\x01" "auth=Bearer tok.en.\x01" "ext=v\x01\x01"));
  auto answer = client->evaluate(to_bytes(kOAuthInvalidToken));
  ASSERT_TRUE(answer);
  EXPECT_EQ(*answer, Bytes{0x01});
  EXPECT_FALSE(client->done());
  EXPECT_EQ(client->error_challenge(), kOAuthInvalidToken);
  EXPECT_FALSE(client->evaluate({}));  // nothing after the error
}

TEST(OAuthBearerClientTest, FullExchangesWithTheServer) {
  auto config = unsecured_config();
  {
    auto client = make_oauthbearer_client(unsecured_jws(good_claims()));
    auto server = make_sasl_server("OAUTHBEARER", config);
    SaslStep s = server->evaluate(client->initial());
    ASSERT_TRUE(s.complete);
    auto reply = client->evaluate(s.challenge);
    ASSERT_TRUE(reply);
    EXPECT_TRUE(client->done());
    EXPECT_EQ(server->authorized_id(), "alice");
  }
  {
    auto client = make_oauthbearer_client(unsecured_jws({{"sub", "alice"}, {"exp", kNowS - 1}}));
    auto server = make_sasl_server("OAUTHBEARER", config);
    SaslStep s = server->evaluate(client->initial());
    ASSERT_FALSE(s.failed);
    auto reply = client->evaluate(s.challenge);
    ASSERT_TRUE(reply);
    SaslStep last = server->evaluate(*reply);
    EXPECT_TRUE(last.failed);
    EXPECT_EQ(last.error_message, kOAuthInvalidToken);
    EXPECT_FALSE(client->done());
  }
}

TEST(OAuthBearerConfigTest, UnsecuredOptionsFromJaas) {
  std::string error;
  auto c = make_oauthbearer_config({}, {{"unsecuredValidatorPrincipalClaimName", "user"},
                                        {"unsecuredValidatorScopeClaimName", "scp"},
                                        {"unsecuredValidatorRequiredScope", "a b,c"},
                                        {"unsecuredValidatorAllowableClockSkewMs", "250"}},
                                   error);
  ASSERT_TRUE(c) << error;
  EXPECT_EQ(c->validator, OAuthBearerConfig::Validator::kUnsecured);
  EXPECT_EQ(c->unsecured_principal_claim, "user");
  EXPECT_EQ(c->unsecured_scope_claim, "scp");
  EXPECT_EQ(c->unsecured_required_scope, (std::vector<std::string>{"a", "b", "c"}));
  EXPECT_EQ(c->unsecured_clock_skew_ms, 250);
  EXPECT_FALSE(make_oauthbearer_config({}, {{"unsecuredValidatorAllowableClockSkewMs", "-1"}}, error));
  EXPECT_NE(error.find("unsecuredValidatorAllowableClockSkewMs"), std::string::npos);
  EXPECT_FALSE(make_oauthbearer_config({}, {{"unsecuredValidatorPrincipalClaimName", " "}}, error));
}

TEST(OAuthBearerConfigTest, HandlerClassSelectsTheValidator) {
  std::string error;
  auto c = make_oauthbearer_config({{"sasl.server.callback.handler.class", std::string(kOAuthBearerUnsecuredValidatorHandler)}},
                                   {}, error);
  ASSERT_TRUE(c) << error;
  EXPECT_EQ(c->validator, OAuthBearerConfig::Validator::kUnsecured);
  EXPECT_FALSE(make_oauthbearer_config({{"sasl.server.callback.handler.class", "com.example.Handler"}}, {}, error));
  EXPECT_NE(error.find("not supported"), std::string::npos) << error;
  EXPECT_FALSE(make_oauthbearer_config({{"sasl.server.callback.handler.class", std::string(kOAuthBearerValidatorHandler)}},
                                       {}, error));
  EXPECT_NE(error.find("sasl.oauthbearer.jwks.endpoint.url"), std::string::npos) << error;
  EXPECT_FALSE(make_oauthbearer_config({{"sasl.server.callback.handler.class", std::string(kOAuthBearerValidatorHandler)},
                                        {"sasl.oauthbearer.jwks.endpoint.url", "https://idp.example.com/jwks"}},
                                       {}, error));
  EXPECT_NE(error.find("not supported"), std::string::npos) << error;
  EXPECT_FALSE(make_oauthbearer_config({{"sasl.server.callback.handler.class", std::string(kOAuthBearerValidatorHandler)},
                                        {"sasl.oauthbearer.jwks.endpoint.url", "file:///nonexistent/jwks.json"}},
                                       {}, error));
  EXPECT_NE(error.find("cannot be read"), std::string::npos) << error;
}
