// The byte stream under one Kafka connection: a plain TCP socket, or a TLS
// stream (asio::ssl::stream over that socket) for SSL / SASL_SSL listeners.
// It is an asio AsyncReadStream/AsyncWriteStream, so asio::async_read and
// asio::async_write (callbacks or coroutines) work on it unchanged, and the
// framing and SASL code above never knows which one carries the bytes.
//
// Invariants: the kind (plain or TLS) is fixed at construction; a TLS
// transport keeps its TlsContext alive (a reloaded listener context only
// affects connections made afterwards). One read and one write may be
// outstanding at the same time (asio's ssl::stream allows that on one thread);
// never two reads or two writes. close() drops the socket without a TLS
// close_notify: sending one could block on a peer that stopped reading.
//
// File regions: a plain transport sends them with sendfile(2); through TLS the
// kernel cannot encrypt, so send_file() preads them into a bounded buffer
// (kFileChunk, reused, allocated on first use) and writes that through the
// stream.
//
// Threading: one io_context thread, like the connection that owns it.
#pragma once

#include <asio.hpp>
#include <asio/ssl.hpp>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "security/tls_context.h"

namespace flotilla::net {

class Transport {
 public:
  using executor_type = asio::ip::tcp::socket::executor_type;
  static constexpr size_t kFileChunk = 64 * 1024;

  // Plain TCP.
  explicit Transport(asio::ip::tcp::socket socket);
  // TLS over `socket`, with `context` (server or client mode); the handshake
  // is still to be done.
  Transport(asio::ip::tcp::socket socket, std::shared_ptr<const security::TlsContext> context);
  Transport(const Transport&) = delete;
  Transport& operator=(const Transport&) = delete;
  ~Transport();

  bool is_tls() const { return tls_ != nullptr; }
  asio::ip::tcp::socket& socket() { return tls_ ? tls_->next_layer() : plain_; }
  executor_type get_executor() { return socket().get_executor(); }
  SSL* ssl() { return tls_ ? tls_->native_handle() : nullptr; }
  const std::shared_ptr<const security::TlsContext>& tls_context() const { return context_; }

  // Client side, before handshake(): SNI and host-name verification per the context's config.
  void prepare_client(std::string_view host);
  // The TLS handshake (server or client side, by the context's mode); a no-op on plain TCP.
  asio::awaitable<void> handshake();
  template <typename Token>
  auto async_handshake(Token&& token) {
    return asio::async_initiate<Token, void(asio::error_code)>(
        [this](auto handler) {
          if (!tls_) {
            asio::post(get_executor(), [h = std::move(handler)]() mutable { std::move(h)(asio::error_code{}); });
            return;
          }
          tls_->async_handshake(server_side() ? asio::ssl::stream_base::server : asio::ssl::stream_base::client, std::move(handler));
        },
        token);
  }

  template <typename MutableBuffers, typename Token>
  auto async_read_some(const MutableBuffers& buffers, Token&& token) {
    return asio::async_initiate<Token, void(asio::error_code, size_t)>(
        [this](auto handler, const MutableBuffers& b) {
          if (tls_) tls_->async_read_some(b, std::move(handler));
          else plain_.async_read_some(b, std::move(handler));
        },
        token, buffers);
  }
  template <typename ConstBuffers, typename Token>
  auto async_write_some(const ConstBuffers& buffers, Token&& token) {
    return asio::async_initiate<Token, void(asio::error_code, size_t)>(
        [this](auto handler, const ConstBuffers& b) {
          if (tls_) tls_->async_write_some(b, std::move(handler));
          else plain_.async_write_some(b, std::move(handler));
        },
        token, buffers);
  }

  // Writes `length` bytes of `fd` from `offset`: sendfile(2) on plain TCP,
  // pread + TLS write otherwise. Throws std::system_error (a short file too:
  // the response could no longer be framed).
  asio::awaitable<void> send_file(int fd, int64_t offset, int64_t length);

  void close();

 private:
  bool server_side() const;

  asio::ip::tcp::socket plain_;  // unused (closed) when tls_ is set
  std::shared_ptr<const security::TlsContext> context_;
  std::unique_ptr<asio::ssl::stream<asio::ip::tcp::socket>> tls_;
  std::unique_ptr<uint8_t[]> file_buf_;  // kFileChunk bytes, TLS only, allocated at the first file region
};

// OpenSSL's reason for a failed handshake, for a log line ("wrong version
// number", "certificate verify failed: unable to get local issuer certificate").
std::string tls_error_text(const asio::error_code& ec, SSL* ssl);

}  // namespace flotilla::net
