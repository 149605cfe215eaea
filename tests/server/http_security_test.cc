// Basic authentication of the HTTP listener against SCRAM credentials, and the
// HTTP listener's TLS key precedence.
#include "server/http_security.h"

#include <gtest/gtest.h>

#include "security/base64.h"
#include "security/scram.h"

namespace flotilla::server {
namespace {

using security::ScramMechanism;

std::string basic(const std::string& user_password) {
  return "Basic " + security::base64_encode(security::as_bytes(user_password));
}

std::shared_ptr<security::CredentialCache> users(const std::string& alice_pw, const std::string& bob_pw) {
  auto cache = std::make_shared<security::CredentialCache>();
  security::CredentialCache::Map m;
  m[{"alice", ScramMechanism::SCRAM_SHA_256}] =
      security::scram_credential(ScramMechanism::SCRAM_SHA_256, alice_pw, security::scram_random_salt(), 4096);
  m[{"bob", ScramMechanism::SCRAM_SHA_512}] =
      security::scram_credential(ScramMechanism::SCRAM_SHA_512, bob_pw, security::scram_random_salt(), 8192);
  cache->publish(std::move(m));
  return cache;
}

TEST(BasicAuthenticator, ChecksPasswordsAgainstStoredKeys) {
  auto cache = users("alice-pw", "bob:pw");
  BasicAuthenticator auth(cache);
  auto ok = auth.authenticate(basic("alice:alice-pw"));
  ASSERT_TRUE(ok.ok);
  EXPECT_EQ(ok.principal.to_string(), "User:alice");
  EXPECT_TRUE(auth.authenticate(basic("bob:bob:pw")).ok);  // the password may hold ':'
  EXPECT_TRUE(auth.authenticate("basic  " + security::base64_encode(security::as_bytes("bob:bob:pw"))).ok);
  EXPECT_FALSE(auth.authenticate(basic("alice:alice-pwx")).ok);
  EXPECT_FALSE(auth.authenticate(basic("alice:")).ok);
  EXPECT_FALSE(auth.authenticate(basic("carol:alice-pw")).ok);
  EXPECT_FALSE(auth.authenticate(basic(":alice-pw")).ok);
  EXPECT_FALSE(auth.authenticate(basic("alice-pw")).ok);
  EXPECT_FALSE(auth.authenticate("").ok);
  EXPECT_FALSE(auth.authenticate("Basic").ok);
  EXPECT_FALSE(auth.authenticate("Basic %%%").ok);
  EXPECT_FALSE(auth.authenticate("Bearer " + security::base64_encode(security::as_bytes("alice:alice-pw"))).ok);
  EXPECT_FALSE(auth.authenticate("Basic " + std::string(10000, 'A')).ok);
}

TEST(BasicAuthenticator, CachesVerifiedPasswordsUntilTheCredentialChanges) {
  auto cache = users("old-pw", "bob-pw");
  BasicAuthenticator auth(cache, 2);
  EXPECT_TRUE(auth.authenticate(basic("alice:old-pw")).ok);
  EXPECT_EQ(auth.cache_hits(), 0u);
  EXPECT_TRUE(auth.authenticate(basic("alice:old-pw")).ok);
  EXPECT_EQ(auth.cache_hits(), 1u);
  EXPECT_FALSE(auth.authenticate(basic("alice:other")).ok);  // a wrong password is never a hit
  EXPECT_EQ(auth.cache_hits(), 1u);

  // A new password: the cached old one stops working at once.
  security::CredentialCache::Map m;
  m[{"alice", ScramMechanism::SCRAM_SHA_256}] =
      security::scram_credential(ScramMechanism::SCRAM_SHA_256, "new-pw", security::scram_random_salt(), 4096);
  cache->publish(m);
  EXPECT_FALSE(auth.authenticate(basic("alice:old-pw")).ok);
  EXPECT_TRUE(auth.authenticate(basic("alice:new-pw")).ok);
  // Deleted: nothing gets in.
  cache->publish({});
  EXPECT_FALSE(auth.authenticate(basic("alice:new-pw")).ok);
}

TEST(BasicAuthenticator, TheCacheIsBounded) {
  auto cache = users("a", "b");
  BasicAuthenticator auth(cache, 1);
  EXPECT_TRUE(auth.authenticate(basic("alice:a")).ok);
  EXPECT_TRUE(auth.authenticate(basic("bob:b")).ok);    // evicts alice
  EXPECT_TRUE(auth.authenticate(basic("alice:a")).ok);  // verified again, not a hit
  EXPECT_EQ(auth.cache_hits(), 0u);
  EXPECT_TRUE(auth.authenticate(basic("alice:a")).ok);
  EXPECT_EQ(auth.cache_hits(), 1u);
}

TEST(HttpSslConfig, ListenerKeysOverConfluentKeysOverSsl) {
  KafkaConfig c;
  c.originals = {{"ssl.keystore.location", "/plain.pem"},
                 {"ssl.keystore.type", "PEM"},
                 {"ssl.client.auth", "required"},
                 {"confluent.http.server.ssl.keystore.location", "/confluent.p12"},
                 {"confluent.http.server.ssl.keystore.type", "PKCS12"},
                 {"confluent.http.server.ssl.keystore.password", "secret-pw-123"},
                 {"listener.name.http.ssl.keystore.location", "/listener.p12"}};
  auto s = http_ssl_config(c);
  EXPECT_EQ(s.keystore_location, "/listener.p12");
  EXPECT_EQ(s.keystore_type, "PKCS12");
  EXPECT_EQ(s.keystore_password, "secret-pw-123");
  EXPECT_EQ(s.client_auth, security::SslClientAuth::REQUIRED);
  c.originals["confluent.http.server.ssl.client.auth"] = "bogus";
  EXPECT_THROW(http_ssl_config(c), ConfigError);
  c.originals.erase("confluent.http.server.ssl.client.auth");
  c.originals.erase("confluent.http.server.ssl.keystore.password");
  try {
    http_ssl_config(c);
    ADD_FAILURE() << "a PKCS12 key store without a password";
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("ssl.keystore.password"), std::string::npos);
  }
}

}  // namespace
}  // namespace flotilla::server
