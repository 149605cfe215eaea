// Kafka calls the consumer-group and produce routes send to a chosen broker
// (a group's coordinator, a partition's leader), on top of rest_common's
// kafka_call (which always runs on this node).
//
// call_at<Resp>(node, req, request, version, target):
//   target is this node (or < 0): rest::kafka_call, as the HTTP user, so the
//     broker API authorizes exactly as on a Kafka listener;
//   another broker: NodeView::kafka_call with target_node, sent as this node.
//     The caller must have authorized the HTTP user for what the request does
//     (authorize_or_fail below) before: the other broker sees only this node.
//
// Threading: HTTP worker threads only; each call waits on the calling thread.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "http/rest_common.h"

namespace flotilla::http::rest {

// The body of a call's reply from `target` (raw), or 500/50003 when the call failed.
std::vector<uint8_t> call_at_raw(NodeView& node, const HttpRequest& req, int16_t api_key, int16_t version,
                                 std::vector<uint8_t> body, int32_t target);

template <class Resp, class Req>
Resp call_at(NodeView& node, const HttpRequest& req, const Req& request, int16_t version, int32_t target) {
  if (target < 0 || target == node.node_id()) return kafka_call<Resp>(node, req, request, version);
  ByteWriter w;
  request.encode(w, version);
  auto reply = call_at_raw(node, req, Req::kApiKey, version, std::move(w.buffer()), target);
  Resp resp;
  ByteReader r(reply);
  try {
    resp.decode(r, version);
  } catch (const std::exception& e) {
    fail(500, kKafkaErrorCode, std::string("Malformed Kafka response: ") + e.what());
  }
  return resp;
}

// Whether a call to `target` goes to another broker (so the HTTP user must be authorized here first).
inline bool remote(const NodeView& node, int32_t target) { return target >= 0 && target != node.node_id(); }

// Throws kafka_error(`denied`) unless the HTTP user may `op` the resource.
void authorize_or_fail(NodeView& node, const HttpRequest& req, security::AclOperation op, security::ResourceType type,
                       std::string_view name, int16_t denied);

}  // namespace flotilla::http::rest
