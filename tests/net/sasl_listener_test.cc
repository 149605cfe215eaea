// A SASL_PLAINTEXT listener over real sockets: what reaches the handler and
// with which Session, what closes a connection, and that one bad connection
// leaves the others alone.
#include <gtest/gtest.h>

#include <thread>

#include "net/server.h"
#include "protocol/messages.h"

using namespace flotilla;
using namespace flotilla::net;
using asio::ip::tcp;

namespace {

// Answers api key 3 (Metadata) with the principal of the request's session.
class PrincipalHandler : public Handler {
 public:
  int request_header_version(int16_t key, int16_t) const override { return key == 3 || key == 18 ? 1 : -1; }
  void handle(std::shared_ptr<Request> req, Respond respond) override {
    Response r;
    r.body.put_str(req->session ? req->session->principal.to_string() : "none");
    respond(std::move(r));
  }
};

struct SaslFixture {
  asio::io_context io;
  PrincipalHandler handler;
  std::unique_ptr<Listener> listener;
  std::thread thread;
  explicit SaslFixture(int64_t auth_timeout_ms = 10000) {
    auto sec = std::make_shared<ListenerSecurity>();
    sec->protocol = security::SecurityProtocol::SASL_PLAINTEXT;
    auto cfg = std::make_shared<security::SaslServerConfig>();
    cfg->enabled_mechanisms = {"PLAIN"};
    cfg->plain_users = {{"alice", "alice-secret"}};
    cfg->scram = std::make_shared<security::CredentialCache>();
    cfg->max_token_bytes = 512;
    sec->sasl = cfg;
    sec->authentication_timeout_ms = auth_timeout_ms;
    listener = std::make_unique<Listener>(io, "SASL_PLAINTEXT", "127.0.0.1", 0, handler, Limits{}, sec);
    listener->start();
    thread = std::thread([this] {
      auto guard = asio::make_work_guard(io);
      io.run();
    });
  }
  ~SaslFixture() {
    asio::post(io, [this] {
      listener->stop();
      io.stop();
    });
    thread.join();
  }
  tcp::endpoint endpoint() const { return {asio::ip::make_address("127.0.0.1"), static_cast<uint16_t>(listener->port())}; }
};

std::vector<uint8_t> frame(int16_t key, int16_t version, int32_t corr, std::span<const uint8_t> body) {
  ByteWriter w;
  w.put_i32(0);
  w.put_i16(key);
  w.put_i16(version);
  w.put_i32(corr);
  w.put_i16(-1);
  w.put_bytes(body.data(), body.size());
  w.patch_i32(0, static_cast<int32_t>(w.position() - 4));
  return w.buffer();
}

template <class Req>
std::vector<uint8_t> request(const Req& req, int16_t version, int32_t corr) {
  ByteWriter b;
  req.encode(b, version);
  return frame(Req::kApiKey, version, corr, b.buffer());
}

std::vector<uint8_t> read_frame(tcp::socket& s) {
  uint8_t sz[4];
  asio::read(s, asio::buffer(sz, 4));
  std::vector<uint8_t> body(load_be32(sz));
  if (!body.empty()) asio::read(s, asio::buffer(body));
  return body;
}

bool closed_by_peer(tcp::socket& s) {
  uint8_t b;
  asio::error_code ec;
  asio::read(s, asio::buffer(&b, 1), ec);
  return ec == asio::error::eof || ec == asio::error::connection_reset;
}

std::vector<uint8_t> plain_token(const std::string& user, const std::string& password) {
  std::string t = std::string("\0", 1) + user + std::string("\0", 1) + password;
  return {t.begin(), t.end()};
}

// Handshake v1 + SaslAuthenticate v1 with PLAIN; the SaslAuthenticate response.
msg::SaslAuthenticateResponse login(tcp::socket& s, const std::string& user, const std::string& password) {
  msg::SaslHandshakeRequest hs;
  hs.mechanism = "PLAIN";
  asio::write(s, asio::buffer(request(hs, 1, 1)));
  auto h = read_frame(s);
  EXPECT_EQ(load_be32(h.data()), 1u);
  msg::SaslAuthenticateRequest a;
  a.auth_bytes = plain_token(user, password);
  asio::write(s, asio::buffer(request(a, 1, 2)));
  auto f = read_frame(s);
  ByteReader r(f.data() + 4, f.size() - 4);
  msg::SaslAuthenticateResponse resp;
  resp.decode(r, 1);
  return resp;
}

std::string principal_of_request(tcp::socket& s, int32_t corr) {
  asio::write(s, asio::buffer(frame(3, 0, corr, {})));
  auto f = read_frame(s);
  ByteReader r(f.data() + 4, f.size() - 4);
  return r.get_string(r.remaining());
}

}  // namespace

TEST(SaslListener, RequestsCarryTheAuthenticatedPrincipal) {
  SaslFixture f;
  asio::io_context cio;
  tcp::socket s(cio);
  s.connect(f.endpoint());
  auto resp = login(s, "alice", "alice-secret");
  EXPECT_EQ(resp.error_code, 0);
  EXPECT_EQ(principal_of_request(s, 3), "User:alice");
}

TEST(SaslListener, MetadataBeforeAuthenticationClosesTheConnection) {
  SaslFixture f;
  asio::io_context cio;
  tcp::socket s(cio);
  s.connect(f.endpoint());
  asio::write(s, asio::buffer(frame(3, 0, 1, {})));
  EXPECT_TRUE(closed_by_peer(s));
}

TEST(SaslListener, FailedLoginIsAnsweredThenClosed) {
  SaslFixture f;
  asio::io_context cio;
  tcp::socket s(cio);
  s.connect(f.endpoint());
  auto resp = login(s, "alice", "wrong");
  EXPECT_EQ(resp.error_code, 58);  // SASL_AUTHENTICATION_FAILED
  EXPECT_TRUE(closed_by_peer(s));
}

TEST(SaslListener, RawTokensAfterV0Handshake) {
  SaslFixture f;
  asio::io_context cio;
  tcp::socket s(cio);
  s.connect(f.endpoint());
  msg::SaslHandshakeRequest hs;
  hs.mechanism = "PLAIN";
  asio::write(s, asio::buffer(request(hs, 0, 7)));
  read_frame(s);
  auto token = plain_token("alice", "alice-secret");  // shorter than any Kafka request header
  uint8_t sz[4];
  store_be32(sz, static_cast<uint32_t>(token.size()));
  asio::write(s, std::vector<asio::const_buffer>{asio::buffer(sz, 4), asio::buffer(token)});
  EXPECT_TRUE(read_frame(s).empty());  // the zero-size success frame
  EXPECT_EQ(principal_of_request(s, 8), "User:alice");
}

TEST(SaslListener, OversizedTokenClosesOnlyThatConnection) {
  SaslFixture f;
  asio::io_context cio;
  tcp::socket bad(cio), good(cio);
  bad.connect(f.endpoint());
  good.connect(f.endpoint());
  msg::SaslHandshakeRequest hs;
  hs.mechanism = "PLAIN";
  asio::write(bad, asio::buffer(request(hs, 1, 1)));
  read_frame(bad);
  msg::SaslAuthenticateRequest a;
  a.auth_bytes.assign(4096, 'x');
  asio::write(bad, asio::buffer(request(a, 1, 2)));
  EXPECT_TRUE(closed_by_peer(bad));
  EXPECT_EQ(login(good, "alice", "alice-secret").error_code, 0);
  EXPECT_EQ(principal_of_request(good, 3), "User:alice");
}

TEST(SaslListener, UnauthenticatedConnectionsAreClosedAfterTheTimeout) {
  SaslFixture f(200);
  asio::io_context cio;
  tcp::socket idle(cio), good(cio);
  idle.connect(f.endpoint());
  good.connect(f.endpoint());
  EXPECT_EQ(login(good, "alice", "alice-secret").error_code, 0);
  auto t0 = std::chrono::steady_clock::now();
  EXPECT_TRUE(closed_by_peer(idle));
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(5));
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  EXPECT_EQ(principal_of_request(good, 3), "User:alice");  // authenticated: not bound by the timeout
}
