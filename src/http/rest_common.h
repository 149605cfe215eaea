// What every REST API v3 route needs (Confluent's kafka-rest `api/v3/openapi.yaml`):
//   - RestError and the spec's error body {"error_code":N,"message":"..."}, with
//     kafka-rest's codes (40002 Kafka bad request, 40301 not authorized,
//     40403 unknown topic or partition, 404 unknown cluster, ...);
//   - rest_handler(): wraps a route so that a RestError (or malformed JSON)
//     becomes its status and body, never a crash;
//   - parse_body(): the request's JSON body (400 when malformed, 422 when empty);
//   - the cluster check (404 "Cluster X cannot be found.");
//   - links as kafka-rest makes them: metadata.self, resource_name
//     ("crn:///kafka=<cluster>/topic=<t>"), {"related": url}, collections;
//   - kafka_call<Resp>(): a generated msg::XxxRequest encoded at a version,
//     run through NodeView::kafka_call as the HTTP user, decoded as Resp;
//     kafka_error(): a Kafka error code as kafka-rest's HTTP status and code;
//   - authorized(): image-based reads checked against NodeView::authorizer()
//     for the HTTP user (null authorizer = everything allowed), so that a topic
//     the user may not DESCRIBE is invisible, as in Kafka's Metadata.
//
// Threading: everything here runs on HTTP worker threads, reads only the
// request, NodeView's snapshots and the authorizer's snapshot; kafka_call
// waits on the calling HTTP thread, never on the event loop.
#pragma once

#include <chrono>
#include <cstdint>
#include <initializer_list>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>

#include <nlohmann/json.hpp>

#include "common/bytes.h"
#include "http/node_view.h"
#include "http/router.h"
#include "security/acl.h"

namespace flotilla::http::rest {

using json = nlohmann::json;

// kafka-rest's error codes (rest-utils KafkaExceptionMapper and kafka-rest Errors).
inline constexpr int kBadRequestCode = 400;           // malformed JSON, bad field values
inline constexpr int kKafkaBadRequestCode = 40002;    // TopicExists, InvalidReplicationFactor, PolicyViolation, ...
inline constexpr int kAuthenticationCode = 40101;
inline constexpr int kAuthorizationCode = 40301;
inline constexpr int kNotFoundCode = 404;             // unknown cluster, generic 404
inline constexpr int kUnknownTopicOrPartitionCode = 40403;
inline constexpr int kPayloadErrorCode = 422;         // empty body
inline constexpr int kKafkaErrorCode = 50002;
inline constexpr int kKafkaRetriableCode = 50003;
inline constexpr int kBrokerNotAvailableCode = 50302;

// An error answered as {"error_code":code,"message":message} with `status`.
struct RestError : std::runtime_error {
  RestError(int status, int code, std::string message)
      : std::runtime_error(std::move(message)), status(status), error_code(code) {}
  int status;
  int error_code;
};

[[noreturn]] inline void fail(int status, int code, std::string message) {
  throw RestError(status, code, std::move(message));
}
[[noreturn]] inline void bad_request(std::string message) { fail(400, kBadRequestCode, std::move(message)); }
[[noreturn]] void unknown_topic_or_partition();

// The response: a JSON body with `status` (204: no body).
void set_json(HttpResponse& resp, const json& body, int status = 200);
void set_no_content(HttpResponse& resp);
void set_error(HttpResponse& resp, int status, int code, std::string_view message);

// Wraps a route: RestError -> its status and body; json errors -> 400.
// Other exceptions propagate to the router (500).
HttpHandler rest_handler(std::function<void(const HttpRequest&, HttpResponse&)> fn);

// The body as JSON: 422 "Payload error. Request body is empty. Data is
// required." when empty, 400 when malformed or not an object.
json parse_body(const HttpRequest& req);

// Typed field readers for a parsed body: 400 when present with the wrong type.
std::optional<std::string> opt_string(const json& j, const char* key);
std::optional<int64_t> opt_int(const json& j, const char* key);
std::optional<bool> opt_bool(const json& j, const char* key);
std::string req_string(const json& j, const char* key);  // 400 when missing

// A path or query integer: 400 (or 404 when `not_found`) when not an int32.
int32_t parse_int32(std::string_view text, const char* what);

// The newest image for a request naming `cluster_id`: 404 "Cluster X cannot
// be found." when it is not this cluster; 503 before the first image.
std::shared_ptr<const metadata::MetadataImage> require_cluster(NodeView& node, const std::string& cluster_id);

// ---- links (kafka-rest's UrlFactory and CrnFactory) ----
// base_url + "/v3/clusters/<id>" + each segment ("/"-joined, percent-encoded).
std::string cluster_url(const HttpRequest& req, const std::string& cluster_id,
                        std::initializer_list<std::string_view> segments = {});
// "crn:///kafka=<id>" + "/<type>=<name>" for each pair.
std::string crn(const std::string& cluster_id,
                std::initializer_list<std::pair<std::string_view, std::string_view>> parts = {});
json resource_metadata(const std::string& self, const std::string& resource_name);
inline json related(const std::string& url) { return json{{"related", url}}; }
// {"kind": kind, "metadata": {"self": self, "next": null}, "data": data}
json collection(std::string_view kind, const std::string& self, json data);
std::string percent_encode(std::string_view segment);

// ---- Kafka errors ----
// A Kafka error code (non-zero) as kafka-rest maps the client's exception.
RestError kafka_error(int16_t error_code, std::string_view message = {});
// Throws kafka_error when error_code != 0.
inline void check_kafka(int16_t error_code, const std::optional<std::string>& message = std::nullopt) {
  if (error_code != 0) throw kafka_error(error_code, message ? *message : std::string_view{});
}

// ---- typed Kafka calls ----
inline constexpr std::chrono::milliseconds kKafkaCallTimeout{30000};

// Runs `request` (a generated msg::XxxRequest) at `version` through this
// node's broker API as the HTTP user; decodes the response as Resp. A call
// that fails (timeout, no broker API) answers 500/50003. target_node (another
// broker's id) sends it there as this node: authorize the HTTP user first.
std::vector<uint8_t> kafka_call_raw(NodeView& node, const HttpRequest& req, int16_t api_key, int16_t version,
                                    std::vector<uint8_t> body, std::chrono::milliseconds timeout,
                                    int32_t target_node = -1);

template <class Resp, class Req>
Resp kafka_call(NodeView& node, const HttpRequest& req, const Req& request, int16_t version,
                std::chrono::milliseconds timeout = kKafkaCallTimeout, int32_t target_node = -1) {
  ByteWriter w;
  request.encode(w, version);
  auto reply = kafka_call_raw(node, req, Req::kApiKey, version, std::move(w.buffer()), timeout, target_node);
  Resp resp;
  ByteReader r(reply);
  try {
    resp.decode(r, version);
  } catch (const std::exception& e) {
    fail(500, kKafkaErrorCode, std::string("Malformed Kafka response: ") + e.what());
  }
  return resp;
}

// ---- authorization of image-based reads ----
// Whether the request's user may `op` the resource (true when no authorizer).
bool authorized(NodeView& node, const HttpRequest& req, security::AclOperation op, security::ResourceType type,
                std::string_view name);
inline bool may_describe_topic(NodeView& node, const HttpRequest& req, std::string_view topic) {
  return authorized(node, req, security::AclOperation::DESCRIBE, security::ResourceType::TOPIC, topic);
}
// The topic from the image, when it exists and the user may DESCRIBE it
// (otherwise 404/40403, as Kafka answers an unauthorized Metadata topic).
const metadata::TopicImage& require_topic(NodeView& node, const HttpRequest& req,
                                          const metadata::MetadataImage& image, const std::string& topic);

}  // namespace flotilla::http::rest
