// Client telemetry (KIP-714), as Kafka's ClientMetricsManager: the
// subscriptions (CLIENT_METRICS config resources of the metadata image), the
// client instances that asked for theirs, and the answers to
// GetTelemetrySubscriptions and PushTelemetry. What a push carries is
// decompressed, decoded (protocol/otlp_metrics.h) and kept in a
// ClientMetricsStore (the node's receiver).
//
// Semantics (Kafka's): a client sending the zero Uuid gets a new client
// instance id; its subscription is every subscription whose `match` patterns
// all fully match its attributes (an empty match matches all): the union of
// their metrics ("*" alone if any has "*"), the smallest interval (default
// 300000, also with no subscription, then with no metrics); the subscription
// id is a CRC32C of that content xor the instance id's hash. A Get or Push
// before the interval passed is THROTTLING_QUOTA_EXCEEDED (a Push right after
// a Get is accepted: clients jitter); a Push with another subscription id is
// UNKNOWN_SUBSCRIPTION_ID, with an unknown compression type
// UNSUPPORTED_COMPRESSION_TYPE, over telemetry.max.bytes TELEMETRY_TOO_LARGE,
// after a terminating push INVALID_REQUEST; a payload that does not
// decompress or decode INVALID_RECORD (as Kafka answers a failed export).
// When the subscriptions change, every instance is re-evaluated at its next
// request (its timestamps start over). Instances not heard of for
// max(60 s, 3 intervals) are forgotten; at most `max_instances` are kept
// (least recently seen evicted), as are ApiVersions' software names.
//
// Threading: thread-safe (one mutex); called on the broker's io thread.
#pragma once

#include <cstdint>
#include <list>
#include <map>
#include <memory>
#include <mutex>
#include <optional>

#include <string>
#include <unordered_map>
#include <vector>

#include "broker/client_metrics_store.h"
#include "common/client_pattern.h"
#include "common/error.h"
#include "metadata/image.h"
#include "protocol/messages.h"

namespace flotilla::broker {

struct ClientTelemetryConfig {
  int32_t telemetry_max_bytes = 1048576;  // telemetry.max.bytes
  size_t max_instances = 16384;           // Kafka's CACHE_MAX_SIZE
  int64_t instance_expiry_ms = 60000;     // at least; 3 push intervals if longer
  size_t max_decompressed_bytes = 16u << 20;
};

// The attributes a client is matched on (besides its instance id).
struct TelemetryRequestContext {
  std::optional<std::string> client_id;
  uint64_t connection_id = 0;
  std::string peer;  // "host:port" or "[v6]:port"
};

class ClientTelemetry {
 public:
  ClientTelemetry(ClientTelemetryConfig config, ClientMetricsStore* store);

  // Takes the image's CLIENT_METRICS resources as the subscriptions (cheap
  // when they did not change).
  void refresh(const metadata::MetadataImage& image);
  // The subscription names (ListClientMetricsResources).
  std::vector<std::string> subscription_names() const;
  // The client software a connection named in its ApiVersions request.
  void note_client_software(uint64_t connection_id, const std::string& name, const std::string& version);

  msg::GetTelemetrySubscriptionsResponse get_subscriptions(const msg::GetTelemetrySubscriptionsRequest& request,
                                                           const TelemetryRequestContext& ctx, int64_t now_ms);
  msg::PushTelemetryResponse push(const msg::PushTelemetryRequest& request, const TelemetryRequestContext& ctx, int64_t now_ms);

  static const std::vector<int8_t>& accepted_compression_types();  // zstd, lz4, gzip, snappy

 private:
  struct Subscription {
    std::string name;
    std::vector<std::string> metrics;
    int32_t interval_ms;
    std::vector<std::pair<std::string, ClientPattern>> match;
  };
  struct Instance {
    TelemetryClientInfo info;
    int32_t subscription_id = 0;
    uint64_t subscription_version = 0;
    std::vector<std::string> metrics;
    int32_t push_interval_ms = 0;
    int64_t last_get_ms = 0, last_push_ms = 0, last_seen_ms = 0;
    bool terminating = false;
    std::list<Uuid>::iterator lru;
  };
  Instance& instance(const Uuid& id, const TelemetryRequestContext& ctx, int64_t now_ms);
  void evaluate(Instance& in) const;
  TelemetryClientInfo client_info(const Uuid& id, const TelemetryRequestContext& ctx) const;

  const ClientTelemetryConfig config_;
  ClientMetricsStore* store_;
  mutable std::mutex mu_;
  std::map<std::string, metadata::ConfigMap> subscription_configs_;  // as last seen in the image
  std::vector<Subscription> subscriptions_;
  uint64_t subscription_version_ = 0;
  std::unordered_map<Uuid, Instance> instances_;
  std::list<Uuid> lru_;  // front: most recently seen
  std::map<uint64_t, std::pair<std::string, std::string>> software_;  // connection id -> name, version (bounded)
};

}  // namespace flotilla::broker
