// Hostile input for OAUTHBEARER: seeded random bytes, truncations and byte
// flips of valid messages, tokens and JWKS documents. Nothing may throw, every
// step must be well-formed (complete, failed with messages, or Kafka's JSON
// challenge), and a damaged signed token must never authenticate.
#include <gtest/gtest.h>

#include <random>

#include "oauth_test_keys.h"
#include "security/jwks.h"
#include "security/oauthbearer.h"

using namespace flotilla::security;
using namespace oauth_test;

namespace {

std::string oauth_mutate(const std::string& s, std::mt19937& rng) {
  std::string out = s;
  switch (rng() % 5) {
    case 0:
      out.resize(rng() % (s.size() + 1));
      break;
    case 1:
      if (!out.empty()) out[rng() % out.size()] = static_cast<char>(rng() % 256);
      break;
    case 2:
      if (!out.empty()) out[rng() % out.size()] = static_cast<char>(0x20 + rng() % 95);
      break;
    case 3:  // insert a separator or a structural character
      out.insert(out.begin() + static_cast<long>(rng() % (out.size() + 1)), "\x01.=,{}[]\""[rng() % 9]);
      break;
    default:
      out.resize(rng() % 300);
      for (char& c : out) c = static_cast<char>(rng() % 256);
  }
  return out;
}

// Checks one step's shape; returns true when it authenticated.
bool check_step(const SaslStep& s, const SaslServer& server, const std::string& token) {
  EXPECT_FALSE(s.complete && s.failed);
  if (s.complete) {
    EXPECT_FALSE(server.authorized_id().empty());
    EXPECT_TRUE(server.credential_expiry_ms().has_value());
    return true;
  }
  if (s.failed) {
    EXPECT_FALSE(s.error_message.empty());
    EXPECT_FALSE(s.log_detail.empty());
  } else {
    std::string json(s.challenge.begin(), s.challenge.end());
    std::string err;
    auto j = parse_json_object(json, err);
    EXPECT_TRUE(j) << json;
    if (j) {
      std::string status = j->value("status", "");
      EXPECT_TRUE(status == "invalid_token" || status == "insufficient_scope") << json;
    }
  }
  if (token.size() > 8) {
    EXPECT_EQ(s.error_message.find(token), std::string::npos);
    EXPECT_EQ(s.log_detail.find(token), std::string::npos);
  }
  return false;
}

}  // namespace

TEST(OAuthBearerRobustness, MutatedSignedMessagesNeverAuthenticateAnotherToken) {
  auto key = rsa_key();
  TempDir dir;
  nlohmann::json jwks = {{"keys", {rsa_jwk(key, "k1")}}};
  std::string url = "file://" + dir.write("jwks.json", jwks.dump());
  std::string error;
  auto built = make_oauthbearer_config({{"sasl.server.callback.handler.class", std::string(kOAuthBearerValidatorHandler)},
                                        {"sasl.oauthbearer.jwks.endpoint.url", url}},
                                       {}, error);
  ASSERT_TRUE(built) << error;
  auto oc = std::make_shared<OAuthBearerConfig>(*built);
  oc->now_ms = [] { return kNowMs; };
  SaslServerConfig config;
  config.enabled_mechanisms = {"OAUTHBEARER"};
  config.oauthbearer = oc;
  config.max_token_bytes = 4096;

  std::string token = sign_jws(key, "RS256", "k1", {{"sub", "alice"}, {"iat", kNowS}, {"exp", kNowS + 60}});
  std::string message = std::string("n,,\x01" "auth=Bearer ") + token + "\x01" "x=y\x01\x01";
  std::mt19937 rng(20261205);
  int authenticated = 0;
  for (int i = 0; i < 3000; ++i) {
    std::string m = oauth_mutate(message, rng);
    auto server = make_sasl_server("OAUTHBEARER", config);
    SaslStep s = server->evaluate(to_bytes(m));
    if (check_step(s, *server, token)) {
      ++authenticated;
      // Only damage outside the token (e.g. the scheme's case, an extension) may still pass.
      EXPECT_NE(m.find(token), std::string::npos);
      EXPECT_EQ(server->authorized_id(), "alice");
    } else if (!s.failed) {
      SaslStep last = server->evaluate(Bytes{0x01});
      EXPECT_TRUE(last.failed);
      EXPECT_FALSE(last.error_message.empty());
    }
  }
  // The intact message authenticates (the loop's assertions are not vacuous).
  auto server = make_sasl_server("OAUTHBEARER", config);
  EXPECT_TRUE(server->evaluate(to_bytes(message)).complete);
  EXPECT_LT(authenticated, 3000);
}

TEST(OAuthBearerRobustness, MutatedUnsecuredMessagesAreWellFormedSteps) {
  auto oc = std::make_shared<OAuthBearerConfig>();
  oc->now_ms = [] { return kNowMs; };
  oc->unsecured_required_scope = {"read"};
  SaslServerConfig config;
  config.enabled_mechanisms = {"OAUTHBEARER"};
  config.oauthbearer = oc;
  std::string token = unsecured_jws({{"sub", "alice"}, {"exp", kNowS + 60}, {"scope", "read"}});
  std::string message = std::string("n,a=alice,\x01" "auth=Bearer ") + token + "\x01\x01";
  std::mt19937 rng(7628);
  for (int i = 0; i < 3000; ++i) {
    std::string m = oauth_mutate(message, rng);
    auto server = make_sasl_server("OAUTHBEARER", config);
    SaslStep s = server->evaluate(to_bytes(m));
    check_step(s, *server, token);
    // Whatever comes next, the exchange ends failed.
    SaslStep next = server->evaluate(to_bytes(oauth_mutate("\x01", rng)));
    EXPECT_TRUE(next.failed);
  }
}

TEST(OAuthBearerRobustness, ParsersNeverThrow) {
  auto key = ec_key("P-256");
  std::string jwks = nlohmann::json({{"keys", {ec_jwk(key, "e", "P-256")}}}).dump();
  std::string token = sign_jws(key, "ES256", "e", {{"sub", "a"}, {"iat", 1}, {"exp", 2}});
  std::mt19937 rng(255);
  for (int i = 0; i < 3000; ++i) {
    std::string error;
    EXPECT_NO_THROW(JwkSet::parse(oauth_mutate(jwks, rng), error));
    EXPECT_NO_THROW(parse_jwt(oauth_mutate(token, rng), error));
    EXPECT_NO_THROW(base64url_decode(oauth_mutate(token, rng)));
    EXPECT_NO_THROW(parse_oauthbearer_initial_response(oauth_mutate("n,,\x01" "auth=Bearer a.b.c\x01\x01", rng), error));
    std::map<std::string, std::string> options = {{"unsecuredLoginStringClaim_sub", oauth_mutate("alice", rng)},
                                                   {oauth_mutate("unsecuredLoginListClaim_l", rng), oauth_mutate(",a,b", rng)}};
    EXPECT_NO_THROW(make_unsecured_jws(options, kNowMs, error));
  }
}
