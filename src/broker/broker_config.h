// The part of the node's configuration the broker uses, filled in by server/.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "common/uuid.h"
#include "storage/log.h"

namespace flotilla::broker {

struct BrokerConfig {
  int32_t node_id = -1;
  std::string cluster_id;
  std::vector<std::string> log_dirs;
  int32_t num_partitions = 1;
  int16_t default_replication_factor = 1;
  bool auto_create_topics_enable = true;
  bool delete_topic_enable = true;
  int32_t message_max_bytes = 1048588;
  int32_t fetch_max_bytes = 57671680;
  std::string log_message_timestamp_type = "CreateTime";
  storage::LogConfig log;  // broker-wide log.* defaults for topics
  int64_t log_retention_check_interval_ms = 300000;
  // Broker properties as written in server.properties (DescribeConfigs source
  // STATIC_BROKER_CONFIG) and the defaults of those the file leaves out.
  std::map<std::string, std::string> static_configs;
};

}  // namespace flotilla::broker
