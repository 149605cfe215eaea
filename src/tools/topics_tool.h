// Pieces of `flotilla topics` (exposed for tests).
#pragma once

#include <cstdint>
#include <regex>
#include <string>
#include <utility>
#include <vector>

#include "common/uuid.h"

namespace flotilla::tools {

// Kafka's TopicFilter.IncludeList: a regex (commas read as '|'), matched whole.
class TopicFilter {
 public:
  explicit TopicFilter(const std::string& raw);  // throws std::invalid_argument
  bool matches(const std::string& topic) const;

 private:
  std::regex re_;
};

// "Topic: T\tTopicId: ...\tPartitionCount: N\tReplicationFactor: R\tConfigs: k=v,..."
std::string describe_topic_line(const std::string& topic, const Uuid& id, size_t partitions, size_t replication_factor,
                                const std::vector<std::pair<std::string, std::string>>& configs);
// "\tTopic: T\tPartition: 0\tLeader: 1\tReplicas: 1\tIsr: 1\tElr: \tLastKnownElr: "
std::string describe_partition_line(const std::string& topic, int32_t partition, int32_t leader, const std::vector<int32_t>& replicas,
                                    const std::vector<int32_t>& isr, const std::vector<int32_t>& elr,
                                    const std::vector<int32_t>& last_known_elr);
// --replica-assignment "1:2,2:3" -> [[1,2],[2,3]]; throws std::invalid_argument.
std::vector<std::vector<int32_t>> parse_replica_assignment(const std::string& s);

}  // namespace flotilla::tools
