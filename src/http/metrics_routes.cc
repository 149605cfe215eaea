// GET /metrics: the process registry (metrics::global()) in Prometheus's text
// exposition format 0.0.4: the families the hot paths update, then the
// collectors computed from the node's snapshots at scrape time.
#include <atomic>

#include "common/metrics.h"
#include "http/metrics_collectors.h"
#include "http/routes.h"

namespace flotilla::http {

void add_metrics_routes(Router& router, NodeView& node, const HttpOptions& options) {
  add_broker_collectors(metrics::global(), node, options);
  add_controller_collectors(metrics::global(), node, options);
  router.get("/metrics", [](const HttpRequest&, HttpResponse& resp) {
    resp.content_type = "text/plain; version=0.0.4; charset=utf-8";
    // Sized as the last scrape was: the text is not regrown (copied) as it is written.
    static std::atomic<size_t> last_size{0};
    resp.body.reserve(last_size.load(std::memory_order_relaxed) * 9 / 8);
    metrics::global().render(resp.body);
    last_size.store(resp.body.size(), std::memory_order_relaxed);
  });
}

}  // namespace flotilla::http
