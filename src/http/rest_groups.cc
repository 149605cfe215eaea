// REST v3 consumer groups (placeholder until the routes land).
#include "http/rest_routes.h"

namespace flotilla::http {

void add_rest_group_routes(Router& router, NodeView& node, const HttpOptions& options) {}

}  // namespace flotilla::http
