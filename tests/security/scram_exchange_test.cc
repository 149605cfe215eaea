// SCRAM-SHA-256/512 exchanges: RFC 7677's test vector byte for byte on both
// ends, client<->server round trips, and every way a client or server message
// can be wrong.
#include <gtest/gtest.h>

#include "security/base64.h"
#include "security/sasl.h"
#include "security/sasl_mechanisms.h"
#include "security/scram_messages.h"
#include "rfc7677.h"

using namespace flotilla::security;
using namespace rfc7677;

namespace {

constexpr auto k256 = ScramMechanism::SCRAM_SHA_256;
constexpr auto k512 = ScramMechanism::SCRAM_SHA_512;

std::string generic(ScramMechanism m) {
  return "Authentication failed during authentication due to invalid credentials with SASL mechanism " +
         std::string(scram_mechanism_name(m));
}

NonceGenerator fixed(std::string nonce) {
  return [nonce] { return nonce; };
}

// A cache holding `user`'s credential for both mechanisms (4096 iterations).
std::shared_ptr<const CredentialCache> cache_with(const std::string& user, const std::string& password,
                                                  int32_t iterations = 4096) {
  auto salt = base64_decode(kSalt);
  CredentialCache::Map map;
  for (ScramMechanism m : {k256, k512}) map[{user, m}] = scram_credential(m, password, *salt, iterations);
  auto cache = std::make_shared<CredentialCache>();
  cache->publish(std::move(map));
  return cache;
}

SaslServerConfig scram_config(std::shared_ptr<const CredentialCache> cache = cache_with("user", "pencil")) {
  SaslServerConfig c;
  c.enabled_mechanisms = {"SCRAM-SHA-256", "SCRAM-SHA-512"};
  c.scram = std::move(cache);
  return c;
}

// A server that already answered the RFC's client-first message.
std::unique_ptr<SaslServer> server_after_first(const SaslServerConfig& config = scram_config()) {
  auto server = make_scram_server(k256, config, fixed(kServerNonce));
  SaslStep s = server->evaluate(bytes(kClientFirst));
  EXPECT_FALSE(s.failed) << s.log_detail;
  EXPECT_EQ(text(s.challenge), kServerFirst);
  return server;
}

void expect_generic_failure(const SaslStep& s, ScramMechanism m = k256) {
  EXPECT_TRUE(s.failed);
  EXPECT_FALSE(s.complete);
  EXPECT_TRUE(s.challenge.empty());
  EXPECT_EQ(s.error_message, generic(m));
  EXPECT_FALSE(s.log_detail.empty());
  EXPECT_EQ(s.log_detail.find("pencil"), std::string::npos);
}

struct RoundTrip {
  bool server_complete = false;
  bool client_done = false;
  std::string authorized_id;
  SaslStep last;
};

RoundTrip round_trip(ScramMechanism m, const std::string& user, const std::string& password,
                     const SaslServerConfig& config) {
  RoundTrip r;
  auto client = make_sasl_client(scram_mechanism_name(m), user, password);
  auto server = make_sasl_server(scram_mechanism_name(m), config);
  EXPECT_NE(client, nullptr);
  EXPECT_NE(server, nullptr);
  Bytes token = client->initial();
  for (int i = 0; i < 3; ++i) {
    r.last = server->evaluate(token);
    if (r.last.failed) break;
    auto next = client->evaluate(r.last.challenge);
    EXPECT_TRUE(next.has_value());
    if (!next) break;
    if (r.last.complete) break;
    token = *next;
  }
  r.server_complete = r.last.complete;
  r.client_done = client->done();
  if (r.server_complete) r.authorized_id = server->authorized_id();
  return r;
}

}  // namespace

TEST(ScramRfc7677, ClientProducesTheVectorByteForByte) {
  auto client = make_scram_client(k256, "user", "pencil", fixed(kClientNonce));
  ASSERT_NE(client, nullptr);
  EXPECT_EQ(client->mechanism(), "SCRAM-SHA-256");
  EXPECT_EQ(text(client->initial()), kClientFirst);
  auto final_msg = client->evaluate(bytes(kServerFirst));
  ASSERT_TRUE(final_msg.has_value());
  EXPECT_EQ(text(*final_msg), kClientFinal);
  EXPECT_FALSE(client->done());
  auto end = client->evaluate(bytes(kServerFinal));
  ASSERT_TRUE(end.has_value());
  EXPECT_TRUE(end->empty());
  EXPECT_TRUE(client->done());
}

TEST(ScramRfc7677, ServerProducesTheVectorByteForByte) {
  auto server = server_after_first();
  EXPECT_EQ(server->mechanism(), "SCRAM-SHA-256");
  SaslStep s = server->evaluate(bytes(kClientFinal));
  EXPECT_TRUE(s.complete) << s.log_detail;
  EXPECT_FALSE(s.failed);
  EXPECT_EQ(text(s.challenge), kServerFinal);
  EXPECT_EQ(server->authorized_id(), "user");
  EXPECT_FALSE(server->credential_expiry_ms().has_value());
  // Nothing after completion.
  EXPECT_TRUE(server->evaluate(bytes(kClientFinal)).failed);
}

TEST(ScramRfc7677, ClientRefusesAForgedServerSignature) {
  auto client = make_scram_client(k256, "user", "pencil", fixed(kClientNonce));
  client->initial();
  ASSERT_TRUE(client->evaluate(bytes(kServerFirst)).has_value());
  EXPECT_FALSE(client->evaluate(bytes("v=7rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=")).has_value());
  EXPECT_FALSE(client->done());
}

TEST(ScramRfc7677, ClientRefusesAnErrorOrGarbageAsTheFinalMessage) {
  for (std::string final_msg : {"e=invalid-proof", "", "v=", "v=!!!!", "x=abc", "garbage"}) {
    auto client = make_scram_client(k256, "user", "pencil", fixed(kClientNonce));
    client->initial();
    ASSERT_TRUE(client->evaluate(bytes(kServerFirst)).has_value());
    EXPECT_FALSE(client->evaluate(bytes(final_msg)).has_value()) << final_msg;
    EXPECT_FALSE(client->done());
  }
}

TEST(ScramClient, RefusesFewerThan4096Iterations) {
  auto client = make_scram_client(k256, "user", "pencil", fixed(kClientNonce));
  client->initial();
  std::string weak = "r=" + kClientNonce + kServerNonce + ",s=" + kSalt + ",i=4095";
  EXPECT_FALSE(client->evaluate(bytes(weak)).has_value());
  EXPECT_FALSE(client->done());
  // And the whole exchange fails against a server whose stored credential is that weak.
  auto cache = cache_with("user", "pencil", 4095);
  auto server = make_scram_server(k256, scram_config(cache), fixed(kServerNonce));
  expect_generic_failure(server->evaluate(bytes(kClientFirst)));
}

TEST(ScramClient, RefusesAMalformedServerFirst) {
  const std::vector<std::string> bad = {
      "",
      "r=" + kClientNonce + kServerNonce + ",s=" + kSalt,                       // no i=
      "r=" + kClientNonce + kServerNonce + ",i=4096,s=" + kSalt,                // wrong order
      "r=" + kClientNonce + kServerNonce + ",s=not*base64,i=4096",              // bad salt
      "r=" + kClientNonce + kServerNonce + ",s=" + kSalt + ",i=4096x",          // bad count
      "r=" + kClientNonce + kServerNonce + ",s=" + kSalt + ",i=-4096",
      "r=" + kClientNonce + kServerNonce + ",s=" + kSalt + ",i=99999999999",    // overflows int32
      "r=someoneelse" + kServerNonce + ",s=" + kSalt + ",i=4096",               // not our nonce
      "r=" + kClientNonce + ",s=" + kSalt + ",i=4096",                          // nothing appended
      "m=ext,r=" + kClientNonce + kServerNonce + ",s=" + kSalt + ",i=4096",     // mandatory extension
      std::string("\xff\x00\x01", 3),
  };
  for (const std::string& msg : bad) {
    auto client = make_scram_client(k256, "user", "pencil", fixed(kClientNonce));
    client->initial();
    EXPECT_FALSE(client->evaluate(bytes(msg)).has_value()) << msg;
  }
}

TEST(ScramRoundTrip, Sha256AndSha512) {
  auto cache = cache_with("alice", "alice-secret");
  for (ScramMechanism m : {k256, k512}) {
    RoundTrip r = round_trip(m, "alice", "alice-secret", scram_config(cache));
    EXPECT_TRUE(r.server_complete) << r.last.log_detail;
    EXPECT_TRUE(r.client_done);
    EXPECT_EQ(r.authorized_id, "alice");
  }
}

TEST(ScramRoundTrip, UserNamesWithCommaAndEqualsAreEscaped) {
  const std::string user = "a,b=c";
  auto client = make_scram_client(k512, user, "pw", fixed("abc"));
  EXPECT_EQ(text(client->initial()), "n,,n=a=2Cb=3Dc,r=abc");
  RoundTrip r = round_trip(k512, user, "pw", scram_config(cache_with(user, "pw")));
  EXPECT_TRUE(r.server_complete) << r.last.log_detail;
  EXPECT_EQ(r.authorized_id, user);
}

TEST(ScramRoundTrip, CredentialOfTheOtherMechanismDoesNotCount) {
  auto salt = base64_decode(kSalt);
  CredentialCache::Map map;
  map[{"alice", k256}] = scram_credential(k256, "alice-secret", *salt, 4096);
  auto cache = std::make_shared<CredentialCache>();
  cache->publish(std::move(map));
  RoundTrip r = round_trip(k512, "alice", "alice-secret", scram_config(cache));
  EXPECT_FALSE(r.server_complete);
  expect_generic_failure(r.last, k512);
}

TEST(ScramServer, WrongPasswordFailsAtTheProof) {
  for (ScramMechanism m : {k256, k512}) {
    RoundTrip r = round_trip(m, "user", "pencils", scram_config());
    EXPECT_FALSE(r.server_complete);
    EXPECT_FALSE(r.client_done);
    expect_generic_failure(r.last, m);
  }
}

TEST(ScramServer, UnknownUserLooksLikeAWrongPassword) {
  auto config = scram_config();
  // The first answer has the same shape as for a real user, and the same salt every time.
  auto a = make_scram_server(k256, config, fixed(kServerNonce));
  auto b = make_scram_server(k256, config, fixed(kServerNonce));
  SaslStep sa = a->evaluate(bytes("n,,n=nobody,r=" + kClientNonce));
  SaslStep sb = b->evaluate(bytes("n,,n=nobody,r=" + kClientNonce));
  ASSERT_FALSE(sa.failed);
  EXPECT_EQ(sa.challenge, sb.challenge);
  auto first = scram::parse_server_first(text(sa.challenge), *std::make_unique<std::string>());
  ASSERT_TRUE(first.has_value());
  EXPECT_EQ(first->nonce, kClientNonce + kServerNonce);
  EXPECT_EQ(first->salt.size(), 32u);
  EXPECT_EQ(first->iterations, 4096);
  SaslStep sc = make_scram_server(k256, config, fixed(kServerNonce))->evaluate(bytes("n,,n=nobody2,r=" + kClientNonce));
  EXPECT_NE(sa.challenge, sc.challenge);  // another user, another salt

  RoundTrip unknown = round_trip(k256, "nobody", "pencil", config);
  RoundTrip wrong = round_trip(k256, "user", "wrong", config);
  expect_generic_failure(unknown.last);
  expect_generic_failure(wrong.last);
  EXPECT_EQ(unknown.last.error_message, wrong.last.error_message);
  EXPECT_NE(unknown.last.log_detail, wrong.last.log_detail);

  // Without any credential cache every user is unknown, and still challenged.
  SaslServerConfig empty = scram_config(nullptr);
  RoundTrip none = round_trip(k512, "user", "pencil", empty);
  expect_generic_failure(none.last, k512);
}

TEST(ScramServer, FakeCredentialIsDeterministicPerUserAndMechanism) {
  EXPECT_EQ(scram_fake_credential(k256, "x"), scram_fake_credential(k256, "x"));
  EXPECT_NE(scram_fake_credential(k256, "x").salt, scram_fake_credential(k256, "y").salt);
  EXPECT_NE(scram_fake_credential(k256, "x").salt, scram_fake_credential(k512, "x").salt);
  EXPECT_EQ(scram_fake_credential(k512, "x").stored_key.size(), 64u);
}

TEST(ScramServer, WrongProofFails) {
  auto server = server_after_first();
  std::string forged = kClientFinal;
  forged[forged.size() - 5] = forged[forged.size() - 5] == 'A' ? 'B' : 'A';
  expect_generic_failure(server->evaluate(bytes(forged)));
  EXPECT_TRUE(server->authorized_id().empty());
}

TEST(ScramServer, WrongNonceInClientFinalFails) {
  auto server = server_after_first();
  std::string msg = kClientFinal;
  msg.replace(msg.find("k0,p="), 2, "k1");
  expect_generic_failure(server->evaluate(bytes(msg)));
  // The client's nonce alone, without the server's part, is no better.
  auto server2 = server_after_first();
  expect_generic_failure(server2->evaluate(
      bytes("c=biws,r=" + kClientNonce + ",p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=")));
}

// librdkafka's client-final carries the client nonce twice (client + client +
// server); Kafka accepts a final nonce that ends with the combined one, and so
// do we, with the proof computed over the message as sent.
TEST(ScramServer, FinalNonceThatEndsWithTheCombinedNonceAuthenticates) {
  auto server = server_after_first();
  std::string without_proof = "c=biws,r=" + kClientNonce + kClientNonce + kServerNonce;
  Bytes salt = *base64_decode(kSalt);
  Bytes salted = scram_salted_password(k256, "pencil", salt, 4096);
  Bytes client_key = scram_hmac(k256, salted, as_bytes("Client Key"));
  Bytes stored_key = scram_hash(k256, client_key);
  std::string auth_message = kClientFirst.substr(3) + "," + kServerFirst + "," + without_proof;
  Bytes proof = scram_hmac(k256, stored_key, as_bytes(auth_message));
  for (size_t i = 0; i < proof.size(); ++i) proof[i] ^= client_key[i];
  SaslStep s = server->evaluate(bytes(without_proof + ",p=" + base64_encode(proof)));
  EXPECT_TRUE(s.complete) << s.log_detail;
  EXPECT_EQ(server->authorized_id(), "user");
  // A nonce that merely contains the combined nonce followed by more is still refused.
  auto server2 = server_after_first();
  expect_generic_failure(server2->evaluate(
      bytes("c=biws,r=" + kClientNonce + kServerNonce + "x,p=" + base64_encode(proof))));
}

TEST(ScramServer, BadChannelBindingFails) {
  for (std::string binding : {"eSws", "cD10bHMtdW5pcXVlLCw=", "biwsx", "####"}) {
    auto server = server_after_first();
    std::string msg = kClientFinal;
    msg.replace(2, 4, binding);
    expect_generic_failure(server->evaluate(bytes(msg)));
  }
}

TEST(ScramServer, GS2FlagYIsAcceptedAndBindsItsOwnHeader) {
  // 'y': the client could bind a channel but believes the server cannot; c= must encode "y,,".
  auto client = make_scram_client(k256, "user", "pencil", fixed(kClientNonce));
  client->initial();
  auto server = make_scram_server(k256, scram_config(), fixed(kServerNonce));
  SaslStep s1 = server->evaluate(bytes("y,,n=user,r=" + kClientNonce));
  ASSERT_FALSE(s1.failed) << s1.log_detail;
  // The RFC's proof covers the "n,," header, so with c=eSws (base64 "y,,") the binding checks but the proof cannot.
  std::string msg = kClientFinal;
  msg.replace(2, 4, "eSws");
  SaslStep s2 = server->evaluate(bytes(msg));
  expect_generic_failure(s2);
  EXPECT_NE(s2.log_detail.find("proof"), std::string::npos) << s2.log_detail;
}

TEST(ScramServer, ChannelBindingRequestAndMandatoryExtensionsAreRefused) {
  for (std::string first : {"p=tls-unique,,n=user,r=abc", "n,,m=ext,n=user,r=abc"}) {
    auto server = make_scram_server(k256, scram_config(), fixed(kServerNonce));
    expect_generic_failure(server->evaluate(bytes(first)));
  }
}

TEST(ScramServer, AuthzidMustBeTheUser) {
  auto server = make_scram_server(k256, scram_config(), fixed(kServerNonce));
  SaslStep ok = server->evaluate(bytes("n,a=user,n=user,r=" + kClientNonce));
  EXPECT_FALSE(ok.failed) << ok.log_detail;
  for (std::string user : {"user", "nobody"}) {  // the same answer whether the user exists or not
    auto other = make_scram_server(k256, scram_config(), fixed(kServerNonce));
    SaslStep s = other->evaluate(bytes("n,a=admin,n=" + user + ",r=" + kClientNonce));
    EXPECT_TRUE(s.failed);
    EXPECT_EQ(s.error_message,
              "Authentication failed: Client requested an authorization id that is different from username");
  }
}

// tokenauth=true names a delegation token, not a user: "user" is no token here
// (no token credentials at all), so the exchange fails at the proof like an
// unknown user (delegation_token_test.cc has tokens that log in).
TEST(ScramServer, TokenAuthWithoutTheTokenFailsUnknownExtensionsIgnored) {
  auto server = make_scram_server(k256, scram_config(), fixed(kServerNonce));
  SaslStep first = server->evaluate(bytes(kClientFirst + ",tokenauth=true"));
  EXPECT_FALSE(first.failed) << first.log_detail;
  EXPECT_NE(text(first.challenge), kServerFirst);  // a fake credential's salt, not the user's
  expect_generic_failure(server->evaluate(bytes(kClientFinal)));
  auto server2 = make_scram_server(k256, scram_config(), fixed(kServerNonce));
  SaslStep s = server2->evaluate(bytes(kClientFirst + ",foo=bar"));
  EXPECT_FALSE(s.failed) << s.log_detail;
  EXPECT_EQ(text(s.challenge), kServerFirst);
  // The extension is part of client-first-message-bare, hence of AuthMessage: the RFC's proof no longer holds.
  expect_generic_failure(server2->evaluate(bytes(kClientFinal)));
}

TEST(ScramServer, MalformedClientFirstFails) {
  const std::vector<std::string> bad = {
      "",
      "n,,",
      "n,,n=user",                 // no r=
      "n,,r=abc,n=user",           // wrong order
      "n,,n=,r=abc",               // empty user
      "n,,n=us=er,r=abc",          // bad SASL-name escape
      "n,,n=user,r=",              // empty nonce
      "x,,n=user,r=abc",           // bad GS2 flag
      "n,n=user,r=abc",            // GS2 header without authzid field
      "n,,n=user,r=abc,,",         // empty attribute
      "n,,n=user,r=abc,tokenauth=true,tokenauth=false",  // repeated extension
      "n,,n=user,r=a\x7f" "bc",    // nonce not printable
      std::string("n,,n=us\0er,r=abc", 16),
      std::string("\xff\xfe\xfd\x00\x01", 5),
  };
  for (const std::string& msg : bad) {
    auto server = make_scram_server(k256, scram_config(), fixed(kServerNonce));
    expect_generic_failure(server->evaluate(bytes(msg)));
  }
}

TEST(ScramServer, MalformedClientFinalFails) {
  const std::string nonce = kClientNonce + kServerNonce;
  const std::vector<std::string> bad = {
      "",
      "c=biws,r=" + nonce,                                                     // no proof
      "r=" + nonce + ",c=biws,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=",  // wrong order
      "c=biws,r=" + nonce + ",p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndV",    // bad base64 length
      "c=biws,r=" + nonce + ",p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7And*Q=",  // bad base64 char
      "c=biws,r=" + nonce + ",p=dHzbZapWIk4jUhN+Ute9ytag9zjf",                  // short proof
      "c=biws,r=" + nonce + ",p=",                                             // empty proof
      "c=biws,r=" + nonce + ",p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=,x=y",  // proof not last
      "garbage",
      std::string("\x00\x01\x02", 3),
  };
  for (const std::string& msg : bad) {
    auto server = server_after_first();
    expect_generic_failure(server->evaluate(bytes(msg)));
  }
}

TEST(ScramServer, OversizedTokenFails) {
  SaslServerConfig config = scram_config();
  config.max_token_bytes = 40;
  auto server = make_scram_server(k256, config, fixed(kServerNonce));
  SaslStep s = server->evaluate(bytes(kClientFirst + ",ext=" + std::string(100, 'x')));
  expect_generic_failure(s);
  EXPECT_NE(s.log_detail.find("exceeds"), std::string::npos);
}

TEST(ScramServer, ExtensionsInClientFinalAreCoveredByTheProof) {
  // An extension before p= is part of client-final-message-without-proof: the client signed without it.
  auto server = server_after_first();
  std::string msg = kClientFinal;
  msg.insert(msg.find(",p="), ",x=y");
  expect_generic_failure(server->evaluate(bytes(msg)));
}

TEST(ScramServer, FailedExchangeTakesNoMoreTokens) {
  auto server = server_after_first();
  expect_generic_failure(server->evaluate(bytes("garbage")));
  SaslStep after = server->evaluate(bytes(kClientFinal));
  expect_generic_failure(after);
  EXPECT_TRUE(server->authorized_id().empty());
}

TEST(ScramNonce, RandomNoncesArePrintableAndDistinct) {
  std::string a = random_scram_nonce(), b = random_scram_nonce();
  EXPECT_EQ(a.size(), 32u);
  EXPECT_TRUE(scram::is_printable_nonce(a));
  EXPECT_NE(a, b);
}

// RFC 7677's inputs with SHA-512, the expected messages computed independently
// (Python's hashlib.pbkdf2_hmac and hmac), as a byte-level check of the 512 path.
TEST(ScramSha512Vector, BothEndsProduceTheIndependentlyComputedMessages) {
  const std::string client_final =
      "c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,"
      "p=gMGXRcevScNtxZ6/8lQYpGtnsNAc3mGcmNomv+xnoOMw+3R2xNJdMNnzMlTN8PPC6wdp6dybEmDYXYTxwnYPJQ==";
  const std::string server_final =
      "v=ZQnYEgWQMFmmsM8aQMF0nDDCy/AgCzkwk8CmMZYcMg0vSVlKDanekLtifDSeVGT4+5ZxXnJq199RVG2rR7N7Zw==";
  auto client = make_scram_client(k512, "user", "pencil", fixed(kClientNonce));
  EXPECT_EQ(text(client->initial()), kClientFirst);
  auto final_msg = client->evaluate(bytes(kServerFirst));
  ASSERT_TRUE(final_msg.has_value());
  EXPECT_EQ(text(*final_msg), client_final);
  ASSERT_TRUE(client->evaluate(bytes(server_final)).has_value());
  EXPECT_TRUE(client->done());

  auto server = make_scram_server(k512, scram_config(), fixed(kServerNonce));
  EXPECT_EQ(text(server->evaluate(bytes(kClientFirst)).challenge), kServerFirst);
  SaslStep s = server->evaluate(bytes(client_final));
  EXPECT_TRUE(s.complete) << s.log_detail;
  EXPECT_EQ(text(s.challenge), server_final);
}
