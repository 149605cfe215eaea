// The SocketServer gauges of net/socket_server_metrics.h.
#include "net/socket_server_metrics.h"

#include "common/metrics.h"
#include "net/connection_quotas.h"
#include "net/memory_pool.h"

namespace flotilla::net {

SocketServerMetrics::SocketServerMetrics(std::shared_ptr<const MemoryPool> pool, std::shared_ptr<const ConnectionQuotas> quotas,
                                         std::vector<std::string> listeners) {
  collector_ = metrics::global().add_collector([pool, quotas, listeners](metrics::Exposition& e) {
    if (pool) {
      e.family("kafka_network_socketserver_memorypoolavailable",
               "Bytes of the request memory pool (queued.max.request.bytes) not held by requests (MemoryPoolAvailable)", "gauge");
      e.sample("kafka_network_socketserver_memorypoolavailable", static_cast<double>(pool->available()));
      e.family("kafka_network_socketserver_memorypoolused", "Bytes held by requests being read or handled (MemoryPoolUsed)", "gauge");
      e.sample("kafka_network_socketserver_memorypoolused", static_cast<double>(pool->used()));
    }
    if (quotas) {
      e.family("kafka_server_socket_server_metrics_connections", "Open connections, by listener (socket-server-metrics connection-count; promtool reserves a _count suffix for summaries)", "gauge");
      for (const auto& l : listeners)
        e.sample("kafka_server_socket_server_metrics_connections", {{"listener", l}}, static_cast<double>(quotas->count(l)));
    }
  });
}

SocketServerMetrics::~SocketServerMetrics() {
  if (collector_ >= 0) metrics::global().remove_collector(collector_);
}

}  // namespace flotilla::net
