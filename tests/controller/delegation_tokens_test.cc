// Delegation tokens on the controller, as Kafka's DelegationTokenControlManager:
// disabled without a secret key, refused below metadata.version 3.6-IV2,
// lifetimes bounded by the configuration, the HMAC = HMAC-SHA512(secret, id),
// renew/expire only by the owner or a renewer, expired and unknown tokens,
// expire-now removing the token, the periodic sweep of expired tokens, and
// the image (and snapshot records) that result. Deterministic: virtual
// monotonic and wall clocks.
#include <gtest/gtest.h>

#include "harness.h"
#include "metadata/snapshot.h"
#include "security/delegation_token.h"

using namespace flotilla;
using namespace flotilla::controller;
using namespace flotilla::controller::testing;

namespace {

const std::string kSecret = "the-secret-key";
const security::KafkaPrincipal kAlice{"User", "alice"}, kBob{"User", "bob"}, kCarol{"User", "carol"};

struct Tokens : Harness {
  int64_t wall = 1'700'000'000'000;
  static ControllerConfig cfg(std::string secret) {
    ControllerConfig c;
    c.delegation_token_secret_key = std::move(secret);
    c.delegation_token_max_lifetime_ms = 10'000;
    c.delegation_token_expiry_time_ms = 4'000;
    c.delegation_token_expiry_check_interval_ms = 1'000;
    return c;
  }
  explicit Tokens(std::string secret = kSecret, int16_t mv = metadata::kLatestProductionMetadataVersion)
      : Harness(mv, with_wall(cfg(std::move(secret)))) {}
  ControllerConfig with_wall(ControllerConfig c) {
    c.wall_clock = [this] { return wall; };
    return c;
  }

  msg::CreateDelegationTokenResponse create(const security::KafkaPrincipal& caller, int64_t max_lifetime = -1,
                                            std::vector<std::string> renewers = {}, std::optional<std::string> owner = std::nullopt) {
    msg::CreateDelegationTokenRequest req;
    req.max_lifetime_ms = max_lifetime;
    req.owner_principal_type = owner ? std::optional<std::string>("User") : std::nullopt;
    req.owner_principal_name = owner;
    for (auto& r : renewers) req.renewers.push_back({"User", r});
    return call<msg::CreateDelegationTokenResponse>([&](auto done) { controller->create_delegation_token(req, 3, caller, done); });
  }
  msg::RenewDelegationTokenResponse renew(const security::KafkaPrincipal& caller, std::vector<uint8_t> hmac, int64_t period) {
    msg::RenewDelegationTokenRequest req;
    req.hmac = std::move(hmac);
    req.renew_period_ms = period;
    return call<msg::RenewDelegationTokenResponse>([&](auto done) { controller->renew_delegation_token(req, 2, caller, done); });
  }
  msg::ExpireDelegationTokenResponse expire(const security::KafkaPrincipal& caller, std::vector<uint8_t> hmac, int64_t period) {
    msg::ExpireDelegationTokenRequest req;
    req.hmac = std::move(hmac);
    req.expiry_time_period_ms = period;
    return call<msg::ExpireDelegationTokenResponse>([&](auto done) { controller->expire_delegation_token(req, 2, caller, done); });
  }
};

TEST(ControllerDelegationTokens, CreateWritesARecordAndAnswersTheHmac) {
  Tokens h;
  auto r = h.create(kAlice, 60'000, {"bob"});
  ASSERT_EQ(r.error_code, 0);
  EXPECT_EQ(r.principal_name, "alice");
  EXPECT_EQ(r.token_requester_principal_name, "alice");
  EXPECT_EQ(r.issue_timestamp_ms, h.wall);
  EXPECT_EQ(r.max_timestamp_ms, h.wall + 10'000);    // the configured max wins over a longer request
  EXPECT_EQ(r.expiry_timestamp_ms, h.wall + 4'000);  // delegation.token.expiry.time.ms
  EXPECT_EQ(r.token_id.size(), 22u);                 // Kafka's Uuid text
  EXPECT_EQ(r.hmac, security::delegation_token_hmac(kSecret, r.token_id));
  EXPECT_EQ(r.hmac.size(), 64u);

  const auto& tokens = h.image()->delegation_tokens();
  ASSERT_EQ(tokens.size(), 1u);
  const auto& t = tokens.at(r.token_id);
  EXPECT_EQ(t.owner, kAlice);
  EXPECT_EQ(t.requester, kAlice);
  ASSERT_EQ(t.renewers.size(), 1u);
  EXPECT_EQ(t.renewers[0], kBob);
  EXPECT_EQ(t.expiry_timestamp_ms, r.expiry_timestamp_ms);
  // The record carries no HMAC: no log record holds its bytes.
  for (const auto& v : h.raft.log().back().records) {
    auto it = std::search(v.begin(), v.end(), r.hmac.begin(), r.hmac.end());
    EXPECT_EQ(it, v.end());
  }
  // A shorter requested lifetime is kept; another owner is recorded as such.
  auto r2 = h.create(kBob, 2'000, {}, "carol");
  ASSERT_EQ(r2.error_code, 0);
  EXPECT_EQ(r2.max_timestamp_ms, h.wall + 2'000);
  EXPECT_EQ(r2.expiry_timestamp_ms, h.wall + 2'000);
  EXPECT_EQ(h.image()->delegation_tokens().at(r2.token_id).owner, kCarol);
  EXPECT_EQ(h.image()->delegation_tokens().at(r2.token_id).requester, kBob);
  EXPECT_NE(r2.token_id, r.token_id);
}

TEST(ControllerDelegationTokens, DisabledWithoutSecretAndOldMetadataVersion) {
  Tokens off("");
  size_t batches = off.raft.log().size();
  EXPECT_EQ(off.create(kAlice).error_code, ec(ErrorCode::DELEGATION_TOKEN_AUTH_DISABLED));
  EXPECT_EQ(off.renew(kAlice, {1, 2}, 1).error_code, ec(ErrorCode::DELEGATION_TOKEN_AUTH_DISABLED));
  EXPECT_EQ(off.expire(kAlice, {1, 2}, 1).error_code, ec(ErrorCode::DELEGATION_TOKEN_AUTH_DISABLED));
  EXPECT_EQ(off.raft.log().size(), batches);

  Tokens old(kSecret, 13);  // 3.6-IV1
  EXPECT_EQ(old.create(kAlice).error_code, ec(ErrorCode::UNSUPPORTED_VERSION));
  EXPECT_TRUE(old.image()->delegation_tokens().empty());
}

TEST(ControllerDelegationTokens, InvalidRenewerPrincipalType) {
  Tokens h;
  msg::CreateDelegationTokenRequest req;
  req.renewers.push_back({"Group", "ops"});
  auto r = h.call<msg::CreateDelegationTokenResponse>([&](auto done) { h.controller->create_delegation_token(req, 3, kAlice, done); });
  EXPECT_EQ(r.error_code, ec(ErrorCode::INVALID_PRINCIPAL_TYPE));
  EXPECT_TRUE(h.image()->delegation_tokens().empty());
}

TEST(ControllerDelegationTokens, RenewByOwnerOrRenewerOnly) {
  Tokens h;
  auto c = h.create(kAlice, -1, {"bob"});
  ASSERT_EQ(c.error_code, 0);
  h.wall += 1'000;
  EXPECT_EQ(h.renew(kCarol, c.hmac, 3'000).error_code, ec(ErrorCode::DELEGATION_TOKEN_OWNER_MISMATCH));
  auto r = h.renew(kBob, c.hmac, 3'000);
  ASSERT_EQ(r.error_code, 0);
  EXPECT_EQ(r.expiry_timestamp_ms, h.wall + 3'000);
  EXPECT_EQ(h.image()->delegation_tokens().at(c.token_id).expiry_timestamp_ms, h.wall + 3'000);
  // A renewal never passes the max timestamp; a longer period is cut to the expiry time.
  h.wall += 2'000;
  r = h.renew(kAlice, c.hmac, 100'000);
  ASSERT_EQ(r.error_code, 0);
  EXPECT_EQ(r.expiry_timestamp_ms, h.wall + 4'000);
  h.wall += 3'500;
  r = h.renew(kAlice, c.hmac, 4'000);
  ASSERT_EQ(r.error_code, 0);
  EXPECT_EQ(r.expiry_timestamp_ms, c.max_timestamp_ms);
  // Unknown HMAC; expired token.
  EXPECT_EQ(h.renew(kAlice, {1, 2, 3}, 1'000).error_code, ec(ErrorCode::DELEGATION_TOKEN_NOT_FOUND));
  h.wall = c.max_timestamp_ms + 1;
  EXPECT_EQ(h.renew(kAlice, c.hmac, 1'000).error_code, ec(ErrorCode::DELEGATION_TOKEN_EXPIRED));
}

TEST(ControllerDelegationTokens, ExpireShortensOrRemoves) {
  Tokens h;
  auto c = h.create(kAlice);
  EXPECT_EQ(h.expire(kBob, c.hmac, 10).error_code, ec(ErrorCode::DELEGATION_TOKEN_OWNER_MISMATCH));
  auto e = h.expire(kAlice, c.hmac, 500);
  ASSERT_EQ(e.error_code, 0);
  EXPECT_EQ(e.expiry_timestamp_ms, h.wall + 500);
  EXPECT_EQ(h.image()->delegation_tokens().at(c.token_id).expiry_timestamp_ms, h.wall + 500);
  e = h.expire(kAlice, c.hmac, -1);
  ASSERT_EQ(e.error_code, 0);
  EXPECT_EQ(e.expiry_timestamp_ms, -1);
  EXPECT_TRUE(h.image()->delegation_tokens().empty());
  EXPECT_EQ(h.expire(kAlice, c.hmac, -1).error_code, ec(ErrorCode::DELEGATION_TOKEN_NOT_FOUND));
}

TEST(ControllerDelegationTokens, SweepRemovesExpiredTokensAtTheCheckInterval) {
  Tokens h;
  auto short_lived = h.create(kAlice, 1'000);
  auto long_lived = h.create(kAlice);
  h.tick();  // schedules the first sweep
  h.wall += 2'000;
  EXPECT_EQ(h.image()->delegation_tokens().size(), 2u);  // not due yet
  h.now += 1'000;
  h.tick();
  EXPECT_EQ(h.image()->delegation_tokens().count(short_lived.token_id), 0u);
  EXPECT_EQ(h.image()->delegation_tokens().count(long_lived.token_id), 1u);
  auto recs = records_of<msg::RemoveDelegationTokenRecord>(decode_batch(h.raft.log().back()));
  ASSERT_EQ(recs.size(), 1u);
  EXPECT_EQ(recs[0].token_id, short_lived.token_id);
}

TEST(ControllerDelegationTokens, TokensSurviveASnapshotAndAFailOver) {
  Tokens h;
  auto c = h.create(kAlice, -1, {"bob"});
  auto records = metadata::image_records(*h.image());
  metadata::MetadataDelta d(nullptr);
  for (const auto& v : records) ASSERT_TRUE(d.replay_value(v));
  auto img = d.apply();
  ASSERT_EQ(img->delegation_tokens(), h.image()->delegation_tokens());
  h.fail_over(2, false);
  h.settle();
  EXPECT_EQ(h.renew(kBob, c.hmac, 1'000).error_code, 0);  // the new controller knows the token
}

}  // namespace
