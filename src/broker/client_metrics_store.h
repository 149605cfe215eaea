// The latest metric values clients pushed with PushTelemetry (KIP-714), per
// client instance: the node's own receiver of client telemetry, read by
// `ClientMetricsView` users (the coming Prometheus endpoint, issue 18; tests).
//
// Invariants: bounded — at most `max_clients` client instances (the one that
// pushed least recently is evicted) and `max_series` series per instance
// (a series is a metric name plus its point's attributes; the least recently
// updated are evicted), so a node never dies of what clients pushed. A push
// replaces the values of the series it carries and keeps the others.
//
// Threading: thread-safe (one mutex): written on the broker's io thread,
// read from any thread (snapshots are copies).
#pragma once

#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "common/uuid.h"
#include "protocol/otlp_metrics.h"

namespace flotilla::broker {

// Who pushed: what the broker knows of the client instance.
struct TelemetryClientInfo {
  Uuid client_instance_id;
  std::string client_id;
  std::string software_name, software_version;  // from its ApiVersions request ("" if unknown)
  std::string source_address, source_port;
};

struct ClientMetricValue {
  std::string name;
  std::string kind;  // otlp::kind_name
  otlp::Attributes attributes;
  double value = 0;
  uint64_t time_unix_nano = 0;
};

struct ClientInstanceMetrics {
  TelemetryClientInfo client;
  otlp::Attributes resource_attributes;  // of the last push
  int64_t last_push_ms = 0;
  uint64_t pushes = 0;
  std::vector<ClientMetricValue> metrics;  // by name, then attributes
};

// The read side.
class ClientMetricsView {
 public:
  virtual ~ClientMetricsView() = default;
  virtual std::vector<ClientInstanceMetrics> client_metrics() const = 0;
  virtual std::optional<ClientInstanceMetrics> client_metrics(const Uuid& client_instance_id) const = 0;
};

class ClientMetricsStore : public ClientMetricsView {
 public:
  // Defaults: a librdkafka client pushes a few dozen series; 1000 x 200 series
  // of ~200 bytes is the store's worst case (~40 MB).
  explicit ClientMetricsStore(size_t max_clients = 1000, size_t max_series = 200) : max_clients_(max_clients), max_series_(max_series) {}

  void record(const TelemetryClientInfo& client, const otlp::MetricsData& data, int64_t now_ms);
  void forget(const Uuid& client_instance_id);
  size_t size() const;

  std::vector<ClientInstanceMetrics> client_metrics() const override;
  std::optional<ClientInstanceMetrics> client_metrics(const Uuid& client_instance_id) const override;

 private:
  struct Series {
    ClientMetricValue value;
    uint64_t updated = 0;  // the store's sequence at its last update
  };
  struct Instance {
    TelemetryClientInfo client;
    otlp::Attributes resource_attributes;
    int64_t last_push_ms = 0;
    uint64_t pushes = 0;
    uint64_t updated = 0;
    std::map<std::string, Series> series;  // key: name + '\0' + attributes
  };
  static ClientInstanceMetrics snapshot(const Instance& in);

  const size_t max_clients_, max_series_;
  mutable std::mutex mu_;
  uint64_t seq_ = 0;
  std::map<Uuid, Instance> instances_;
};

}  // namespace flotilla::broker
