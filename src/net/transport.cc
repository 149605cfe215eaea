#include "net/transport.h"

#include <sys/sendfile.h>
#include <unistd.h>

#include <cerrno>

namespace flotilla::net {

using asio::ip::tcp;

Transport::Transport(tcp::socket socket) : socket_(std::move(socket)) {}

Transport::Transport(tcp::socket socket, std::shared_ptr<const security::TlsContext> context)
    : socket_(std::move(socket)), context_(std::move(context)) {
  asio::error_code ec;
  socket_.non_blocking(true, ec);
  ssl_ = SSL_new(context_->native_handle());
  if (!ssl_) throw std::system_error(std::make_error_code(std::errc::not_enough_memory), "SSL_new");
  SSL_set_fd(ssl_, static_cast<int>(socket_.native_handle()));
  // Read whole socket buffers, not a record header then its body: readiness is
  // only awaited after OpenSSL asked for more, so nothing it buffered is missed.
  SSL_set_read_ahead(ssl_, 1);
  SSL_set_mode(ssl_, SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
  if (context_->mode() == security::TlsMode::SERVER) SSL_set_accept_state(ssl_);
  else SSL_set_connect_state(ssl_);
}

Transport::~Transport() {
  close();
  if (ssl_) SSL_free(ssl_);
}

int Transport::read_records(SSL* ssl, asio::mutable_buffer b, size_t* n) {
  auto* data = static_cast<uint8_t*>(b.data());
  int r = SSL_read_ex(ssl, data, b.size(), n);
  if (r != 1) return r;
  while (*n < b.size() && SSL_has_pending(ssl)) {
    size_t more = 0;
    // A record not yet complete answers WANT_READ: what was read is returned
    // now, and the next call waits for the rest.
    if (SSL_read_ex(ssl, data + *n, b.size() - *n, &more) != 1) {
      ERR_clear_error();
      break;
    }
    *n += more;
  }
  return 1;
}

uint8_t* Transport::gather_scratch() {
  thread_local std::unique_ptr<uint8_t[]> scratch = std::make_unique<uint8_t[]>(kGatherBytes);
  return scratch.get();
}

bool Transport::server_side() const { return context_ && context_->mode() == security::TlsMode::SERVER; }

void Transport::prepare_client(std::string_view host) {
  if (ssl_ && !server_side()) context_->prepare_client(ssl_, host);
}

asio::error_code Transport::last_error(int r) {
  int e = SSL_get_error(ssl_, r);
  if (e == SSL_ERROR_ZERO_RETURN) return asio::error::eof;
  if (e == SSL_ERROR_SYSCALL) {
    unsigned long q = ERR_peek_error();
    if (q) return asio::error_code(static_cast<int>(q), asio::error::get_ssl_category());
    return errno ? asio::error_code(errno, asio::error::get_system_category()) : asio::error::eof;
  }
  unsigned long q = ERR_get_error();
  if (q) return asio::error_code(static_cast<int>(q), asio::error::get_ssl_category());
  return asio::error::connection_aborted;
}

asio::awaitable<void> Transport::send_file(int fd, int64_t offset, int64_t length) {
  if (!ssl_) {
    tcp::socket& s = socket_;
    off_t off = static_cast<off_t>(offset);
    int64_t left = length;
    while (left > 0) {
      ssize_t n = ::sendfile(s.native_handle(), fd, &off, static_cast<size_t>(std::min<int64_t>(left, 1 << 30)));
      if (n > 0) {
        left -= n;
        continue;
      }
      if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
        co_await s.async_wait(tcp::socket::wait_write, asio::use_awaitable);
        continue;
      }
      if (n < 0 && errno == EINTR) continue;
      // The file shrank under us (truncation/deletion) or the socket broke:
      // the response can no longer be framed correctly, so the connection goes.
      throw std::system_error(n < 0 ? errno : EIO, std::generic_category(), "sendfile");
    }
    co_return;
  }
  if (!file_buf_) file_buf_ = std::make_unique<uint8_t[]>(kFileChunk);
  int64_t left = length;
  off_t off = static_cast<off_t>(offset);
  while (left > 0) {
    size_t want = static_cast<size_t>(std::min<int64_t>(left, static_cast<int64_t>(kFileChunk)));
    ssize_t n = ::pread(fd, file_buf_.get(), want, off);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) throw std::system_error(n < 0 ? errno : EIO, std::generic_category(), "pread");
    co_await asio::async_write(*this, asio::buffer(file_buf_.get(), static_cast<size_t>(n)), asio::use_awaitable);
    off += n;
    left -= n;
  }
}

void Transport::close() {
  asio::error_code ec;
  tcp::socket& s = socket_;
  if (!s.is_open()) return;
  s.shutdown(tcp::socket::shutdown_both, ec);
  s.close(ec);
}

bool peer_closed_handshake(const asio::error_code& ec) {
  if (ec == asio::error::eof || ec == asio::error::connection_reset || ec == asio::ssl::error::stream_truncated) return true;
  return ec.category() == asio::error::get_ssl_category() &&
         ERR_GET_REASON(static_cast<unsigned long>(ec.value())) == SSL_R_UNEXPECTED_EOF_WHILE_READING;
}

std::string tls_error_text(const asio::error_code& ec, SSL* ssl) {
  std::string text = ec.message();
  if (ec.category() == asio::error::get_ssl_category()) {
    char buf[256];
    ERR_error_string_n(static_cast<unsigned long>(ec.value()), buf, sizeof buf);
    const char* reason = ERR_reason_error_string(static_cast<unsigned long>(ec.value()));
    text = reason ? reason : buf;
  }
  if (ssl) {
    long verify = SSL_get_verify_result(ssl);
    if (verify != X509_V_OK) text += std::string(" (") + X509_verify_cert_error_string(verify) + ")";
  }
  return text;
}

}  // namespace flotilla::net
