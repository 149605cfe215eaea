// The controller's, Raft's and the snapshots' scrape-time gauges (placeholder until they land).
#include "http/metrics_collectors.h"

namespace flotilla::http {

void add_controller_collectors(metrics::Registry& registry, NodeView& node, const HttpOptions& options) {}

}  // namespace flotilla::http
