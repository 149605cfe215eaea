// REST v3 produce (placeholder until the route lands).
#include "http/rest_routes.h"

namespace flotilla::http {

void add_rest_record_routes(Router& router, NodeView& node, const HttpOptions& options) {}

}  // namespace flotilla::http
