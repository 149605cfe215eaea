// What the HTTP listener may see of its node: published snapshots only.
//
// Every method is thread-safe and never waits for the event loop's work:
// image() is the newest published MetadataImage (immutable, shared),
// raft_status() a copy of what the Raft driver last published. The one way
// to act is kafka_call: a Kafka request run by this node's own broker API
// (so with Kafka's authorization for the HTTP user) or sent to another node;
// the caller's HTTP thread waits for it, the event loop does not.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "metadata/image.h"
#include "security/principal.h"

namespace flotilla::security {
class StandardAuthorizer;
}

namespace flotilla::broker {
struct BrokerSnapshot;  // broker/broker_metrics.h
}

namespace flotilla::http {

// The Raft state as the driver last published it (DescribeQuorum's view,
// without a round trip). Voters' and observers' fields are known only on the
// leader (-1 elsewhere), as in DescribeQuorum.
struct RaftReplicaStatus {
  int32_t replica_id = -1;
  std::string directory_id;  // Uuid text, empty when unknown
  int64_t log_end_offset = -1;
  int64_t last_fetch_timestamp = -1;
  int64_t last_caught_up_timestamp = -1;
};

struct RaftStatus {
  int32_t node_id = -1;
  std::string state;  // "leader", "candidate", "prospective", "follower", "unattached", "observer", "resigned"
  int32_t leader_id = -1;
  int32_t epoch = 0;
  int32_t voted_id = -1;
  int64_t high_watermark = -1;
  int64_t log_end_offset = 0;
  int64_t log_start_offset = 0;
  std::vector<RaftReplicaStatus> voters;
  std::vector<RaftReplicaStatus> observers;
};

// The answer to a kafka_call: the response body (header stripped), or an error text.
struct KafkaReply {
  bool ok = false;
  std::string error;            // why there is no response (timeout, broken connection)
  std::vector<uint8_t> body;    // the encoded response body, header excluded
};

class NodeView {
 public:
  virtual ~NodeView() = default;
  virtual int32_t node_id() const = 0;
  virtual const std::string& cluster_id() const = 0;
  virtual bool broker_role() const = 0;
  virtual bool controller_role() const = 0;
  // The metadata log's directory (`__cluster_metadata-0` inside it holds the
  // log segments and `.checkpoint` snapshots the console reads).
  virtual std::string metadata_log_dir() const = 0;
  virtual std::string metadata_partition_dir() const = 0;
  // When this node started (Unix ms).
  virtual int64_t start_time_ms() const = 0;

  // The newest published image; null before the first one.
  virtual std::shared_ptr<const metadata::MetadataImage> image() const = 0;
  virtual RaftStatus raft_status() const = 0;
  // Null when no authorizer is configured (everything allowed).
  virtual const security::StandardAuthorizer* authorizer() const = 0;
  // The broker's partitions (log sizes and offsets, roles, ISR sizes) and
  // group counts, as the event loop took them for this call (the HTTP thread
  // waits for the loop, at most about a second, then gets the last one).
  // Null on a node without the broker role, or before the first one.
  virtual std::shared_ptr<const broker::BrokerSnapshot> broker_snapshot() { return nullptr; }

  // Runs a Kafka request (body encoded at `api_version`, no header) and waits
  // at most `timeout` for its response body. target_node < 0 or this node:
  // through this node's broker API, as `session` (authorized as that
  // principal, exactly as on a Kafka listener). Another node id: sent to that
  // broker's inter-broker listener as this node (the caller authorizes the
  // HTTP user first). Call only from an HTTP thread, never the event loop.
  virtual KafkaReply kafka_call(int16_t api_key, int16_t api_version, std::vector<uint8_t> body,
                                std::shared_ptr<const security::Session> session, std::chrono::milliseconds timeout,
                                int32_t target_node = -1) = 0;
};

}  // namespace flotilla::http
