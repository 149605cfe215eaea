// What the consumer-group routes (rest_groups.cc) know of a group, gathered
// with Kafka requests as Kafka's Admin client gathers it for kafka-rest:
//   list_group_ids   ListGroups at every registered broker (each answers for
//                    the groups it coordinates), consumer groups only;
//   describe_group   the coordinator (the leader of the group's __consumer_offsets
//                    partition, as FindCoordinator finds it), then DescribeGroups there
//                    (classic groups) or ConsumerGroupDescribe (KIP-848);
//   group_offsets    OffsetFetch at the coordinator (all committed offsets);
//   end_offsets      ListOffsets (latest, READ_COMMITTED as kafka-rest asks)
//                    at each partition's leader;
//   group_lags       the three together: one row per committed partition.
// Calls to another broker are made as this node after the HTTP user was
// authorized here (DESCRIBE on the group or topic), as the local broker API
// would have checked them.
//
// Threading: HTTP worker threads; every function waits for its Kafka calls.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "http/rest_common.h"

namespace flotilla::http::rest {

using TopicPartition = std::pair<std::string, int32_t>;

struct GroupMember {
  std::string consumer_id;                 // the member id
  std::optional<std::string> instance_id;  // group.instance.id (static membership)
  std::string client_id;
  std::vector<TopicPartition> assignments;  // sorted
  bool classic_member = false;              // a classic-protocol member of a KIP-848 group
};

struct GroupInfo {
  std::string group_id;
  bool is_simple = false;  // no protocol type: offsets committed without membership
  std::string partition_assignor;
  std::string state;      // kafka-rest's ConsumerGroupState: STABLE, EMPTY, ...
  std::string type;       // CLASSIC or CONSUMER
  bool is_mixed = false;  // a KIP-848 group with classic members
  int32_t coordinator = -1;
  std::vector<GroupMember> members;  // sorted by consumer id

  const GroupMember* member(const std::string& consumer_id) const;
  // The member assigned each partition.
  std::map<TopicPartition, const GroupMember*> assignment() const;
};

struct LagRow {
  TopicPartition tp;
  int64_t current_offset = 0;
  int64_t log_end_offset = 0;
  const GroupMember* member = nullptr;  // null when no member holds the partition
};

// The consumer groups' ids the HTTP user may see, sorted.
std::vector<std::string> list_group_ids(NodeView& node, const HttpRequest& req, const metadata::MetadataImage& image);

// The group, or nullopt when it does not exist (or the user may not describe it).
std::optional<GroupInfo> describe_group(NodeView& node, const HttpRequest& req, const std::string& group_id);

// The group, or 404 "Consumer group <id> could not be found." (error_code 404).
GroupInfo require_group(NodeView& node, const HttpRequest& req, const std::string& group_id);

// Committed offsets (partitions without one are left out).
std::map<TopicPartition, int64_t> group_offsets(NodeView& node, const HttpRequest& req, const GroupInfo& group);

// Latest offsets (READ_COMMITTED) of the partitions; those that failed are left out.
std::map<TopicPartition, int64_t> end_offsets(NodeView& node, const HttpRequest& req,
                                              const metadata::MetadataImage& image,
                                              const std::vector<TopicPartition>& partitions);

// One row per partition with both offsets, sorted by topic and partition;
// 404 "Consumer group offsets could not be found." when nothing is committed.
std::vector<LagRow> group_lags(NodeView& node, const HttpRequest& req, const metadata::MetadataImage& image,
                               const GroupInfo& group);

}  // namespace flotilla::http::rest
