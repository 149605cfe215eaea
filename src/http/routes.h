// The three route sets of the HTTP listener, each in its own files (each
// set's header comment says what it serves):
//   metrics_routes.cc  GET /metrics (Prometheus text format 0.0.4)
//   rest_*.cc          the REST API v3 (/v3/...), Confluent's kafka-rest spec
//   console_*.cc       the console (GET / and its pages, /console/api/... data)
#pragma once

#include "http/node_view.h"
#include "http/router.h"

namespace flotilla::http {

struct HttpOptions {
  bool partition_series = true;  // flotilla.metrics.partition.series
};

void add_metrics_routes(Router& router, NodeView& node, const HttpOptions& options);
void add_rest_routes(Router& router, NodeView& node, const HttpOptions& options);
void add_console_routes(Router& router, NodeView& node, const HttpOptions& options);

}  // namespace flotilla::http
