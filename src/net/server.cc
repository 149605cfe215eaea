#include "net/server.h"

#include <spdlog/spdlog.h>

#include <cerrno>
#include <deque>

#include "common/clock.h"
#include "common/utf8.h"
#include "net/connection_quotas.h"
#include "net/memory_pool.h"
#include "net/net_metrics.h"
#include "net/sasl_session.h"
#include "security/acl.h"
#include "net/transport.h"
#include "security/principal_mapper.h"

namespace flotilla::net {

using asio::ip::tcp;

namespace {

// An SSL / SASL_SSL listener's connections speak TLS with the listener's
// context as it is at accept time.
std::unique_ptr<Transport> make_transport(tcp::socket sock, const ListenerSecurity& security) {
  if (security::uses_tls(security.protocol) && security.tls)
    return std::make_unique<Transport>(std::move(sock), security.tls->current());
  return std::make_unique<Transport>(std::move(sock));
}

}  // namespace

// One client connection: a reader coroutine that frames requests and hands them
// to the handler, and a writer coroutine that sends finished responses strictly
// in request order. Invariant: slots_ holds one entry per request read and not
// yet written, in arrival order.
class Connection : public std::enable_shared_from_this<Connection> {
 public:
  Connection(tcp::socket sock, std::string listener, uint64_t id, Handler& handler, Limits limits,
             std::shared_ptr<const ListenerSecurity> security, QuotaSlot slot)
      : transport_(make_transport(std::move(sock), *security)), socket_(transport_->socket()),
        wake_writer_(socket_.get_executor()), wake_reader_(socket_.get_executor()), auth_timer_(socket_.get_executor()),
        mute_timer_(socket_.get_executor()), pool_timer_(socket_.get_executor()), idle_timer_(socket_.get_executor()),
        listener_(std::move(listener)), id_(id), handler_(handler), limits_(std::move(limits)), quota_slot_(std::move(slot)) {
    if (!limits_.pool) limits_.pool = MemoryPool::unbounded();
    wake_writer_.expires_at(asio::steady_timer::time_point::max());
    wake_reader_.expires_at(asio::steady_timer::time_point::max());
    asio::error_code ec;
    auto ep = socket_.remote_endpoint(ec);
    std::string host = ec ? "?" : ep.address().to_string();
    peer_ = ec ? "?" : host + ":" + std::to_string(ep.port());
    authentication_timeout_ms_ = security->authentication_timeout_ms;
    tls_done_ = !transport_->is_tls();
    // The session's host in canonical form (an IPv4-mapped IPv6 address as its
    // IPv4 one), as ACL hosts are compared (security::canonical_ip).
    if (auto canonical = security::canonical_ip(host)) host = *canonical;
    sasl_ = std::make_unique<SaslSession>(listener_, std::move(security), host, peer_, monotonic_ms());
    socket_.set_option(tcp::no_delay(true), ec);
    if (limits_.send_buffer_bytes > 0) socket_.set_option(asio::socket_base::send_buffer_size(limits_.send_buffer_bytes), ec);
    if (limits_.receive_buffer_bytes > 0) socket_.set_option(asio::socket_base::receive_buffer_size(limits_.receive_buffer_bytes), ec);
    socket_.non_blocking(true, ec);
  }

  void start() {
    auto self = shared_from_this();
    asio::co_spawn(socket_.get_executor(), [self]() { return self->read_loop(); }, asio::detached);
    asio::co_spawn(socket_.get_executor(), [self]() { return self->write_loop(); }, asio::detached);
    arm_idle_timer(limits_.connections_max_idle_ms);
    // The TLS handshake and the SASL exchange share one bound: a connection
    // that has not finished both within it is closed.
    std::optional<int64_t> deadline = sasl_->authentication_deadline_ms();
    if (!tls_done_ && authentication_timeout_ms_ > 0) deadline = started_ms_ + authentication_timeout_ms_;
    if (deadline) {
      auth_timer_.expires_after(std::chrono::milliseconds(std::max<int64_t>(0, *deadline - monotonic_ms())));
      std::weak_ptr<Connection> weak = self;
      int64_t bound = *deadline - started_ms_;
      auth_timer_.async_wait([weak, bound](const asio::error_code& ec) {
        auto c = weak.lock();
        if (ec || !c || c->closed_ || (c->tls_done_ && c->sasl_->authenticated())) return;
        spdlog::warn("[SocketServer listener={}] Closing connection {} from {}: {} within {} ms "
                     "(flotilla.connections.authentication.timeout.ms)",
                     c->listener_, c->id_, c->peer_, c->tls_done_ ? "not authenticated" : "no TLS handshake", bound);
        c->close();
      });
    }
  }

  void close() {
    if (closed_) return;
    closed_ = true;
    transport_->close();
    wake_writer_.cancel();
    wake_reader_.cancel();
    auth_timer_.cancel();
    mute_timer_.cancel();
    pool_timer_.cancel();
    idle_timer_.cancel();
    quota_slot_.reset();
  }

  // KIP-219: no request is read (or dispatched) before `now + ms`.
  void mute_for(int32_t ms) {
    if (ms <= 0 || closed_) return;
    muted_until_ms_ = std::max(muted_until_ms_, monotonic_ms() + ms);
  }

 private:
  struct Slot {
    bool ready = false;
    int32_t correlation_id = 0;
    Response response;
    const RequestSeries* series = nullptr;  // RequestMetrics (null: answered by this layer)
    int64_t read_us = 0;                    // when its frame was read
  };

  asio::awaitable<void> wait_while_muted() {
    for (;;) {
      int64_t now = monotonic_ms();
      if (closed_ || now >= muted_until_ms_) co_return;
      mute_timer_.expires_after(std::chrono::milliseconds(muted_until_ms_ - now));
      asio::error_code ec;
      co_await mute_timer_.async_wait(asio::redirect_error(asio::use_awaitable, ec));
    }
  }

  // connections.max.idle.ms: closes the connection once no bytes moved for
  // that long while no request is in flight.
  void arm_idle_timer(int64_t after_ms) {
    if (limits_.connections_max_idle_ms <= 0 || closed_) return;
    idle_timer_.expires_after(std::chrono::milliseconds(std::max<int64_t>(1, after_ms)));
    std::weak_ptr<Connection> weak = weak_from_this();
    idle_timer_.async_wait([weak](const asio::error_code& ec) {
      auto c = weak.lock();
      if (ec || !c || c->closed_) return;
      const int64_t idle = c->limits_.connections_max_idle_ms, quiet = monotonic_ms() - c->last_active_ms_;
      if (quiet < idle) return c->arm_idle_timer(idle - quiet);
      if (!c->slots_.empty()) return c->arm_idle_timer(idle);
      spdlog::debug("[SocketServer listener={}] Closing connection {} from {}: idle for {} ms (connections.max.idle.ms={})",
                    c->listener_, c->id_, c->peer_, quiet, idle);
      c->close();
    });
  }

  // Charges `n` more bytes of `lease` to the pool, waiting (not reading) while
  // the pool refuses; false once the connection closed.
  asio::awaitable<bool> charge(FrameLease& lease, int64_t n) {
    bool waited = false;
    for (;;) {
      if (closed_) co_return false;
      if (lease.grow(n)) break;
      if (!pool_waiter_registered_) {  // one registration at a time: a wait that timed out keeps its place
        pool_waiter_registered_ = true;
        std::weak_ptr<Connection> weak = weak_from_this();
        limits_.pool->add_waiter([weak, ex = socket_.get_executor()] {
          asio::post(ex, [weak] {
            if (auto c = weak.lock()) {
              c->pool_waiter_registered_ = false;
              c->pool_timer_.cancel();
            }
          });
        });
      }
      if (lease.grow(n)) break;  // released between the refusal and the registration
      if (!waited) spdlog::debug("[SocketServer listener={}] connection {} from {} waits for request memory (queued.max.request.bytes)",
                                 listener_, id_, peer_);
      waited = true;
      // The wake-up is posted by the releasing thread; the bound only guards against a lost one.
      pool_timer_.expires_after(std::chrono::seconds(1));
      asio::error_code ec;
      co_await pool_timer_.async_wait(asio::redirect_error(asio::use_awaitable, ec));
    }
    co_return !closed_;
  }

  // Reads a `size`-byte frame into a buffer that grows as its bytes arrive
  // (FrameLease::next_capacity), each step charged to the pool first. The
  // frame returns its bytes to the pool when its last holder drops it. Null
  // when the connection closed meanwhile.
  asio::awaitable<std::shared_ptr<FrameBuffer>> read_frame(int32_t size) {
    struct Held {
      Held(std::shared_ptr<MemoryPool> pool, std::shared_ptr<std::atomic<int64_t>> held, int64_t size)
          : lease(std::move(pool), std::move(held), size) {}
      FrameLease lease;
      FrameBuffer buf;
    };
    auto h = std::make_shared<Held>(limits_.pool, held_, size);
    FrameBuffer& buf = h->buf;
    const size_t want = static_cast<size_t>(size);
    size_t got = 0;
    while (got < want) {
      if (got == buf.size()) {
        const auto next = static_cast<size_t>(h->lease.next_capacity(static_cast<int64_t>(got)));
        if (!co_await charge(h->lease, static_cast<int64_t>(next - got))) co_return nullptr;
        buf.reserve(next);
        buf.resize(next);
      }
      got += co_await transport_->async_read_some(asio::buffer(buf.data() + got, buf.size() - got), asio::use_awaitable);
      last_active_ms_ = monotonic_ms();
    }
    h->lease.complete();
    co_return std::shared_ptr<FrameBuffer>(h, &h->buf);
  }

  asio::awaitable<void> read_loop() {
    auto self = shared_from_this();
    try {
      if (!tls_done_ && !co_await tls_handshake()) {
        close();
        co_return;
      }
      for (;;) {
        while (!closed_ && static_cast<int32_t>(slots_.size()) >= limits_.max_in_flight) {
          asio::error_code ec;
          co_await wake_reader_.async_wait(asio::redirect_error(asio::use_awaitable, ec));
        }
        if (closed_) break;
        co_await wait_while_muted();
        if (closed_) break;
        uint8_t size_buf[4];
        co_await asio::async_read(*transport_, asio::buffer(size_buf, 4), asio::use_awaitable);
        last_active_ms_ = monotonic_ms();
        int32_t size = static_cast<int32_t>(load_be32(size_buf));
        if (sasl_->expects_raw_token()) {
          if (!co_await read_raw_token(size)) break;
          continue;
        }
        if (size < 8 || size > limits_.max_request_bytes) {
          spdlog::warn("[SocketServer listener={}] Closing connection {} from {}: request size {} is outside 8..{} (socket.request.max.bytes)",
                       listener_, id_, peer_, size, limits_.max_request_bytes);
          break;
        }
        if (size > limits_.pool->max_frame()) {
          spdlog::warn("[SocketServer listener={}] Closing connection {} from {}: request size {} is larger than the request memory pool ({} bytes, queued.max.request.bytes)",
                       listener_, id_, peer_, size, limits_.pool->max_frame());
          break;
        }
        auto frame = co_await read_frame(size);
        if (!frame) break;
        const int64_t read_us = metrics::kEnabled ? monotonic_us() : 0;
        // A throttle that began while this frame was being read holds it back too.
        co_await wait_while_muted();
        if (closed_) break;
        if (!dispatch(std::move(frame), read_us)) break;
      }
    } catch (const std::system_error& e) {
      if (e.code() != asio::error::eof && e.code() != asio::error::operation_aborted && e.code() != asio::error::connection_reset)
        spdlog::debug("connection {} from {} read error: {}", id_, peer_, e.what());
    }
    // Let responses already produced drain before closing; the writer closes.
    reading_done_ = true;
    wake_writer_.cancel();
  }

  // The server side of the TLS handshake; on an SSL listener the peer
  // certificate's subject (mapped by ssl.principal.mapping.rules) becomes the
  // connection's principal, ANONYMOUS without one. False closes the connection.
  asio::awaitable<bool> tls_handshake() {
    asio::error_code ec;
    co_await transport_->async_handshake(asio::redirect_error(asio::use_awaitable, ec));
    if (closed_) co_return false;
    if (ec) {
      if (peer_closed_handshake(ec))
        spdlog::info("[SocketServer listener={}] Closing connection {} from {}: closed by the peer during the TLS handshake", listener_, id_, peer_);
      else
        spdlog::warn("[SocketServer listener={}] Closing connection {} from {}: TLS handshake failed: {}", listener_, id_, peer_,
                     tls_error_text(ec, transport_->ssl()));
      co_return false;
    }
    tls_done_ = true;
    const auto& base = sasl_->session();
    if (base->protocol == security::SecurityProtocol::SSL) {
      auto s = std::make_shared<security::Session>(*base);
      try {
        s->principal = security::principal_from_peer(transport_->ssl(), transport_->tls_context()->principal_mapper());
      } catch (const std::exception& e) {
        spdlog::warn("[SocketServer listener={}] Closing connection {} from {}: {}", listener_, id_, peer_, e.what());
        co_return false;
      }
      tls_session_ = std::move(s);
    }
    if (sasl_->authenticated()) auth_timer_.cancel();
    co_return true;
  }

  // KIP-152: after a v0 SaslHandshake the next frame is a bare SASL token.
  // False closes the connection.
  asio::awaitable<bool> read_raw_token(int32_t size) {
    if (size < 0 || size > limits_.max_request_bytes || size > limits_.pool->max_frame()) {
      spdlog::warn("[SocketServer listener={}] Closing connection {} from {}: SASL token size {} out of bounds", listener_, id_, peer_, size);
      co_return false;
    }
    // Oversized tokens are refused by the session; reading one first keeps the
    // frame boundary, and max_request_bytes bounds it.
    // (No co_await inside a conditional expression: GCC 12 miscompiles it.)
    std::shared_ptr<FrameBuffer> token = std::make_shared<FrameBuffer>();
    if (size > 0) token = co_await read_frame(size);
    if (!token) co_return false;
    auto outcome = sasl_->on_raw_token(std::span<const uint8_t>(token->data(), token->size()), monotonic_ms());
    if (outcome.kind != SaslSession::Outcome::kReply) co_return false;
    push_ready(0, std::move(outcome.response));
    co_return true;
  }

  void push_ready(int32_t correlation_id, Response resp) {
    slots_.emplace_back();
    slots_.back().correlation_id = correlation_id;
    slots_.back().response = std::move(resp);
    slots_.back().ready = true;
    ++next_seq_;
    wake_writer_.cancel();
  }

  // Parses the header and hands the request over; false closes the connection.
  bool dispatch(std::shared_ptr<FrameBuffer> frame, int64_t read_us) {
    auto req = std::make_shared<Request>();
    ByteReader r(frame->data(), frame->size());
    try {
      req->api_key = r.get_i16();
      req->api_version = r.get_i16();
      req->correlation_id = r.get_i32();
      bool sasl_api = req->api_key == 17 || req->api_key == 36;  // SaslHandshake, SaslAuthenticate: answered here
      int hv = sasl_api ? SaslSession::request_header_version(req->api_key, req->api_version)
                        : handler_.request_header_version(req->api_key, req->api_version);
      if (hv < 0) {
        spdlog::warn("[SocketServer listener={}] Closing connection {} from {}: unknown or unsupported API key {} version {}",
                     listener_, id_, peer_, req->api_key, req->api_version);
        return false;
      }
      req->header_version = static_cast<int16_t>(hv);
      if (hv >= 1) {
        int16_t n = r.get_i16();
        if (n >= 0) {
          req->client_id = r.get_string(static_cast<size_t>(n));
          make_valid_utf8(*req->client_id);  // it reaches logs, quotas and metric labels
        }
      }
      if (hv >= 2) {
        uint32_t tags = r.get_uvarint32();
        for (uint32_t i = 0; i < tags; ++i) {
          r.get_uvarint32();
          r.skip(r.get_uvarint32());
        }
      }
    } catch (const DecodeError& e) {
      spdlog::warn("[SocketServer listener={}] Closing connection {} from {}: malformed request header ({})", listener_, id_, peer_, e.what());
      return false;
    }
    req->body_offset = r.position();
    auto outcome = sasl_->on_request(req->api_key, req->api_version, ByteReader(frame->data() + req->body_offset, frame->size() - req->body_offset),
                                     monotonic_ms());
    if (outcome.kind == SaslSession::Outcome::kClose) return false;
    if (outcome.kind == SaslSession::Outcome::kReply) {
      push_ready(req->correlation_id, std::move(outcome.response));
      return true;
    }
    req->frame = std::move(frame);
    req->listener = listener_;
    req->peer = peer_;
    req->connection_id = id_;
    req->session = tls_session_ ? tls_session_ : sasl_->session();
    req->connection = weak_from_this();

    slots_.emplace_back();
    slots_.back().correlation_id = req->correlation_id;
    slots_.back().series = metrics::kEnabled ? request_series(req->api_key, req->api_version) : nullptr;
    slots_.back().read_us = read_us;
    size_t seq = next_seq_++;
    std::weak_ptr<Connection> weak = shared_from_this();
    handler_.handle(std::move(req), [weak, seq](Response resp) {
      if (auto c = weak.lock()) c->complete(seq, std::move(resp));
    });
    return true;
  }

  void complete(size_t seq, Response resp) {
    if (closed_ || seq < first_seq_) return;
    Slot& s = slots_[seq - first_seq_];
    s.response = std::move(resp);
    s.ready = true;
    wake_writer_.cancel();
  }

  asio::awaitable<void> write_loop() {
    auto self = shared_from_this();
    try {
      while (!closed_) {
        if (slots_.empty() || !slots_.front().ready) {
          if (reading_done_ && slots_.empty()) break;
          if (reading_done_ && !slots_.empty() && !slots_.front().ready) {
            // Waiting for handlers still working on requests already read.
          }
          asio::error_code ec;
          co_await wake_writer_.async_wait(asio::redirect_error(asio::use_awaitable, ec));
          wake_writer_.expires_at(asio::steady_timer::time_point::max());
          continue;
        }
        Slot slot = std::move(slots_.front());
        slots_.pop_front();
        ++first_seq_;
        wake_reader_.cancel();
        if (slot.response.send) co_await send_response(slot.correlation_id, slot.response);
        last_active_ms_ = monotonic_ms();
        if (slot.series) slot.series->observe(monotonic_us() - slot.read_us);
        if (slot.response.close_after) break;
      }
    } catch (const std::system_error& e) {
      spdlog::debug("connection {} from {} write error: {}", id_, peer_, e.what());
    }
    close();
  }

  asio::awaitable<void> send_response(int32_t correlation_id, const Response& resp) {
    uint8_t head[9];
    size_t head_len = resp.raw ? 4 : resp.header_version >= 1 ? 9 : 8;
    int64_t total = static_cast<int64_t>(head_len) - 4 + resp.body.total_size();
    store_be32(head, static_cast<uint32_t>(total));
    store_be32(head + 4, static_cast<uint32_t>(correlation_id));
    head[8] = 0;  // empty tagged-field section of response header v1
    std::vector<asio::const_buffer> pending;
    pending.emplace_back(head, head_len);
    const auto& buf = resp.body.buffer();
    for (const auto& c : resp.body.chunks()) {
      if (!c.is_file) {
        if (c.end > c.begin) pending.emplace_back(buf.data() + c.begin, c.end - c.begin);
        continue;
      }
      if (!pending.empty()) {
        co_await asio::async_write(*transport_, pending, asio::use_awaitable);
        pending.clear();
      }
      co_await transport_->send_file(c.file.fd, c.file.offset, c.file.length);
    }
    if (!pending.empty()) co_await asio::async_write(*transport_, pending, asio::use_awaitable);
  }

  std::unique_ptr<Transport> transport_;
  tcp::socket& socket_;  // the TCP socket under transport_
  asio::steady_timer wake_writer_;
  asio::steady_timer wake_reader_;
  asio::steady_timer auth_timer_;
  asio::steady_timer mute_timer_;
  asio::steady_timer pool_timer_;  // waits for request memory (MemoryPool::add_waiter cancels it)
  asio::steady_timer idle_timer_;  // connections.max.idle.ms
  bool pool_waiter_registered_ = false;  // a MemoryPool wake-up is pending for this connection
  int64_t muted_until_ms_ = 0;  // KIP-219 throttling: reads wait until then
  int64_t started_ms_ = monotonic_ms();
  int64_t last_active_ms_ = started_ms_;  // bytes last read or a response last written
  std::string listener_;
  std::string peer_;
  uint64_t id_;
  Handler& handler_;
  Limits limits_;
  QuotaSlot quota_slot_;  // counted in the node's ConnectionQuotas until close()
  std::shared_ptr<std::atomic<int64_t>> held_ = std::make_shared<std::atomic<int64_t>>(0);  // pool bytes of this connection's frames
  std::unique_ptr<SaslSession> sasl_;
  std::deque<Slot> slots_;
  size_t first_seq_ = 0;
  size_t next_seq_ = 0;
  bool closed_ = false;
  bool reading_done_ = false;
  bool tls_done_ = true;              // false until a TLS listener's handshake succeeded
  int64_t authentication_timeout_ms_ = 0;
  std::shared_ptr<const security::Session> tls_session_;  // SSL listeners: the principal of the peer certificate

  friend class Listener;
  friend void throttle_connection(const Request& req, int32_t ms);
  friend void close_connection(const std::weak_ptr<Connection>& connection);
};

void close_connection(const std::weak_ptr<Connection>& connection) {
  if (auto c = connection.lock()) c->close();
}

void throttle_connection(const Request& req, int32_t ms) {
  if (ms <= 0) return;
  if (auto c = req.connection.lock()) c->mute_for(ms);
}

Listener::Listener(asio::io_context& io, std::string name, const std::string& host, int port, Handler& handler, Limits limits,
                   std::shared_ptr<const ListenerSecurity> security)
    : io_(io), name_(std::move(name)), acceptor_(io), handler_(handler), limits_(std::move(limits)),
      security_(security ? std::move(security) : std::make_shared<const ListenerSecurity>()), wait_timer_(io) {
  if (!limits_.pool) limits_.pool = MemoryPool::unbounded();
  tcp::endpoint ep(host.empty() ? asio::ip::address_v4::any() : asio::ip::make_address(host), static_cast<uint16_t>(port));
  acceptor_.open(ep.protocol());
  acceptor_.set_option(tcp::acceptor::reuse_address(true));
  acceptor_.bind(ep);
  acceptor_.listen(1024);
  port_ = acceptor_.local_endpoint().port();
}

Listener::~Listener() { stop(); }

void Listener::start() {
  asio::co_spawn(io_, [this]() { return accept_loop(); }, asio::detached);
}

void Listener::stop() {
  if (stopped_) return;
  stopped_ = true;
  asio::error_code ec;
  acceptor_.close(ec);
  wait_timer_.cancel();
  for (auto& w : connections_)
    if (auto c = w.lock()) c->close();
  connections_.clear();
}

size_t Listener::connection_count() const {
  size_t n = 0;
  for (const auto& w : connections_)
    if (!w.expired()) ++n;
  return n;
}

namespace {

// Out of descriptors or kernel memory: retrying at once would spin.
bool resource_error(const asio::error_code& ec) {
  if (ec.category() != asio::system_category()) return false;
  const int v = ec.value();
  return v == EMFILE || v == ENFILE || v == ENOBUFS || v == ENOMEM;
}

}  // namespace

asio::awaitable<void> Listener::accept_loop() {
  bool waiting_logged = false;
  while (!stopped_) {
    // KIP-402: at max.connections the listener stops accepting (the backlog
    // holds new connections) until one closes; checked every 50 ms.
    if (limits_.quotas && !limits_.quotas->may_accept(name_)) {
      if (!waiting_logged)
        spdlog::info("[SocketServer listener={}] Max connections reached (max.connections / listener.name.{}.max.connections): "
                     "not accepting until a connection closes", name_, name_);
      waiting_logged = true;
      wait_timer_.expires_after(std::chrono::milliseconds(50));
      asio::error_code ec;
      co_await wait_timer_.async_wait(asio::redirect_error(asio::use_awaitable, ec));
      continue;
    }
    waiting_logged = false;
    asio::error_code ec;
    tcp::socket sock = co_await acceptor_.async_accept(asio::redirect_error(asio::use_awaitable, ec));
    if (stopped_) break;
    if (ec) {
      co_await after_accept_error(ec);
      continue;
    }
    backoff_ms_ = 0;
    consecutive_errors_ = 0;
    try {
      admit(std::move(sock));
    } catch (const std::exception& e) {  // a connection that cannot be set up (TLS state, memory): only it is lost
      spdlog::warn("[SocketServer listener={}] Closing a new connection: {}", name_, e.what());
    }
  }
}

asio::awaitable<void> Listener::after_accept_error(const asio::error_code& ec) {
  ++errors_since_log_;
  const int64_t now = monotonic_ms();
  // A resource error, or any error that keeps coming, backs off: 100 ms doubling to 1 s.
  const bool back_off = resource_error(ec) || ++consecutive_errors_ > 3;
  if (back_off) backoff_ms_ = backoff_ms_ == 0 ? 100 : std::min<int64_t>(backoff_ms_ * 2, 1000);
  if (now - last_error_log_ms_ >= 1000) {
    spdlog::warn("[SocketServer listener={}] Error accepting connections ({} failure(s) since the last report): {}{}", name_,
                 errors_since_log_, ec.message(), back_off ? " — backing off " + std::to_string(backoff_ms_) + " ms" : "");
    errors_since_log_ = 0;
    last_error_log_ms_ = now;
  }
  if (!back_off) co_return;
  wait_timer_.expires_after(std::chrono::milliseconds(backoff_ms_));
  asio::error_code wait_ec;
  co_await wait_timer_.async_wait(asio::redirect_error(asio::use_awaitable, wait_ec));
}

void Listener::admit(tcp::socket sock) {
  asio::error_code ec;
  auto ep = sock.remote_endpoint(ec);
  if (ec) return;  // already gone
  std::string ip = ep.address().to_string();
  if (auto canonical = security::canonical_ip(ip)) ip = *canonical;
  QuotaSlot slot;
  if (limits_.quotas) {
    switch (limits_.quotas->on_accept(name_, ip, monotonic_ms())) {
      case ConnectionQuotas::Verdict::kAccepted:
        slot = QuotaSlot(limits_.quotas, name_, ip);
        break;
      case ConnectionQuotas::Verdict::kTooManyForIp:
        spdlog::info("[SocketServer listener={}] Rejected connection from /{}, address already has the configured maximum of {} connections.",
                     name_, ip, limits_.quotas->ip_limit(ip));
        sock.close(ec);
        return;
      case ConnectionQuotas::Verdict::kTooMany:
        sock.close(ec);  // the broker-wide count moved (another listener) since may_accept
        return;
      case ConnectionQuotas::Verdict::kRateExceeded: {
        ++refused_since_log_;
        const int64_t now = monotonic_ms();
        if (now - last_refused_log_ms_ >= 1000) {
          spdlog::info("[SocketServer listener={}] Rejected connection from /{}: connection creation rate exceeded "
                       "(max.connection.creation.rate / listener.name.{}.max.connection.creation.rate); {} refused since the last report",
                       name_, ip, name_, refused_since_log_);
          refused_since_log_ = 0;
          last_refused_log_ms_ = now;
        }
        sock.close(ec);
        return;
      }
    }
  }
  auto conn = std::make_shared<Connection>(std::move(sock), name_, next_id_++, handler_, limits_, security_, std::move(slot));
  std::erase_if(connections_, [](const auto& w) { return w.expired(); });
  connections_.push_back(conn);
  conn->start();
}

}  // namespace flotilla::net
