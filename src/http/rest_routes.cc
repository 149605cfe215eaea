// The REST API v3 (placeholder until the routes land).
#include "http/rest_routes.h"

namespace flotilla::http {

void add_rest_routes(Router& router, NodeView& node, const HttpOptions& options) {
  add_rest_group_routes(router, node, options);
  add_rest_record_routes(router, node, options);
}

}  // namespace flotilla::http
