// REST v3 topics, partitions, replicas and reassignments:
//   GET    /v3/clusters/{id}/topics                       KafkaTopicList (topics the user may DESCRIBE)
//   POST   /v3/clusters/{id}/topics                       CreateTopics; 201 KafkaTopic (200 when validate_only)
//   GET    /v3/clusters/{id}/topics/{t}                   KafkaTopic
//   PATCH  /v3/clusters/{id}/topics/{t}                   CreatePartitions (partitions_count); 200 KafkaTopic
//   DELETE /v3/clusters/{id}/topics/{t}                   DeleteTopics; 204
//   GET    .../topics/{t}/partitions[/{p}]                KafkaPartitionList / KafkaPartition
//   GET    .../topics/{t}/partitions/{p}/replicas[/{b}]   KafkaReplicaList / KafkaReplica
//   GET    .../topics/-/partitions/-/reassignment, .../topics/{t}/partitions/-/reassignment,
//          .../topics/{t}/partitions/{p}/reassignment     ongoing reassignments (adding/removing replicas)
// Reads come from the published image, authorized as Kafka's Metadata (a
// topic the user may not DESCRIBE is left out of lists, 403 when named);
// writes go through kafka_call, so Kafka's authorization applies to them.
// Threading: HTTP worker threads only.
#include "common/error.h"
#include "http/rest_core.h"
#include "protocol/messages.h"

namespace flotilla::http::rest {

namespace {

bool is_internal_topic(const std::string& name) {
  return name == "__consumer_offsets" || name == "__transaction_state" || name == "__share_group_state";
}

json topic_json(const HttpRequest& req, const std::string& cid, const std::string& name, int32_t partitions,
                int32_t replication_factor) {
  json j = json::object();
  j["kind"] = "KafkaTopic";
  j["metadata"] = resource_metadata(cluster_url(req, cid, {"topics", name}), crn(cid, {{"topic", name}}));
  j["cluster_id"] = cid;
  j["topic_name"] = name;
  j["is_internal"] = is_internal_topic(name);
  j["replication_factor"] = replication_factor;
  j["partitions_count"] = partitions;
  j["partitions"] = related(cluster_url(req, cid, {"topics", name, "partitions"}));
  j["configs"] = related(cluster_url(req, cid, {"topics", name, "configs"}));
  j["partition_reassignments"] = related(cluster_url(req, cid, {"topics", name, "partitions", "-", "reassignment"}));
  return j;
}

json topic_json(const HttpRequest& req, const std::string& cid, const metadata::TopicImage& t) {
  int32_t rf = t.partitions.empty() ? 0 : static_cast<int32_t>(t.partitions.begin()->second.replicas.size());
  return topic_json(req, cid, t.name, static_cast<int32_t>(t.partitions.size()), rf);
}

json partition_json(const HttpRequest& req, const std::string& cid, const std::string& topic, int32_t index,
                    const metadata::PartitionRegistration& p) {
  std::string pi = std::to_string(index);
  json j = json::object();
  j["kind"] = "KafkaPartition";
  j["metadata"] = resource_metadata(cluster_url(req, cid, {"topics", topic, "partitions", pi}),
                                    crn(cid, {{"topic", topic}, {"partition", pi}}));
  j["cluster_id"] = cid;
  j["topic_name"] = topic;
  j["partition_id"] = index;
  if (p.leader >= 0)
    j["leader"] = related(cluster_url(req, cid, {"topics", topic, "partitions", pi, "replicas", std::to_string(p.leader)}));
  j["replicas"] = related(cluster_url(req, cid, {"topics", topic, "partitions", pi, "replicas"}));
  j["reassignment"] = related(cluster_url(req, cid, {"topics", topic, "partitions", pi, "reassignment"}));
  return j;
}

bool reassigning(const metadata::PartitionRegistration& p) {
  return !p.adding_replicas.empty() || !p.removing_replicas.empty();
}

json reassignment_json(const HttpRequest& req, const std::string& cid, const std::string& topic, int32_t index,
                       const metadata::PartitionRegistration& p) {
  std::string pi = std::to_string(index);
  json j = json::object();
  j["kind"] = "KafkaReassignment";
  j["metadata"] = resource_metadata(cluster_url(req, cid, {"topics", topic, "partitions", pi, "reassignment"}),
                                    crn(cid, {{"topic", topic}, {"partition", pi}}) + "/reassignment");
  j["cluster_id"] = cid;
  j["topic_name"] = topic;
  j["partition_id"] = index;
  j["adding_replicas"] = p.adding_replicas;
  j["removing_replicas"] = p.removing_replicas;
  j["replicas"] = related(cluster_url(req, cid, {"topics", topic, "partitions", pi, "replicas"}));
  return j;
}

const metadata::PartitionRegistration& require_partition(const metadata::TopicImage& t, const std::string& segment) {
  auto it = t.partitions.find(path_int32(segment));
  if (it == t.partitions.end()) unknown_topic_or_partition();
  return it->second;
}

// POST /topics: the body as a CreateTopics request.
msg::CreateTopicsRequest create_topics_request(const json& body, bool& validate_only) {
  msg::CreateTopicsRequest r;
  msg::CreateTopicsRequest::CreatableTopic t;
  t.name = req_string(body, "topic_name");
  if (t.name.empty()) bad_request("topic_name cannot be empty");
  auto partitions = opt_int(body, "partitions_count");
  auto rf = opt_int(body, "replication_factor");
  t.num_partitions = partitions ? static_cast<int32_t>(*partitions) : -1;
  t.replication_factor = rf ? static_cast<int16_t>(*rf) : -1;
  if (partitions && (*partitions < 1 || *partitions > INT32_MAX)) bad_request("partitions_count must be positive");
  if (rf && (*rf < 1 || *rf > INT16_MAX)) bad_request("replication_factor must be positive");
  if (auto it = body.find("replicas_assignments"); it != body.end() && !it->is_null()) {
    if (!it->is_object()) bad_request("replicas_assignments must be an object");
    for (const auto& [k, v] : it->items()) {
      msg::CreateTopicsRequest::CreatableReplicaAssignment a;
      a.partition_index = parse_int32(k, "partition id in replicas_assignments");
      if (!v.is_array()) bad_request("replicas_assignments values must be arrays of broker ids");
      for (const auto& b : v) {
        if (!b.is_number_integer()) bad_request("replicas_assignments values must be arrays of broker ids");
        a.broker_ids.push_back(b.get<int32_t>());
      }
      t.assignments.push_back(std::move(a));
    }
    if (!t.assignments.empty()) {
      t.num_partitions = -1;
      t.replication_factor = -1;
    }
  }
  if (auto it = body.find("configs"); it != body.end() && !it->is_null()) {
    if (!it->is_array()) bad_request("configs must be an array");
    for (const auto& c : *it) {
      if (!c.is_object()) bad_request("configs must be an array of {name, value}");
      msg::CreateTopicsRequest::CreatableTopicConfig cfg;
      cfg.name = req_string(c, "name");
      cfg.value = opt_string(c, "value");
      t.configs.push_back(std::move(cfg));
    }
  }
  validate_only = opt_bool(body, "validate_only").value_or(false);
  r.topics.push_back(std::move(t));
  r.timeout_ms = 30000;
  r.validate_only = validate_only;
  return r;
}

void list_topics(NodeView& node, const HttpRequest& req, HttpResponse& resp) {
  const std::string& cid = req.matches[1];
  auto image = require_cluster(node, cid);
  json data = json::array();
  for (const auto& [name, t] : image->topics_by_name())
    if (may_describe_topic(node, req, name)) data.push_back(topic_json(req, cid, t));
  set_json(resp, collection("KafkaTopicList", cluster_url(req, cid, {"topics"}), std::move(data)));
}

void create_topic(NodeView& node, const HttpRequest& req, HttpResponse& resp) {
  const std::string& cid = req.matches[1];
  require_cluster(node, cid);
  json body = parse_body(req);
  bool validate_only = false;
  auto request = create_topics_request(body, validate_only);
  auto reply = kafka_call<msg::CreateTopicsResponse>(node, req, request, 7);
  if (reply.topics.empty()) fail(500, kKafkaErrorCode, "Empty CreateTopics response");
  const auto& r = reply.topics.front();
  if (r.error_code == code(ErrorCode::TOPIC_ALREADY_EXISTS))
    throw kafka_error(r.error_code, "Topic '" + request.topics.front().name + "' already exists.");
  check_kafka(r.error_code, r.error_message);
  set_json(resp, topic_json(req, cid, r.name, r.num_partitions, r.replication_factor), validate_only ? 200 : 201);
}

// The topic operations the user may perform (Kafka's authorized operations
// of a TOPIC resource), for ?include_authorized_operations=true.
json authorized_topic_operations(NodeView& node, const HttpRequest& req, const std::string& topic) {
  using security::AclOperation;
  static constexpr std::pair<AclOperation, const char*> kOps[] = {
      {AclOperation::READ, "READ"},       {AclOperation::WRITE, "WRITE"},
      {AclOperation::CREATE, "CREATE"},   {AclOperation::DELETE, "DELETE"},
      {AclOperation::ALTER, "ALTER"},     {AclOperation::DESCRIBE, "DESCRIBE"},
      {AclOperation::DESCRIBE_CONFIGS, "DESCRIBE_CONFIGS"}, {AclOperation::ALTER_CONFIGS, "ALTER_CONFIGS"}};
  json ops = json::array();
  for (const auto& [op, name] : kOps)
    if (authorized(node, req, op, security::ResourceType::TOPIC, topic)) ops.push_back(name);
  return ops;
}

void get_topic(NodeView& node, const HttpRequest& req, HttpResponse& resp) {
  const std::string& cid = req.matches[1];
  auto image = require_cluster(node, cid);
  const auto& t = require_topic(node, req, *image, req.matches[2]);
  json j = topic_json(req, cid, t);
  auto include = req.query_param("include_authorized_operations");
  if (include && *include != "true" && *include != "false")
    bad_request("include_authorized_operations must be true or false");
  if (include && *include == "true") j["authorized_operations"] = authorized_topic_operations(node, req, t.name);
  set_json(resp, j);
}

void update_partition_count(NodeView& node, const HttpRequest& req, HttpResponse& resp) {
  const std::string& cid = req.matches[1];
  const std::string& name = req.matches[2];
  auto image = require_cluster(node, cid);
  json body = parse_body(req);
  auto count = opt_int(body, "partitions_count");
  if (!count) bad_request("partitions_count cannot be null or missing");
  if (*count < 1 || *count > INT32_MAX) bad_request("partitions_count must be positive");
  const auto& topic = require_topic(node, req, *image, name);
  if (static_cast<size_t>(*count) == topic.partitions.size())
    fail(400, kKafkaBadRequestCode, "Topic already has " + std::to_string(*count) + " partitions.");
  msg::CreatePartitionsRequest request;
  msg::CreatePartitionsRequest::CreatePartitionsTopic t;
  t.name = name;
  t.count = static_cast<int32_t>(*count);
  request.topics.push_back(std::move(t));
  request.timeout_ms = 30000;
  auto reply = kafka_call<msg::CreatePartitionsResponse>(node, req, request, 3);
  if (reply.results.empty()) fail(500, kKafkaErrorCode, "Empty CreatePartitions response");
  check_kafka(reply.results.front().error_code, reply.results.front().error_message);
  json j = topic_json(req, cid, topic);
  j["partitions_count"] = *count;
  set_json(resp, j);
}

void delete_topic(NodeView& node, const HttpRequest& req, HttpResponse& resp) {
  require_cluster(node, req.matches[1]);
  msg::DeleteTopicsRequest request;
  request.topic_names.push_back(req.matches[2]);
  request.timeout_ms = 30000;
  auto reply = kafka_call<msg::DeleteTopicsResponse>(node, req, request, 5);
  if (reply.responses.empty()) fail(500, kKafkaErrorCode, "Empty DeleteTopics response");
  check_kafka(reply.responses.front().error_code, reply.responses.front().error_message);
  set_no_content(resp);
}

void list_partitions(NodeView& node, const HttpRequest& req, HttpResponse& resp) {
  const std::string& cid = req.matches[1];
  auto image = require_cluster(node, cid);
  const auto& t = require_topic(node, req, *image, req.matches[2]);
  json data = json::array();
  for (const auto& [index, p] : t.partitions) data.push_back(partition_json(req, cid, t.name, index, p));
  set_json(resp, collection("KafkaPartitionList", cluster_url(req, cid, {"topics", t.name, "partitions"}),
                            std::move(data)));
}

void get_partition(NodeView& node, const HttpRequest& req, HttpResponse& resp) {
  const std::string& cid = req.matches[1];
  auto image = require_cluster(node, cid);
  const auto& t = require_topic(node, req, *image, req.matches[2]);
  const auto& p = require_partition(t, req.matches[3]);
  set_json(resp, partition_json(req, cid, t.name, path_int32(req.matches[3]), p));
}

void list_replicas(NodeView& node, const HttpRequest& req, HttpResponse& resp) {
  const std::string& cid = req.matches[1];
  auto image = require_cluster(node, cid);
  const auto& t = require_topic(node, req, *image, req.matches[2]);
  const auto& p = require_partition(t, req.matches[3]);
  int32_t index = path_int32(req.matches[3]);
  json data = json::array();
  for (int32_t r : p.replicas) data.push_back(replica_json(req, cid, t.name, index, p, r));
  set_json(resp, collection("KafkaReplicaList",
                            cluster_url(req, cid, {"topics", t.name, "partitions", req.matches[3], "replicas"}),
                            std::move(data)));
}

void get_replica(NodeView& node, const HttpRequest& req, HttpResponse& resp) {
  const std::string& cid = req.matches[1];
  auto image = require_cluster(node, cid);
  const auto& t = require_topic(node, req, *image, req.matches[2]);
  const auto& p = require_partition(t, req.matches[3]);
  int32_t broker = path_int32(req.matches[4]);
  if (std::find(p.replicas.begin(), p.replicas.end(), broker) == p.replicas.end())
    fail(404, kNotFoundCode, "Replica " + req.matches[4] + " cannot be found.");
  set_json(resp, replica_json(req, cid, t.name, path_int32(req.matches[3]), p, broker));
}

void list_reassignments(NodeView& node, const HttpRequest& req, HttpResponse& resp, bool all_topics) {
  const std::string& cid = req.matches[1];
  auto image = require_cluster(node, cid);
  json data = json::array();
  auto add_topic = [&](const metadata::TopicImage& t) {
    for (const auto& [index, p] : t.partitions)
      if (reassigning(p)) data.push_back(reassignment_json(req, cid, t.name, index, p));
  };
  std::string self;
  if (all_topics) {
    for (const auto& [name, t] : image->topics_by_name())
      if (may_describe_topic(node, req, name)) add_topic(t);
    self = cluster_url(req, cid, {"topics", "-", "partitions", "-", "reassignment"});
  } else {
    const auto& t = require_topic(node, req, *image, req.matches[2]);
    add_topic(t);
    self = cluster_url(req, cid, {"topics", t.name, "partitions", "-", "reassignment"});
  }
  set_json(resp, collection("KafkaReassignmentList", self, std::move(data)));
}

void get_reassignment(NodeView& node, const HttpRequest& req, HttpResponse& resp) {
  const std::string& cid = req.matches[1];
  auto image = require_cluster(node, cid);
  const auto& t = require_topic(node, req, *image, req.matches[2]);
  const auto& p = require_partition(t, req.matches[3]);
  if (!reassigning(p)) fail(404, kNotFoundCode, "No ongoing reassignment for the partition.");
  set_json(resp, reassignment_json(req, cid, t.name, path_int32(req.matches[3]), p));
}

}  // namespace

json replica_json(const HttpRequest& req, const std::string& cid, const std::string& topic, int32_t partition,
                  const metadata::PartitionRegistration& p, int32_t broker) {
  std::string pi = std::to_string(partition);
  std::string bi = std::to_string(broker);
  json j = json::object();
  j["kind"] = "KafkaReplica";
  j["metadata"] = resource_metadata(cluster_url(req, cid, {"topics", topic, "partitions", pi, "replicas", bi}),
                                    crn(cid, {{"topic", topic}, {"partition", pi}, {"replica", bi}}));
  j["cluster_id"] = cid;
  j["topic_name"] = topic;
  j["partition_id"] = partition;
  j["broker_id"] = broker;
  j["is_leader"] = p.leader == broker;
  j["is_in_sync"] = std::find(p.isr.begin(), p.isr.end(), broker) != p.isr.end();
  j["broker"] = related(cluster_url(req, cid, {"brokers", bi}));
  return j;
}

void add_topic_routes(Router& router, NodeView& node) {
  const std::string c = kClusterPath;
  const std::string t = c + "/topics/([^/]+)";
  const std::string p = t + "/partitions/([^/]+)";
  auto bind = [&node](void (*fn)(NodeView&, const HttpRequest&, HttpResponse&)) {
    return rest_handler([&node, fn](const HttpRequest& req, HttpResponse& resp) { fn(node, req, resp); });
  };
  router.get(c + "/topics/-/partitions/-/reassignment",
             rest_handler([&node](const HttpRequest& req, HttpResponse& resp) {
               list_reassignments(node, req, resp, true);
             }));
  router.get(c + "/topics", bind(list_topics));
  router.post(c + "/topics", bind(create_topic));
  router.get(t, bind(get_topic));
  router.patch(t, bind(update_partition_count));
  router.del(t, bind(delete_topic));
  router.get(t + "/partitions", bind(list_partitions));
  router.get(t + "/partitions/-/reassignment", rest_handler([&node](const HttpRequest& req, HttpResponse& resp) {
               list_reassignments(node, req, resp, false);
             }));
  router.get(p, bind(get_partition));
  router.get(p + "/replicas", bind(list_replicas));
  router.get(p + "/replicas/([^/]+)", bind(get_replica));
  router.get(p + "/reassignment", bind(get_reassignment));
}

}  // namespace flotilla::http::rest
