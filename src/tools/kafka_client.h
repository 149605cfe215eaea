// A small synchronous Kafka client for the command-line tools: blocking TCP,
// request header v1/v2 + generated message bodies, size-prefixed responses,
// pipelining (several requests in flight per connection, answered in order),
// version negotiation with ApiVersions, and the handful of helpers the tools
// need (metadata, topics, produce, fetch, list offsets). It connects to the
// bootstrap servers first and then to each partition leader as Metadata says.
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <vector>

#include "common/bytes.h"
#include "common/error.h"
#include "common/uuid.h"
#include "protocol/api.h"
#include "protocol/messages.h"

namespace flotilla::tools {

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

// Response type of a request type.
template <class Req> struct ResponseOf;
#define FLOTILLA_RESPONSE_OF(R) \
  template <> struct ResponseOf<msg::R##Request> { using type = msg::R##Response; };
FLOTILLA_RESPONSE_OF(ApiVersions)
FLOTILLA_RESPONSE_OF(Metadata)
FLOTILLA_RESPONSE_OF(CreateTopics)
FLOTILLA_RESPONSE_OF(DeleteTopics)
FLOTILLA_RESPONSE_OF(CreatePartitions)
FLOTILLA_RESPONSE_OF(DescribeConfigs)
FLOTILLA_RESPONSE_OF(Produce)
FLOTILLA_RESPONSE_OF(Fetch)
FLOTILLA_RESPONSE_OF(ListOffsets)
FLOTILLA_RESPONSE_OF(DescribeQuorum)
FLOTILLA_RESPONSE_OF(DescribeCluster)
FLOTILLA_RESPONSE_OF(AddRaftVoter)
FLOTILLA_RESPONSE_OF(RemoveRaftVoter)
#undef FLOTILLA_RESPONSE_OF

// The highest version of an API this client implements (capped at the generated code).
int16_t client_max_version(int16_t api_key);

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
  void write_all(const uint8_t* p, size_t n);
  void read_all(uint8_t* p, size_t n);
  void wait_fd(short events);

  std::string host_;
  int port_;
  std::string client_id_;
  int fd_ = -1;
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
  int32_t id = send(req, version);
  for (;;) {
    ResponseFrame f = receive();
    if (f.correlation_id == id) return std::make_pair(f.decode<R>(), f);
  }
}

// ----- cluster-level client -----

struct BrokerInfo {
  int32_t id = -1;
  std::string host;
  int32_t port = 0;
  std::optional<std::string> rack;
};

struct PartitionInfo {
  int32_t partition = 0;
  int16_t error = 0;
  int32_t leader = -1;
  int32_t leader_epoch = -1;
  std::vector<int32_t> replicas, isr, offline;
};

struct TopicInfo {
  std::string name;
  Uuid id;
  int16_t error = 0;
  bool internal = false;
  std::vector<PartitionInfo> partitions;  // sorted by partition index
  const PartitionInfo* partition(int32_t p) const;
};

struct ClusterInfo {
  std::map<int32_t, BrokerInfo> brokers;
  std::optional<std::string> cluster_id;
  int32_t controller_id = -1;
  std::map<std::string, TopicInfo> topics;
};

struct ClientOptions {
  std::string client_id = "flotilla-tools";
  int request_timeout_ms = 30000;
};

struct ProduceResult {
  int16_t error = 0;
  std::string message;
  int64_t base_offset = -1;
  int64_t log_append_time = -1;
};

struct FetchTarget {
  std::string topic;
  Uuid topic_id;
  int32_t partition = 0;
  int64_t offset = 0;
  int32_t max_bytes = 1048576;
};

struct FetchPartitionResult {
  std::string topic;
  int32_t partition = 0;
  int16_t error = 0;
  int64_t high_watermark = -1;
  int64_t log_start_offset = -1;
  std::span<const uint8_t> records;  // views into `frame`
  std::shared_ptr<std::vector<uint8_t>> frame;
};

class KafkaClient {
 public:
  // bootstrap: "host:port[,host:port...]".
  explicit KafkaClient(const std::string& bootstrap, ClientOptions opts = {});
  ~KafkaClient();

  // A connection to any bootstrap server (the first that answers).
  Connection& any();
  // A connection to broker `id` (from the last metadata).
  Connection& broker(int32_t id);
  // The controller as Metadata says, else any.
  Connection& controller();
  // Closes a broken connection (the next use reconnects). Connections are
  // shared: a caller pipelining on one must not interleave other calls on it.
  void drop(Connection& c);

  // Metadata for `topics` (nullopt: all topics). Refreshes the broker table
  // and the topic cache.
  ClusterInfo metadata(const std::optional<std::vector<std::string>>& topics, bool allow_auto_create = false);
  const ClusterInfo& cached() const { return cluster_; }
  // Polls metadata until `topic` exists and every partition has a leader;
  // throws KafkaError when the timeout passes (with the last error).
  TopicInfo wait_for_topic(const std::string& topic, int timeout_ms, bool allow_auto_create = false);

  msg::CreateTopicsResponse create_topics(const msg::CreateTopicsRequest& req);
  msg::DeleteTopicsResponse delete_topics(const std::vector<std::string>& names, int32_t timeout_ms);
  msg::CreatePartitionsResponse create_partitions(const msg::CreatePartitionsRequest& req);
  // Topic configs (resource type 2) of each name.
  msg::DescribeConfigsResponse describe_topic_configs(const std::vector<std::string>& names);

  // One batch blob to one partition through its leader (one request, no retry).
  ProduceResult produce(const std::string& topic, int32_t partition, std::span<const uint8_t> batches, int16_t acks,
                        int32_t timeout_ms = 30000);
  // One fetch from one partition's leader.
  FetchPartitionResult fetch(const std::string& topic, int32_t partition, int64_t offset, int32_t max_bytes,
                             int32_t max_wait_ms = 500);
  // Builds the Fetch request for several partitions on one leader (version-aware:
  // topic ids from v13).
  static msg::FetchRequest make_fetch_request(const std::vector<FetchTarget>& targets, int16_t version, int32_t max_wait_ms,
                                              int32_t min_bytes, int32_t max_bytes);
  // Splits a fetch response into per-partition results (names resolved from ids).
  std::vector<FetchPartitionResult> fetch_results(const ResponseFrame& f) const;
  // ListOffsets: timestamp -2 earliest, -1 latest, else first offset at or after it.
  // Returns {offset, timestamp}; throws KafkaError.
  std::pair<int64_t, int64_t> list_offset(const std::string& topic, int32_t partition, int64_t timestamp);
  // For many partitions of one topic at once (grouped by leader).
  std::map<int32_t, int64_t> list_offsets(const std::string& topic, const std::vector<int32_t>& partitions, int64_t timestamp);

  const ClientOptions& options() const { return opts_; }

 private:
  Connection& connect_to(const std::string& host, int port);
  const TopicInfo& topic_or_throw(const std::string& topic);
  int32_t leader_of(const std::string& topic, int32_t partition);

  std::vector<std::pair<std::string, int>> bootstrap_;
  ClientOptions opts_;
  std::map<std::string, std::unique_ptr<Connection>> conns_;  // by "host:port"
  Connection* any_ = nullptr;
  ClusterInfo cluster_;
  std::map<Uuid, std::string> topic_names_;
};

}  // namespace flotilla::tools
