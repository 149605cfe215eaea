// REST API v3 consumer groups (Confluent kafka-rest's openapi.yaml, "Consumer
// Group (v3)"): every route GET, under /v3/clusters/{cluster_id}/consumer-groups:
//   ""                                                   ConsumerGroupDataList
//   /{group}                                             ConsumerGroupData
//   /{group}/consumers                                   ConsumerDataList
//   /{group}/consumers/{consumer}                        ConsumerData
//   /{group}/consumers/{consumer}/assignments            ConsumerAssignmentDataList
//   /{group}/consumers/{consumer}/assignments/{t}/partitions/{p}  ConsumerAssignmentData
//   /{group}/lags                                        ConsumerLagDataList
//   /{group}/lags/{t}/partitions/{p}                     ConsumerLagData
//   /{group}/lag-summary                                 ConsumerGroupLagSummaryData
// The data comes from rest_groups_model (Kafka requests at the coordinator
// and the leaders, as the HTTP user); this file only shapes kafka-rest's JSON:
// its kinds, links, resource names and orders (consumers by id, assignments by
// topic and partition, lags by lag descending). Unknown group, consumer,
// assignment or lag: 404 with error_code 404, as kafka-rest's NotFoundException.
//
// Threading: handlers run on HTTP worker threads; nothing here is shared.
#include <algorithm>
#include <string>

#include "http/rest_common.h"
#include "http/rest_core.h"
#include "http/rest_groups_model.h"
#include "http/rest_routes.h"

namespace flotilla::http {

namespace {

using namespace rest;

constexpr const char* kGroups = "/v3/clusters/([^/]+)/consumer-groups";
constexpr const char* kNotFound = "HTTP 404 Not Found";

std::string group_url(const HttpRequest& req, const std::string& cluster, const std::string& group,
                      std::initializer_list<std::string_view> more = {}) {
  std::string url = cluster_url(req, cluster, {"consumer-groups", group});
  for (auto s : more) url += "/" + percent_encode(s);
  return url;
}

json group_json(const HttpRequest& req, const std::string& cluster, const GroupInfo& g) {
  json j = json::object();
  j["kind"] = "KafkaConsumerGroup";
  j["metadata"] =
      resource_metadata(group_url(req, cluster, g.group_id), crn(cluster, {{"consumer-group", g.group_id}}));
  j["cluster_id"] = cluster;
  j["consumer_group_id"] = g.group_id;
  j["is_simple"] = g.is_simple;
  j["partition_assignor"] = g.partition_assignor;
  j["state"] = g.state;
  j["type"] = g.type;
  j["is_mixed_consumer_group"] = g.is_mixed;
  j["coordinator"] = related(cluster_url(req, cluster, {"brokers", std::to_string(g.coordinator)}));
  j["consumers"] = related(group_url(req, cluster, g.group_id, {"consumers"}));
  j["lag_summary"] = related(group_url(req, cluster, g.group_id, {"lag-summary"}));
  return j;
}

json optional_string(const std::optional<std::string>& s) { return s ? json(*s) : json(nullptr); }

json consumer_json(const HttpRequest& req, const std::string& cluster, const GroupInfo& g, const GroupMember& m) {
  json j = json::object();
  j["kind"] = "KafkaConsumer";
  j["metadata"] = resource_metadata(group_url(req, cluster, g.group_id, {"consumers", m.consumer_id}),
                                    crn(cluster, {{"consumer-group", g.group_id}, {"consumer", m.consumer_id}}));
  j["cluster_id"] = cluster;
  j["consumer_group_id"] = g.group_id;
  j["consumer_id"] = m.consumer_id;
  j["instance_id"] = optional_string(m.instance_id);
  j["client_id"] = m.client_id;
  j["assignments"] = related(group_url(req, cluster, g.group_id, {"consumers", m.consumer_id, "assignments"}));
  return j;
}

json assignment_json(const HttpRequest& req, const std::string& cluster, const GroupInfo& g, const GroupMember& m,
                     const TopicPartition& tp) {
  const std::string p = std::to_string(tp.second);
  json j = json::object();
  j["kind"] = "KafkaConsumerAssignment";
  j["metadata"] = resource_metadata(
      group_url(req, cluster, g.group_id, {"consumers", m.consumer_id, "assignments", tp.first, "partitions", p}),
      crn(cluster,
          {{"consumer-group", g.group_id}, {"consumer", m.consumer_id}, {"assignment", tp.first}, {"partition", p}}));
  j["cluster_id"] = cluster;
  j["consumer_group_id"] = g.group_id;
  j["consumer_id"] = m.consumer_id;
  j["topic_name"] = tp.first;
  j["partition_id"] = tp.second;
  j["partition"] = related(cluster_url(req, cluster, {"topics", tp.first, "partitions", p}));
  j["lag"] = related(group_url(req, cluster, g.group_id, {"lags", tp.first, "partitions", p}));
  return j;
}

json lag_json(const HttpRequest& req, const std::string& cluster, const GroupInfo& g, const LagRow& row) {
  const std::string p = std::to_string(row.tp.second);
  json j = json::object();
  j["kind"] = "KafkaConsumerLag";
  j["metadata"] =
      resource_metadata(group_url(req, cluster, g.group_id, {"lags", row.tp.first, "partitions", p}),
                        crn(cluster, {{"consumer-group", g.group_id}, {"lag", row.tp.first}, {"partition", p}}));
  j["cluster_id"] = cluster;
  j["consumer_group_id"] = g.group_id;
  j["topic_name"] = row.tp.first;
  j["partition_id"] = row.tp.second;
  j["current_offset"] = row.current_offset;
  j["log_end_offset"] = row.log_end_offset;
  j["lag"] = row.log_end_offset - row.current_offset;
  j["consumer_id"] = row.member ? row.member->consumer_id : "";
  j["instance_id"] = row.member ? optional_string(row.member->instance_id) : json(nullptr);
  j["client_id"] = row.member ? row.member->client_id : "";
  return j;
}

json lag_summary_json(const HttpRequest& req, const std::string& cluster, const GroupInfo& g,
                      const std::vector<LagRow>& rows) {
  // kafka-rest: lag never below 0; the first row with the largest lag is the max.
  const LagRow* max_row = nullptr;
  int64_t max_lag = -1, total = 0;
  for (const auto& r : rows) {
    int64_t lag = std::max<int64_t>(0, r.log_end_offset - r.current_offset);
    total += lag;
    if (lag > max_lag) {
      max_lag = lag;
      max_row = &r;
    }
  }
  if (!max_row) fail(404, kNotFoundCode, "Consumer group offsets could not be found.");
  const std::string consumer = max_row->member ? max_row->member->consumer_id : "";
  json j = json::object();
  j["kind"] = "KafkaConsumerGroupLagSummary";
  j["metadata"] = resource_metadata(group_url(req, cluster, g.group_id, {"lag-summary"}),
                                    crn(cluster, {{"consumer-group", g.group_id}}) + "/lag-summary");
  j["cluster_id"] = cluster;
  j["consumer_group_id"] = g.group_id;
  j["max_lag_consumer_id"] = consumer;
  j["max_lag_instance_id"] = max_row->member ? optional_string(max_row->member->instance_id) : json(nullptr);
  j["max_lag_client_id"] = max_row->member ? max_row->member->client_id : "";
  j["max_lag_topic_name"] = max_row->tp.first;
  j["max_lag_partition_id"] = max_row->tp.second;
  j["max_lag"] = max_lag;
  j["total_lag"] = total;
  j["max_lag_consumer"] = related(group_url(req, cluster, g.group_id, {"consumers", consumer}));
  j["max_lag_partition"] = related(
      cluster_url(req, cluster, {"topics", max_row->tp.first, "partitions", std::to_string(max_row->tp.second)}));
  return j;
}

const GroupMember& require_member(const GroupInfo& g, const std::string& consumer_id) {
  const auto* m = g.member(consumer_id);
  if (!m) fail(404, kNotFoundCode, kNotFound);
  return *m;
}

// Path matches: [1] cluster, [2] group, then the route's own.
struct GroupPath {
  std::string cluster;
  std::shared_ptr<const metadata::MetadataImage> image;
  GroupInfo group;
};

GroupPath group_path(NodeView& node, const HttpRequest& req) {
  GroupPath p;
  p.cluster = req.matches.at(1);
  p.image = require_cluster(node, p.cluster);
  p.group = require_group(node, req, req.matches.at(2));
  return p;
}

}  // namespace

void add_rest_group_routes(Router& router, NodeView& node, const HttpOptions& /*options*/) {
  const std::string base = kGroups;
  const std::string group = base + "/([^/]+)";
  const std::string consumer = group + "/consumers/([^/]+)";

  router.get(base, rest_handler([&node](const HttpRequest& req, HttpResponse& resp) {
               const std::string& cluster = req.matches.at(1);
               auto image = require_cluster(node, cluster);
               json data = json::array();
               for (const auto& id : list_group_ids(node, req, *image))
                 if (auto g = describe_group(node, req, id)) data.push_back(group_json(req, cluster, *g));
               set_json(resp, collection("KafkaConsumerGroupList", cluster_url(req, cluster, {"consumer-groups"}),
                                         std::move(data)));
             }));

  router.get(group, rest_handler([&node](const HttpRequest& req, HttpResponse& resp) {
               auto p = group_path(node, req);
               set_json(resp, group_json(req, p.cluster, p.group));
             }));

  router.get(group + "/consumers", rest_handler([&node](const HttpRequest& req, HttpResponse& resp) {
               auto p = group_path(node, req);
               json data = json::array();
               for (const auto& m : p.group.members) data.push_back(consumer_json(req, p.cluster, p.group, m));
               set_json(resp, collection("KafkaConsumerList",
                                         group_url(req, p.cluster, p.group.group_id, {"consumers"}), std::move(data)));
             }));

  router.get(consumer, rest_handler([&node](const HttpRequest& req, HttpResponse& resp) {
               auto p = group_path(node, req);
               set_json(resp, consumer_json(req, p.cluster, p.group, require_member(p.group, req.matches.at(3))));
             }));

  router.get(consumer + "/assignments", rest_handler([&node](const HttpRequest& req, HttpResponse& resp) {
               auto p = group_path(node, req);
               const auto& m = require_member(p.group, req.matches.at(3));
               json data = json::array();
               for (const auto& tp : m.assignments) data.push_back(assignment_json(req, p.cluster, p.group, m, tp));
               set_json(resp, collection("KafkaConsumerAssignmentList",
                                         group_url(req, p.cluster, p.group.group_id,
                                                   {"consumers", m.consumer_id, "assignments"}),
                                         std::move(data)));
             }));

  router.get(consumer + "/assignments/([^/]+)/partitions/([^/]+)",
             rest_handler([&node](const HttpRequest& req, HttpResponse& resp) {
               auto p = group_path(node, req);
               const auto& m = require_member(p.group, req.matches.at(3));
               TopicPartition tp{req.matches.at(4), path_int32(req.matches.at(5))};
               if (!std::binary_search(m.assignments.begin(), m.assignments.end(), tp))
                 fail(404, kNotFoundCode, kNotFound);
               set_json(resp, assignment_json(req, p.cluster, p.group, m, tp));
             }));

  router.get(group + "/lags", rest_handler([&node](const HttpRequest& req, HttpResponse& resp) {
               auto p = group_path(node, req);
               auto rows = group_lags(node, req, *p.image, p.group);
               if (rows.empty()) fail(404, kNotFoundCode, "Consumer lags not found.");
               // kafka-rest's order: lag descending, then topic, then partition.
               std::stable_sort(rows.begin(), rows.end(), [](const LagRow& a, const LagRow& b) {
                 int64_t la = a.log_end_offset - a.current_offset, lb = b.log_end_offset - b.current_offset;
                 if (la != lb) return la > lb;
                 return a.tp < b.tp;
               });
               json data = json::array();
               for (const auto& r : rows) data.push_back(lag_json(req, p.cluster, p.group, r));
               set_json(resp, collection("KafkaConsumerLagList", group_url(req, p.cluster, p.group.group_id, {"lags"}),
                                         std::move(data)));
             }));

  router.get(group + "/lags/([^/]+)/partitions/([^/]+)",
             rest_handler([&node](const HttpRequest& req, HttpResponse& resp) {
               auto p = group_path(node, req);
               TopicPartition tp{req.matches.at(3), path_int32(req.matches.at(4))};
               auto rows = group_lags(node, req, *p.image, p.group);
               auto it = std::find_if(rows.begin(), rows.end(), [&](const LagRow& r) { return r.tp == tp; });
               if (it == rows.end()) fail(404, kNotFoundCode, kNotFound);
               set_json(resp, lag_json(req, p.cluster, p.group, *it));
             }));

  router.get(group + "/lag-summary", rest_handler([&node](const HttpRequest& req, HttpResponse& resp) {
               auto p = group_path(node, req);
               auto rows = group_lags(node, req, *p.image, p.group);
               set_json(resp, lag_summary_json(req, p.cluster, p.group, rows));
             }));
}

}  // namespace flotilla::http
