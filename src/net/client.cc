#include "net/client.h"

#include <spdlog/spdlog.h>

namespace flotilla::net {

std::shared_ptr<Client> Client::create(asio::io_context& io, std::string host, int port, std::string client_id,
                                       int32_t max_response_bytes) {
  return std::shared_ptr<Client>(new Client(io, std::move(host), port, std::move(client_id), max_response_bytes));
}

Client::Client(asio::io_context& io, std::string host, int port, std::string client_id, int32_t max_response_bytes)
    : io_(io),
      host_(std::move(host)),
      port_(port),
      client_id_(std::move(client_id)),
      max_response_bytes_(max_response_bytes),
      resolver_(io),
      timeout_timer_(io) {}

Client::~Client() {
  if (socket_) socket_->close();
  if (connecting_) {
    asio::error_code ignored;
    connecting_->close(ignored);
  }
}

void Client::send(ClientRequest request, Done done) {
  int32_t correlation = next_correlation_++;
  if (next_correlation_ == INT32_MAX) next_correlation_ = 1;
  ByteWriter w;
  w.put_i32(0);  // size, patched below
  w.put_i16(request.api_key);
  w.put_i16(request.api_version);
  w.put_i32(correlation);
  w.put_i16(static_cast<int16_t>(client_id_.size()));
  w.put_str(client_id_);
  if (request.request_header_version >= 2) w.put_uvarint(0);  // no tagged fields
  w.put_bytes(std::span<const uint8_t>(request.body));
  w.patch_i32(0, static_cast<int32_t>(w.position() - 4));
  outbox_.push_back(std::move(w).take());
  pending_.push_back(Pending{correlation, request.response_header_version, std::move(done), std::chrono::steady_clock::now()});
  arm_timeout();
  if (state_ == State::Connected && pending_.size() == 1 && std::chrono::steady_clock::now() >= reconnect_after_) {
    // The authenticated session nears its end (KIP-368): authenticate anew on a fresh connection.
    Pending p = std::move(pending_.back());
    auto frame = std::move(outbox_.back());
    pending_.pop_back();
    outbox_.pop_back();
    fail_all(asio::error::operation_aborted);  // nothing else was in flight
    outbox_.push_back(std::move(frame));
    pending_.push_back(std::move(p));
  }
  switch (state_) {
    case State::Idle:
      connect();
      break;
    case State::Connecting:
      break;  // written once connected
    case State::Connected:
      write_next();
      break;
  }
}

void Client::connect() {
  state_ = State::Connecting;
  uint64_t gen = generation_;
  auto self = shared_from_this();
  resolver_.async_resolve(host_, std::to_string(port_), [this, self, gen](const asio::error_code& ec,
                                                                          asio::ip::tcp::resolver::results_type results) {
    if (gen != generation_) return;
    if (ec) return fail_all(ec);
    auto sock = std::make_shared<asio::ip::tcp::socket>(io_);
    connecting_ = sock;
    asio::async_connect(*sock, results, [this, self, gen, sock](const asio::error_code& ec, const asio::ip::tcp::endpoint&) {
      if (gen != generation_) return;
      if (ec) return fail_all(ec);
      connecting_.reset();
      asio::error_code ignored;
      sock->set_option(asio::ip::tcp::no_delay(true), ignored);
      bool tls = security_ && security::uses_tls(security_->protocol) && security_->tls;
      socket_ = tls ? std::make_shared<Transport>(std::move(*sock), security_->tls) : std::make_shared<Transport>(std::move(*sock));
      if (!tls) return authenticate(gen);
      socket_->prepare_client(host_);
      auto transport = socket_;
      socket_->async_handshake([this, self, gen, transport](const asio::error_code& ec) {
        if (gen != generation_) return;
        if (ec) {
          spdlog::warn("[NetworkClient clientId={}] TLS handshake with {}:{} failed: {}", client_id_, host_, port_,
                       tls_error_text(ec, transport->ssl()));
          return fail_all(ec);
        }
        authenticate(gen);
      });
    });
  });
}

// After TCP connect (and TLS handshake): the SASL exchange when the listener wants one.
void Client::authenticate(uint64_t gen) {
  auto self = shared_from_this();
  if (!security_ || !security::uses_sasl(security_->protocol)) return on_connected();
  asio::co_spawn(io_, sasl_client_authenticate(socket_, security_, client_id_),
                 [this, self, gen](std::exception_ptr e, SaslClientResult r) {
                   if (gen != generation_) return;
                   if (e) {
                     r.error = std::make_error_code(std::errc::protocol_error);
                     r.message = "SASL exchange failed";
                   }
                   if (r.error) {
                     spdlog::warn("[NetworkClient clientId={}] Failed authentication with {}:{} ({})", client_id_, host_, port_, r.message);
                     return fail_all(r.error);
                   }
                   if (r.session_lifetime_ms > 0)
                     reconnect_after_ = std::chrono::steady_clock::now() + std::chrono::milliseconds(r.session_lifetime_ms * 9 / 10);
                   on_connected();
                 });
}

void Client::on_connected() {
  state_ = State::Connected;
  read_next();
  write_next();
}

void Client::write_next() {
  if (writing_ || outbox_.empty() || state_ != State::Connected) return;
  writing_ = true;
  uint64_t gen = generation_;
  auto self = shared_from_this();
  asio::async_write(*socket_, asio::buffer(outbox_.front()), [this, self, gen](const asio::error_code& ec, size_t) {
    if (gen != generation_) return;
    writing_ = false;
    if (ec) return fail_all(ec);
    outbox_.pop_front();
    write_next();
  });
}

void Client::read_next() {
  uint64_t gen = generation_;
  auto self = shared_from_this();
  asio::async_read(*socket_, asio::buffer(size_buf_, 4), [this, self, gen](const asio::error_code& ec, size_t) {
    if (gen != generation_) return;
    if (ec) return fail_all(ec);
    int32_t size = static_cast<int32_t>((uint32_t(size_buf_[0]) << 24) | (uint32_t(size_buf_[1]) << 16) |
                                        (uint32_t(size_buf_[2]) << 8) | uint32_t(size_buf_[3]));
    if (size < 4 || size > max_response_bytes_) return fail_all(std::make_error_code(std::errc::message_size));
    auto frame = std::make_shared<FrameBuffer>(static_cast<size_t>(size));
    asio::async_read(*socket_, asio::buffer(*frame), [this, self, gen, frame](const asio::error_code& ec, size_t) {
      if (gen != generation_) return;
      if (ec) return fail_all(ec);
      on_frame(frame);
      if (gen == generation_) read_next();
    });
  });
}

void Client::on_frame(std::shared_ptr<FrameBuffer> frame) {
  if (pending_.empty()) return fail_all(std::make_error_code(std::errc::protocol_error));
  Pending p = std::move(pending_.front());
  ClientResponse r;
  try {
    ByteReader rd(frame->data(), frame->size());
    int32_t correlation = rd.get_i32();
    if (correlation != p.correlation_id) {
      pending_.front() = std::move(p);
      return fail_all(std::make_error_code(std::errc::protocol_error));
    }
    if (p.response_header_version >= 1) {
      uint32_t n = rd.get_uvarint32();
      for (uint32_t i = 0; i < n; ++i) {
        rd.get_uvarint();
        rd.skip(rd.get_uvarint32());
      }
    }
    r.body_offset = frame->size() - rd.remaining();
  } catch (const DecodeError&) {
    pending_.front() = std::move(p);
    return fail_all(std::make_error_code(std::errc::protocol_error));
  }
  pending_.pop_front();
  r.frame = std::move(frame);
  complete(std::move(p.done), std::move(r));
}

void Client::fail_all(std::error_code ec) {
  ++generation_;
  state_ = State::Idle;
  reconnect_after_ = std::chrono::steady_clock::time_point::max();
  writing_ = false;
  if (socket_) socket_->close();
  if (connecting_) {
    asio::error_code ignored;
    connecting_->close(ignored);
  }
  resolver_.cancel();
  outbox_.clear();
  auto failed = std::move(pending_);
  pending_.clear();
  for (auto& p : failed) {
    ClientResponse r;
    r.error = ec;
    complete(std::move(p.done), std::move(r));
  }
}

// One timer per client, re-armed for the oldest outstanding request.
void Client::arm_timeout() {
  if (request_timeout_ms_ <= 0 || timeout_armed_ || pending_.empty()) return;
  timeout_armed_ = true;
  timeout_timer_.expires_at(pending_.front().sent + std::chrono::milliseconds(request_timeout_ms_));
  auto self = shared_from_this();
  timeout_timer_.async_wait([this, self](const asio::error_code& ec) {
    timeout_armed_ = false;
    if (ec) return;
    if (!pending_.empty() && std::chrono::steady_clock::now() >= pending_.front().sent + std::chrono::milliseconds(request_timeout_ms_)) {
      fail_all(std::make_error_code(std::errc::timed_out));
    }
    arm_timeout();
  });
}

void Client::close() {
  if (state_ == State::Idle && pending_.empty()) return;
  fail_all(asio::error::operation_aborted);
}

void Client::complete(Done done, ClientResponse r) {
  if (!done) return;
  // Never from inside send()/close(): the caller may be mid-update.
  asio::post(io_, [done = std::move(done), r = std::move(r)]() mutable { done(std::move(r)); });
}

}  // namespace flotilla::net
