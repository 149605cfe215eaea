// TCP listeners and connections speaking Kafka's framing: a 4-byte size, a
// request header, a body. Responses leave each connection in request order,
// whatever order the handlers finish in; file regions in a response body go out
// with sendfile(2) on plaintext, and through pread + TLS writes on TLS.
//
// Security: each listener has a ListenerSecurity. A connection reads and writes
// through a net::Transport (plain TCP, or TLS by OpenSSL on the socket); on an
// SSL/SASL_SSL listener the TLS handshake comes first, on a SASL listener the
// SASL exchange (net/sasl_session.h decides what may be sent until then), both
// within one time bound. Every Request carries its connection's Session (the
// principal: SASL's, the client certificate's on SSL, else User:ANONYMOUS).
//
// Quotas (KIP-219): throttle_connection() mutes a connection — no further
// request is read from it (or, if already read, handed to the handler) until
// the throttle time has passed; responses keep going out. A Request may carry
// the handler layer's RequestAccounting (the broker's client quotas), which
// the response encoder asks once for the throttle time to announce.
//
// Memory (net/memory_pool.h): a frame's buffer grows as its bytes arrive,
// charged to the node's MemoryPool (queued.max.request.bytes) until the last
// holder of the frame releases it; when the pool refuses the next step the
// connection stops reading until memory is released. A frame larger than the
// pool can hold is refused like one over socket.request.max.bytes.
//
// Connection limits (net/connection_quotas.h): the listener waits while
// max.connections is reached, closes a connection right after accept when
// its address is over max.connections.per.ip or the creation rate is
// exceeded; connections.max.idle.ms closes a connection with no request in
// flight and no bytes moved for that long. Accept errors (EMFILE, ENFILE,
// ENOBUFS, ...) back off 100 ms doubling to 1 s, logged once per interval:
// the accept loop never ends before stop().
//
// Threading: everything here runs on one asio::io_context thread; handlers are
// called on it and may answer later (from that same thread) through Respond.
#pragma once

#include <asio.hpp>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/bytes.h"
#include "net/listener_security.h"
#include "security/principal.h"

namespace flotilla::net {

class Connection;
class ConnectionQuotas;  // net/connection_quotas.h
class MemoryPool;        // net/memory_pool.h
struct Request;

// What the handler layer accounts per request when its response is encoded
// (the broker's request-time quota). on_response is called at most once per
// request (Request::accounted) and returns the throttle time the response
// announces.
class RequestAccounting {
 public:
  virtual ~RequestAccounting() = default;
  virtual int32_t on_response(const Request& req) = 0;
};

struct Request {
  // The frame without its size prefix. Handlers may modify bytes of the body in
  // place (offset assignment in produced batches); nothing else reads them.
  std::shared_ptr<FrameBuffer> frame;
  int16_t api_key = 0;
  int16_t api_version = 0;
  int16_t header_version = 1;
  int32_t correlation_id = 0;
  std::optional<std::string> client_id;
  size_t body_offset = 0;
  std::string listener;
  std::string peer;
  uint64_t connection_id = 0;
  // Who sent it: the connection's session when the request was read (never null).
  std::shared_ptr<const security::Session> session;
  // The connection it came on (throttle_connection()); empty once that is gone.
  std::weak_ptr<Connection> connection;

  // Quota bookkeeping of the handler layer, single-threaded like everything
  // here (hence mutable: handlers hold requests as const).
  RequestAccounting* accounting = nullptr;
  mutable int32_t throttle_time_ms = 0;  // the largest throttle a quota gave it so far
  mutable int64_t handler_start_us = 0;  // when the handler got it
  mutable int64_t handler_us = -1;       // the handler's synchronous time, once it returned
  mutable bool accounted = false;        // on_response ran (or must not)

  ByteReader body() const { return ByteReader(frame->data() + body_offset, frame->size() - body_offset); }
};

struct Response {
  ByteWriter body;              // the response body, header excluded
  bool send = true;             // false: no response (Produce with acks=0)
  bool close_after = false;     // close the connection once sent (or instead, if !send)
  int16_t header_version = 0;   // response header version to use
  bool raw = false;             // a raw SASL token frame (KIP-152): size and body, no header
};

// Called once per request; must eventually be invoked exactly once.
using Respond = std::function<void(Response)>;

// Mutes the connection `req` came on for `ms` from now (longer mutes win):
// KIP-219's throttling of a client that exceeded a quota. No-op for ms <= 0
// or a closed connection.
void throttle_connection(const Request& req, int32_t ms);

// Closes a request's connection when its handler failed and will never answer
// (a bug, not bad input): the client sees the connection drop and retries,
// instead of waiting for an answer that cannot come. No-op once it is gone.
void close_connection(const std::weak_ptr<Connection>& connection);

class Handler {
 public:
  virtual ~Handler() = default;
  // Returns the response header version for (key, version), or -1 when the
  // key is unknown to this listener (the connection is then closed, as Kafka does).
  virtual int request_header_version(int16_t api_key, int16_t api_version) const = 0;
  virtual void handle(std::shared_ptr<Request> request, Respond respond) = 0;
};

struct Limits {
  int32_t max_request_bytes = 104857600;  // socket.request.max.bytes
  int32_t max_in_flight = 64;             // pipelined requests per connection before reading pauses
  int32_t send_buffer_bytes = 102400;     // socket.send.buffer.bytes (-1: OS default)
  int32_t receive_buffer_bytes = 102400;  // socket.receive.buffer.bytes
  int64_t connections_max_idle_ms = 600000;  // connections.max.idle.ms (<= 0: never)
  std::shared_ptr<MemoryPool> pool;          // the node's (queued.max.request.bytes); null: unbounded
  std::shared_ptr<ConnectionQuotas> quotas;  // the node's; null: no connection limits
};

class Connection;

class Listener {
 public:
  Listener(asio::io_context& io, std::string name, const std::string& host, int port, Handler& handler, Limits limits,
           std::shared_ptr<const ListenerSecurity> security = nullptr);  // null: PLAINTEXT
  ~Listener();
  void start();
  void stop();  // stops accepting and closes every connection
  int port() const { return port_; }
  const std::string& name() const { return name_; }
  size_t connection_count() const;

 private:
  asio::awaitable<void> accept_loop();
  // Counts and starts a connection, or closes it (per-ip limit, creation rate).
  void admit(asio::ip::tcp::socket sock);
  // Logs (at most once a second) and waits the back-off after a failed accept.
  asio::awaitable<void> after_accept_error(const asio::error_code& ec);

  asio::io_context& io_;
  std::string name_;
  asio::ip::tcp::acceptor acceptor_;
  int port_ = 0;
  Handler& handler_;
  Limits limits_;
  std::shared_ptr<const ListenerSecurity> security_;
  std::vector<std::weak_ptr<Connection>> connections_;
  uint64_t next_id_ = 1;
  bool stopped_ = false;
  asio::steady_timer wait_timer_;  // accept back-off and max.connections waits
  int64_t backoff_ms_ = 0;          // the next back-off after an accept error
  int consecutive_errors_ = 0;
  int64_t errors_since_log_ = 0, last_error_log_ms_ = 0;
  int64_t refused_since_log_ = 0, last_refused_log_ms_ = 0;  // creation-rate refusals
};

}  // namespace flotilla::net
