// TlsContext: key/trust stores of every supported kind, and real handshakes
// between a server and a client context over loopback TCP with asio.
#include "security/tls_context.h"

#include <gtest/gtest.h>

#include <asio.hpp>
#include <chrono>
#include <thread>

#include "test_pki.h"

namespace flotilla::security {
namespace {

using Map = std::map<std::string, std::string>;
using test::TestPki;

std::string f(const std::string& name) { return TestPki::get().file(name).string(); }

SslConfig server_pem(Map extra = {}) {
  Map m{{"ssl.keystore.type", "PEM"},
        {"ssl.keystore.location", f("server.pem")},
        {"ssl.truststore.type", "PEM"},
        {"ssl.truststore.location", f("ca.pem")}};
  for (auto& [k, v] : extra) m[k] = v;
  return SslConfig::from_map(m);
}

SslConfig client_cfg(Map extra = {}) {
  Map m{{"ssl.truststore.type", "PEM"}, {"ssl.truststore.location", f("ca.pem")}};
  for (auto& [k, v] : extra) m[k] = v;
  for (auto it = m.begin(); it != m.end();) it = it->second == "<unset>" ? m.erase(it) : std::next(it);
  return SslConfig::from_map(m);
}

Map client_keystore() { return {{"ssl.keystore.type", "PEM"}, {"ssl.keystore.location", f("client.pem")}}; }

struct Outcome {
  bool server_ok = false;
  bool client_ok = false;
  std::string server_error, client_error;
  std::string version, cipher;
  std::string principal;
};

// One TLS handshake over 127.0.0.1; the client checks the server as `host`.
Outcome handshake(const TlsContext& server, const TlsContext& client, const std::string& host = "127.0.0.1") {
  asio::io_context io;
  asio::ip::tcp::acceptor acceptor(io, {asio::ip::make_address("127.0.0.1"), 0});
  asio::ssl::stream<asio::ip::tcp::socket> ss(io, server.context());
  asio::ssl::stream<asio::ip::tcp::socket> cs(io, client.context());
  Outcome out;
  // The server answers a good handshake with one byte of application data and
  // closes the socket after a failed one, so the client learns the outcome even
  // under TLS 1.3, where it finishes before the server has checked its certificate.
  static const char kByte = 'k';
  char byte = 0;
  acceptor.async_accept(ss.lowest_layer(), [&](std::error_code ec) {
    if (ec) return;
    ss.lowest_layer().set_option(asio::ip::tcp::no_delay(true));
    ss.async_handshake(asio::ssl::stream_base::server, [&](std::error_code hec) {
      out.server_ok = !hec;
      if (hec) {
        out.server_error = hec.message();
        std::error_code ignored;
        ss.lowest_layer().close(ignored);
        return;
      }
      out.version = SSL_get_version(ss.native_handle());
      out.cipher = SSL_get_cipher_name(ss.native_handle());
      try {
        out.principal = principal_from_peer(ss.native_handle(), server.principal_mapper()).to_string();
      } catch (const std::exception& e) {
        out.principal = std::string("error: ") + e.what();
      }
      asio::async_write(ss, asio::buffer(&kByte, 1), [](std::error_code, size_t) {});
    });
  });
  cs.lowest_layer().async_connect(acceptor.local_endpoint(), [&](std::error_code ec) {
    if (ec) return;
    cs.lowest_layer().set_option(asio::ip::tcp::no_delay(true));
    client.prepare_client(cs, host);
    cs.async_handshake(asio::ssl::stream_base::client, [&](std::error_code hec) {
      if (hec) {
        out.client_error = hec.message();
        return;
      }
      asio::async_read(cs, asio::buffer(&byte, 1), [&](std::error_code rec, size_t) {
        out.client_ok = !rec && byte == kByte;
        if (rec) out.client_error = rec.message();
      });
    });
  });
  io.run_for(std::chrono::seconds(5));
  return out;
}

std::shared_ptr<const TlsContext> server_ctx(const SslConfig& c) { return TlsContext::create(c, TlsMode::SERVER); }
std::shared_ptr<const TlsContext> client_ctx(const SslConfig& c) { return TlsContext::create(c, TlsMode::CLIENT); }

SslConfigError create_error(const SslConfig& c, TlsMode mode) {
  try {
    TlsContext::create(c, mode);
  } catch (const SslConfigError& e) {
    return e;
  }
  ADD_FAILURE() << "no SslConfigError";
  return SslConfigError("", "");
}

TEST(TlsContextTest, Tls13HandshakeWithPemStores) {
  auto out = handshake(*server_ctx(server_pem()), *client_ctx(client_cfg()));
  ASSERT_TRUE(out.server_ok) << out.server_error;
  EXPECT_TRUE(out.client_ok) << out.client_error;
  EXPECT_EQ(out.version, "TLSv1.3");
  EXPECT_EQ(out.principal, "User:ANONYMOUS");  // ssl.client.auth=none
}

TEST(TlsContextTest, Tls12HandshakeAndIanaCipherNames) {
  auto client = client_ctx(client_cfg(
      {{"ssl.enabled.protocols", "TLSv1.2"}, {"ssl.cipher.suites", "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256"}}));
  auto out = handshake(*server_ctx(server_pem()), *client);
  ASSERT_TRUE(out.server_ok) << out.server_error;
  EXPECT_EQ(out.version, "TLSv1.2");
  EXPECT_EQ(out.cipher, "ECDHE-ECDSA-AES128-GCM-SHA256");
  // ssl.protocol=TLSv1.2 keeps a client on TLS 1.2 even with TLSv1.3 enabled.
  out = handshake(*server_ctx(server_pem()), *client_ctx(client_cfg({{"ssl.protocol", "TLSv1.2"}})));
  ASSERT_TRUE(out.server_ok) << out.server_error;
  EXPECT_EQ(out.version, "TLSv1.2");
  // TLS 1.3 suites by their IANA names.
  out =
      handshake(*server_ctx(server_pem({{"ssl.cipher.suites", "TLS_AES_256_GCM_SHA384"}})), *client_ctx(client_cfg()));
  ASSERT_TRUE(out.server_ok) << out.server_error;
  EXPECT_EQ(out.cipher, "TLS_AES_256_GCM_SHA384");
}

TEST(TlsContextTest, DisjointProtocolsFail) {
  auto out = handshake(*server_ctx(server_pem({{"ssl.enabled.protocols", "TLSv1.3"}})),
                       *client_ctx(client_cfg({{"ssl.enabled.protocols", "TLSv1.2"}})));
  EXPECT_FALSE(out.server_ok);
  EXPECT_FALSE(out.client_ok);
}

TEST(TlsContextTest, ClientAuthRequired) {
  auto server = server_ctx(server_pem({{"ssl.client.auth", "required"}}));
  auto without = handshake(*server, *client_ctx(client_cfg()));
  EXPECT_FALSE(without.server_ok);
  EXPECT_FALSE(without.client_ok);

  auto with = handshake(*server, *client_ctx(client_cfg(client_keystore())));
  ASSERT_TRUE(with.server_ok) << with.server_error;
  EXPECT_TRUE(with.client_ok) << with.client_error;
  EXPECT_EQ(with.principal, "User:CN=alice,OU=eng,O=Example,C=US");

  // A client certificate from a CA the server does not trust.
  Map rogue{{"ssl.keystore.type", "PEM"}, {"ssl.keystore.location", f("rogue-server.pem")}};
  auto untrusted = handshake(*server, *client_ctx(client_cfg(rogue)));
  EXPECT_FALSE(untrusted.server_ok);
}

TEST(TlsContextTest, ClientAuthRequestedAndMappingRules) {
  auto server =
      server_ctx(server_pem({{"ssl.client.auth", "requested"},
                             {"ssl.principal.mapping.rules", "RULE:^CN=([^,]*),OU=eng,.*$/$1@eng/U,DEFAULT"}}));
  auto anonymous = handshake(*server, *client_ctx(client_cfg()));
  ASSERT_TRUE(anonymous.server_ok) << anonymous.server_error;
  EXPECT_EQ(anonymous.principal, "User:ANONYMOUS");
  auto alice = handshake(*server, *client_ctx(client_cfg(client_keystore())));
  ASSERT_TRUE(alice.server_ok) << alice.server_error;
  EXPECT_EQ(alice.principal, "User:ALICE@ENG");

  // No rule matches: Kafka fails the authentication.
  auto strict = server_ctx(
      server_pem({{"ssl.client.auth", "required"}, {"ssl.principal.mapping.rules", "RULE:^CN=bob,.*$/bob/"}}));
  auto unmapped = handshake(*strict, *client_ctx(client_cfg(client_keystore())));
  ASSERT_TRUE(unmapped.server_ok);
  EXPECT_EQ(unmapped.principal,
            "error: Failed to map name for 'CN=alice,OU=eng,O=Example,C=US' based on SSL principal mapping rules.");
}

TEST(TlsContextTest, UntrustedServerFails) {
  auto client =
      client_ctx(SslConfig::from_map({{"ssl.truststore.type", "PEM"}, {"ssl.truststore.location", f("rogue-ca.pem")}}));
  auto out = handshake(*server_ctx(server_pem()), *client);
  EXPECT_FALSE(out.client_ok);
  EXPECT_NE(out.client_error.find("certificate verify failed"), std::string::npos) << out.client_error;
}

TEST(TlsContextTest, ExpiredServerCertificateFails) {
  auto server =
      server_ctx(SslConfig::from_map({{"ssl.keystore.type", "PEM"}, {"ssl.keystore.location", f("expired.pem")}}));
  auto out = handshake(*server, *client_ctx(client_cfg()));
  EXPECT_FALSE(out.client_ok);
  EXPECT_NE(out.client_error.find("certificate verify failed"), std::string::npos) << out.client_error;
}

TEST(TlsContextTest, HostNameVerification) {
  auto server = server_ctx(server_pem());
  // SAN IP:127.0.0.1 and DNS:localhost match; another name does not.
  EXPECT_TRUE(handshake(*server, *client_ctx(client_cfg()), "127.0.0.1").client_ok);
  EXPECT_TRUE(handshake(*server, *client_ctx(client_cfg()), "localhost").client_ok);
  auto wrong = handshake(*server, *client_ctx(client_cfg()), "broker1.example.com");
  EXPECT_FALSE(wrong.client_ok);
  EXPECT_FALSE(handshake(*server, *client_ctx(client_cfg()), "127.0.0.2").client_ok);
  // ssl.endpoint.identification.algorithm= (empty) turns the check off, not the chain check.
  auto off = client_ctx(client_cfg({{"ssl.endpoint.identification.algorithm", ""}}));
  auto out = handshake(*server, *off, "broker1.example.com");
  EXPECT_TRUE(out.client_ok) << out.client_error;
}

TEST(TlsContextTest, Pkcs12Stores) {
  auto server = server_ctx(SslConfig::from_map({{"ssl.keystore.type", "PKCS12"},
                                                {"ssl.keystore.location", f("server.p12")},
                                                {"ssl.keystore.password", TestPki::kStorePassword},
                                                {"ssl.client.auth", "required"},
                                                {"ssl.truststore.type", "PKCS12"},
                                                {"ssl.truststore.location", f("truststore.p12")},
                                                {"ssl.truststore.password", TestPki::kTrustPassword}}));
  EXPECT_EQ(server->certificate_subject(), "CN=localhost,O=Flotilla Test");
  auto client = client_ctx(SslConfig::from_map({{"ssl.keystore.type", "PKCS12"},
                                                {"ssl.keystore.location", f("client.p12")},
                                                {"ssl.keystore.password", TestPki::kStorePassword},
                                                {"ssl.truststore.type", "PKCS12"},
                                                {"ssl.truststore.location", f("truststore.p12")},
                                                {"ssl.truststore.password", TestPki::kTrustPassword}}));
  auto out = handshake(*server, *client);
  ASSERT_TRUE(out.server_ok) << out.server_error;
  EXPECT_TRUE(out.client_ok) << out.client_error;
  EXPECT_EQ(out.principal, "User:CN=alice,OU=eng,O=Example,C=US");
}

TEST(TlsContextTest, WrongPasswordsNameTheKeyNotThePassword) {
  const std::string wrong = "Wr0ng-Pa55word";
  auto e = create_error(SslConfig::from_map({{"ssl.keystore.type", "PKCS12"},
                                             {"ssl.keystore.location", f("server.p12")},
                                             {"ssl.keystore.password", wrong}}),
                        TlsMode::SERVER);
  EXPECT_EQ(e.key(), "ssl.keystore.password");
  EXPECT_EQ(std::string(e.what()).find(wrong), std::string::npos) << e.what();
  EXPECT_NE(std::string(e.what()).find(f("server.p12")), std::string::npos) << e.what();

  e = create_error(SslConfig::from_map({{"ssl.truststore.type", "PKCS12"},
                                        {"ssl.truststore.location", f("truststore.p12")},
                                        {"ssl.truststore.password", wrong}}),
                   TlsMode::CLIENT);
  EXPECT_EQ(e.key(), "ssl.truststore.password");
  EXPECT_EQ(std::string(e.what()).find(wrong), std::string::npos) << e.what();

  // A password-protected PKCS12 trust store read without its password.
  e = create_error(
      SslConfig::from_map({{"ssl.truststore.type", "PKCS12"}, {"ssl.truststore.location", f("truststore.p12")}}),
      TlsMode::CLIENT);
  EXPECT_EQ(e.key(), "ssl.truststore.password");

  // Passwords are trimmed, as Kafka trims every value.
  EXPECT_NO_THROW(TlsContext::create(
      SslConfig::from_map({{"ssl.keystore.type", "PKCS12"},
                           {"ssl.keystore.location", f("server.p12")},
                           {"ssl.keystore.password", std::string(" ") + TestPki::kStorePassword + "\n"}}),
      TlsMode::SERVER));

  // An encrypted PEM key: right, wrong and missing ssl.key.password.
  Map enc{{"ssl.keystore.type", "PEM"}, {"ssl.keystore.location", f("server-enc.pem")}};
  Map right = enc;
  right["ssl.key.password"] = TestPki::kKeyPassword;
  auto ok = server_ctx(SslConfig::from_map(right));
  EXPECT_EQ(ok->certificate_subject(), "CN=localhost,O=Flotilla Test");
  EXPECT_TRUE(handshake(*ok, *client_ctx(client_cfg())).client_ok);
  Map bad = enc;
  bad["ssl.key.password"] = wrong;
  e = create_error(SslConfig::from_map(bad), TlsMode::SERVER);
  EXPECT_EQ(e.key(), "ssl.key.password");
  EXPECT_EQ(std::string(e.what()).find(wrong), std::string::npos) << e.what();
  e = create_error(SslConfig::from_map(enc), TlsMode::SERVER);
  EXPECT_EQ(e.key(), "ssl.key.password");
}

TEST(TlsContextTest, MissingOrUnusableFiles) {
  auto e = create_error(SslConfig::from_map({{"ssl.keystore.type", "PEM"}, {"ssl.keystore.location", f("nope.pem")}}),
                        TlsMode::SERVER);
  EXPECT_EQ(e.key(), "ssl.keystore.location");
  e = create_error(
      SslConfig::from_map(
          {{"ssl.keystore.type", "PKCS12"}, {"ssl.keystore.location", f("ca.pem")}, {"ssl.keystore.password", "x"}}),
      TlsMode::SERVER);
  EXPECT_EQ(e.key(), "ssl.keystore.location");
  // A PEM key store holding no key.
  e = create_error(SslConfig::from_map({{"ssl.keystore.type", "PEM"}, {"ssl.keystore.location", f("ca.pem")}}),
                   TlsMode::SERVER);
  EXPECT_EQ(e.key(), "ssl.keystore.location");
  // A trust store holding no certificate.
  e = create_error(SslConfig::from_map({{"ssl.truststore.type", "PEM"}, {"ssl.truststore.location", f("server.p12")}}),
                   TlsMode::CLIENT);
  EXPECT_EQ(e.key(), "ssl.truststore.location");
  // A server needs a key store.
  e = create_error(SslConfig::from_map({}), TlsMode::SERVER);
  EXPECT_EQ(e.key(), "ssl.keystore.location");
}

TEST(TlsContextTest, InlinePem) {
  const auto& pki = TestPki::get();
  std::string ca = test::cert_pem(pki.ca.cert.get());
  auto server =
      server_ctx(SslConfig::from_map({{"ssl.keystore.type", "PEM"},
                                      {"ssl.keystore.key", test::key_pem(pki.server.key.get(), "inl1ne")},
                                      {"ssl.key.password", "inl1ne"},
                                      {"ssl.keystore.certificate.chain", test::cert_pem(pki.server.cert.get()) + ca},
                                      {"ssl.client.auth", "required"},
                                      {"ssl.truststore.type", "PEM"},
                                      {"ssl.truststore.certificates", ca}}));
  auto client =
      client_ctx(SslConfig::from_map({{"ssl.keystore.type", "PEM"},
                                      {"ssl.keystore.key", test::key_pem(pki.client.key.get())},
                                      {"ssl.keystore.certificate.chain", test::cert_pem(pki.client.cert.get())},
                                      {"ssl.truststore.type", "PEM"},
                                      {"ssl.truststore.certificates", ca}}));
  auto out = handshake(*server, *client, "localhost");
  ASSERT_TRUE(out.server_ok) << out.server_error;
  EXPECT_EQ(out.principal, "User:CN=alice,OU=eng,O=Example,C=US");
  // A key that does not belong to the chain.
  auto e =
      create_error(SslConfig::from_map({{"ssl.keystore.type", "PEM"},
                                        {"ssl.keystore.key", test::key_pem(pki.client.key.get())},
                                        {"ssl.keystore.certificate.chain", test::cert_pem(pki.server.cert.get())}}),
                   TlsMode::SERVER);
  EXPECT_EQ(e.key(), "ssl.keystore.key");
  EXPECT_EQ(std::string(e.what()).find("PRIVATE KEY"), std::string::npos) << e.what();
}

TEST(TlsContextTest, ReloadKeepsOldContextsAndChecksTheSubject) {
  const auto& pki = TestPki::get();
  auto path = pki.file("reload.pem");
  test::write_file(path, test::key_pem(pki.server.key.get()) + test::cert_pem(pki.server.cert.get()));
  auto cfg = SslConfig::from_map({{"ssl.keystore.type", "PEM"}, {"ssl.keystore.location", path.string()}});
  ReloadableTlsContext reloadable(cfg, TlsMode::SERVER);
  auto first = reloadable.current();
  EXPECT_FALSE(first->files_changed());
  EXPECT_FALSE(reloadable.reload_if_files_changed());

  // A renewed certificate with the same subject: picked up; the old context still serves.
  auto renewed = test::issue({{{"O", "Flotilla Test"}, {"CN", "localhost"}}, "IP:127.0.0.1,DNS:localhost"}, &pki.ca);
  test::write_file(path, test::key_pem(renewed.key.get()) + test::cert_pem(renewed.cert.get()) + "\n");
  EXPECT_TRUE(first->files_changed());
  EXPECT_TRUE(reloadable.reload_if_files_changed());
  auto second = reloadable.current();
  EXPECT_NE(first.get(), second.get());
  EXPECT_TRUE(handshake(*first, *client_ctx(client_cfg())).client_ok);
  EXPECT_TRUE(handshake(*second, *client_ctx(client_cfg())).client_ok);

  // A certificate for another subject is refused; the current context stays.
  auto other = SslConfig::from_map({{"ssl.keystore.type", "PEM"}, {"ssl.keystore.location", f("client.pem")}});
  EXPECT_THROW(reloadable.reconfigure(other), SslConfigError);
  EXPECT_EQ(reloadable.current().get(), second.get());
  // A broken file is refused too.
  test::write_file(path, "garbage");
  EXPECT_THROW(reloadable.reload_if_files_changed(), SslConfigError);
  EXPECT_EQ(reloadable.current().get(), second.get());
}

}  // namespace
}  // namespace flotilla::security
