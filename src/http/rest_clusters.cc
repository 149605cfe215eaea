// REST v3 clusters and brokers, answered from the published image:
//   GET /v3/clusters                                  KafkaClusterList (this cluster only)
//   GET /v3/clusters/{id}                             KafkaCluster with its related links
//   GET /v3/clusters/{id}/brokers                     KafkaBrokerList (registered brokers)
//   GET /v3/clusters/{id}/brokers/{b}                 KafkaBroker
//   GET /v3/clusters/{id}/brokers/{b}/partition-replicas  KafkaReplicaList of the broker's replicas
// The controller link names the active controller when it is also a broker,
// else the lowest unfenced broker (what KRaft's DescribeCluster answers).
// Threading: HTTP worker threads; reads image() and raft_status() only.
#include <charconv>

#include "http/rest_core.h"

namespace flotilla::http::rest {

int32_t path_int32(const std::string& segment) {
  int32_t v = 0;
  auto [p, ec] = std::from_chars(segment.data(), segment.data() + segment.size(), v);
  if (ec != std::errc() || p != segment.data() + segment.size() || segment.empty())
    fail(404, kNotFoundCode, "HTTP 404 Not Found");
  return v;
}

namespace {

int32_t controller_id(NodeView& node, const metadata::MetadataImage& image) {
  int32_t leader = node.raft_status().leader_id;
  if (leader >= 0 && image.broker(leader)) return leader;
  for (const auto& [id, b] : image.brokers())
    if (!b.fenced) return id;
  return -1;
}

json cluster_json(NodeView& node, const HttpRequest& req, const metadata::MetadataImage& image) {
  const std::string& id = node.cluster_id();
  json j = json::object();
  j["kind"] = "KafkaCluster";
  j["metadata"] = resource_metadata(cluster_url(req, id), crn(id));
  j["cluster_id"] = id;
  int32_t controller = controller_id(node, image);
  if (controller >= 0) j["controller"] = related(cluster_url(req, id, {"brokers", std::to_string(controller)}));
  j["acls"] = related(cluster_url(req, id, {"acls"}));
  j["brokers"] = related(cluster_url(req, id, {"brokers"}));
  j["broker_configs"] = related(cluster_url(req, id, {"broker-configs"}));
  j["consumer_groups"] = related(cluster_url(req, id, {"consumer-groups"}));
  j["topics"] = related(cluster_url(req, id, {"topics"}));
  j["partition_reassignments"] = related(cluster_url(req, id, {"topics", "-", "partitions", "-", "reassignment"}));
  return j;
}

json broker_json(const HttpRequest& req, const std::string& cluster_id, const metadata::BrokerRegistration& b) {
  std::string id = std::to_string(b.id);
  json j = json::object();
  j["kind"] = "KafkaBroker";
  j["metadata"] = resource_metadata(cluster_url(req, cluster_id, {"brokers", id}), crn(cluster_id, {{"broker", id}}));
  j["cluster_id"] = cluster_id;
  j["broker_id"] = b.id;
  if (!b.listeners.empty()) {
    j["host"] = b.listeners.front().host;
    j["port"] = b.listeners.front().port;
  } else {
    j["host"] = nullptr;
    j["port"] = nullptr;
  }
  j["rack"] = b.rack ? json(*b.rack) : json(nullptr);
  j["configs"] = related(cluster_url(req, cluster_id, {"brokers", id, "configs"}));
  j["partition_replicas"] = related(cluster_url(req, cluster_id, {"brokers", id, "partition-replicas"}));
  return j;
}

const metadata::BrokerRegistration& require_broker(const metadata::MetadataImage& image, const std::string& segment) {
  const auto* b = image.broker(path_int32(segment));
  if (!b) fail(404, kNotFoundCode, "Broker " + segment + " cannot be found.");
  return *b;
}

}  // namespace

void add_cluster_routes(Router& router, NodeView& node) {
  const std::string c = kClusterPath;

  router.get("/v3/clusters/?", rest_handler([&node](const HttpRequest& req, HttpResponse& resp) {
               auto image = require_cluster(node, node.cluster_id());
               json data = json::array();
               data.push_back(cluster_json(node, req, *image));
               set_json(resp, collection("KafkaClusterList", req.base_url + "/v3/clusters", std::move(data)));
             }));

  router.get(c + "/?", rest_handler([&node](const HttpRequest& req, HttpResponse& resp) {
               auto image = require_cluster(node, req.matches[1]);
               set_json(resp, cluster_json(node, req, *image));
             }));

  router.get(c + "/brokers", rest_handler([&node](const HttpRequest& req, HttpResponse& resp) {
               const std::string& id = req.matches[1];
               auto image = require_cluster(node, id);
               json data = json::array();
               for (const auto& [bid, b] : image->brokers()) data.push_back(broker_json(req, id, b));
               set_json(resp, collection("KafkaBrokerList", cluster_url(req, id, {"brokers"}), std::move(data)));
             }));

  router.get(c + "/brokers/([^/]+)", rest_handler([&node](const HttpRequest& req, HttpResponse& resp) {
               const std::string& id = req.matches[1];
               auto image = require_cluster(node, id);
               set_json(resp, broker_json(req, id, require_broker(*image, req.matches[2])));
             }));

  router.get(c + "/brokers/([^/]+)/partition-replicas", rest_handler([&node](const HttpRequest& req,
                                                                            HttpResponse& resp) {
               const std::string& id = req.matches[1];
               auto image = require_cluster(node, id);
               const auto& broker = require_broker(*image, req.matches[2]);
               json data = json::array();
               for (const auto& [name, topic] : image->topics_by_name()) {
                 if (!may_describe_topic(node, req, name)) continue;
                 for (const auto& [index, p] : topic.partitions) {
                   for (int32_t r : p.replicas)
                     if (r == broker.id) data.push_back(replica_json(req, id, name, index, p, r));
                 }
               }
               set_json(resp, collection("KafkaReplicaList",
                                         cluster_url(req, id, {"brokers", req.matches[2], "partition-replicas"}),
                                         std::move(data)));
             }));
}

}  // namespace flotilla::http::rest
