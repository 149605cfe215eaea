// Kafka's SocketServer gauges for the node's request memory pool and
// connection counts, rendered when /metrics is scraped (a collector on
// metrics::global(): nothing on a request's path):
//   kafka_network_socketserver_memorypoolavailable    MemoryPoolAvailable (bytes)
//   kafka_network_socketserver_memorypoolused         MemoryPoolUsed (bytes)
//   kafka_server_socket_server_metrics_connections{listener}   connection-count (promtool: no _count on a gauge)
// Threading: the collector reads atomics and ConnectionQuotas (its own mutex)
// from the scraping thread. The registration ends with this object.
#pragma once

#include <memory>
#include <string>
#include <vector>

namespace flotilla::net {

class ConnectionQuotas;
class MemoryPool;

class SocketServerMetrics {
 public:
  SocketServerMetrics(std::shared_ptr<const MemoryPool> pool, std::shared_ptr<const ConnectionQuotas> quotas,
                      std::vector<std::string> listeners);
  ~SocketServerMetrics();
  SocketServerMetrics(const SocketServerMetrics&) = delete;
  SocketServerMetrics& operator=(const SocketServerMetrics&) = delete;

 private:
  int collector_ = -1;
};

}  // namespace flotilla::net
