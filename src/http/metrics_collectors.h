// The scrape-time collectors of /metrics, by owner:
//   metrics_broker.cc      the broker's gauges computed from the image and the
//                          logs (ReplicaManager counts, per-partition log series,
//                          coordinators, process metrics)
//   metrics_controller.cc  the controller's, Raft's and the snapshots' gauges
// Each adds its collectors to `registry` for the life of the node.
#pragma once

#include "common/metrics.h"
#include "http/node_view.h"
#include "http/routes.h"

namespace flotilla::http {

void add_broker_collectors(metrics::Registry& registry, NodeView& node, const HttpOptions& options);
void add_controller_collectors(metrics::Registry& registry, NodeView& node, const HttpOptions& options);

}  // namespace flotilla::http
