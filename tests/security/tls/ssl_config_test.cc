// SslConfig: Kafka's ssl.* keys, defaults, listener prefixes, validation, and
// that no error message shows a password.
#include "security/ssl_config.h"

#include <gtest/gtest.h>

#include <functional>

namespace flotilla::security {
namespace {

using Map = std::map<std::string, std::string>;

// The error from_map throws for m (the test fails if there is none).
SslConfigError error_of(const Map& m, std::string_view prefix = "") {
  try {
    SslConfig::from_map(m, prefix);
  } catch (const SslConfigError& e) {
    return e;
  }
  ADD_FAILURE() << "no SslConfigError";
  return SslConfigError("", "");
}

TEST(SslConfigTest, KafkaDefaults) {
  auto c = SslConfig::from_map({});
  EXPECT_EQ(c.keystore_type, "JKS");
  EXPECT_EQ(c.truststore_type, "JKS");
  EXPECT_EQ(c.client_auth, SslClientAuth::NONE);
  EXPECT_EQ(c.enabled_protocols, (std::vector<TlsVersion>{TlsVersion::TLSv1_2, TlsVersion::TLSv1_3}));
  EXPECT_EQ(c.protocol, "TLSv1.3");
  EXPECT_EQ(c.endpoint_identification_algorithm, "https");
  EXPECT_TRUE(c.verify_hostname());
  EXPECT_EQ(c.principal_mapping_rules, "DEFAULT");
  EXPECT_TRUE(c.cipher_suites.empty());
  EXPECT_FALSE(c.has_keystore());
  EXPECT_FALSE(c.has_truststore());
}

TEST(SslConfigTest, ListenerPrefixOverridesKeyByKey) {
  Map m{{"ssl.client.auth", "requested"},
        {"ssl.truststore.type", "PEM"},
        {"ssl.truststore.location", "/plain/ca.pem"},
        {"listener.name.ssl_in.ssl.client.auth", "required"},
        {"listener.name.other.ssl.client.auth", "none"},
        {"listener.name.ssl_in.ssl.enabled.protocols", "TLSv1.3"}};
  auto c = SslConfig::from_map(m, listener_config_prefix("SSL_IN"));
  EXPECT_EQ(listener_config_prefix("SSL_IN"), "listener.name.ssl_in.");
  EXPECT_EQ(c.client_auth, SslClientAuth::REQUIRED);
  EXPECT_EQ(c.enabled_protocols, std::vector<TlsVersion>{TlsVersion::TLSv1_3});
  EXPECT_EQ(c.truststore_location, "/plain/ca.pem");  // not overridden: the plain key
  EXPECT_EQ(SslConfig::from_map(m).client_auth, SslClientAuth::REQUESTED);
}

TEST(SslConfigTest, EnumsAndLists) {
  auto c =
      SslConfig::from_map({{"ssl.client.auth", "REQUIRED"},
                           {"ssl.enabled.protocols", " TLSv1.3 , TLSv1.2 ,"},
                           {"ssl.endpoint.identification.algorithm", ""},
                           {"ssl.cipher.suites", "TLS_AES_128_GCM_SHA256, TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384"}});
  EXPECT_EQ(c.client_auth, SslClientAuth::REQUIRED);
  EXPECT_EQ(c.enabled_protocols, (std::vector<TlsVersion>{TlsVersion::TLSv1_3, TlsVersion::TLSv1_2}));
  EXPECT_FALSE(c.verify_hostname());
  EXPECT_EQ(c.cipher_suites.size(), 2u);

  EXPECT_EQ(error_of({{"ssl.client.auth", "sometimes"}}).key(), "ssl.client.auth");
  EXPECT_EQ(error_of({{"ssl.enabled.protocols", "TLSv1.2,SSLv3"}}).key(), "ssl.enabled.protocols");
  EXPECT_EQ(error_of({{"ssl.enabled.protocols", " "}}).key(), "ssl.enabled.protocols");
  EXPECT_EQ(error_of({{"ssl.protocol", "SSLv3"}}).key(), "ssl.protocol");
  EXPECT_EQ(error_of({{"ssl.endpoint.identification.algorithm", "ldaps"}}).key(),
            "ssl.endpoint.identification.algorithm");
  EXPECT_EQ(error_of({{"ssl.principal.mapping.rules", "DEFAULT/L"}}).key(), "ssl.principal.mapping.rules");
  EXPECT_EQ(error_of({{"ssl.cipher.suites", "TLS_NO_SUCH_CIPHER"}}).key(), "ssl.cipher.suites");
}

TEST(SslConfigTest, CipherSuiteNamesMapToOpenSsl) {
  auto mapped = map_cipher_suites({"TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384", "TLS_AES_128_GCM_SHA256",
                                   "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256", "TLS_EMPTY_RENEGOTIATION_INFO_SCSV",
                                   "TLS_CHACHA20_POLY1305_SHA256", "ECDHE-RSA-AES128-GCM-SHA256"});
  EXPECT_EQ(mapped.tls12, "ECDHE-RSA-AES256-GCM-SHA384:ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256");
  EXPECT_EQ(mapped.tls13, "TLS_AES_128_GCM_SHA256:TLS_CHACHA20_POLY1305_SHA256");
  EXPECT_THROW(map_cipher_suites({"TLS_RSA_WITH_NOTHING"}), SslConfigError);
}

TEST(SslConfigTest, JksIsRefusedClearly) {
  auto e = error_of({{"ssl.keystore.location", "/etc/kafka/broker.jks"}, {"ssl.keystore.password", "pw"}});
  EXPECT_EQ(e.key(), "ssl.keystore.type");
  EXPECT_NE(std::string(e.what()).find("JKS"), std::string::npos) << e.what();
  EXPECT_NE(std::string(e.what()).find("PKCS12"), std::string::npos) << e.what();
  EXPECT_EQ(error_of({{"ssl.truststore.location", "/t.jks"}}).key(), "ssl.truststore.type");
  // Without a store location the JKS default is harmless.
  EXPECT_NO_THROW(SslConfig::from_map({{"ssl.client.auth", "none"}}));
  EXPECT_EQ(
      error_of({{"ssl.keystore.type", "BKS"}, {"ssl.keystore.location", "/k"}, {"ssl.keystore.password", "x"}}).key(),
      "ssl.keystore.type");
}

TEST(SslConfigTest, StoreCombinationsFollowKafka) {
  // PKCS12 key store without its password.
  EXPECT_EQ(error_of({{"ssl.keystore.type", "PKCS12"}, {"ssl.keystore.location", "/k.p12"}}).key(),
            "ssl.keystore.password");
  // Inline key: PEM only, needs the chain, excludes a location and a store password.
  EXPECT_EQ(error_of({{"ssl.keystore.type", "PKCS12"}, {"ssl.keystore.key", "-----BEGIN PRIVATE KEY-----"}}).key(),
            "ssl.keystore.key");
  EXPECT_EQ(error_of({{"ssl.keystore.type", "PEM"}, {"ssl.keystore.key", "k"}}).key(),
            "ssl.keystore.certificate.chain");
  EXPECT_EQ(error_of({{"ssl.keystore.type", "PEM"},
                      {"ssl.keystore.key", "k"},
                      {"ssl.keystore.certificate.chain", "c"},
                      {"ssl.keystore.location", "/k.pem"}})
                .key(),
            "ssl.keystore.location");
  EXPECT_EQ(error_of({{"ssl.keystore.type", "PEM"}, {"ssl.keystore.certificate.chain", "c"}}).key(),
            "ssl.keystore.key");
  // Inline trust certificates: PEM only, no location, no password.
  EXPECT_EQ(error_of({{"ssl.truststore.certificates", "c"}}).key(), "ssl.truststore.certificates");
  EXPECT_EQ(
      error_of(
          {{"ssl.truststore.type", "PEM"}, {"ssl.truststore.certificates", "c"}, {"ssl.truststore.location", "/t"}})
          .key(),
      "ssl.truststore.location");
  EXPECT_EQ(
      error_of({{"ssl.truststore.type", "PEM"}, {"ssl.truststore.location", "/t"}, {"ssl.truststore.password", "p"}})
          .key(),
      "ssl.truststore.password");
  // A PKCS12 trust store may go without a password (Java skips the integrity check).
  EXPECT_NO_THROW(SslConfig::from_map({{"ssl.truststore.type", "PKCS12"}, {"ssl.truststore.location", "/t.p12"}}));
  // Types are case-insensitive.
  EXPECT_EQ(SslConfig::from_map({{"ssl.keystore.type", "pem"}}).keystore_type, "PEM");
}

TEST(SslConfigTest, PasswordsNeverAppear) {
  const std::string secret = "Sup3r-Secret-Pw";
  const std::string key_text = "-----BEGIN PRIVATE KEY-----\nMIIsecretkeymaterial\n-----END PRIVATE KEY-----";
  std::vector<Map> bad{
      {{"ssl.keystore.type", "PEM"}, {"ssl.keystore.location", "/k.pem"}, {"ssl.keystore.password", secret}},
      {{"ssl.keystore.type", "PEM"},
       {"ssl.keystore.key", key_text},
       {"ssl.keystore.certificate.chain", "c"},
       {"ssl.keystore.password", secret}},
      {{"ssl.keystore.type", "PKCS12"}, {"ssl.keystore.key", key_text}, {"ssl.key.password", secret}},
      {{"ssl.truststore.type", "PEM"}, {"ssl.truststore.location", "/t"}, {"ssl.truststore.password", secret}},
      {{"ssl.keystore.location", "/k.jks"}, {"ssl.keystore.password", secret}},
  };
  for (const auto& m : bad) {
    auto e = error_of(m);
    EXPECT_EQ(std::string(e.what()).find(secret), std::string::npos) << e.what();
    EXPECT_EQ(std::string(e.what()).find("secretkeymaterial"), std::string::npos) << e.what();
    EXPECT_FALSE(e.key().empty());
  }
  auto c = SslConfig::from_map({{"ssl.keystore.type", "PKCS12"},
                                {"ssl.keystore.location", "/k.p12"},
                                {"ssl.keystore.password", secret},
                                {"ssl.key.password", secret},
                                {"ssl.truststore.type", "PKCS12"},
                                {"ssl.truststore.location", "/t.p12"},
                                {"ssl.truststore.password", secret}});
  EXPECT_EQ(c.keystore_password, secret);
  std::string text = c.describe();
  EXPECT_EQ(text.find(secret), std::string::npos) << text;
  EXPECT_NE(text.find("ssl.keystore.password = [hidden]"), std::string::npos) << text;
  EXPECT_NE(text.find("ssl.keystore.location = /k.p12"), std::string::npos) << text;
  EXPECT_TRUE(is_ssl_password_key("ssl.truststore.password"));
  EXPECT_FALSE(is_ssl_password_key("ssl.truststore.location"));
}

TEST(SslConfigTest, FilesToWatch) {
  auto c = SslConfig::from_map({{"ssl.keystore.type", "PKCS12"},
                                {"ssl.keystore.location", "/k.p12"},
                                {"ssl.keystore.password", "p"},
                                {"ssl.truststore.type", "PEM"},
                                {"ssl.truststore.location", "/ca.pem"}});
  EXPECT_EQ(c.files(), (std::vector<std::string>{"/k.p12", "/ca.pem"}));
  EXPECT_EQ(ssl_config_keys().size(), 16u);
}

}  // namespace
}  // namespace flotilla::security
