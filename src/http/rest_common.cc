// REST API v3 shared pieces: errors, bodies, links, Kafka calls, authorization.
// See rest_common.h.
#include "http/rest_common.h"

#include "common/json_depth.h"

#include <charconv>

#include "common/error.h"
#include "security/authorizer.h"

namespace flotilla::http::rest {

void unknown_topic_or_partition() {
  fail(404, kUnknownTopicOrPartitionCode, "This server does not host this topic-partition.");
}

void set_json(HttpResponse& resp, const json& body, int status) {
  resp.status = status;
  resp.content_type = "application/json";
  resp.body = body.dump(-1, ' ', false, json::error_handler_t::replace);
}

void set_no_content(HttpResponse& resp) {
  resp.status = 204;
  resp.body.clear();
}

void set_error(HttpResponse& resp, int status, int code, std::string_view message) {
  resp.headers.clear();
  set_json(resp, json{{"error_code", code}, {"message", std::string(message)}}, status);
}

HttpHandler rest_handler(std::function<void(const HttpRequest&, HttpResponse&)> fn) {
  return [fn = std::move(fn)](const HttpRequest& req, HttpResponse& resp) {
    try {
      fn(req, resp);
    } catch (const RestError& e) {
      set_error(resp, e.status, e.error_code, e.what());
    } catch (const json::exception& e) {
      // A body field of the wrong type that a route read with json's own accessors.
      set_error(resp, 400, kBadRequestCode, std::string("Bad Request: ") + e.what());
    }
  };
}

json parse_body(const HttpRequest& req) {
  bool blank = true;
  for (char c : req.body) {
    if (!std::isspace(static_cast<unsigned char>(c))) {
      blank = false;
      break;
    }
  }
  if (blank) fail(400, kPayloadErrorCode, "Payload error. Request body is empty. Data is required.");
  if (!json_depth_within(req.body))
    bad_request("Cannot deserialize the request body: JSON nested deeper than " + std::to_string(kMaxJsonDepth) + " levels");
  json j = json::parse(req.body, nullptr, false);
  if (j.is_discarded()) bad_request("Unexpected character in the request body: malformed JSON");
  if (!j.is_object()) bad_request("Cannot deserialize the request body: a JSON object is required");
  return j;
}

std::optional<std::string> opt_string(const json& j, const char* key) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return std::nullopt;
  if (!it->is_string()) bad_request(std::string("Cannot deserialize value of type `java.lang.String` for ") + key);
  return it->get<std::string>();
}

std::optional<int64_t> opt_int(const json& j, const char* key) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return std::nullopt;
  if (it->is_number_integer()) return it->get<int64_t>();
  if (it->is_string()) {
    const auto& s = it->get_ref<const std::string&>();
    int64_t v = 0;
    auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (ec == std::errc() && p == s.data() + s.size() && !s.empty()) return v;
  }
  bad_request(std::string("Cannot deserialize value of type `java.lang.Integer` for ") + key);
}

std::optional<bool> opt_bool(const json& j, const char* key) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return std::nullopt;
  if (!it->is_boolean()) bad_request(std::string("Cannot deserialize value of type `boolean` for ") + key);
  return it->get<bool>();
}

std::string req_string(const json& j, const char* key) {
  auto v = opt_string(j, key);
  if (!v) bad_request(std::string(key) + " cannot be null or missing");
  return *v;
}

int32_t parse_int32(std::string_view text, const char* what) {
  int32_t v = 0;
  auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc() || p != text.data() + text.size() || text.empty())
    bad_request(std::string("Invalid ") + what + ": " + std::string(text.substr(0, 64)));
  return v;
}

std::shared_ptr<const metadata::MetadataImage> require_cluster(NodeView& node, const std::string& cluster_id) {
  if (cluster_id != node.cluster_id()) fail(404, kNotFoundCode, "Cluster " + cluster_id + " cannot be found.");
  auto image = node.image();
  if (!image || image->empty()) fail(503, kBrokerNotAvailableCode, "The cluster metadata is not available yet.");
  return image;
}

std::string percent_encode(std::string_view segment) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(segment.size());
  for (unsigned char c : segment) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~' || c == ':' || c == '=') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

std::string cluster_url(const HttpRequest& req, const std::string& cluster_id,
                        std::initializer_list<std::string_view> segments) {
  std::string url = req.base_url + "/v3/clusters/" + percent_encode(cluster_id);
  for (auto s : segments) {
    url += '/';
    url += percent_encode(s);
  }
  return url;
}

std::string crn(const std::string& cluster_id,
                std::initializer_list<std::pair<std::string_view, std::string_view>> parts) {
  std::string out = "crn:///kafka=" + cluster_id;
  for (const auto& [type, name] : parts) {
    out += '/';
    out += type;
    out += '=';
    out += name;
  }
  return out;
}

json resource_metadata(const std::string& self, const std::string& resource_name) {
  json m = json::object();
  m["self"] = self;
  if (!resource_name.empty()) m["resource_name"] = resource_name;
  return m;
}

json collection(std::string_view kind, const std::string& self, json data) {
  json j = json::object();
  j["kind"] = kind;
  j["metadata"] = json{{"self", self}, {"next", nullptr}};
  j["data"] = std::move(data);
  return j;
}

RestError kafka_error(int16_t error_code, std::string_view message) {
  std::string text(message.empty() ? error_message(ec(error_code)) : message);
  switch (ec(error_code)) {
    case ErrorCode::UNKNOWN_TOPIC_OR_PARTITION:
    case ErrorCode::UNKNOWN_TOPIC_ID:
      return RestError(404, kUnknownTopicOrPartitionCode, text);
    case ErrorCode::TOPIC_AUTHORIZATION_FAILED:
    case ErrorCode::GROUP_AUTHORIZATION_FAILED:
    case ErrorCode::CLUSTER_AUTHORIZATION_FAILED:
    case ErrorCode::TRANSACTIONAL_ID_AUTHORIZATION_FAILED:
    case ErrorCode::DELEGATION_TOKEN_AUTHORIZATION_FAILED:
      return RestError(403, kAuthorizationCode, text);
    case ErrorCode::SASL_AUTHENTICATION_FAILED:
      return RestError(401, kAuthenticationCode, text);
    case ErrorCode::BROKER_NOT_AVAILABLE:
      return RestError(503, kBrokerNotAvailableCode, text);
    case ErrorCode::INVALID_REPLICATION_FACTOR:
    case ErrorCode::SECURITY_DISABLED:
    case ErrorCode::UNSUPPORTED_VERSION:
    case ErrorCode::INVALID_PARTITIONS:
    case ErrorCode::INVALID_REQUEST:
    case ErrorCode::UNKNOWN_SERVER_ERROR:
    case ErrorCode::POLICY_VIOLATION:
    case ErrorCode::TOPIC_ALREADY_EXISTS:
    case ErrorCode::INVALID_CONFIG:
    case ErrorCode::INVALID_TOPIC_EXCEPTION:
    case ErrorCode::INVALID_REPLICA_ASSIGNMENT:
      return RestError(400, kKafkaBadRequestCode, text);
    case ErrorCode::NOT_CONTROLLER:
    case ErrorCode::REQUEST_TIMED_OUT:
    case ErrorCode::LEADER_NOT_AVAILABLE:
    case ErrorCode::NOT_LEADER_OR_FOLLOWER:
    case ErrorCode::NETWORK_EXCEPTION:
    case ErrorCode::COORDINATOR_LOAD_IN_PROGRESS:
    case ErrorCode::COORDINATOR_NOT_AVAILABLE:
    case ErrorCode::NOT_COORDINATOR:
    case ErrorCode::NOT_ENOUGH_REPLICAS:
    case ErrorCode::THROTTLING_QUOTA_EXCEEDED:
      return RestError(500, kKafkaRetriableCode, text);
    default:
      return RestError(500, kKafkaErrorCode, text);
  }
}

std::vector<uint8_t> kafka_call_raw(NodeView& node, const HttpRequest& req, int16_t api_key, int16_t version,
                                    std::vector<uint8_t> body, std::chrono::milliseconds timeout,
                                    int32_t target_node) {
  if (target_node == node.node_id()) target_node = -1;
  auto reply = node.kafka_call(api_key, version, std::move(body), req.session, timeout, target_node);
  if (!reply.ok) fail(500, kKafkaRetriableCode, reply.error.empty() ? "The Kafka request failed" : reply.error);
  return std::move(reply.body);
}

bool authorized(NodeView& node, const HttpRequest& req, security::AclOperation op, security::ResourceType type,
                std::string_view name) {
  const auto* authorizer = node.authorizer();
  if (!authorizer) return true;
  static const security::Session kAnonymous{};
  const security::Session& s = req.session ? *req.session : kAnonymous;
  return authorizer->authorize(s.principal, s.client_host, op, type, name) == security::AuthorizationResult::ALLOWED;
}

const metadata::TopicImage& require_topic(NodeView& node, const HttpRequest& req,
                                          const metadata::MetadataImage& image, const std::string& topic) {
  // As Kafka: authorization first, so that an unauthorized user learns
  // nothing of the topic's existence (TOPIC_AUTHORIZATION_FAILED either way).
  if (!may_describe_topic(node, req, topic))
    throw kafka_error(code(ErrorCode::TOPIC_AUTHORIZATION_FAILED), "Not authorized to access topics: [" + topic + "]");
  const auto* t = image.topic(topic);
  if (!t) unknown_topic_or_partition();
  return *t;
}

}  // namespace flotilla::http::rest
