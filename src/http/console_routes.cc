// The console (placeholder until the pages land).
#include "http/routes.h"

namespace flotilla::http {

void add_console_routes(Router& router, NodeView& node, const HttpOptions& options) {}

}  // namespace flotilla::http
