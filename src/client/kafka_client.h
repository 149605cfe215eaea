// The cluster-level client: bootstrap servers, the broker table and topic
// cache from Metadata, a connection per broker, and the data-path requests
// (produce one blob, fetch, list offsets). It connects to the bootstrap
// servers first and then to each partition leader as Metadata says.
//
// Invariants: the caches hold what the last Metadata answer said (brokers
// replaced, listed topics replaced, failed topics dropped); a topic id maps
// to the name Metadata gave it, which is how v13+ fetch answers are named.
// Connections are shared by everything that asks for the same broker, so a
// caller pipelining on one must not interleave other calls on it.
// Threading: one thread at a time, as Connection.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "client/connection.h"
#include "common/uuid.h"

namespace flotilla::client {

using TopicPartition = std::pair<std::string, int32_t>;

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

// A Fetch sent and not yet answered: its connection and correlation id.
struct PendingFetch {
  Connection* conn = nullptr;
  int32_t correlation_id = 0;
};

// A Produce request for partitions of one topic, each with its batch blob
// (viewed, not copied: the blobs must outlive the request's encoding).
msg::ProduceRequest make_produce_request(const std::string& topic, int16_t acks, int32_t timeout_ms,
                                         const std::vector<std::pair<int32_t, std::span<const uint8_t>>>& batches);

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

  // One batch blob to one partition through its leader (one request, no retry).
  ProduceResult produce(const std::string& topic, int32_t partition, std::span<const uint8_t> batches, int16_t acks,
                        int32_t timeout_ms = 30000);
  // One fetch from one partition's leader.
  FetchPartitionResult fetch(const std::string& topic, int32_t partition, int64_t offset, int32_t max_bytes,
                             int32_t max_wait_ms = 500);
  // Sends one Fetch to `leader` for targets it leads, at the negotiated version
  // (v12 at most when a target has no topic id: v13+ name topics by id).
  PendingFetch send_fetch(int32_t leader, const std::vector<FetchTarget>& targets, int32_t max_wait_ms, int32_t min_bytes,
                          int32_t max_bytes);
  // Reads answers on the fetch's connection up to its own: the per-partition results.
  std::vector<FetchPartitionResult> receive_fetch(const PendingFetch& pending);
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
  // For partitions of many topics: each topic at once, else (an error) one
  // partition at a time, so that one without a leader does not hide the
  // others. strict: such a failure throws; else the partition is left out.
  std::map<TopicPartition, int64_t> offsets_for(const std::vector<TopicPartition>& partitions, int64_t timestamp, bool strict);

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

}  // namespace flotilla::client
