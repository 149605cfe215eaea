// See rest_groups_calls.h.
#include "http/rest_groups_calls.h"

namespace flotilla::http::rest {

std::vector<uint8_t> call_at_raw(NodeView& node, const HttpRequest& req, int16_t api_key, int16_t version,
                                 std::vector<uint8_t> body, int32_t target) {
  auto reply = node.kafka_call(api_key, version, std::move(body), req.session, kKafkaCallTimeout, target);
  if (!reply.ok)
    fail(500, kKafkaRetriableCode,
         "Broker " + std::to_string(target) + ": " + (reply.error.empty() ? "the Kafka request failed" : reply.error));
  return std::move(reply.body);
}

void authorize_or_fail(NodeView& node, const HttpRequest& req, security::AclOperation op, security::ResourceType type,
                       std::string_view name, int16_t denied) {
  if (!authorized(node, req, op, type, name)) throw kafka_error(denied);
}

}  // namespace flotilla::http::rest
