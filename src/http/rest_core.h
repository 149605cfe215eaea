// The core REST API v3 route groups behind add_rest_routes (rest_routes.cc),
// each in its own file, and the JSON shapes they share:
//   rest_clusters.cc  /v3/clusters, /clusters/{id}, brokers, a broker's partition-replicas
//   rest_topics.cc    topics (list/get/create/patch/delete), partitions, replicas, reassignments
//   rest_configs.cc   topic configs, broker configs, cluster-wide broker configs
//   rest_acls.cc      ACLs (search, create, batch create, delete)
// Reads come from the published image (authorized for the HTTP user as
// Kafka's Metadata would); writes and configs go through kafka_call.
// Threading: HTTP worker threads only (see rest_common.h).
#pragma once

#include <string>

#include "http/rest_common.h"
#include "http/routes.h"

namespace flotilla::http::rest {

// "/v3/clusters/([^/]+)": every route's prefix, the cluster id its group 1.
inline constexpr const char* kClusterPath = "/v3/clusters/([^/]+)";

void add_cluster_routes(Router& router, NodeView& node);
void add_topic_routes(Router& router, NodeView& node);
void add_config_routes(Router& router, NodeView& node);
void add_acl_routes(Router& router, NodeView& node);

// A path segment that must be an integer (broker id, partition id): 404
// "HTTP 404 Not Found" otherwise, as JAX-RS answers an unparsable @PathParam.
int32_t path_int32(const std::string& segment);

// KafkaReplica of (topic, partition) on `broker`.
json replica_json(const HttpRequest& req, const std::string& cluster_id, const std::string& topic, int32_t partition,
                  const metadata::PartitionRegistration& p, int32_t broker);

}  // namespace flotilla::http::rest
