// What the consumer-group and produce routes check before a Kafka call goes to
// another broker (a group's coordinator, a partition's leader). rest_common's
// kafka_call(..., target_node) sends it there as this node, so the other
// broker cannot check the HTTP user: authorize_or_fail does it here first,
// for what the local broker API would have checked.
// Threading: HTTP worker threads; reads the authorizer's snapshot only.
#pragma once

#include <cstdint>
#include <string_view>

#include "http/rest_common.h"

namespace flotilla::http::rest {

// Whether a call to `target` goes to another broker.
inline bool remote(const NodeView& node, int32_t target) { return target >= 0 && target != node.node_id(); }

// Throws kafka_error(`denied`) unless the HTTP user may `op` the resource.
inline void authorize_or_fail(NodeView& node, const HttpRequest& req, security::AclOperation op,
                              security::ResourceType type, std::string_view name, int16_t denied) {
  if (!authorized(node, req, op, type, name)) throw kafka_error(denied);
}

}  // namespace flotilla::http::rest
