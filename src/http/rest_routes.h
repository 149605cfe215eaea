// The REST API v3 (Confluent's kafka-rest `api/v3/openapi.yaml`), by file:
//   rest_routes.cc   add_rest_routes: clusters, brokers, broker configs,
//                    topics, topic configs, partitions, ACLs (and calls the two below)
//   rest_groups.cc   consumer groups, consumers, assignments, lags, lag-summary
//   rest_records.cc  produce: POST /v3/clusters/{id}/topics/{t}/records
#pragma once

#include "http/routes.h"

namespace flotilla::http {

void add_rest_group_routes(Router& router, NodeView& node, const HttpOptions& options);
void add_rest_record_routes(Router& router, NodeView& node, const HttpOptions& options);

}  // namespace flotilla::http
