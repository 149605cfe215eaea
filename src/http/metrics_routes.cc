// GET /metrics: the process registry (metrics::global()) in Prometheus's text
// exposition format 0.0.4: the families the hot paths update, then the
// collectors computed from the node's snapshots at scrape time.
#include "common/metrics.h"
#include "http/metrics_collectors.h"
#include "http/routes.h"

namespace flotilla::http {

void add_metrics_routes(Router& router, NodeView& node, const HttpOptions& options) {
  add_broker_collectors(metrics::global(), node, options);
  add_controller_collectors(metrics::global(), node, options);
  router.get("/metrics", [](const HttpRequest&, HttpResponse& resp) {
    resp.content_type = "text/plain; version=0.0.4; charset=utf-8";
    metrics::global().render(resp.body);
  });
}

}  // namespace flotilla::http
