// SASL/PLAIN: Kafka's PlainSaslServer answers, and the client's tokens.
#include <gtest/gtest.h>

#include "security/sasl.h"
#include "security/sasl_mechanisms.h"

using namespace flotilla::security;

namespace {

const std::string kInvalid = "Authentication failed: Invalid username or password";
const std::string kGeneric = "Authentication failed during authentication due to invalid credentials with SASL mechanism PLAIN";

SaslServerConfig plain_config() {
  SaslServerConfig c;
  c.enabled_mechanisms = {"PLAIN"};
  c.plain_users = {{"alice", "alice-secret"}, {"bob", "b"}};
  return c;
}

Bytes token(std::string_view s) { return Bytes(s.begin(), s.end()); }

SaslStep run(std::string_view t, const SaslServerConfig& config = plain_config()) {
  auto server = make_sasl_server("PLAIN", config);
  EXPECT_NE(server, nullptr);
  return server->evaluate(token(t));
}

void expect_no_secret(const SaslStep& s) {
  for (const std::string& field : {s.error_message, s.log_detail}) {
    EXPECT_EQ(field.find("alice-secret"), std::string::npos) << field;
    EXPECT_EQ(field.find("wrong-pass"), std::string::npos) << field;
  }
}

}  // namespace

TEST(PlainServer, AcceptsTheRightPassword) {
  auto server = make_sasl_server("PLAIN", plain_config());
  ASSERT_NE(server, nullptr);
  EXPECT_EQ(server->mechanism(), "PLAIN");
  SaslStep s = server->evaluate(token(std::string("\0alice\0alice-secret", 19)));
  EXPECT_TRUE(s.complete);
  EXPECT_FALSE(s.failed);
  EXPECT_TRUE(s.challenge.empty());
  EXPECT_EQ(server->authorized_id(), "alice");
  // No second token once complete.
  SaslStep again = server->evaluate(token(std::string("\0alice\0alice-secret", 19)));
  EXPECT_TRUE(again.failed);
  EXPECT_FALSE(again.complete);
}

TEST(PlainServer, AcceptsAnAuthzidEqualToTheUser) {
  auto server = make_sasl_server("PLAIN", plain_config());
  SaslStep s = server->evaluate(token(std::string("bob\0bob\0b", 9)));
  EXPECT_TRUE(s.complete);
  EXPECT_EQ(server->authorized_id(), "bob");
}

TEST(PlainServer, WrongPasswordAndUnknownUserGetTheSameMessage) {
  SaslStep wrong = run(std::string("\0alice\0wrong-pass", 17));
  SaslStep unknown = run(std::string("\0mallory\0wrong-pass", 19));
  SaslStep prefix = run(std::string("\0alice\0alice-secre", 18));  // a prefix of the password
  SaslStep longer = run(std::string("\0alice\0alice-secretX", 20));
  for (const SaslStep* s : {&wrong, &unknown, &prefix, &longer}) {
    EXPECT_TRUE(s->failed);
    EXPECT_FALSE(s->complete);
    EXPECT_EQ(s->error_message, kInvalid);
    expect_no_secret(*s);
  }
  EXPECT_NE(wrong.log_detail, unknown.log_detail);  // the log says which
}

TEST(PlainServer, AuthzidOtherThanTheUserIsRefused) {
  auto server = make_sasl_server("PLAIN", plain_config());
  SaslStep s = server->evaluate(token(std::string("bob\0alice\0alice-secret", 22)));
  EXPECT_TRUE(s.failed);
  EXPECT_EQ(s.error_message,
            "Authentication failed: Client requested an authorization id that is different from username");
  EXPECT_TRUE(server->authorized_id().empty());
}

TEST(PlainServer, MalformedTokensFailWithTheGenericMessage) {
  const std::vector<std::string> bad = {
      "",                                        // empty
      "alice",                                   // no NUL
      std::string("\0alice", 6),                 // 2 tokens
      std::string("\0alice\0alice-secret\0", 20),  // 4 tokens
      std::string("\0\0alice-secret", 14),       // empty user
      std::string("\0alice\0", 7),               // empty password
      std::string("\xff\xfe\x01\x02\x80", 5),  // garbage bytes
  };
  for (const std::string& t : bad) {
    SaslStep s = run(t);
    EXPECT_TRUE(s.failed) << t.size();
    EXPECT_FALSE(s.complete);
    EXPECT_EQ(s.error_message, kGeneric);
    EXPECT_FALSE(s.log_detail.empty());
    expect_no_secret(s);
  }
}

TEST(PlainServer, GarbageInTheRightShapeIsAnUnknownUser) {
  SaslStep s = run(std::string("\xff\xfe\0\x01\x02\0\x80", 7));
  EXPECT_TRUE(s.failed);
  EXPECT_EQ(s.error_message, kInvalid);
}

TEST(PlainServer, OversizedTokenFails) {
  SaslServerConfig config = plain_config();
  config.max_token_bytes = 64;
  std::string big = std::string("\0alice\0", 7) + std::string(100, 'x');
  SaslStep s = run(big, config);
  EXPECT_TRUE(s.failed);
  EXPECT_EQ(s.error_message, kGeneric);
  EXPECT_NE(s.log_detail.find("exceeds"), std::string::npos);
  // At the limit it is judged on its content.
  std::string at_limit = std::string("\0alice\0", 7) + std::string(57, 'x');
  ASSERT_EQ(at_limit.size(), 64u);
  EXPECT_EQ(run(at_limit, config).error_message, kInvalid);
}

TEST(PlainServer, OnlyEnabledMechanismsAreMade) {
  SaslServerConfig config = plain_config();
  EXPECT_EQ(make_sasl_server("SCRAM-SHA-256", config), nullptr);
  EXPECT_EQ(make_sasl_server("plain", config), nullptr);  // names are case-sensitive
  config.enabled_mechanisms = {"SCRAM-SHA-512"};
  EXPECT_EQ(make_sasl_server("PLAIN", config), nullptr);
  config.enabled_mechanisms = {"GSSAPI"};
  EXPECT_EQ(make_sasl_server("GSSAPI", config), nullptr);  // not implemented
}

TEST(PlainClient, SendsUserAndPasswordAndAcceptsTheEmptyAnswer) {
  auto client = make_sasl_client("PLAIN", "alice", "alice-secret");
  ASSERT_NE(client, nullptr);
  EXPECT_EQ(client->mechanism(), "PLAIN");
  Bytes first = client->initial();
  EXPECT_EQ(first, token(std::string("\0alice\0alice-secret", 19)));
  EXPECT_FALSE(client->done());
  auto server = make_sasl_server("PLAIN", plain_config());
  SaslStep s = server->evaluate(first);
  ASSERT_TRUE(s.complete);
  auto next = client->evaluate(s.challenge);
  ASSERT_TRUE(next.has_value());
  EXPECT_TRUE(next->empty());
  EXPECT_TRUE(client->done());
}

TEST(PlainClient, RefusesANonEmptyChallenge) {
  auto client = make_sasl_client("PLAIN", "alice", "x");
  client->initial();
  EXPECT_FALSE(client->evaluate(token("unexpected")).has_value());
  EXPECT_FALSE(client->done());
  EXPECT_EQ(make_sasl_client("OAUTHBEARER", "a", "b"), nullptr);
}
