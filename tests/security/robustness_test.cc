// Hostile input: seeded random bytes, truncations and byte flips of valid
// messages, fed to every parser of the module. Nothing may throw, every
// answer must be well-formed, and no damaged proof may ever authenticate.
#include <gtest/gtest.h>

#include <random>

#include "security/base64.h"
#include "security/jaas.h"
#include "security/sasl.h"
#include "security/sasl_mechanisms.h"
#include "rfc7677.h"

using namespace flotilla::security;
using namespace rfc7677;

namespace {

std::string mutate(const std::string& s, std::mt19937& rng) {
  std::string out = s;
  switch (rng() % 4) {
    case 0:  // truncate
      out.resize(rng() % (s.size() + 1));
      break;
    case 1:  // flip one byte to anything
      if (!out.empty()) out[rng() % out.size()] = static_cast<char>(rng() % 256);
      break;
    case 2:  // flip one byte to a printable one
      if (!out.empty()) out[rng() % out.size()] = static_cast<char>(0x20 + rng() % 95);
      break;
    default: {  // random bytes
      out.resize(rng() % 200);
      for (char& c : out) c = static_cast<char>(rng() % 256);
    }
  }
  return out;
}

SaslServerConfig robust_config() {
  SaslServerConfig c;
  c.enabled_mechanisms = {"PLAIN", "SCRAM-SHA-256"};
  c.plain_users = {{"user", "pencil"}};
  auto salt = base64_decode("W22ZaJ0SNY7soEsUEjb6gQ==");
  CredentialCache::Map map;
  map[{"user", ScramMechanism::SCRAM_SHA_256}] = scram_credential(ScramMechanism::SCRAM_SHA_256, "pencil", *salt, 4096);
  auto cache = std::make_shared<CredentialCache>();
  cache->publish(std::move(map));
  c.scram = cache;
  return c;
}

void expect_well_formed(const SaslStep& s) {
  EXPECT_FALSE(s.complete && s.failed);
  if (s.failed) {
    EXPECT_FALSE(s.error_message.empty());
    EXPECT_FALSE(s.log_detail.empty());
    EXPECT_TRUE(s.challenge.empty());
    EXPECT_EQ(s.log_detail.find("pencil"), std::string::npos);
  }
}

}  // namespace

TEST(Robustness, ScramServerFirstStep) {
  std::mt19937 rng(15);
  auto cfg = robust_config();
  for (int i = 0; i < 3000; ++i) {
    std::string msg = mutate(kClientFirst, rng);
    auto server = make_scram_server(ScramMechanism::SCRAM_SHA_256, cfg, [] { return kServerNonce; });
    SaslStep s = server->evaluate(bytes(msg));
    expect_well_formed(s);
    EXPECT_FALSE(s.complete);
    if (!s.failed) {
      EXPECT_FALSE(s.challenge.empty());
    }
  }
}

TEST(Robustness, NoDamagedClientFinalAuthenticates) {
  std::mt19937 rng(16);
  auto cfg = robust_config();
  int tried = 0;
  for (int i = 0; i < 3000; ++i) {
    std::string msg = mutate(kClientFinal, rng);
    if (msg == kClientFinal) continue;
    auto server = make_scram_server(ScramMechanism::SCRAM_SHA_256, cfg, [] { return kServerNonce; });
    ASSERT_FALSE(server->evaluate(bytes(kClientFirst)).failed);
    SaslStep s = server->evaluate(bytes(msg));
    expect_well_formed(s);
    EXPECT_TRUE(s.failed) << msg;
    ++tried;
  }
  EXPECT_GT(tried, 2500);
}

TEST(Robustness, PlainServer) {
  std::mt19937 rng(17);
  auto cfg = robust_config();
  const std::string good("\0user\0pencil", 12);
  for (int i = 0; i < 3000; ++i) {
    std::string msg = mutate(good, rng);
    auto server = make_sasl_server("PLAIN", cfg);
    SaslStep s = server->evaluate(bytes(msg));
    expect_well_formed(s);
    // Only the exact credentials (with an empty or matching authzid) authenticate.
    if (s.complete) {
      EXPECT_TRUE(msg == good || msg == std::string("user\0user\0pencil", 16)) << msg;
    }
  }
}

TEST(Robustness, ScramClient) {
  std::mt19937 rng(18);
  for (int i = 0; i < 300; ++i) {  // each accepted server-first costs the client a PBKDF2
    auto client = make_scram_client(ScramMechanism::SCRAM_SHA_256, "user", "pencil", [] { return kClientNonce; });
    client->initial();
    std::string first = mutate(kServerFirst, rng);
    auto reply = client->evaluate(bytes(first));
    if (!reply) {
      EXPECT_FALSE(client->done());
      continue;
    }
    std::string final_msg = mutate(kServerFinal, rng);
    auto end = client->evaluate(bytes(final_msg));
    if (end) {
      EXPECT_TRUE(client->done());
    }
    // A signature only verifies for the exact server-first and server-final (an appended extension aside).
    if (client->done()) {
      EXPECT_EQ(final_msg.substr(0, kServerFinal.size()), kServerFinal) << first;
    }
  }
}

TEST(Robustness, JaasParser) {
  std::mt19937 rng(19);
  const std::string good =
      "org.apache.kafka.common.security.plain.PlainLoginModule required username=\"a\" password='b\\\"c' user_a=x;";
  int parsed = 0;
  for (int i = 0; i < 5000; ++i) {
    std::string text = mutate(good, rng);
    std::string error;
    auto c = parse_jaas_config(text, error);
    if (c) {
      ++parsed;
      EXPECT_FALSE(c->login_module.empty());
    } else {
      EXPECT_FALSE(error.empty());
      EXPECT_EQ(error.find("username=\""), std::string::npos);
    }
  }
  EXPECT_GT(parsed, 0);
}

TEST(Robustness, Base64RoundTripsRandomBytes) {
  std::mt19937 rng(20);
  for (int i = 0; i < 1000; ++i) {
    Bytes b(rng() % 70);
    for (auto& x : b) x = static_cast<uint8_t>(rng());
    std::string e = base64_encode(b);
    EXPECT_EQ(base64_decode(e), b);
    std::string m = mutate(e, rng);
    if (auto d = base64_decode(m)) {
      EXPECT_EQ(base64_encode(*d), m);  // only canonical text decodes
    }
  }
}
