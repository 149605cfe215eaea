// TLS under net::Listener and net::Client: framing over TLS, file regions
// (pread through TLS in 64 KiB chunks, here a region of ~200 KiB), the SSL
// principal from a client certificate, a handshake failure closing only that
// connection, and net::Client's handshake with server verification.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <future>
#include <thread>

#include "../security/tls/test_pki.h"
#include "net/client.h"
#include "net/server.h"

using namespace flotilla;
using namespace flotilla::net;
using asio::ip::tcp;
using flotilla::security::test::TestPki;

namespace {

constexpr size_t kFileBytes = 200 * 1024 + 17;

// api key 1: echo the body; api key 3: i32 7, a file region, i32 9. Records
// the principal of the last request.
class TlsHandler : public Handler {
 public:
  int request_header_version(int16_t key, int16_t) const override { return key == 1 || key == 3 ? 1 : -1; }
  void handle(std::shared_ptr<Request> req, Respond respond) override {
    {
      std::lock_guard l(mu);
      principal = req->session->principal.to_string();
    }
    Response r;
    if (req->api_key == 3) {
      r.body.put_i32(7);
      Records rec;
      rec.is_null = false;
      rec.files.push_back(FileRegion{file_fd, 3, static_cast<int64_t>(kFileBytes - 3), nullptr});
      r.body.put_records_payload(rec);
      r.body.put_i32(9);
    } else {
      ByteReader body = req->body();
      r.body.put_bytes(body.get_span(body.remaining()));
    }
    respond(std::move(r));
  }
  int file_fd = -1;
  std::mutex mu;
  std::string principal;
};

security::SslConfig server_config(security::SslClientAuth auth) {
  const auto& pki = TestPki::get();
  security::SslConfig c;
  c.keystore_type = "PEM";
  c.keystore_location = pki.file("server.pem").string();
  c.truststore_type = "PEM";
  c.truststore_location = pki.file("ca.pem").string();
  c.client_auth = auth;
  return c;
}

std::shared_ptr<const security::TlsContext> client_context(bool with_cert, const std::string& ca = "ca.pem") {
  const auto& pki = TestPki::get();
  security::SslConfig c;
  c.truststore_type = "PEM";
  c.truststore_location = pki.file(ca).string();
  if (with_cert) {
    c.keystore_type = "PEM";
    c.keystore_location = pki.file("client.pem").string();
  }
  return security::TlsContext::create(c, security::TlsMode::CLIENT);
}

struct Fixture {
  asio::io_context io;
  TlsHandler handler;
  std::unique_ptr<Listener> listener;
  std::thread thread;
  std::string path = "/tmp/flotilla-tls-transport-" + std::to_string(::getpid());
  explicit Fixture(security::SslClientAuth auth) {
    int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_TRUNC, 0600);
    std::vector<uint8_t> data(kFileBytes);
    for (size_t i = 0; i < data.size(); ++i) data[i] = static_cast<uint8_t>(i * 7 + 1);
    EXPECT_EQ(::write(fd, data.data(), data.size()), static_cast<ssize_t>(data.size()));
    handler.file_fd = fd;
    auto sec = std::make_shared<ListenerSecurity>();
    sec->protocol = security::SecurityProtocol::SSL;
    sec->authentication_timeout_ms = 2000;
    sec->tls = std::make_shared<security::ReloadableTlsContext>(server_config(auth), security::TlsMode::SERVER);
    listener = std::make_unique<Listener>(io, "SSL", "127.0.0.1", 0, handler, Limits{}, sec);
    listener->start();
    thread = std::thread([this] {
      auto guard = asio::make_work_guard(io);
      io.run();
    });
  }
  ~Fixture() {
    asio::post(io, [this] {
      listener->stop();
      io.stop();
    });
    thread.join();
    ::close(handler.file_fd);
    ::unlink(path.c_str());
  }
  tcp::endpoint endpoint() const { return {asio::ip::make_address("127.0.0.1"), static_cast<uint16_t>(listener->port())}; }
};

std::vector<uint8_t> frame(int16_t key, int32_t corr, const std::vector<uint8_t>& body) {
  ByteWriter w;
  w.put_i32(0);
  w.put_i16(key);
  w.put_i16(0);
  w.put_i32(corr);
  w.put_i16(-1);
  w.put_bytes(body.data(), body.size());
  w.patch_i32(0, static_cast<int32_t>(w.position() - 4));
  return w.buffer();
}

template <typename Stream>
std::vector<uint8_t> read_response(Stream& s) {
  uint8_t sz[4];
  asio::read(s, asio::buffer(sz, 4));
  std::vector<uint8_t> body(load_be32(sz));
  asio::read(s, asio::buffer(body));
  return body;
}

}  // namespace

TEST(TlsListener, FramesFileRegionsAndPrincipalOverMutualTls) {
  Fixture f(security::SslClientAuth::REQUIRED);
  auto ctx = client_context(true);
  asio::io_context cio;
  asio::ssl::stream<tcp::socket> s(cio, ctx->context());
  s.next_layer().connect(f.endpoint());
  s.handshake(asio::ssl::stream_base::client);
  asio::write(s, asio::buffer(frame(1, 5, {1, 2, 3})));
  auto echo = read_response(s);
  ASSERT_EQ(echo.size(), 7u);
  EXPECT_EQ(load_be32(echo.data()), 5u);
  EXPECT_EQ(echo[6], 3);
  {
    std::lock_guard l(f.handler.mu);
    EXPECT_EQ(f.handler.principal, "User:CN=alice,OU=eng,O=Example,C=US");
  }
  asio::write(s, asio::buffer(frame(3, 6, {})));
  auto r = read_response(s);
  ASSERT_EQ(r.size(), 4 + 4 + (kFileBytes - 3) + 4);
  EXPECT_EQ(load_be32(r.data()), 6u);
  EXPECT_EQ(load_be32(r.data() + 4), 7u);
  for (size_t i = 3; i < kFileBytes; ++i) ASSERT_EQ(r[8 + i - 3], static_cast<uint8_t>(i * 7 + 1)) << i;
  EXPECT_EQ(load_be32(r.data() + r.size() - 4), 9u);
}

TEST(TlsListener, PlaintextAndMissingCertificateCloseOnlyThoseConnections) {
  Fixture f(security::SslClientAuth::REQUIRED);
  asio::io_context cio;
  auto good_ctx = client_context(true);
  asio::ssl::stream<tcp::socket> good(cio, good_ctx->context());
  good.next_layer().connect(f.endpoint());
  good.handshake(asio::ssl::stream_base::client);

  tcp::socket plain(cio);
  plain.connect(f.endpoint());
  asio::write(plain, asio::buffer(frame(1, 1, {1})));
  uint8_t b;
  asio::error_code ec;
  asio::read(plain, asio::buffer(&b, 1), ec);
  EXPECT_TRUE(ec);

  auto anon_ctx = client_context(false);
  asio::ssl::stream<tcp::socket> anon(cio, anon_ctx->context());
  anon.next_layer().connect(f.endpoint());
  anon.handshake(asio::ssl::stream_base::client, ec);  // TLS 1.3: the server's verdict comes after
  if (!ec) {
    asio::write(anon, asio::buffer(frame(1, 1, {1})), ec);
    asio::read(anon, asio::buffer(&b, 1), ec);
  }
  EXPECT_TRUE(ec);

  asio::write(good, asio::buffer(frame(1, 9, {4})));
  auto r = read_response(good);
  ASSERT_EQ(r.size(), 5u);
  EXPECT_EQ(load_be32(r.data()), 9u);
}

TEST(TlsClient, HandshakesVerifiesAndReadsFileRegions) {
  Fixture f(security::SslClientAuth::NONE);
  auto run = [&](std::shared_ptr<const security::TlsContext> ctx) {
    auto sec = std::make_shared<ClientSecurity>();
    sec->protocol = security::SecurityProtocol::SSL;
    sec->tls = std::move(ctx);
    std::promise<ClientResponse> done;
    asio::post(f.io, [&] {
      auto c = Client::create(f.io, "127.0.0.1", f.listener->port(), "t");
      c->set_security(sec);
      ClientRequest req;
      req.api_key = 3;
      c->send(std::move(req), [&done, c](ClientResponse r) { done.set_value(std::move(r)); });
    });
    return done.get_future().get();
  };
  auto ok = run(client_context(false));
  ASSERT_FALSE(ok.error) << ok.error.message();
  EXPECT_EQ(ok.frame->size() - ok.body_offset, 4 + (kFileBytes - 3) + 4);
  {
    std::lock_guard l(f.handler.mu);
    EXPECT_EQ(f.handler.principal, "User:ANONYMOUS");
  }
  // A client that trusts another CA refuses the server.
  auto bad = run(client_context(false, "rogue-ca.pem"));
  EXPECT_TRUE(bad.error);
}

// A peer that goes away mid-handshake is not a TLS failure (logged at INFO,
// not WARN): EOF, reset, truncation and OpenSSL 3's "unexpected eof".
TEST(TlsHandshake, PeerClosedIsToldFromTlsFailures) {
  EXPECT_TRUE(peer_closed_handshake(asio::error::eof));
  EXPECT_TRUE(peer_closed_handshake(asio::error::connection_reset));
  EXPECT_TRUE(peer_closed_handshake(asio::ssl::error::stream_truncated));
  auto ssl = [](int reason) {
    return asio::error_code(static_cast<int>(ERR_PACK(ERR_LIB_SSL, 0, reason)), asio::error::get_ssl_category());
  };
  EXPECT_TRUE(peer_closed_handshake(ssl(SSL_R_UNEXPECTED_EOF_WHILE_READING)));
  EXPECT_FALSE(peer_closed_handshake(ssl(SSL_R_WRONG_VERSION_NUMBER)));
  EXPECT_FALSE(peer_closed_handshake(ssl(SSL_R_CERTIFICATE_VERIFY_FAILED)));
  EXPECT_FALSE(peer_closed_handshake(asio::error::operation_aborted));
}
