// The inter-node client: one TCP connection to one Kafka-protocol endpoint
// (a controller listener, a broker listener), with pipelined requests.
//
// Requests go out in the order send() was called; Kafka answers in request
// order on a connection, so responses are matched to the oldest outstanding
// request by correlation id. The connection is opened lazily by the first
// send() after it was closed; when it breaks (refused, reset, EOF, a
// malformed response) every outstanding request fails with the error, at
// once — a broken connection to a Raft leader is news the caller acts on
// (pre-vote), so it is never hidden behind retries here. Retrying and
// backing off are the caller's: the Raft core has its own timers.
//
// On an SSL / SASL_SSL listener the connection first does a TLS handshake with
// the ClientSecurity's client context (server certificate verified, host name
// checked per ssl.endpoint.identification.algorithm); a failed handshake fails
// the outstanding requests like a broken connection (logged).
// On a SASL listener (set_security) the connection authenticates first
// (net/client_sasl.h); requests queue until it has. A failed authentication
// fails the outstanding requests like a broken connection (logged once per
// connection attempt). When the server bounds the session (KIP-368,
// connections.max.reauth.ms), the client reconnects — and so authenticates
// anew — at a send() with nothing in flight once 90% of the lifetime passed;
// a session that expires under a busy connection gets it closed by the server,
// which the caller sees as a broken connection and retries.
//
// Threading: one io_context thread; callbacks run on it, never inside send().
#pragma once

#include <asio.hpp>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <string>
#include <system_error>
#include <vector>

#include "common/bytes.h"
#include "net/client_sasl.h"

namespace flotilla::net {

struct ClientResponse {
  std::error_code error;  // set: no response (the body is empty)
  std::shared_ptr<FrameBuffer> frame;
  size_t body_offset = 0;
  ByteReader body() const { return ByteReader(frame->data() + body_offset, frame->size() - body_offset); }
};

struct ClientRequest {
  int16_t api_key = 0;
  int16_t api_version = 0;
  int16_t request_header_version = 1;   // 1 or 2 (flexible)
  int16_t response_header_version = 0;  // 0 or 1 (flexible)
  std::vector<uint8_t> body;            // the encoded request body
};

class Client : public std::enable_shared_from_this<Client> {
 public:
  using Done = std::function<void(ClientResponse)>;

  static std::shared_ptr<Client> create(asio::io_context& io, std::string host, int port, std::string client_id,
                                        int32_t max_response_bytes = 256 * 1024 * 1024);
  // A request unanswered this long breaks the connection (timed_out): a peer
  // behind a black hole is treated like a dead one. 0: never.
  void set_request_timeout_ms(int64_t ms) { request_timeout_ms_ = ms; }
  // How to authenticate to the peer's listener (null or PLAINTEXT: no SASL).
  // Takes effect at the next connection.
  void set_security(std::shared_ptr<const ClientSecurity> security) { security_ = std::move(security); }
  ~Client();

  void send(ClientRequest request, Done done);
  // Closes the connection; outstanding requests fail with operation_aborted.
  void close();

  const std::string& host() const { return host_; }
  int port() const { return port_; }
  bool connected() const { return state_ == State::Connected; }
  size_t in_flight() const { return pending_.size(); }

 private:
  enum class State { Idle, Connecting, Connected };
  struct Pending {
    int32_t correlation_id;
    int16_t response_header_version;
    Done done;
    std::chrono::steady_clock::time_point sent;
  };

  Client(asio::io_context& io, std::string host, int port, std::string client_id, int32_t max_response_bytes);
  void connect();
  void write_next();
  void read_next();
  void on_frame(std::shared_ptr<FrameBuffer> frame);
  void fail_all(std::error_code ec);
  void complete(Done done, ClientResponse r);
  void arm_timeout();
  void on_connected();
  void authenticate(uint64_t gen);

  asio::io_context& io_;
  std::string host_;
  int port_;
  std::string client_id_;
  int32_t max_response_bytes_;
  asio::ip::tcp::resolver resolver_;
  std::shared_ptr<asio::ip::tcp::socket> connecting_;  // during connect only
  std::shared_ptr<Transport> socket_;  // TCP or TLS; shared with a SASL exchange in progress
  std::shared_ptr<const ClientSecurity> security_;
  std::chrono::steady_clock::time_point reconnect_after_ = std::chrono::steady_clock::time_point::max();
  State state_ = State::Idle;
  uint64_t generation_ = 0;  // bumped on every close: callbacks of an older socket are ignored
  int32_t next_correlation_ = 1;
  std::deque<std::vector<uint8_t>> outbox_;  // framed requests not yet written
  bool writing_ = false;
  std::deque<Pending> pending_;  // sent or queued, awaiting a response; oldest first
  uint8_t size_buf_[4]{};
  int64_t request_timeout_ms_ = 0;
  asio::steady_timer timeout_timer_;
  bool timeout_armed_ = false;
};

}  // namespace flotilla::net
