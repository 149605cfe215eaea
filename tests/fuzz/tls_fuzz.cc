// Fuzz target: bytes that reach a TLS listener — the first byte choosing how:
//   0  the input is what a client sends first (a ClientHello and what follows)
//      to a server context built by TlsContext from an SSL listener's
//      configuration (TLS 1.2/1.3, client authentication requested); the
//      handshake runs as far as the bytes take it, then the peer's principal
//      is derived as a connection does (a handshake cannot complete here
//      without the client's keys: this covers what an attacker reaches
//      before authenticating).
//   1  the input is plaintext an authenticated client sends over an
//      established TLS connection: framed as a connection frames it (4-byte
//      size, then the request), decrypted by the server and sent down the
//      request path (header, every API's decoder, Produce batches).
//   2  as 1, with one byte of the ciphertext flipped in transit: the server
//      must refuse the record (bad MAC), never hand over plaintext.
// One established pair of in-memory connections serves every input of modes
// 1 and 2; a refused record kills it, and the next input makes a new one.
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/ssl.h>

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <span>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "../security/tls/test_pki.h"
#include "request_path.h"
#include "security/principal_mapper.h"
#include "security/tls_context.h"

using namespace flotilla;
using namespace flotilla::security;

namespace {

std::shared_ptr<const TlsContext> make_context(TlsMode mode) {
  const auto& pki = test::TestPki::get();
  std::map<std::string, std::string> m{{"ssl.keystore.type", "PEM"},
                                       {"ssl.truststore.type", "PEM"},
                                       {"ssl.truststore.location", pki.file("ca.pem").string()}};
  m["ssl.keystore.location"] = pki.file(mode == TlsMode::SERVER ? "server.pem" : "client.pem").string();
  if (mode == TlsMode::SERVER) m["ssl.client.auth"] = "requested";
  return TlsContext::create(SslConfig::from_map(m), mode);
}

const TlsContext& server_context() {
  static const auto c = make_context(TlsMode::SERVER);
  return *c;
}
const TlsContext& client_context() {
  static const auto c = make_context(TlsMode::CLIENT);
  return *c;
}

// An SSL object on two memory BIOs: we write what it reads into `in` and take
// what it wrote from `out`.
struct End {
  SSL* ssl = nullptr;
  BIO* in = nullptr;
  BIO* out = nullptr;
  End(SSL_CTX* ctx, bool server) : ssl(SSL_new(ctx)), in(BIO_new(BIO_s_mem())), out(BIO_new(BIO_s_mem())) {
    SSL_set_bio(ssl, in, out);  // ssl owns both
    server ? SSL_set_accept_state(ssl) : SSL_set_connect_state(ssl);
  }
  ~End() { SSL_free(ssl); }
  End(const End&) = delete;
  End& operator=(const End&) = delete;
  std::vector<uint8_t> drain() {
    std::vector<uint8_t> bytes(static_cast<size_t>(BIO_ctrl_pending(out)));
    if (!bytes.empty()) BIO_read(out, bytes.data(), static_cast<int>(bytes.size()));
    return bytes;
  }
  void feed(const std::vector<uint8_t>& bytes) {
    if (!bytes.empty()) BIO_write(in, bytes.data(), static_cast<int>(bytes.size()));
  }
};

struct Pair {
  End server{server_context().native_handle(), true};
  End client{client_context().native_handle(), false};
  bool ok = false;
  Pair() {
    for (int round = 0; round < 16 && !ok; ++round) {
      SSL_do_handshake(client.ssl);
      server.feed(client.drain());
      SSL_do_handshake(server.ssl);
      client.feed(server.drain());
      ok = SSL_is_init_finished(client.ssl) && SSL_is_init_finished(server.ssl);
    }
    ERR_clear_error();
  }
};

std::unique_ptr<Pair> pair;

void first_flight(std::span<const uint8_t> in) {
  End server(server_context().native_handle(), true);
  BIO_write(server.in, in.data(), static_cast<int>(in.size()));
  SSL_do_handshake(server.ssl);
  (void)server.drain();
  (void)principal_from_peer(server.ssl, server_context().principal_mapper());
  ERR_clear_error();
}

// The server's side of a connection: frames out of the decrypted stream.
void frames(const std::vector<uint8_t>& plain) {
  size_t pos = 0;
  while (plain.size() - pos >= 4) {
    const uint32_t n = (uint32_t(plain[pos]) << 24) | (uint32_t(plain[pos + 1]) << 16) | (uint32_t(plain[pos + 2]) << 8) | plain[pos + 3];
    pos += 4;
    if (n > plain.size() - pos) break;  // a partial frame waits for more bytes
    fuzz::one_request_frame(plain.data() + pos, n);
    pos += n;
  }
}

void over_tls(std::span<const uint8_t> in, bool tamper, uint8_t where) {
  if (!pair || !pair->ok) pair = std::make_unique<Pair>();
  if (!pair->ok) std::abort();  // the two contexts always agree
  if (in.empty()) return;
  if (SSL_write(pair->client.ssl, in.data(), static_cast<int>(in.size())) <= 0) std::abort();
  std::vector<uint8_t> wire = pair->client.drain();
  if (tamper && !wire.empty()) wire[where % wire.size()] ^= 0x01;
  pair->server.feed(wire);
  std::vector<uint8_t> plain;
  uint8_t buf[16384];
  int n;
  while ((n = SSL_read(pair->server.ssl, buf, sizeof buf)) > 0) plain.insert(plain.end(), buf, buf + n);
  const int err = SSL_get_error(pair->server.ssl, n);
  ERR_clear_error();
  if (tamper) {
    // Every byte of a TLS 1.3 record is under its AEAD tag (the header is the
    // additional data): the flipped record is refused, or waited on when the
    // flip grew its length, and never handed over. The connection is spent.
    if (plain.size() == in.size()) std::abort();
    pair.reset();
    return;
  }
  if (err != SSL_ERROR_WANT_READ || plain.size() != in.size()) std::abort();
  frames(plain);
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  (void)server_context();
  (void)client_context();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 2) return 0;
  const std::span<const uint8_t> rest(data + 2, size - 2);
  switch (data[0] % 3) {
    case 0: first_flight(rest); break;
    case 1: over_tls(rest, false, 0); break;
    case 2: over_tls(rest, true, data[1]); break;
  }
  return 0;
}
