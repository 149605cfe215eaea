// The REST API v3 (Confluent's kafka-rest `api/v3/openapi.yaml`): every route
// set under /v3, registered in an order where the fixed paths ("-" wildcards,
// ":alter", ":batch") come before the {name} patterns that would match them.
// The route groups' files are listed in rest_core.h and rest_routes.h.
// Threading: registration runs once at startup; the handlers on HTTP threads.
#include "http/rest_routes.h"

#include "http/rest_core.h"

namespace flotilla::http {

void add_rest_routes(Router& router, NodeView& node, const HttpOptions& options) {
  rest::add_config_routes(router, node);  // before topics: /topics/-/configs, /brokers/-/configs
  rest::add_cluster_routes(router, node);
  rest::add_topic_routes(router, node);
  rest::add_acl_routes(router, node);
  add_rest_group_routes(router, node, options);
  add_rest_record_routes(router, node, options);
}

}  // namespace flotilla::http
