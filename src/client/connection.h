// One connection to a Kafka broker or controller, as the tools, benchmarks and
// C++ tests speak to one: blocking TCP (every read and write bounded by the
// request timeout), request header v1/v2 + generated message bodies,
// size-prefixed responses, pipelining (several requests in flight, answered in
// order) and version negotiation with ApiVersions (retried at the version the
// broker names when it does not know ours).
//
// Invariants: responses are read in the order their requests were sent
// (pending_ is that order), so a correlation id that does not match is a
// broken connection, never a reordering; every request this client sends is
// at a version both sides support (version_for), or it is not sent.
// Security: on a SASL_* listener (the process-wide client security, set once
// by a tool from its --command-config / --producer.config file before it
// connects) the connection authenticates right after ApiVersions with
// SaslHandshake v1 and SaslAuthenticate; a failure throws
// KafkaError(SASL_AUTHENTICATION_FAILED / UNSUPPORTED_SASL_MECHANISM) with the
// server's message, and the password appears in no message.
//
// SSL / SASL_SSL (security.protocol with ssl.truststore.* / ssl.keystore.*,
// PEM or PKCS12) put a TLS session under the socket before ApiVersions.
//
// Threading: a Connection belongs to one thread at a time; nothing here locks.
#pragma once

#include <cstdint>
#include <deque>
#include <limits>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "common/bytes.h"
#include "common/error.h"
#include "net/client_security.h"
#include "protocol/api.h"
#include "protocol/messages.h"

namespace flotilla::client {

// A socket-level failure (connect refused, peer closed, timeout).
class NetworkError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// A Kafka error code returned by the server (or an equivalent client-side
// condition); the message is the server's, else Kafka's default text.
class KafkaError : public std::runtime_error {
 public:
  KafkaError(ErrorCode code, const std::string& message) : std::runtime_error(message), code_(code) {}
  ErrorCode code() const { return code_; }

 private:
  ErrorCode code_;
};

// The message for an error code with an optional server-provided message.
std::string error_text(int16_t code, const std::optional<std::string>& server_message = std::nullopt);
// Errors a client retries after refreshing metadata (Kafka's RetriableException set).
bool is_retriable(int16_t code);

// "host:port" (also "[v6]:port"); throws std::invalid_argument.
std::pair<std::string, int> parse_host_port(const std::string& s);
// The items of a comma-separated list ("h1:p1,h2:p2"), empty ones included.
std::vector<std::string> split_list(const std::string& s);

// One response read off a connection: the whole frame (without the size
// prefix) and where the body starts. Decoded `records` fields view into `data`.
struct ResponseFrame {
  std::shared_ptr<std::vector<uint8_t>> data;
  size_t body_offset = 0;
  int32_t correlation_id = 0;
  int16_t api_key = 0;
  int16_t api_version = 0;

  std::span<const uint8_t> body() const { return std::span<const uint8_t>(*data).subspan(body_offset); }
  template <class Resp>
  Resp decode() const {
    Resp r;
    ByteReader reader(body());
    r.decode(reader, api_version);
    return r;
  }
};

// Response type of a request type (what Connection::call decodes).
template <class Req> struct ResponseOf;
#define FLOTILLA_RESPONSE_OF(R) \
  template <> struct ResponseOf<msg::R##Request> { using type = msg::R##Response; };
FLOTILLA_RESPONSE_OF(ApiVersions)
FLOTILLA_RESPONSE_OF(Metadata)
FLOTILLA_RESPONSE_OF(DescribeLogDirs)
FLOTILLA_RESPONSE_OF(CreateTopics)
FLOTILLA_RESPONSE_OF(DeleteTopics)
FLOTILLA_RESPONSE_OF(CreateDelegationToken)
FLOTILLA_RESPONSE_OF(RenewDelegationToken)
FLOTILLA_RESPONSE_OF(ExpireDelegationToken)
FLOTILLA_RESPONSE_OF(DescribeDelegationToken)
FLOTILLA_RESPONSE_OF(CreatePartitions)
FLOTILLA_RESPONSE_OF(DescribeConfigs)
FLOTILLA_RESPONSE_OF(IncrementalAlterConfigs)
FLOTILLA_RESPONSE_OF(DescribeUserScramCredentials)
FLOTILLA_RESPONSE_OF(DescribeClientQuotas)
FLOTILLA_RESPONSE_OF(DescribeTopicPartitions)
FLOTILLA_RESPONSE_OF(AlterClientQuotas)
FLOTILLA_RESPONSE_OF(UpdateFeatures)
FLOTILLA_RESPONSE_OF(ListClientMetricsResources)
FLOTILLA_RESPONSE_OF(AlterUserScramCredentials)
FLOTILLA_RESPONSE_OF(DescribeAcls)
FLOTILLA_RESPONSE_OF(CreateAcls)
FLOTILLA_RESPONSE_OF(DeleteAcls)
FLOTILLA_RESPONSE_OF(ElectLeaders)
FLOTILLA_RESPONSE_OF(AlterPartitionReassignments)
FLOTILLA_RESPONSE_OF(ListPartitionReassignments)
FLOTILLA_RESPONSE_OF(Produce)
FLOTILLA_RESPONSE_OF(Fetch)
FLOTILLA_RESPONSE_OF(ListOffsets)
FLOTILLA_RESPONSE_OF(DescribeQuorum)
FLOTILLA_RESPONSE_OF(DescribeCluster)
FLOTILLA_RESPONSE_OF(AddRaftVoter)
FLOTILLA_RESPONSE_OF(RemoveRaftVoter)
FLOTILLA_RESPONSE_OF(FindCoordinator)
FLOTILLA_RESPONSE_OF(JoinGroup)
FLOTILLA_RESPONSE_OF(SyncGroup)
FLOTILLA_RESPONSE_OF(Heartbeat)
FLOTILLA_RESPONSE_OF(LeaveGroup)
FLOTILLA_RESPONSE_OF(OffsetCommit)
FLOTILLA_RESPONSE_OF(OffsetFetch)
FLOTILLA_RESPONSE_OF(ListGroups)
FLOTILLA_RESPONSE_OF(DescribeGroups)
FLOTILLA_RESPONSE_OF(DeleteGroups)
FLOTILLA_RESPONSE_OF(OffsetDelete)
FLOTILLA_RESPONSE_OF(ConsumerGroupDescribe)
FLOTILLA_RESPONSE_OF(ListTransactions)
FLOTILLA_RESPONSE_OF(DescribeTransactions)
FLOTILLA_RESPONSE_OF(DescribeProducers)
FLOTILLA_RESPONSE_OF(SaslHandshake)
FLOTILLA_RESPONSE_OF(SaslAuthenticate)
#undef FLOTILLA_RESPONSE_OF

// The highest version of an API this client implements (capped at the generated code).
int16_t client_max_version(int16_t api_key);

// The security every Connection made from now on uses (null: PLAINTEXT).
// Set before connections are made (not synchronised with them).
void set_default_security(std::shared_ptr<const net::ClientSecurity> security);
std::shared_ptr<const net::ClientSecurity> default_security();

class Connection {
 public:
  // Connects (blocking, bounded by timeout_ms) and negotiates versions with ApiVersions.
  Connection(std::string host, int port, std::string client_id, int timeout_ms = 30000);
  ~Connection();
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  const std::string& host() const { return host_; }
  int port() const { return port_; }
  int fd() const { return fd_; }
  // Per read/write timeout (request timeout).
  void set_timeout_ms(int ms);

  // The version to use: min(broker max, client max); throws KafkaError(UNSUPPORTED_VERSION)
  // if the broker does not support the API or the ranges do not overlap.
  int16_t version_for(int16_t api_key) const;
  // The same for a caller with its own range [client_min, client_max] (the
  // group and admin APIs); `speaker` names it in the error ("this tool supports").
  int16_t version_for(int16_t api_key, int16_t client_max, int16_t client_min = std::numeric_limits<int16_t>::min(),
                      const char* speaker = "client") const;
  bool supports(int16_t api_key) const;
  // The broker's range for an API, if it supports it.
  std::optional<std::pair<int16_t, int16_t>> broker_versions(int16_t api_key) const;

  // --- Pipelining ---
  // Encodes header + body into a frame and sends it; returns the correlation id.
  // If !expect_response (Produce with acks=0) nothing is queued for receive().
  template <class Req>
  int32_t send(const Req& req, int16_t version, bool expect_response = true) {
    std::vector<uint8_t> frame = encode_frame(Req::kApiKey, version, [&](ByteWriter& w) { req.encode(w, version); });
    return send_frame(frame, Req::kApiKey, version, expect_response);
  }
  // Encodes a complete request frame (size prefix, header with correlation id 0, body),
  // to be sent any number of times with send_frame (which patches the correlation id).
  template <class Req>
  std::vector<uint8_t> encode_request(const Req& req, int16_t version) const {
    return encode_frame(Req::kApiKey, version, [&](ByteWriter& w) { req.encode(w, version); });
  }
  // Sends a frame made by encode_request, writing a fresh correlation id into it.
  int32_t send_frame(std::vector<uint8_t>& frame, int16_t api_key, int16_t version, bool expect_response = true);
  // Reads the next response (responses come in request order). Throws NetworkError.
  ResponseFrame receive();
  // Reads responses until the one to request `correlation_id` (earlier ones are dropped).
  ResponseFrame receive_for(int32_t correlation_id);
  size_t in_flight() const { return pending_.size(); }

  // Send and wait for the response (any earlier in-flight responses are read and dropped).
  template <class Req>
  std::pair<typename ResponseOf<Req>::type, ResponseFrame> call(const Req& req, int16_t version);

 private:
  struct Pending {
    int32_t correlation_id;
    int16_t api_key;
    int16_t version;
  };
  template <class F>
  std::vector<uint8_t> encode_frame(int16_t api_key, int16_t version, F&& body) const;
  void negotiate();
  void authenticate(const net::ClientSecurity& security);
  void tls_handshake(const std::shared_ptr<const security::TlsContext>& context);
  ssize_t tls_io(uint8_t* p, size_t n, bool write);
  std::string tls_error() const;
  void write_all(const uint8_t* p, size_t n);
  void read_all(uint8_t* p, size_t n);
  void wait_fd(short events);

  std::string host_;
  int port_;
  std::string client_id_;
  int fd_ = -1;
  SSL* ssl_ = nullptr;  // SSL / SASL_SSL: the TLS session over fd_
  std::shared_ptr<const security::TlsContext> tls_context_;
  int timeout_ms_;
  int32_t next_correlation_ = 1;
  std::deque<Pending> pending_;
  std::map<int16_t, std::pair<int16_t, int16_t>> broker_versions_;
};

template <class F>
std::vector<uint8_t> Connection::encode_frame(int16_t api_key, int16_t version, F&& body) const {
  ByteWriter w;
  w.put_i32(0);
  msg::RequestHeader h;
  h.request_api_key = api_key;
  h.request_api_version = version;
  h.correlation_id = 0;
  h.client_id = client_id_;
  h.encode(w, protocol::request_header_version(api_key, version));
  body(w);
  w.patch_i32(0, static_cast<int32_t>(w.position() - 4));
  return std::move(w).take();
}

template <class Req>
std::pair<typename ResponseOf<Req>::type, ResponseFrame> Connection::call(const Req& req, int16_t version) {
  using R = typename ResponseOf<Req>::type;
  ResponseFrame f = receive_for(send(req, version));
  return std::make_pair(f.decode<R>(), f);
}

}  // namespace flotilla::client
