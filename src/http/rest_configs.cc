// REST v3 configs, all through kafka_call (DescribeConfigs v4 with synonyms,
// IncrementalAlterConfigs v1), so Kafka's authorization and validation apply:
//   topic configs    GET .../topics/{t}/configs, GET/PUT/DELETE .../topics/{t}/configs/{name},
//                    POST .../topics/{t}/configs:alter, GET .../topics/-/configs (every topic)
//   broker configs   GET .../brokers/{b}/configs, GET/PUT/DELETE .../brokers/{b}/configs/{name},
//                    POST .../brokers/{b}/configs:alter, GET .../brokers/-/configs (every broker)
//   cluster configs  GET .../broker-configs, GET/PUT/DELETE .../broker-configs/{name},
//                    POST .../broker-configs:alter (the dynamic cluster-wide broker defaults)
// PUT sets (SET), DELETE resets (DELETE), :alter applies a batch of both;
// each answers 204. Sensitive values are answered as null.
// Threading: HTTP worker threads only.
#include "common/error.h"
#include "http/rest_core.h"
#include "protocol/messages.h"

namespace flotilla::http::rest {

namespace {

constexpr int8_t kTopicResource = 2;
constexpr int8_t kBrokerResource = 4;
constexpr int8_t kOpSet = 0;
constexpr int8_t kOpDelete = 1;

using ConfigEntry = msg::DescribeConfigsResponse::DescribeConfigsResourceResult;
using AlterableConfig = msg::IncrementalAlterConfigsRequest::AlterableConfig;

std::string_view source_name(int8_t source) {
  switch (source) {
    case 1: return "DYNAMIC_TOPIC_CONFIG";
    case 2: return "DYNAMIC_BROKER_CONFIG";
    case 3: return "DYNAMIC_DEFAULT_BROKER_CONFIG";
    case 4: return "STATIC_BROKER_CONFIG";
    case 5: return "DEFAULT_CONFIG";
    case 6: return "DYNAMIC_BROKER_LOGGER_CONFIG";
    default: return "UNKNOWN";
  }
}

// Where a config lives: its resource, and how its JSON names it.
struct Scope {
  int8_t type = 0;
  std::string resource;  // Kafka's resource name ("" for cluster-wide broker configs)
  std::string kind;      // "KafkaTopicConfig", "KafkaBrokerConfig", "KafkaClusterConfig"
  std::vector<std::string> path;                           // URL segments up to ".../configs" (or broker-configs)
  std::vector<std::pair<std::string, std::string>> crn;    // CRN parts before "config="/"broker-config="
};

Scope topic_scope(const std::string& topic) {
  return Scope{kTopicResource, topic, "KafkaTopicConfig", {"topics", topic, "configs"}, {{"topic", topic}}};
}
Scope broker_scope(int32_t broker) {
  std::string b = std::to_string(broker);
  return Scope{kBrokerResource, b, "KafkaBrokerConfig", {"brokers", b, "configs"}, {{"broker", b}}};
}
Scope cluster_scope() { return Scope{kBrokerResource, "", "KafkaClusterConfig", {"broker-configs"}, {}}; }

std::string scope_url(const HttpRequest& req, const std::string& cid, const Scope& s, const std::string* name) {
  std::string url = cluster_url(req, cid);
  for (const auto& seg : s.path) url += "/" + percent_encode(seg);
  if (name) url += "/" + percent_encode(*name);
  return url;
}

std::string scope_crn(const std::string& cid, const Scope& s, const std::string& name) {
  std::string out = crn(cid);
  for (const auto& [k, v] : s.crn) out += "/" + k + "=" + v;
  out += (s.type == kBrokerResource && s.resource.empty() ? "/broker-config=" : "/config=") + name;
  return out;
}

json config_json(const HttpRequest& req, const std::string& cid, const Scope& s, const ConfigEntry& e) {
  json j = json::object();
  j["kind"] = s.kind;
  j["metadata"] = resource_metadata(scope_url(req, cid, s, &e.name), scope_crn(cid, s, e.name));
  j["cluster_id"] = cid;
  if (s.kind == "KafkaTopicConfig") j["topic_name"] = s.resource;
  if (s.kind == "KafkaBrokerConfig") j["broker_id"] = std::stoi(s.resource);
  if (s.kind == "KafkaClusterConfig") j["config_type"] = "BROKER";
  j["name"] = e.name;
  j["value"] = e.value && !e.is_sensitive ? json(*e.value) : json(nullptr);
  j["is_default"] = e.config_source == 5;
  j["is_read_only"] = e.read_only;
  j["is_sensitive"] = e.is_sensitive;
  j["source"] = source_name(e.config_source);
  json syn = json::array();
  for (const auto& sy : e.synonyms) {
    json o = json::object();
    o["name"] = sy.name;
    o["value"] = sy.value && !e.is_sensitive ? json(*sy.value) : json(nullptr);
    o["source"] = source_name(sy.source);
    syn.push_back(std::move(o));
  }
  j["synonyms"] = std::move(syn);
  return j;
}

// A broker describes and alters only its own broker resource (Kafka answers
// "Unexpected broker id" otherwise): another broker's go to that broker, sent
// as this node, so the HTTP user's right to `op` the CLUSTER is checked here
// first, as that broker would. -1: this node.
int32_t target_broker(NodeView& node, const HttpRequest& req, const Scope& s, security::AclOperation op) {
  if (s.type != kBrokerResource || s.resource.empty()) return -1;
  int32_t target = std::stoi(s.resource);
  if (target == node.node_id()) return -1;
  if (!authorized(node, req, op, security::ResourceType::CLUSTER, security::kClusterResourceName))
    throw kafka_error(code(ErrorCode::CLUSTER_AUTHORIZATION_FAILED), "Cluster authorization failed.");
  return target;
}

std::vector<ConfigEntry> describe(NodeView& node, const HttpRequest& req, const Scope& s,
                                  const std::string* key = nullptr) {
  msg::DescribeConfigsRequest request;
  msg::DescribeConfigsRequest::DescribeConfigsResource r;
  r.resource_type = s.type;
  r.resource_name = s.resource;
  if (key) r.configuration_keys = std::vector<std::string>{*key};
  else r.configuration_keys = std::nullopt;
  request.resources.push_back(std::move(r));
  request.include_synonyms = true;
  int32_t target = target_broker(node, req, s, security::AclOperation::DESCRIBE_CONFIGS);
  auto reply = kafka_call<msg::DescribeConfigsResponse>(node, req, request, 4, kKafkaCallTimeout, target);
  if (reply.results.empty()) fail(500, kKafkaErrorCode, "Empty DescribeConfigs response");
  auto& result = reply.results.front();
  check_kafka(result.error_code, result.error_message);
  return std::move(result.configs);
}

void alter(NodeView& node, const HttpRequest& req, const Scope& s, std::vector<AlterableConfig> configs,
           bool validate_only) {
  msg::IncrementalAlterConfigsRequest request;
  msg::IncrementalAlterConfigsRequest::AlterConfigsResource r;
  r.resource_type = s.type;
  r.resource_name = s.resource;
  r.configs = std::move(configs);
  request.resources.push_back(std::move(r));
  request.validate_only = validate_only;
  int32_t target = target_broker(node, req, s, security::AclOperation::ALTER_CONFIGS);
  auto reply = kafka_call<msg::IncrementalAlterConfigsResponse>(node, req, request, 1, kKafkaCallTimeout, target);
  if (reply.responses.empty()) fail(500, kKafkaErrorCode, "Empty IncrementalAlterConfigs response");
  check_kafka(reply.responses.front().error_code, reply.responses.front().error_message);
}

// Resolves the scope of a request from its path groups (after the cluster id).
using ScopeOf = Scope (*)(NodeView&, const HttpRequest&, const metadata::MetadataImage&);

Scope topic_of(NodeView&, const HttpRequest& req, const metadata::MetadataImage&) {
  return topic_scope(req.matches[2]);
}
Scope broker_of(NodeView&, const HttpRequest& req, const metadata::MetadataImage& image) {
  int32_t b = path_int32(req.matches[2]);
  if (!image.broker(b)) fail(404, kNotFoundCode, "Broker " + req.matches[2] + " cannot be found.");
  return broker_scope(b);
}
Scope cluster_of(NodeView&, const HttpRequest&, const metadata::MetadataImage&) { return cluster_scope(); }

std::string not_found_message(const Scope& s, const std::string& name, const std::string& cid) {
  if (s.type == kTopicResource)
    return "Config " + name + " cannot be found for topic " + s.resource + " in cluster " + cid + ".";
  if (s.resource.empty()) return "Config " + name + " cannot be found for cluster " + cid + ".";
  return "Config " + name + " cannot be found for broker " + s.resource + " in cluster " + cid + ".";
}

std::vector<AlterableConfig> batch_from_body(const json& body, bool& validate_only) {
  auto it = body.find("data");
  if (it == body.end() || !it->is_array()) bad_request("data cannot be null or missing");
  std::vector<AlterableConfig> out;
  for (const auto& c : *it) {
    if (!c.is_object()) bad_request("data must be an array of {name, value, operation}");
    AlterableConfig a;
    a.name = req_string(c, "name");
    a.value = opt_string(c, "value");
    auto op = opt_string(c, "operation").value_or("SET");
    if (op == "SET" || op == "set") a.config_operation = kOpSet;
    else if (op == "DELETE" || op == "delete") a.config_operation = kOpDelete;
    else bad_request("Invalid operation " + op + ": expected SET or DELETE");
    if (a.config_operation == kOpDelete) a.value = std::nullopt;
    out.push_back(std::move(a));
  }
  validate_only = opt_bool(body, "validate_only").value_or(false);
  return out;
}

// The five routes of one config scope under `base` (".../configs" or ".../broker-configs").
void add_scope_routes(Router& router, NodeView& node, const std::string& base, ScopeOf scope_of,
                      const char* list_kind) {
  router.get(base, rest_handler([&node, scope_of, list_kind](const HttpRequest& req, HttpResponse& resp) {
               const std::string& cid = req.matches[1];
               auto image = require_cluster(node, cid);
               Scope s = scope_of(node, req, *image);
               json data = json::array();
               for (const auto& e : describe(node, req, s)) {
                 // Cluster-wide broker configs: only the dynamic defaults, as kafka-rest lists them.
                 if (s.resource.empty() && s.type == kBrokerResource && e.config_source != 3) continue;
                 data.push_back(config_json(req, cid, s, e));
               }
               set_json(resp, collection(list_kind, scope_url(req, cid, s, nullptr), std::move(data)));
             }));
  const std::string named = base + "/([^/]+)";
  const size_t name_group = base.find("([^/]+)", std::string(kClusterPath).size()) == std::string::npos ? 2 : 3;
  router.get(named, rest_handler([&node, scope_of, name_group](const HttpRequest& req, HttpResponse& resp) {
               const std::string& cid = req.matches[1];
               auto image = require_cluster(node, cid);
               Scope s = scope_of(node, req, *image);
               const std::string& name = req.matches[name_group];
               for (const auto& e : describe(node, req, s, &name)) {
                 if (e.name != name) continue;
                 if (s.resource.empty() && s.type == kBrokerResource && e.config_source != 3) break;
                 set_json(resp, config_json(req, cid, s, e));
                 return;
               }
               fail(404, kNotFoundCode, not_found_message(s, name, cid));
             }));
  router.put(named, rest_handler([&node, scope_of, name_group](const HttpRequest& req, HttpResponse& resp) {
               auto image = require_cluster(node, req.matches[1]);
               Scope s = scope_of(node, req, *image);
               json body = parse_body(req);
               AlterableConfig a;
               a.name = req.matches[name_group];
               a.config_operation = kOpSet;
               a.value = opt_string(body, "value");
               alter(node, req, s, {a}, false);
               set_no_content(resp);
             }));
  router.del(named, rest_handler([&node, scope_of, name_group](const HttpRequest& req, HttpResponse& resp) {
               auto image = require_cluster(node, req.matches[1]);
               Scope s = scope_of(node, req, *image);
               AlterableConfig a;
               a.name = req.matches[name_group];
               a.config_operation = kOpDelete;
               a.value = std::nullopt;
               alter(node, req, s, {a}, false);
               set_no_content(resp);
             }));
  router.post(base + ":alter", rest_handler([&node, scope_of](const HttpRequest& req, HttpResponse& resp) {
                auto image = require_cluster(node, req.matches[1]);
                Scope s = scope_of(node, req, *image);
                json body = parse_body(req);
                bool validate_only = false;
                auto configs = batch_from_body(body, validate_only);
                alter(node, req, s, std::move(configs), validate_only);
                set_no_content(resp);
              }));
}

}  // namespace

void add_config_routes(Router& router, NodeView& node) {
  const std::string c = kClusterPath;
  // Every topic's (or broker's) configs: registered before the {t}/{b} routes they would match.
  router.get(c + "/topics/-/configs", rest_handler([&node](const HttpRequest& req, HttpResponse& resp) {
               const std::string& cid = req.matches[1];
               auto image = require_cluster(node, cid);
               json data = json::array();
               for (const auto& [name, t] : image->topics_by_name()) {
                 if (!may_describe_topic(node, req, name)) continue;
                 Scope s = topic_scope(name);
                 for (const auto& e : describe(node, req, s)) data.push_back(config_json(req, cid, s, e));
               }
               set_json(resp, collection("KafkaTopicConfigList", cluster_url(req, cid, {"topics", "-", "configs"}),
                                         std::move(data)));
             }));
  router.get(c + "/brokers/-/configs", rest_handler([&node](const HttpRequest& req, HttpResponse& resp) {
               const std::string& cid = req.matches[1];
               auto image = require_cluster(node, cid);
               json data = json::array();
               for (const auto& [id, b] : image->brokers()) {
                 Scope s = broker_scope(id);
                 for (const auto& e : describe(node, req, s)) data.push_back(config_json(req, cid, s, e));
               }
               set_json(resp, collection("KafkaBrokerConfigList", cluster_url(req, cid, {"brokers", "-", "configs"}),
                                         std::move(data)));
             }));
  add_scope_routes(router, node, c + "/topics/([^/]+)/configs", topic_of, "KafkaTopicConfigList");
  add_scope_routes(router, node, c + "/brokers/([^/]+)/configs", broker_of, "KafkaBrokerConfigList");
  add_scope_routes(router, node, c + "/broker-configs", cluster_of, "KafkaClusterConfigList");
}

}  // namespace flotilla::http::rest
