#include "net/transport.h"

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <sys/sendfile.h>
#include <unistd.h>

#include <cerrno>

namespace flotilla::net {

using asio::ip::tcp;

Transport::Transport(tcp::socket socket) : plain_(std::move(socket)) {}

Transport::Transport(tcp::socket socket, std::shared_ptr<const security::TlsContext> context)
    : plain_(socket.get_executor()), context_(std::move(context)) {
  tls_ = std::make_unique<asio::ssl::stream<tcp::socket>>(std::move(socket), context_->context());
}

Transport::~Transport() { close(); }

bool Transport::server_side() const { return context_ && context_->mode() == security::TlsMode::SERVER; }

void Transport::prepare_client(std::string_view host) {
  if (tls_ && !server_side()) context_->prepare_client(*tls_, host);
}

asio::awaitable<void> Transport::handshake() {
  if (!tls_) co_return;
  co_await tls_->async_handshake(server_side() ? asio::ssl::stream_base::server : asio::ssl::stream_base::client,
                                 asio::use_awaitable);
}

asio::awaitable<void> Transport::send_file(int fd, int64_t offset, int64_t length) {
  if (!tls_) {
    tcp::socket& s = plain_;
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
    co_await asio::async_write(*tls_, asio::buffer(file_buf_.get(), static_cast<size_t>(n)), asio::use_awaitable);
    off += n;
    left -= n;
  }
}

void Transport::close() {
  asio::error_code ec;
  tcp::socket& s = socket();
  if (!s.is_open()) return;
  s.shutdown(tcp::socket::shutdown_both, ec);
  s.close(ec);
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
