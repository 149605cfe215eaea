// SASL/OAUTHBEARER with signed JWTs (KIP-768): RS256 and ES256 tokens signed
// here with keys made by OpenSSL, their JWKS written to a temporary file and
// loaded through make_oauthbearer_config as a listener would.
#include <gtest/gtest.h>

#include "oauth_test_keys.h"
#include "security/oauthbearer.h"

using namespace flotilla::security;
using namespace oauth_test;

namespace {

const std::string kJwksInvalidToken = R"({"status":"invalid_token"})";

}  // namespace

// Outside the anonymous namespace: TEST_F classes derive from it, and unity
// builds include this file into another translation unit.
class OAuthBearerJwks : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    rsa_ = new PkeyPtr(rsa_key());
    other_rsa_ = new PkeyPtr(rsa_key());
    ec_ = new PkeyPtr(ec_key("P-256"));
    ec384_ = new PkeyPtr(ec_key("P-384"));
  }
  static void TearDownTestSuite() {
    delete rsa_;
    delete other_rsa_;
    delete ec_;
    delete ec384_;
  }

  void SetUp() override {
    nlohmann::json jwks = {{"keys",
                            {rsa_jwk(*rsa_, "rsa-1"), ec_jwk(*ec_, "ec-1", "P-256"), ec_jwk(*ec384_, "ec-2", "P-384"),
                             {{"kty", "oct"}, {"kid", "hmac"}, {"k", "c2VjcmV0"}}}}};
    jwks_url_ = "file://" + dir_.write("jwks.json", jwks.dump());
  }

  std::map<std::string, std::string> props(std::map<std::string, std::string> extra = {}) const {
    std::map<std::string, std::string> p = {
        {"sasl.server.callback.handler.class", std::string(kOAuthBearerValidatorHandler)},
        {"sasl.oauthbearer.jwks.endpoint.url", jwks_url_},
        {"sasl.oauthbearer.expected.audience", "kafka, other"},
        {"sasl.oauthbearer.expected.issuer", "https://idp.example.com"},
    };
    for (auto& [k, v] : extra) p[k] = v;
    return p;
  }

  SaslServerConfig config(std::map<std::string, std::string> extra = {}) const {
    std::string error;
    auto oc = make_oauthbearer_config(props(std::move(extra)), {}, error);
    EXPECT_TRUE(oc) << error;
    auto mutable_oc = std::make_shared<OAuthBearerConfig>(*oc);
    mutable_oc->now_ms = [] { return kNowMs; };
    SaslServerConfig c;
    c.enabled_mechanisms = {"OAUTHBEARER"};
    c.oauthbearer = mutable_oc;
    return c;
  }

  static nlohmann::json claims() {
    return {{"sub", "svc-orders"}, {"iss", "https://idp.example.com"}, {"aud", "kafka"},
            {"iat", kNowS - 5},    {"exp", kNowS + 600},               {"scope", "produce consume"}};
  }

  std::unique_ptr<SaslServer> accept(const std::string& token, const SaslServerConfig& c) const {
    auto server = make_sasl_server("OAUTHBEARER", c);
    SaslStep s = server->evaluate(initial_response(token));
    EXPECT_TRUE(s.complete) << s.log_detail;
    EXPECT_FALSE(s.failed);
    return server;
  }

  // Rejected as Kafka does: the JSON challenge, then failure after %x01. Returns the log detail.
  std::string reject(const std::string& token, const SaslServerConfig& c) const {
    auto server = make_sasl_server("OAUTHBEARER", c);
    SaslStep s = server->evaluate(initial_response(token));
    EXPECT_FALSE(s.complete);
    EXPECT_FALSE(s.failed);
    EXPECT_EQ(std::string(s.challenge.begin(), s.challenge.end()), kJwksInvalidToken);
    SaslStep last = server->evaluate(Bytes{0x01});
    EXPECT_TRUE(last.failed);
    EXPECT_EQ(last.error_message, kJwksInvalidToken);
    EXPECT_TRUE(server->authorized_id().empty());
    EXPECT_EQ(last.log_detail.find(token), std::string::npos);
    return last.log_detail;
  }

  static PkeyPtr* rsa_;
  static PkeyPtr* other_rsa_;
  static PkeyPtr* ec_;
  static PkeyPtr* ec384_;
  TempDir dir_;
  std::string jwks_url_;
};

PkeyPtr* OAuthBearerJwks::rsa_ = nullptr;
PkeyPtr* OAuthBearerJwks::other_rsa_ = nullptr;
PkeyPtr* OAuthBearerJwks::ec_ = nullptr;
PkeyPtr* OAuthBearerJwks::ec384_ = nullptr;

TEST_F(OAuthBearerJwks, LoadsTheUsableKeysAndSkipsOthers) {
  std::string error;
  auto set = JwkSet::load(jwks_url_, error);
  ASSERT_TRUE(set) << error;
  EXPECT_EQ(set->size(), 3u);
  EXPECT_EQ(set->skipped(), 1u);  // the symmetric key
}

TEST_F(OAuthBearerJwks, AcceptsRs256) {
  auto c = config();
  auto server = accept(sign_jws(*rsa_, "RS256", "rsa-1", claims()), c);
  EXPECT_EQ(server->authorized_id(), "svc-orders");
  EXPECT_EQ(server->credential_expiry_ms(), (kNowS + 600) * 1000);
}

TEST_F(OAuthBearerJwks, AcceptsRs384Rs512AndEs384) {
  auto c = config();
  accept(sign_jws(*rsa_, "RS384", "rsa-1", claims()), c);
  accept(sign_jws(*rsa_, "RS512", "rsa-1", claims()), c);
  accept(sign_jws(*ec384_, "ES384", "ec-2", claims()), c);
}

TEST_F(OAuthBearerJwks, AcceptsEs256AndAnAudienceList) {
  auto c = config();
  nlohmann::json cl = claims();
  cl["aud"] = nlohmann::json::array({"billing", "other"});
  auto server = accept(sign_jws(*ec_, "ES256", "ec-1", cl), c);
  EXPECT_EQ(server->authorized_id(), "svc-orders");
}

TEST_F(OAuthBearerJwks, WithoutKidTheOnlyFittingKeyIsUsed) {
  auto c = config();
  accept(sign_jws(*ec_, "ES256", "", claims()), c);  // the only P-256 key
  accept(sign_jws(*rsa_, "RS256", "", claims()), c);  // the only RSA key
}

TEST_F(OAuthBearerJwks, RejectsAWrongAudience) {
  nlohmann::json cl = claims();
  cl["aud"] = "billing";
  std::string detail = reject(sign_jws(*rsa_, "RS256", "rsa-1", cl), config());
  EXPECT_NE(detail.find("audience"), std::string::npos) << detail;
  cl.erase("aud");
  reject(sign_jws(*rsa_, "RS256", "rsa-1", cl), config());
}

TEST_F(OAuthBearerJwks, AnAudienceWithoutExpectedAudienceIsRefused) {
  auto c = config({{"sasl.oauthbearer.expected.audience", ""}});
  reject(sign_jws(*rsa_, "RS256", "rsa-1", claims()), c);
  nlohmann::json cl = claims();
  cl.erase("aud");
  accept(sign_jws(*rsa_, "RS256", "rsa-1", cl), c);
}

TEST_F(OAuthBearerJwks, RejectsAWrongIssuer) {
  nlohmann::json cl = claims();
  cl["iss"] = "https://evil.example.com";
  std::string detail = reject(sign_jws(*rsa_, "RS256", "rsa-1", cl), config());
  EXPECT_NE(detail.find("issuer"), std::string::npos) << detail;
}

TEST_F(OAuthBearerJwks, RejectsAnUnknownKid) {
  std::string detail = reject(sign_jws(*rsa_, "RS256", "rsa-9", claims()), config());
  EXPECT_NE(detail.find("kid"), std::string::npos) << detail;
  // A kid naming a key of another type than the algorithm.
  reject(sign_jws(*ec_, "ES256", "rsa-1", claims()), config());
}

TEST_F(OAuthBearerJwks, RejectsABadSignature) {
  // Signed by another key under a known kid.
  std::string detail = reject(sign_jws(*other_rsa_, "RS256", "rsa-1", claims()), config());
  EXPECT_NE(detail.find("signature"), std::string::npos) << detail;
  // A flipped bit in a good signature, and a payload swapped under a good signature.
  std::string good = sign_jws(*ec_, "ES256", "ec-1", claims());
  std::string flipped = good;
  char& c = flipped[flipped.size() - 5];
  c = c == 'A' ? 'B' : 'A';
  reject(flipped, config());
  nlohmann::json cl = claims();
  cl["sub"] = "admin";
  std::string forged = sign_jws(*ec_, "ES256", "ec-1", cl);
  std::string swapped = forged.substr(0, forged.rfind('.')) + good.substr(good.rfind('.'));
  reject(swapped, config());
  // An ECDSA signature one byte short (valid base64url).
  auto raw = base64url_decode(good.substr(good.rfind('.') + 1));
  ASSERT_TRUE(raw);
  raw->pop_back();
  detail = reject(good.substr(0, good.rfind('.') + 1) + base64url_encode(*raw), config());
  EXPECT_NE(detail.find("wrong length"), std::string::npos) << detail;
}

TEST_F(OAuthBearerJwks, RejectsAnExpiredTokenBeyondTheClockSkew) {
  nlohmann::json cl = claims();
  cl["exp"] = kNowS - 10;  // within the default 30 s skew
  accept(sign_jws(*rsa_, "RS256", "rsa-1", cl), config());
  cl["exp"] = kNowS - 31;
  std::string detail = reject(sign_jws(*rsa_, "RS256", "rsa-1", cl), config());
  EXPECT_NE(detail.find("expired"), std::string::npos) << detail;
  cl["exp"] = kNowS - 10;
  reject(sign_jws(*rsa_, "RS256", "rsa-1", cl), config({{"sasl.oauthbearer.clock.skew.seconds", "0"}}));
}

TEST_F(OAuthBearerJwks, RequiresIatAndHonoursNbf) {
  nlohmann::json cl = claims();
  cl.erase("iat");
  EXPECT_NE(reject(sign_jws(*rsa_, "RS256", "rsa-1", cl), config()).find("'iat' is missing"), std::string::npos);
  cl = claims();
  cl["nbf"] = kNowS + 120;
  EXPECT_NE(reject(sign_jws(*rsa_, "RS256", "rsa-1", cl), config()).find("nbf"), std::string::npos);
  cl["nbf"] = kNowS + 20;  // within the skew
  accept(sign_jws(*rsa_, "RS256", "rsa-1", cl), config());
  cl["iat"] = kNowS + 120;
  cl.erase("nbf");
  EXPECT_NE(reject(sign_jws(*rsa_, "RS256", "rsa-1", cl), config()).find("Issued At"), std::string::npos);
}

TEST_F(OAuthBearerJwks, RejectsNoneAndUnsupportedAlgorithms) {
  std::string detail = reject(unsecured_jws(claims()), config());
  EXPECT_NE(detail.find("none"), std::string::npos) << detail;
  // alg none with a signature appended, and HS256.
  reject(unsecured_jws(claims()) + "c2ln", config());
  detail = reject(unsecured_jws(claims(), {{"alg", "HS256"}, {"kid", "hmac"}}) + "c2ln", config());
  EXPECT_NE(detail.find("unsupported"), std::string::npos) << detail;
  // A crit header.
  detail = reject(sign_jws(*rsa_, "RS256", "rsa-1", claims(), {{"crit", {"exp"}}}), config());
  EXPECT_NE(detail.find("crit"), std::string::npos) << detail;
}

TEST_F(OAuthBearerJwks, UsesTheConfiguredSubClaim) {
  auto c = config({{"sasl.oauthbearer.sub.claim.name", "client_id"}});
  reject(sign_jws(*rsa_, "RS256", "rsa-1", claims()), c);
  nlohmann::json cl = claims();
  cl["client_id"] = "orders-app";
  auto server = accept(sign_jws(*rsa_, "RS256", "rsa-1", cl), c);
  EXPECT_EQ(server->authorized_id(), "orders-app");
  // A scope claim of the wrong type.
  cl["scope"] = nlohmann::json::object();
  reject(sign_jws(*rsa_, "RS256", "rsa-1", cl), c);
}

TEST_F(OAuthBearerJwks, JwksWithoutUsableKeysOrSmallRsaKeysIsAnError) {
  std::string error;
  EXPECT_FALSE(JwkSet::parse(R"({"keys":[]})", error));
  EXPECT_FALSE(JwkSet::parse(R"({"nokeys":1})", error));
  EXPECT_FALSE(JwkSet::parse("not json", error));
  nlohmann::json small = {{"keys", {rsa_jwk(rsa_key(1024), "small")}}};
  EXPECT_FALSE(JwkSet::parse(small.dump(), error));
  // An EC point that is not on the curve.
  nlohmann::json bad = ec_jwk(*ec_, "bad", "P-256");
  Bytes x(32, 0x01);
  bad["x"] = base64url_encode(x);
  EXPECT_FALSE(JwkSet::parse(nlohmann::json({{"keys", {bad}}}).dump(), error));
  // A key marked for encryption.
  nlohmann::json enc = rsa_jwk(*rsa_, "enc");
  enc["use"] = "enc";
  EXPECT_FALSE(JwkSet::parse(nlohmann::json({{"keys", {enc}}}).dump(), error));
  // A non-file URL.
  EXPECT_FALSE(JwkSet::load("ftp://x/jwks", error));
  EXPECT_FALSE(JwkSet::load("file://otherhost/jwks", error));
}

TEST_F(OAuthBearerJwks, ConfigReadsTheListenerKeys) {
  std::string error;
  auto oc = make_oauthbearer_config(props({{"sasl.oauthbearer.scope.claim.name", "scp"},
                                           {"sasl.oauthbearer.clock.skew.seconds", "5"}}),
                                    {}, error);
  ASSERT_TRUE(oc) << error;
  EXPECT_EQ(oc->validator, OAuthBearerConfig::Validator::kJwks);
  EXPECT_EQ(oc->expected_audience, (std::vector<std::string>{"kafka", "other"}));
  EXPECT_EQ(oc->expected_issuer, "https://idp.example.com");
  EXPECT_EQ(oc->sub_claim_name, "sub");
  EXPECT_EQ(oc->scope_claim_name, "scp");
  EXPECT_EQ(oc->clock_skew_seconds, 5);
  // Kafka 3.1-3.3's class name selects the same validator.
  auto old = make_oauthbearer_config(
      props({{"sasl.server.callback.handler.class", std::string(kOAuthBearerValidatorHandlerSecured)}}), {}, error);
  ASSERT_TRUE(old) << error;
  EXPECT_EQ(old->validator, OAuthBearerConfig::Validator::kJwks);
  EXPECT_FALSE(make_oauthbearer_config(props({{"sasl.oauthbearer.clock.skew.seconds", "x"}}), {}, error));
}
