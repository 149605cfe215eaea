// REST v3 ACLs, all through kafka_call (Kafka's authorization applies):
//   GET    /v3/clusters/{id}/acls        DescribeAcls v3 from the query's filter; KafkaAclList
//   POST   /v3/clusters/{id}/acls        CreateAcls v3 of one CreateAclRequestData; 201
//   POST   /v3/clusters/{id}/acls:batch  CreateAcls v3 of {"data": [CreateAclRequestData...]}; 201
//   DELETE /v3/clusters/{id}/acls        DeleteAcls v3 (resource_type, pattern_type, operation and
//                                        permission required); 200 {"data": [AclData...]}
// Each KafkaAcl's self link is the /acls search matching exactly that ACL.
// Threading: HTTP worker threads only.
#include <array>

#include "common/error.h"
#include "http/rest_core.h"
#include "protocol/messages.h"

namespace flotilla::http::rest {

namespace {

constexpr std::array<std::string_view, 8> kResourceTypes = {"UNKNOWN", "ANY", "TOPIC", "GROUP", "CLUSTER",
                                                            "TRANSACTIONAL_ID", "DELEGATION_TOKEN", "USER"};
constexpr std::array<std::string_view, 5> kPatternTypes = {"UNKNOWN", "ANY", "MATCH", "LITERAL", "PREFIXED"};
constexpr std::array<std::string_view, 15> kOperations = {
    "UNKNOWN", "ANY",   "ALL",            "READ",          "WRITE",           "CREATE",        "DELETE",
    "ALTER",   "DESCRIBE", "CLUSTER_ACTION", "DESCRIBE_CONFIGS", "ALTER_CONFIGS", "IDEMPOTENT_WRITE",
    "CREATE_TOKENS", "DESCRIBE_TOKENS"};
constexpr std::array<std::string_view, 4> kPermissions = {"UNKNOWN", "ANY", "DENY", "ALLOW"};

template <size_t N>
std::string_view enum_name(const std::array<std::string_view, N>& names, int8_t code) {
  return code >= 0 && static_cast<size_t>(code) < N ? names[code] : names[0];
}

// The code of `text` (case-insensitive), 400 when not a name of the enum.
template <size_t N>
int8_t enum_code(const std::array<std::string_view, N>& names, const std::string& text, const char* field) {
  std::string upper;
  for (char ch : text) upper += static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
  for (size_t i = 0; i < N; ++i)
    if (names[i] == upper) return static_cast<int8_t>(i);
  bad_request(std::string("Invalid ") + field + ": " + text.substr(0, 64));
}

std::string query_encode(std::string_view v) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char ch : v) {
    if (std::isalnum(ch) || ch == '-' || ch == '_' || ch == '.' || ch == '~' || ch == '*') {
      out += static_cast<char>(ch);
    } else {
      out += '%';
      out += kHex[ch >> 4];
      out += kHex[ch & 15];
    }
  }
  return out;
}

struct Acl {
  int8_t resource_type = 0;
  std::string resource_name;
  int8_t pattern_type = 0;
  std::string principal;
  std::string host;
  int8_t operation = 0;
  int8_t permission = 0;
};

json acl_json(const HttpRequest& req, const std::string& cid, const Acl& a) {
  std::string self = cluster_url(req, cid, {"acls"}) +
                     "?resource_type=" + std::string(enum_name(kResourceTypes, a.resource_type)) +
                     "&resource_name=" + query_encode(a.resource_name) +
                     "&pattern_type=" + std::string(enum_name(kPatternTypes, a.pattern_type)) +
                     "&principal=" + query_encode(a.principal) + "&host=" + query_encode(a.host) +
                     "&operation=" + std::string(enum_name(kOperations, a.operation)) +
                     "&permission=" + std::string(enum_name(kPermissions, a.permission));
  json j = json::object();
  j["kind"] = "KafkaAcl";
  j["metadata"] = json{{"self", self}};
  j["cluster_id"] = cid;
  j["resource_type"] = enum_name(kResourceTypes, a.resource_type);
  j["resource_name"] = a.resource_name;
  j["pattern_type"] = enum_name(kPatternTypes, a.pattern_type);
  j["principal"] = a.principal;
  j["host"] = a.host;
  j["operation"] = enum_name(kOperations, a.operation);
  j["permission"] = enum_name(kPermissions, a.permission);
  return j;
}

// The filter of a GET or DELETE: from the query; `strict` (DELETE) requires
// the four enum parameters and refuses UNKNOWN for them.
struct Filter {
  int8_t resource_type = 1, pattern_type = 1, operation = 1, permission = 1;
  std::optional<std::string> resource_name, principal, host;
};

Filter filter_from_query(const HttpRequest& req, bool strict) {
  Filter f;
  auto param = [&](const char* key, auto& names, int8_t& out) {
    auto v = req.query_param(key);
    if (v && !v->empty()) out = enum_code(names, *v, key);
    if (strict && (!v || v->empty() || out == 0)) bad_request(std::string(key) + " cannot be unspecified or UNKNOWN");
  };
  param("resource_type", kResourceTypes, f.resource_type);
  param("pattern_type", kPatternTypes, f.pattern_type);
  param("operation", kOperations, f.operation);
  param("permission", kPermissions, f.permission);
  auto text = [&](const char* key) -> std::optional<std::string> {
    auto v = req.query_param(key);
    if (v && v->empty()) return std::nullopt;
    return v;
  };
  f.resource_name = text("resource_name");
  f.principal = text("principal");
  f.host = text("host");
  return f;
}

std::string search_self(const HttpRequest& req, const std::string& cid) {
  std::string self = cluster_url(req, cid, {"acls"});
  char sep = '?';
  for (const char* key : {"resource_type", "resource_name", "pattern_type", "principal", "host", "operation",
                          "permission"}) {
    if (auto v = req.query_param(key)) {
      self += sep;
      self += key;
      self += '=';
      self += query_encode(*v);
      sep = '&';
    }
  }
  return self;
}

msg::CreateAclsRequest::AclCreation creation_from(const json& j) {
  if (!j.is_object()) bad_request("An ACL must be a JSON object");
  msg::CreateAclsRequest::AclCreation c;
  c.resource_type = enum_code(kResourceTypes, req_string(j, "resource_type"), "resource_type");
  c.resource_name = req_string(j, "resource_name");
  c.resource_pattern_type = enum_code(kPatternTypes, req_string(j, "pattern_type"), "pattern_type");
  c.principal = req_string(j, "principal");
  c.host = req_string(j, "host");
  c.operation = enum_code(kOperations, req_string(j, "operation"), "operation");
  c.permission_type = enum_code(kPermissions, req_string(j, "permission"), "permission");
  return c;
}

void create_acls(NodeView& node, const HttpRequest& req, std::vector<msg::CreateAclsRequest::AclCreation> acls) {
  msg::CreateAclsRequest request;
  request.creations = std::move(acls);
  auto reply = kafka_call<msg::CreateAclsResponse>(node, req, request, 3);
  for (const auto& r : reply.results) check_kafka(r.error_code, r.error_message);
}

void search_acls(NodeView& node, const HttpRequest& req, HttpResponse& resp) {
  const std::string& cid = req.matches[1];
  require_cluster(node, cid);
  Filter f = filter_from_query(req, false);
  msg::DescribeAclsRequest request;
  request.resource_type_filter = f.resource_type;
  request.resource_name_filter = f.resource_name;
  request.pattern_type_filter = f.pattern_type;
  request.principal_filter = f.principal;
  request.host_filter = f.host;
  request.operation = f.operation;
  request.permission_type = f.permission;
  auto reply = kafka_call<msg::DescribeAclsResponse>(node, req, request, 3);
  check_kafka(reply.error_code, reply.error_message);
  json data = json::array();
  for (const auto& r : reply.resources)
    for (const auto& d : r.acls)
      data.push_back(acl_json(req, cid, Acl{r.resource_type, r.resource_name, r.pattern_type, d.principal, d.host,
                                             d.operation, d.permission_type}));
  set_json(resp, collection("KafkaAclList", search_self(req, cid), std::move(data)));
}

void delete_acls(NodeView& node, const HttpRequest& req, HttpResponse& resp) {
  const std::string& cid = req.matches[1];
  require_cluster(node, cid);
  Filter f = filter_from_query(req, true);
  msg::DeleteAclsRequest request;
  msg::DeleteAclsRequest::DeleteAclsFilter filter;
  filter.resource_type_filter = f.resource_type;
  filter.resource_name_filter = f.resource_name;
  filter.pattern_type_filter = f.pattern_type;
  filter.principal_filter = f.principal;
  filter.host_filter = f.host;
  filter.operation = f.operation;
  filter.permission_type = f.permission;
  request.filters.push_back(std::move(filter));
  auto reply = kafka_call<msg::DeleteAclsResponse>(node, req, request, 3);
  json data = json::array();
  for (const auto& fr : reply.filter_results) {
    check_kafka(fr.error_code, fr.error_message);
    for (const auto& m : fr.matching_acls) {
      check_kafka(m.error_code, m.error_message);
      data.push_back(acl_json(req, cid, Acl{m.resource_type, m.resource_name, m.pattern_type, m.principal, m.host,
                                             m.operation, m.permission_type}));
    }
  }
  set_json(resp, json{{"data", std::move(data)}});
}

}  // namespace

void add_acl_routes(Router& router, NodeView& node) {
  const std::string acls = std::string(kClusterPath) + "/acls";
  router.get(acls, rest_handler([&node](const HttpRequest& req, HttpResponse& resp) { search_acls(node, req, resp); }));
  router.post(acls, rest_handler([&node](const HttpRequest& req, HttpResponse& resp) {
                require_cluster(node, req.matches[1]);
                json body = parse_body(req);
                create_acls(node, req, {creation_from(body)});
                resp.status = 201;
                resp.body.clear();
              }));
  router.post(acls + ":batch", rest_handler([&node](const HttpRequest& req, HttpResponse& resp) {
                require_cluster(node, req.matches[1]);
                json body = parse_body(req);
                auto it = body.find("data");
                if (it == body.end() || !it->is_array()) bad_request("data cannot be null or missing");
                std::vector<msg::CreateAclsRequest::AclCreation> creations;
                for (const auto& a : *it) creations.push_back(creation_from(a));
                if (!creations.empty()) create_acls(node, req, std::move(creations));
                resp.status = 201;
                resp.body.clear();
              }));
  router.del(acls, rest_handler([&node](const HttpRequest& req, HttpResponse& resp) { delete_acls(node, req, resp); }));
}

}  // namespace flotilla::http::rest
