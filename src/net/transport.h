// The byte stream under one Kafka connection: a plain TCP socket, or TLS
// over that socket for SSL / SASL_SSL listeners and node connections.
// It is an asio AsyncReadStream/AsyncWriteStream, so asio::async_read and
// asio::async_write (callbacks or coroutines) work on it unchanged, and the
// framing and SASL code above never knows which one carries the bytes.
//
// TLS is OpenSSL driving the non-blocking socket directly (SSL_set_fd, with
// read-ahead) and asio waiting for the readiness OpenSSL asks for: no buffers
// beyond the SSL object's own, which SSL_MODE_RELEASE_BUFFERS frees while the
// connection is idle (~17 KiB per idle server connection; asio::ssl::stream
// would add ~68 KiB of its own). Readiness is awaited only after OpenSSL
// reported WANT_READ/WANT_WRITE, so bytes it buffered are never missed.
//
// Invariants: the kind (plain or TLS) is fixed at construction; a TLS
// transport keeps its TlsContext alive (a reloaded listener context only
// affects connections made afterwards). One read and one write may be
// outstanding at the same time, never two reads or two writes; the SSL object
// is only touched from the connection's thread, so they interleave safely.
// Operations never complete inside the call that starts them (the first step
// is posted). close() drops the socket without a TLS close_notify: sending
// one could block on a peer that stopped reading.
//
// File regions: a plain transport sends them with sendfile(2); through TLS the
// kernel cannot encrypt, so send_file() preads them into a bounded buffer
// (kFileChunk, reused, allocated on first use) and writes that through TLS.
//
// Threading: one io_context thread, like the connection that owns it.
#pragma once

#include <asio.hpp>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <algorithm>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "security/tls_context.h"

namespace flotilla::net {

class Transport {
 public:
  using executor_type = asio::ip::tcp::socket::executor_type;
  static constexpr size_t kFileChunk = 64 * 1024;
  // At most this much of a buffer sequence is gathered into one TLS write.
  static constexpr size_t kGatherBytes = 64 * 1024;

  // Plain TCP.
  explicit Transport(asio::ip::tcp::socket socket);
  // TLS over `socket`, with `context` (server or client mode); the handshake
  // is still to be done.
  Transport(asio::ip::tcp::socket socket, std::shared_ptr<const security::TlsContext> context);
  Transport(const Transport&) = delete;
  Transport& operator=(const Transport&) = delete;
  ~Transport();

  bool is_tls() const { return ssl_ != nullptr; }
  asio::ip::tcp::socket& socket() { return socket_; }
  executor_type get_executor() { return socket_.get_executor(); }
  SSL* ssl() { return ssl_; }
  const std::shared_ptr<const security::TlsContext>& tls_context() const { return context_; }

  // Client side, before handshake(): SNI and host-name verification per the context's config.
  void prepare_client(std::string_view host);
  // The TLS handshake (server or client side, by the context's mode); a no-op on plain TCP.
  template <typename Token>
  auto async_handshake(Token&& token) {
    return asio::async_compose<Token, void(asio::error_code)>(
        [this, started = false](auto& self, asio::error_code ec = {}) mutable {
          if (!std::exchange(started, true)) return asio::post(socket_.get_executor(), std::move(self));
          if (!ssl_ || ec) return self.complete(ec);
          ERR_clear_error();
          int r = server_side() ? SSL_accept(ssl_) : SSL_connect(ssl_);
          if (r == 1) return self.complete({});
          if (!wait_for(r, self)) self.complete(last_error(r));
        },
        token, socket_);
  }

  template <typename MutableBuffers, typename Token>
  auto async_read_some(const MutableBuffers& buffers, Token&& token) {
    if (!ssl_) return socket_.async_read_some(buffers, std::forward<Token>(token));
    asio::mutable_buffer b = *asio::buffer_sequence_begin(buffers);
    return async_ssl_io(std::forward<Token>(token), b.size(), [b](SSL* ssl, size_t* n) { return read_records(ssl, b, n); });
  }
  template <typename ConstBuffers, typename Token>
  auto async_write_some(const ConstBuffers& buffers, Token&& token) {
    if (!ssl_) return socket_.async_write_some(buffers, std::forward<Token>(token));
    // A response is a sequence (size + header, then the body's pieces):
    // written one buffer per SSL_write, each would be a TLS record and a
    // syscall of its own. Small sequences go out as one write, gathered into
    // a per-thread buffer (SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER: a retry after
    // WANT_WRITE gathers the same bytes again, the caller keeps them alive).
    size_t total = 0, count = 0;
    for (auto it = asio::buffer_sequence_begin(buffers); it != asio::buffer_sequence_end(buffers); ++it, ++count)
      total += asio::const_buffer(*it).size();
    asio::const_buffer first = *asio::buffer_sequence_begin(buffers);
    if (count <= 1 || first.size() >= kGatherBytes)
      return async_ssl_io(std::forward<Token>(token), first.size(),
                          [first](SSL* ssl, size_t* n) { return SSL_write_ex(ssl, first.data(), first.size(), n); });
    size_t size = std::min(total, kGatherBytes);
    return async_ssl_io(std::forward<Token>(token), size, [buffers, size](SSL* ssl, size_t* n) {
      uint8_t* scratch = gather_scratch();
      asio::buffer_copy(asio::buffer(scratch, size), buffers);
      return SSL_write_ex(ssl, scratch, size, n);
    });
  }

  // Writes `length` bytes of `fd` from `offset`: sendfile(2) on plain TCP,
  // pread + TLS write otherwise. Throws std::system_error (a short file too:
  // the response could no longer be framed).
  asio::awaitable<void> send_file(int fd, int64_t offset, int64_t length);

  void close();

 private:
  bool server_side() const;
  // SSL_read_ex into `b`, then more while OpenSSL holds decrypted or
  // read-ahead bytes and `b` has room: a request of many small TLS records
  // (librdkafka writes one per message) costs one operation, not one each.
  static int read_records(SSL* ssl, asio::mutable_buffer b, size_t* n);
  // The per-thread buffer writes are gathered in (kGatherBytes).
  static uint8_t* gather_scratch();
  // One SSL_read_ex/SSL_write_ex (`io`) of a `size`-byte buffer, retried after
  // the socket readiness OpenSSL asks for. The first attempt is posted, so the
  // operation never completes inside the initiating call (asio's rule).
  template <typename Token, typename Io>
  auto async_ssl_io(Token&& token, size_t size, Io io) {
    return asio::async_compose<Token, void(asio::error_code, size_t)>(
        [this, size, io, started = false](auto& self, asio::error_code ec = {}) mutable {
          if (!std::exchange(started, true)) return asio::post(socket_.get_executor(), std::move(self));
          if (ec) return self.complete(ec, 0);
          if (size == 0) return self.complete({}, 0);
          ERR_clear_error();
          size_t n = 0;
          int r = io(ssl_, &n);
          if (r == 1) return self.complete({}, n);
          if (!wait_for(r, self)) self.complete(last_error(r), 0);
        },
        token, socket_);
  }
  // After an SSL_* call returned r <= 0: waits (asynchronously, resuming
  // `self`) for the socket readiness OpenSSL wants; false when r is an error.
  template <typename Self>
  bool wait_for(int r, Self& self) {
    int e = SSL_get_error(ssl_, r);
    if (e == SSL_ERROR_WANT_READ) {
      socket_.async_wait(asio::socket_base::wait_read, std::move(self));
      return true;
    }
    if (e == SSL_ERROR_WANT_WRITE) {
      socket_.async_wait(asio::socket_base::wait_write, std::move(self));
      return true;
    }
    return false;
  }
  asio::error_code last_error(int r);

  asio::ip::tcp::socket socket_;
  std::shared_ptr<const security::TlsContext> context_;
  SSL* ssl_ = nullptr;  // TLS only: OpenSSL reads and writes the (non-blocking) socket itself
  std::unique_ptr<uint8_t[]> file_buf_;  // kFileChunk bytes, TLS only, allocated at the first file region
};

// OpenSSL's reason for a failed handshake, for a log line ("wrong version
// number", "certificate verify failed: unable to get local issuer certificate").
std::string tls_error_text(const asio::error_code& ec, SSL* ssl);
// Whether a failed handshake means only that the peer went away (EOF, reset,
// OpenSSL 3's "unexpected eof while reading"): a client that gave up (a
// probe, librdkafka dropping its bootstrap connection), not a TLS failure.
bool peer_closed_handshake(const asio::error_code& ec);

}  // namespace flotilla::net
