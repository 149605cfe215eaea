// Delegation tokens at the SASL layer: the HMAC (HMAC-SHA512 of the token id
// keyed with the secret), SCRAM with Kafka's tokenauth=true extension on both
// ends (the client sends it, the server checks the token's credential derived
// from the HMAC and authorizes the token's owner), and the tokens that do not
// log in: unknown, expired, removed, wrong HMAC, disabled (no secret), and the
// token id used without the extension.
#include <gtest/gtest.h>

#include <chrono>

#include "security/base64.h"
#include "security/delegation_token.h"
#include "security/sasl.h"
#include "security/sasl_mechanisms.h"

using namespace flotilla::security;

namespace {

const std::string kSecret = "secret-key";

int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

DelegationToken token(const std::string& id, int64_t expiry) {
  DelegationToken t;
  t.token_id = id;
  t.owner = {"User", "alice"};
  t.requester = {"User", "alice"};
  t.issue_timestamp_ms = now_ms();
  t.expiry_timestamp_ms = expiry;
  t.max_timestamp_ms = expiry + 1000;
  return t;
}

struct Result {
  bool ok = false;
  bool token_authenticated = false;
  std::string authorized_id;
  std::optional<int64_t> expiry;
};

Result login(const std::shared_ptr<DelegationTokenCredentials>& creds, ScramMechanism m, const std::string& user,
             const std::string& password, bool token_auth) {
  SaslServerConfig cfg;
  cfg.enabled_mechanisms = {"SCRAM-SHA-256", "SCRAM-SHA-512"};
  cfg.scram = std::make_shared<CredentialCache>();
  cfg.tokens = creds;
  auto client = make_sasl_client(scram_mechanism_name(m), user, password, token_auth);
  auto server = make_sasl_server(scram_mechanism_name(m), cfg);
  Bytes msg = client->initial();
  std::string first(msg.begin(), msg.end());
  EXPECT_EQ(first.find(",tokenauth=true") != std::string::npos, token_auth);
  Result r;
  for (int i = 0; i < 3; ++i) {
    SaslStep s = server->evaluate(msg);
    if (s.failed) {
      EXPECT_EQ(s.log_detail.find(password), std::string::npos);
      return r;
    }
    auto next = client->evaluate(s.challenge);
    if (!next) return r;
    if (s.complete) {
      r.ok = client->done();
      r.authorized_id = server->authorized_id();
      r.token_authenticated = server->token_authenticated();
      r.expiry = server->credential_expiry_ms();
      return r;
    }
    msg = *next;
  }
  return r;
}

}  // namespace

TEST(DelegationToken, HmacIsHmacSha512OfTheIdWithTheSecret) {
  auto h = delegation_token_hmac("key", "The quick brown fox jumps over the lazy dog");
  // RFC 4231-style known value (HMAC-SHA512, key "key").
  EXPECT_EQ(base64_encode(h),
            "tCrwkFe6weLUFwjkipAuCbX/fxKrQopP6GZTxz3SSPuC+UilSfe3kaW0GRXuTR7Dk1NX5OIxclDQNyr6Lr7rOg==");
  EXPECT_NE(delegation_token_hmac("key", "a"), delegation_token_hmac("key2", "a"));
}

TEST(DelegationToken, ScramTokenAuthLogsInAsTheOwner) {
  auto creds = std::make_shared<DelegationTokenCredentials>(kSecret);
  int64_t expiry = now_ms() + 60'000;
  creds->publish({{"tok1", token("tok1", expiry)}});
  std::string password = base64_encode(delegation_token_hmac(kSecret, "tok1"));
  for (ScramMechanism m : {ScramMechanism::SCRAM_SHA_256, ScramMechanism::SCRAM_SHA_512}) {
    auto r = login(creds, m, "tok1", password, true);
    EXPECT_TRUE(r.ok);
    EXPECT_TRUE(r.token_authenticated);
    EXPECT_EQ(r.authorized_id, "alice");
    EXPECT_EQ(r.expiry, expiry);
  }
  // Wrong HMAC; the token id without tokenauth (an unknown user); unknown token.
  EXPECT_FALSE(login(creds, ScramMechanism::SCRAM_SHA_512, "tok1", base64_encode(delegation_token_hmac("other", "tok1")), true).ok);
  EXPECT_FALSE(login(creds, ScramMechanism::SCRAM_SHA_512, "tok1", password, false).ok);
  EXPECT_FALSE(login(creds, ScramMechanism::SCRAM_SHA_512, "nope", password, true).ok);
}

TEST(DelegationToken, ExpiredRemovedAndDisabledTokensDoNotLogIn) {
  auto creds = std::make_shared<DelegationTokenCredentials>(kSecret);
  creds->publish({{"old", token("old", now_ms() - 1)}, {"live", token("live", now_ms() + 60'000)}});
  EXPECT_FALSE(login(creds, ScramMechanism::SCRAM_SHA_256, "old", base64_encode(delegation_token_hmac(kSecret, "old")), true).ok);
  std::string live = base64_encode(delegation_token_hmac(kSecret, "live"));
  EXPECT_TRUE(login(creds, ScramMechanism::SCRAM_SHA_256, "live", live, true).ok);
  creds->publish({});
  EXPECT_FALSE(login(creds, ScramMechanism::SCRAM_SHA_256, "live", live, true).ok);

  auto disabled = std::make_shared<DelegationTokenCredentials>("");
  disabled->publish({{"live", token("live", now_ms() + 60'000)}});
  EXPECT_FALSE(disabled->find("live", ScramMechanism::SCRAM_SHA_256, now_ms()).has_value());
}

TEST(DelegationToken, RenewersAndOwnerMayRenew) {
  DelegationToken t = token("x", 10);
  t.renewers = {{"User", "bob"}};
  EXPECT_TRUE(t.may_renew({"User", "alice"}));
  EXPECT_TRUE(t.may_renew({"User", "bob"}));
  EXPECT_FALSE(t.may_renew({"User", "carol"}));
  EXPECT_TRUE(t.expired(t.max_timestamp_ms + 1));
  EXPECT_TRUE(t.expired(11));
  EXPECT_FALSE(t.expired(10));
}
