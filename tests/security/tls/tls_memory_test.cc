// Heap held per idle server-side TLS connection after its handshake (the
// issue's budget: 64 KiB). Measured with glibc's mallinfo2() around N
// connections whose client ends are then freed, so what remains is the
// server's share: the SSL object with its session, keys and peer state, and
// whatever the transport wrapper adds. Two transports are measured:
//   raw:  SSL_set_fd on a non-blocking socket (no BIO pair, no extra buffers);
//   asio: asio::ssl::stream, which adds a BIO pair (2 x 17 KiB) and its own
//         input/output buffers (2 x 17 KiB) to every connection.
// Only the raw figure is held to the budget; the asio one is printed for the
// network layer's choice of transport.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <malloc.h>
#include <sys/socket.h>
#include <unistd.h>

#include <asio.hpp>
#include <cstdio>
#include <memory>

#include "security/tls_context.h"
#include "test_pki.h"

namespace flotilla::security {
namespace {

constexpr int kConnections = 64;
constexpr size_t kBudget = 64 * 1024;

size_t heap_in_use() { return mallinfo2().uordblks; }

std::shared_ptr<const TlsContext> server_context(bool client_auth) {
  const auto& pki = test::TestPki::get();
  std::map<std::string, std::string> m{{"ssl.keystore.type", "PEM"},
                                       {"ssl.keystore.location", pki.file("server.pem").string()},
                                       {"ssl.truststore.type", "PEM"},
                                       {"ssl.truststore.location", pki.file("ca.pem").string()}};
  if (client_auth) m["ssl.client.auth"] = "required";
  return TlsContext::create(SslConfig::from_map(m), TlsMode::SERVER);
}

std::shared_ptr<const TlsContext> client_context() {
  const auto& pki = test::TestPki::get();
  return TlsContext::create(SslConfig::from_map({{"ssl.keystore.type", "PEM"},
                                                 {"ssl.keystore.location", pki.file("client.pem").string()},
                                                 {"ssl.truststore.type", "PEM"},
                                                 {"ssl.truststore.location", pki.file("ca.pem").string()}}),
                            TlsMode::CLIENT);
}

struct RawPair {
  SSL* server = nullptr;
  SSL* client = nullptr;
  int fds[2] = {-1, -1};
};

// Handshake, one byte server -> client (the client also takes in the session
// ticket), and a server read that finds nothing: the state of an idle connection.
bool raw_connect(RawPair& p, const TlsContext& server, const TlsContext& client, bool release_buffers) {
  if (socketpair(AF_UNIX, SOCK_STREAM, 0, p.fds) != 0) return false;
  for (int fd : p.fds) fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
  p.server = SSL_new(server.native_handle());
  p.client = SSL_new(client.native_handle());
  if (!release_buffers) SSL_clear_mode(p.server, SSL_MODE_RELEASE_BUFFERS);
  SSL_set_fd(p.server, p.fds[0]);
  SSL_set_fd(p.client, p.fds[1]);
  SSL_set_accept_state(p.server);
  SSL_set_connect_state(p.client);
  client.prepare_client(p.client, "localhost");
  bool server_done = false, client_done = false;
  for (int i = 0; i < 1000 && !(server_done && client_done); ++i) {
    if (!server_done) {
      int r = SSL_do_handshake(p.server);
      if (r == 1)
        server_done = true;
      else if (SSL_get_error(p.server, r) != SSL_ERROR_WANT_READ)
        return false;
    }
    if (!client_done) {
      int r = SSL_do_handshake(p.client);
      if (r == 1)
        client_done = true;
      else if (SSL_get_error(p.client, r) != SSL_ERROR_WANT_READ)
        return false;
    }
  }
  if (!(server_done && client_done)) return false;
  char byte = 'k';
  if (SSL_write(p.server, &byte, 1) != 1) return false;
  byte = 0;
  for (int i = 0; i < 10 && byte != 'k'; ++i) SSL_read(p.client, &byte, 1);
  char none;
  int r = SSL_read(p.server, &none, 1);
  return byte == 'k' && r <= 0 && SSL_get_error(p.server, r) == SSL_ERROR_WANT_READ;
}

size_t raw_bytes_per_connection(bool client_auth, bool release_buffers) {
  auto server = server_context(client_auth);
  auto client = client_context();
  {  // warm-up: first-use allocations (error strings, method tables) are not per connection
    RawPair warm;
    EXPECT_TRUE(raw_connect(warm, *server, *client, release_buffers));
    SSL_free(warm.server);
    SSL_free(warm.client);
    close(warm.fds[0]);
    close(warm.fds[1]);
  }
  std::vector<RawPair> pairs(kConnections);
  size_t before = heap_in_use();
  for (auto& p : pairs) EXPECT_TRUE(raw_connect(p, *server, *client, release_buffers));
  for (auto& p : pairs) {
    SSL_free(p.client);
    close(p.fds[1]);
  }
  size_t after = heap_in_use();
  for (auto& p : pairs) {
    SSL_free(p.server);
    close(p.fds[0]);
  }
  return after > before ? (after - before) / kConnections : 0;
}

TEST(TlsMemoryTest, RawSslIdleServerConnectionWithinBudget) {
  size_t plain = raw_bytes_per_connection(false, true);
  size_t mtls = raw_bytes_per_connection(true, true);
  size_t unreleased = raw_bytes_per_connection(false, false);
  std::printf(
      "idle server TLS connection (raw SSL, TLSv1.3): %zu bytes; with client certificate: %zu bytes; "
      "without SSL_MODE_RELEASE_BUFFERS: %zu bytes\n",
      plain, mtls, unreleased);
  RecordProperty("raw_bytes", static_cast<int>(plain));
  RecordProperty("raw_mtls_bytes", static_cast<int>(mtls));
  RecordProperty("raw_unreleased_bytes", static_cast<int>(unreleased));
  EXPECT_GT(plain, 1000u);  // the measurement sees the SSL objects at all
  EXPECT_LE(plain, kBudget);
  EXPECT_LE(mtls, kBudget);
  EXPECT_LT(plain, unreleased);  // released buffers are what keeps it small
}

TEST(TlsMemoryTest, AsioStreamIdleServerConnection) {
  auto server = server_context(false);
  auto client = client_context();
  asio::io_context io;
  asio::ip::tcp::acceptor acceptor(io, {asio::ip::make_address("127.0.0.1"), 0});
  using Stream = asio::ssl::stream<asio::ip::tcp::socket>;
  std::vector<std::unique_ptr<Stream>> servers, clients;
  static const char kByte = 'k';
  std::vector<char> got(kConnections + 1, 0);
  int done = 0;
  auto connect = [&](int i) {
    auto& ss = servers.emplace_back(std::make_unique<Stream>(io, server->context()));
    auto& cs = clients.emplace_back(std::make_unique<Stream>(io, client->context()));
    acceptor.async_accept(ss->lowest_layer(), [&, s = ss.get()](std::error_code ec) {
      if (ec) return;
      s->lowest_layer().set_option(asio::ip::tcp::no_delay(true));
      s->async_handshake(asio::ssl::stream_base::server, [s](std::error_code hec) {
        if (!hec) asio::async_write(*s, asio::buffer(&kByte, 1), [](std::error_code, size_t) {});
      });
    });
    cs->lowest_layer().async_connect(acceptor.local_endpoint(), [&, c = cs.get(), i](std::error_code ec) {
      if (ec) return;
      c->lowest_layer().set_option(asio::ip::tcp::no_delay(true));
      client->prepare_client(*c, "localhost");
      c->async_handshake(asio::ssl::stream_base::client, [&, c, i](std::error_code hec) {
        if (hec) return;
        asio::async_read(*c, asio::buffer(&got[static_cast<size_t>(i)], 1), [&](std::error_code, size_t) { ++done; });
      });
    });
    io.run_for(std::chrono::seconds(5));
    io.restart();
  };
  connect(kConnections);  // warm-up
  servers.clear();
  clients.clear();
  done = 0;
  size_t before = heap_in_use();
  for (int i = 0; i < kConnections; ++i) connect(i);
  clients.clear();
  size_t after = heap_in_use();
  EXPECT_EQ(done, kConnections);
  size_t per = after > before ? (after - before) / kConnections : 0;
  std::printf("idle server TLS connection (asio::ssl::stream over TCP, TLSv1.3): %zu bytes\n", per);
  RecordProperty("asio_bytes", static_cast<int>(per));
  EXPECT_GT(per, 1000u);
}

}  // namespace
}  // namespace flotilla::security
