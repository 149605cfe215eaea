// The connection-level SASL state machine (net/sasl_session.h), driven
// directly with encoded requests and the security module's real mechanisms.
#include "net/sasl_session.h"

#include <gtest/gtest.h>

#include "common/error.h"
#include "protocol/messages.h"
#include "security/sasl.h"
#include "security/scram.h"

using namespace flotilla;
using namespace flotilla::net;
using security::SecurityProtocol;

namespace {

constexpr int16_t kMetadata = 3, kSaslHandshake = 17, kApiVersions = 18, kSaslAuthenticate = 36;

std::shared_ptr<ListenerSecurity> sasl_listener(int64_t reauth_ms = 0) {
  auto s = std::make_shared<ListenerSecurity>();
  s->protocol = SecurityProtocol::SASL_PLAINTEXT;
  auto cfg = std::make_shared<security::SaslServerConfig>();
  cfg->enabled_mechanisms = {"PLAIN", "SCRAM-SHA-256"};
  cfg->plain_users = {{"alice", "alice-secret"}, {"bob", "bob-secret"}};
  auto cache = std::make_shared<security::CredentialCache>();
  security::CredentialCache::Map m;
  m[{"carol", security::ScramMechanism::SCRAM_SHA_256}] =
      security::scram_credential(security::ScramMechanism::SCRAM_SHA_256, "carol-secret", security::scram_random_salt(), 4096);
  cache->publish(m);
  cfg->scram = cache;
  cfg->max_token_bytes = 1024;
  s->sasl = cfg;
  s->reauth_ms = reauth_ms;
  s->authentication_timeout_ms = 10000;
  return s;
}

template <class Req>
std::vector<uint8_t> encode(const Req& req, int16_t version) {
  ByteWriter w;
  req.encode(w, version);
  return std::move(w).take();
}

template <class Resp>
Resp decode_reply(const SaslSession::Outcome& o, int16_t version) {
  EXPECT_EQ(o.kind, SaslSession::Outcome::kReply);
  Resp r;
  ByteReader rd(o.response.body.buffer().data(), o.response.body.buffer().size());
  r.decode(rd, version);
  return r;
}

SaslSession::Outcome request(SaslSession& s, int16_t key, int16_t version, const std::vector<uint8_t>& body, int64_t now = 0) {
  return s.on_request(key, version, ByteReader(body.data(), body.size()), now);
}

SaslSession::Outcome handshake(SaslSession& s, const std::string& mechanism, int16_t version = 1, int64_t now = 0) {
  msg::SaslHandshakeRequest hs;
  hs.mechanism = mechanism;
  return request(s, kSaslHandshake, version, encode(hs, version), now);
}

SaslSession::Outcome authenticate(SaslSession& s, const std::vector<uint8_t>& token, int16_t version = 2, int64_t now = 0) {
  msg::SaslAuthenticateRequest a;
  a.auth_bytes = token;
  return request(s, kSaslAuthenticate, version, encode(a, version), now);
}

std::vector<uint8_t> plain_token(const std::string& user, const std::string& password) {
  std::string t = std::string("\0", 1) + user + std::string("\0", 1) + password;
  return {t.begin(), t.end()};
}

const std::vector<uint8_t> kEmpty;

}  // namespace

TEST(SaslSession, PlaintextListenerIsAnonymousAndRefusesSaslRequests) {
  SaslSession s("PLAINTEXT", std::make_shared<ListenerSecurity>(), "127.0.0.1", "127.0.0.1:5000", 0);
  EXPECT_TRUE(s.authenticated());
  EXPECT_EQ(s.session()->principal.to_string(), "User:ANONYMOUS");
  EXPECT_EQ(s.session()->client_host, "127.0.0.1");
  EXPECT_EQ(request(s, kMetadata, 12, kEmpty).kind, SaslSession::Outcome::kDispatch);
  auto hs = decode_reply<msg::SaslHandshakeResponse>(handshake(s, "PLAIN"), 1);
  EXPECT_EQ(hs.error_code, code(ErrorCode::ILLEGAL_SASL_STATE));
  EXPECT_FALSE(s.authentication_deadline_ms());
}

TEST(SaslSession, OnlyApiVersionsAndHandshakeBeforeAuthentication) {
  SaslSession s("SASL", sasl_listener(), "127.0.0.1", "127.0.0.1:5000", 100);
  EXPECT_FALSE(s.authenticated());
  EXPECT_EQ(s.authentication_deadline_ms().value_or(0), 10100);
  EXPECT_EQ(request(s, kApiVersions, 3, kEmpty).kind, SaslSession::Outcome::kDispatch);
  EXPECT_EQ(request(s, kMetadata, 12, kEmpty).kind, SaslSession::Outcome::kClose);
  // Closed for good: even a handshake is refused now.
  EXPECT_EQ(handshake(s, "PLAIN").kind, SaslSession::Outcome::kClose);
}

TEST(SaslSession, SaslAuthenticateWithoutHandshakeCloses) {
  SaslSession s("SASL", sasl_listener(), "h", "h:1", 0);
  EXPECT_EQ(authenticate(s, plain_token("alice", "alice-secret")).kind, SaslSession::Outcome::kClose);
  EXPECT_FALSE(s.authenticated());
}

TEST(SaslSession, UnknownMechanismListsTheEnabledOnesAndCloses) {
  SaslSession s("SASL", sasl_listener(), "h", "h:1", 0);
  auto o = handshake(s, "GSSAPI");
  EXPECT_TRUE(o.response.close_after);
  auto r = decode_reply<msg::SaslHandshakeResponse>(o, 1);
  EXPECT_EQ(r.error_code, code(ErrorCode::UNSUPPORTED_SASL_MECHANISM));
  EXPECT_EQ(r.mechanisms, (std::vector<std::string>{"PLAIN", "SCRAM-SHA-256"}));
}

TEST(SaslSession, PlainV1Succeeds) {
  SaslSession s("SASL", sasl_listener(), "10.0.0.1", "10.0.0.1:5", 0);
  auto h = decode_reply<msg::SaslHandshakeResponse>(handshake(s, "PLAIN"), 1);
  EXPECT_EQ(h.error_code, 0);
  EXPECT_FALSE(s.expects_raw_token());
  EXPECT_EQ(request(s, kMetadata, 12, kEmpty).kind, SaslSession::Outcome::kClose);  // mid-exchange
}

TEST(SaslSession, PlainV1AuthenticatesAndCarriesThePrincipal) {
  SaslSession s("SASL", sasl_listener(), "10.0.0.1", "10.0.0.1:5", 0);
  handshake(s, "PLAIN");
  auto o = authenticate(s, plain_token("alice", "alice-secret"));
  auto r = decode_reply<msg::SaslAuthenticateResponse>(o, 2);
  EXPECT_EQ(r.error_code, 0);
  EXPECT_EQ(r.session_lifetime_ms, 0);
  EXPECT_FALSE(o.response.close_after);
  EXPECT_TRUE(s.authenticated());
  EXPECT_EQ(s.session()->principal.to_string(), "User:alice");
  EXPECT_EQ(s.session()->sasl_mechanism, "PLAIN");
  EXPECT_EQ(s.session()->protocol, SecurityProtocol::SASL_PLAINTEXT);
  EXPECT_EQ(s.session()->listener, "SASL");
  EXPECT_FALSE(s.authentication_deadline_ms());
  EXPECT_EQ(request(s, kMetadata, 12, kEmpty).kind, SaslSession::Outcome::kDispatch);
}

TEST(SaslSession, WrongPasswordAndUnknownUserFailAlike) {
  std::optional<std::string> messages[2];
  int i = 0;
  for (auto token : {plain_token("alice", "wrong"), plain_token("mallory", "alice-secret")}) {
    SaslSession s("SASL", sasl_listener(), "h", "h:1", 0);
    handshake(s, "PLAIN");
    auto o = authenticate(s, token);
    EXPECT_TRUE(o.response.close_after);
    auto r = decode_reply<msg::SaslAuthenticateResponse>(o, 2);
    EXPECT_EQ(r.error_code, code(ErrorCode::SASL_AUTHENTICATION_FAILED));
    ASSERT_TRUE(r.error_message);
    EXPECT_EQ(r.error_message->find("secret"), std::string::npos);
    messages[i++] = r.error_message;
    EXPECT_FALSE(s.authenticated());
    EXPECT_EQ(request(s, kMetadata, 12, kEmpty).kind, SaslSession::Outcome::kClose);
  }
  EXPECT_EQ(messages[0], messages[1]);
}

TEST(SaslSession, OversizedTokenCloses) {
  SaslSession s("SASL", sasl_listener(), "h", "h:1", 0);
  handshake(s, "PLAIN");
  EXPECT_EQ(authenticate(s, std::vector<uint8_t>(2000, 'x')).kind, SaslSession::Outcome::kClose);
  SaslSession raw("SASL", sasl_listener(), "h", "h:1", 0);
  handshake(raw, "PLAIN", 0);
  std::vector<uint8_t> big(2000, 'x');
  EXPECT_EQ(raw.on_raw_token(big, 0).kind, SaslSession::Outcome::kClose);
}

TEST(SaslSession, GarbageRequestBodiesClose) {
  SaslSession s("SASL", sasl_listener(), "h", "h:1", 0);
  std::vector<uint8_t> junk = {0x7f, 0xff};  // a string length far beyond the body
  EXPECT_EQ(request(s, kSaslHandshake, 1, junk).kind, SaslSession::Outcome::kClose);
}

TEST(SaslSession, V0HandshakeThenRawTokens) {
  SaslSession s("SASL", sasl_listener(), "h", "h:1", 0);
  auto h = decode_reply<msg::SaslHandshakeResponse>(handshake(s, "PLAIN", 0), 0);
  EXPECT_EQ(h.error_code, 0);
  EXPECT_TRUE(s.expects_raw_token());
  auto token = plain_token("bob", "bob-secret");
  auto o = s.on_raw_token(token, 0);
  ASSERT_EQ(o.kind, SaslSession::Outcome::kReply);
  EXPECT_TRUE(o.response.raw);
  EXPECT_EQ(o.response.body.total_size(), 0);  // PLAIN's empty final token: a zero-size frame
  EXPECT_TRUE(s.authenticated());
  EXPECT_FALSE(s.expects_raw_token());
  EXPECT_EQ(s.session()->principal.name, "bob");
}

TEST(SaslSession, V0WrongPasswordJustCloses) {
  SaslSession s("SASL", sasl_listener(), "h", "h:1", 0);
  handshake(s, "PLAIN", 0);
  auto token = plain_token("bob", "nope");
  EXPECT_EQ(s.on_raw_token(token, 0).kind, SaslSession::Outcome::kClose);
  EXPECT_FALSE(s.authenticated());
}

TEST(SaslSession, ScramSha256WithTheSecurityModulesClient) {
  SaslSession s("SASL", sasl_listener(), "h", "h:1", 0);
  handshake(s, "SCRAM-SHA-256");
  auto client = security::make_sasl_client("SCRAM-SHA-256", "carol", "carol-secret");
  ASSERT_TRUE(client);
  auto first = decode_reply<msg::SaslAuthenticateResponse>(authenticate(s, client->initial()), 2);
  ASSERT_EQ(first.error_code, 0);
  EXPECT_FALSE(s.authenticated());
  auto final_token = client->evaluate(first.auth_bytes);
  ASSERT_TRUE(final_token);
  auto second = decode_reply<msg::SaslAuthenticateResponse>(authenticate(s, *final_token), 2);
  ASSERT_EQ(second.error_code, 0);
  EXPECT_TRUE(s.authenticated());
  EXPECT_EQ(s.session()->principal.name, "carol");
  ASSERT_TRUE(client->evaluate(second.auth_bytes));
  EXPECT_TRUE(client->done());
}

TEST(SaslSession, ScramWrongPasswordFails) {
  SaslSession s("SASL", sasl_listener(), "h", "h:1", 0);
  handshake(s, "SCRAM-SHA-256");
  auto client = security::make_sasl_client("SCRAM-SHA-256", "carol", "not-carols");
  auto first = decode_reply<msg::SaslAuthenticateResponse>(authenticate(s, client->initial()), 2);
  auto final_token = client->evaluate(first.auth_bytes);
  ASSERT_TRUE(final_token);
  auto o = authenticate(s, *final_token);
  EXPECT_TRUE(o.response.close_after);
  EXPECT_EQ(decode_reply<msg::SaslAuthenticateResponse>(o, 2).error_code, code(ErrorCode::SASL_AUTHENTICATION_FAILED));
  EXPECT_FALSE(s.authenticated());
}

TEST(SaslSession, ReauthenticationBoundsTheSessionAndKeepsThePrincipal) {
  SaslSession s("SASL", sasl_listener(1000), "h", "h:1", 0);
  handshake(s, "PLAIN", 1, 0);
  auto r = decode_reply<msg::SaslAuthenticateResponse>(authenticate(s, plain_token("alice", "alice-secret"), 1, 10), 1);
  EXPECT_EQ(r.session_lifetime_ms, 1000);
  EXPECT_EQ(request(s, kMetadata, 12, kEmpty, 900).kind, SaslSession::Outcome::kDispatch);
  // Re-authenticate at 950 as the same user: the session runs to 1950.
  EXPECT_EQ(decode_reply<msg::SaslHandshakeResponse>(handshake(s, "PLAIN", 1, 950), 1).error_code, 0);
  auto again = decode_reply<msg::SaslAuthenticateResponse>(authenticate(s, plain_token("alice", "alice-secret"), 2, 950), 2);
  EXPECT_EQ(again.error_code, 0);
  EXPECT_EQ(again.session_lifetime_ms, 1000);
  EXPECT_EQ(request(s, kMetadata, 12, kEmpty, 1500).kind, SaslSession::Outcome::kDispatch);
  // Another user may not take the connection over.
  handshake(s, "PLAIN", 1, 1600);
  auto o = authenticate(s, plain_token("bob", "bob-secret"), 2, 1600);
  auto other = decode_reply<msg::SaslAuthenticateResponse>(o, 2);
  EXPECT_EQ(other.error_code, code(ErrorCode::SASL_AUTHENTICATION_FAILED));
  EXPECT_TRUE(o.response.close_after);
  EXPECT_EQ(s.session()->principal.name, "alice");
}

TEST(SaslSession, ExpiredSessionClosesOnTheNextRequest) {
  SaslSession s("SASL", sasl_listener(1000), "h", "h:1", 0);
  handshake(s, "PLAIN", 1, 0);
  authenticate(s, plain_token("alice", "alice-secret"), 1, 0);
  EXPECT_EQ(request(s, kMetadata, 12, kEmpty, 999).kind, SaslSession::Outcome::kDispatch);
  EXPECT_EQ(request(s, kMetadata, 12, kEmpty, 1000).kind, SaslSession::Outcome::kClose);
}

TEST(SaslSession, ExpiredSessionMayStillReauthenticate) {
  SaslSession s("SASL", sasl_listener(1000), "h", "h:1", 0);
  handshake(s, "PLAIN", 1, 0);
  authenticate(s, plain_token("alice", "alice-secret"), 1, 0);
  EXPECT_EQ(decode_reply<msg::SaslHandshakeResponse>(handshake(s, "PLAIN", 1, 5000), 1).error_code, 0);
  EXPECT_EQ(decode_reply<msg::SaslAuthenticateResponse>(authenticate(s, plain_token("alice", "alice-secret"), 2, 5000), 2).error_code, 0);
  EXPECT_EQ(request(s, kMetadata, 12, kEmpty, 5500).kind, SaslSession::Outcome::kDispatch);
}
