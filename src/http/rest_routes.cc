// The REST API v3 (placeholder until the routes land).
#include "http/routes.h"

namespace flotilla::http {

void add_rest_routes(Router& router, NodeView& node, const HttpOptions& options) {}

}  // namespace flotilla::http
