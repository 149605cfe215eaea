// See rest_groups_model.h.
#include "http/rest_groups_model.h"

#include <algorithm>
#include <cctype>
#include <chrono>
#include <set>
#include <thread>

#include "common/error.h"
#include "coordinator/group_log.h"
#include "http/rest_groups_calls.h"
#include "protocol/messages.h"

namespace flotilla::http::rest {

namespace {

using security::AclOperation;
using security::ResourceType;

constexpr int16_t kListGroupsVersion = 5;
constexpr std::string_view kOffsetsTopic = "__consumer_offsets";
constexpr int16_t kDescribeGroupsVersion = 5;  // v6 answers GROUP_ID_NOT_FOUND for Dead groups; v5 says Dead
constexpr int16_t kConsumerGroupDescribeVersion = 1;
constexpr int16_t kOffsetFetchVersion = 7;
constexpr int16_t kListOffsetsVersion = 7;
constexpr auto kRetryFor = std::chrono::seconds(5);
constexpr auto kRetryPause = std::chrono::milliseconds(100);

bool retriable(int16_t code) {
  auto e = ec(code);
  return e == ErrorCode::COORDINATOR_NOT_AVAILABLE || e == ErrorCode::COORDINATOR_LOAD_IN_PROGRESS ||
         e == ErrorCode::NOT_COORDINATOR;
}

// Runs `attempt` (returns false to try again) until it succeeds or kRetryFor
// passes, as the Admin client retries a coordinator that moves or loads.
template <class F>
void with_retries(F&& attempt) {
  auto deadline = std::chrono::steady_clock::now() + kRetryFor;
  while (!attempt()) {
    if (std::chrono::steady_clock::now() >= deadline)
      fail(500, kKafkaRetriableCode, "The group coordinator is not available.");
    std::this_thread::sleep_for(kRetryPause);
  }
}

// "PreparingRebalance" -> "PREPARING_REBALANCE"; Kafka's GroupState names
// kafka-rest knows, anything else UNKNOWN.
std::string rest_state(const std::string& kafka_state) {
  std::string out;
  for (size_t i = 0; i < kafka_state.size(); ++i) {
    char c = kafka_state[i];
    if (i > 0 && std::isupper(static_cast<unsigned char>(c))) out += '_';
    out += static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  }
  static const std::set<std::string> kKnown{
      "PREPARING_REBALANCE", "COMPLETING_REBALANCE", "ASSIGNING", "RECONCILING", "STABLE", "DEAD", "EMPTY"};
  return kKnown.count(out) ? out : "UNKNOWN";
}

// A ConsumerProtocolAssignment (int16 version, then the struct; newer
// versions only add fields at the end). Garbage decodes to nothing.
std::vector<TopicPartition> decode_assignment(const std::vector<uint8_t>& bytes) {
  std::vector<TopicPartition> out;
  if (bytes.size() < 2) return out;
  try {
    ByteReader r(bytes);
    int16_t v = r.get_i16();
    if (v < 0) return out;
    msg::ConsumerProtocolAssignment a;
    a.decode(r, std::min<int16_t>(v, msg::ConsumerProtocolAssignment::kMaxVersion));
    for (const auto& tp : a.assigned_partitions)
      for (int32_t p : tp.partitions) out.emplace_back(tp.topic, p);
  } catch (const std::exception&) {
    out.clear();
  }
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

void sort_members(GroupInfo& g) {
  std::sort(g.members.begin(), g.members.end(),
            [](const GroupMember& a, const GroupMember& b) { return a.consumer_id < b.consumer_id; });
}

// The group's coordinator: the leader of its __consumer_offsets partition
// (Kafka's Utils.abs(groupId.hashCode()) % partitions), as FindCoordinator
// answers, read from the image (FindCoordinator itself answers with the
// endpoint of the listener asked, which the HTTP listener is not). Nullopt
// when the user may not DESCRIBE the group (FindCoordinator's check) or no
// group can exist yet (no __consumer_offsets).
std::optional<int32_t> find_coordinator(NodeView& node, const HttpRequest& req, const std::string& group_id) {
  if (!authorized(node, req, AclOperation::DESCRIBE, ResourceType::GROUP, group_id)) return std::nullopt;
  std::optional<int32_t> coordinator;
  bool none = false;
  with_retries([&] {
    auto image = node.image();
    const auto* t = image ? image->topic(std::string(kOffsetsTopic)) : nullptr;
    if (!t || t->partitions.empty()) return none = true;
    auto it = t->partitions.find(coordinator::group_partition(group_id, static_cast<int32_t>(t->partitions.size())));
    if (it == t->partitions.end() || it->second.leader < 0) return false;  // electing a leader
    coordinator = it->second.leader;
    return true;
  });
  if (none) return std::nullopt;
  return coordinator;
}

std::optional<GroupInfo> describe_classic(NodeView& node, const HttpRequest& req, const std::string& group_id,
                                          int32_t coordinator, bool& try_consumer) {
  msg::DescribeGroupsRequest dg;
  dg.groups = {group_id};
  std::optional<GroupInfo> out;
  with_retries([&] {
    auto resp =
        kafka_call<msg::DescribeGroupsResponse>(node, req, dg, kDescribeGroupsVersion, kKafkaCallTimeout, coordinator);
    if (resp.groups.empty()) fail(500, kKafkaErrorCode, "DescribeGroups answered no group");
    const auto& d = resp.groups.front();
    if (retriable(d.error_code)) return false;
    if (d.error_code == code(ErrorCode::GROUP_AUTHORIZATION_FAILED)) return true;
    if (d.error_code == code(ErrorCode::GROUP_ID_NOT_FOUND) || (d.error_code == 0 && d.group_state == "Dead")) {
      try_consumer = true;
      return true;
    }
    check_kafka(d.error_code, d.error_message);
    GroupInfo g;
    g.group_id = group_id;
    g.is_simple = d.protocol_type.empty();
    g.partition_assignor = d.protocol_data;
    g.state = rest_state(d.group_state);
    g.type = "CLASSIC";
    g.coordinator = coordinator;
    for (const auto& m : d.members) {
      GroupMember gm;
      gm.consumer_id = m.member_id;
      gm.instance_id = m.group_instance_id;
      gm.client_id = m.client_id;
      if (d.protocol_type == "consumer") gm.assignments = decode_assignment(m.member_assignment);
      g.members.push_back(std::move(gm));
    }
    sort_members(g);
    out = std::move(g);
    return true;
  });
  return out;
}

std::optional<GroupInfo> describe_consumer(NodeView& node, const HttpRequest& req, const std::string& group_id,
                                           int32_t coordinator) {
  msg::ConsumerGroupDescribeRequest cd;
  cd.group_ids = {group_id};
  std::optional<GroupInfo> out;
  with_retries([&] {
    auto resp = kafka_call<msg::ConsumerGroupDescribeResponse>(node, req, cd, kConsumerGroupDescribeVersion,
                                                               kKafkaCallTimeout, coordinator);
    if (resp.groups.empty()) fail(500, kKafkaErrorCode, "ConsumerGroupDescribe answered no group");
    const auto& d = resp.groups.front();
    if (retriable(d.error_code)) return false;
    if (d.error_code == code(ErrorCode::GROUP_AUTHORIZATION_FAILED) ||
        d.error_code == code(ErrorCode::GROUP_ID_NOT_FOUND) || d.group_state == "Dead")
      return true;
    check_kafka(d.error_code, d.error_message);
    GroupInfo g;
    g.group_id = group_id;
    g.partition_assignor = d.assignor_name;
    g.state = rest_state(d.group_state);
    g.type = "CONSUMER";
    g.coordinator = coordinator;
    for (const auto& m : d.members) {
      GroupMember gm;
      gm.consumer_id = m.member_id;
      gm.instance_id = m.instance_id;
      gm.client_id = m.client_id;
      gm.classic_member = m.member_type == 0;
      for (const auto& tp : m.assignment.topic_partitions)
        for (int32_t p : tp.partitions) gm.assignments.emplace_back(tp.topic_name, p);
      std::sort(gm.assignments.begin(), gm.assignments.end());
      if (gm.classic_member) g.is_mixed = true;
      g.members.push_back(std::move(gm));
    }
    sort_members(g);
    out = std::move(g);
    return true;
  });
  return out;
}

}  // namespace

const GroupMember* GroupInfo::member(const std::string& consumer_id) const {
  for (const auto& m : members)
    if (m.consumer_id == consumer_id) return &m;
  return nullptr;
}

std::map<TopicPartition, const GroupMember*> GroupInfo::assignment() const {
  std::map<TopicPartition, const GroupMember*> out;
  for (const auto& m : members)
    for (const auto& tp : m.assignments) out.emplace(tp, &m);
  return out;
}

std::vector<std::string> list_group_ids(NodeView& node, const HttpRequest& req, const metadata::MetadataImage& image) {
  std::set<std::string> ids;
  const bool cluster_describe = authorized(node, req, AclOperation::DESCRIBE, ResourceType::CLUSTER, "kafka-cluster");
  for (const auto& [id, broker] : image.brokers()) {
    if (broker.fenced) continue;
    msg::ListGroupsResponse resp;
    try {
      resp = kafka_call<msg::ListGroupsResponse>(node, req, msg::ListGroupsRequest{}, kListGroupsVersion,
                                                 kKafkaCallTimeout, id);
    } catch (const RestError&) {
      continue;  // as the Admin client's listConsumerGroups().valid(): what the other brokers know
    }
    if (resp.error_code != 0) continue;
    for (const auto& g : resp.groups) {
      if (g.protocol_type != "consumer" && !g.protocol_type.empty()) continue;
      // Kafka's ListGroups shows a group to DESCRIBE on the cluster or on the group.
      if (remote(node, id) && !cluster_describe &&
          !authorized(node, req, AclOperation::DESCRIBE, ResourceType::GROUP, g.group_id))
        continue;
      ids.insert(g.group_id);
    }
  }
  return {ids.begin(), ids.end()};
}

std::optional<GroupInfo> describe_group(NodeView& node, const HttpRequest& req, const std::string& group_id) {
  auto coordinator = find_coordinator(node, req, group_id);
  if (!coordinator) return std::nullopt;
  if (remote(node, *coordinator) && !authorized(node, req, AclOperation::DESCRIBE, ResourceType::GROUP, group_id))
    return std::nullopt;
  bool try_consumer = false;
  auto classic = describe_classic(node, req, group_id, *coordinator, try_consumer);
  if (classic || !try_consumer) return classic;
  return describe_consumer(node, req, group_id, *coordinator);
}

GroupInfo require_group(NodeView& node, const HttpRequest& req, const std::string& group_id) {
  auto g = describe_group(node, req, group_id);
  if (!g) fail(404, kNotFoundCode, "Consumer group " + group_id + " could not be found.");
  return std::move(*g);
}

std::map<TopicPartition, int64_t> group_offsets(NodeView& node, const HttpRequest& req, const GroupInfo& group) {
  msg::OffsetFetchRequest of;
  of.group_id = group.group_id;
  of.topics = std::nullopt;  // every committed partition
  std::map<TopicPartition, int64_t> out;
  const bool is_remote = remote(node, group.coordinator);
  if (is_remote)
    authorize_or_fail(node, req, AclOperation::DESCRIBE, ResourceType::GROUP, group.group_id,
                      code(ErrorCode::GROUP_AUTHORIZATION_FAILED));
  with_retries([&] {
    auto resp =
        kafka_call<msg::OffsetFetchResponse>(node, req, of, kOffsetFetchVersion, kKafkaCallTimeout, group.coordinator);
    if (retriable(resp.error_code)) return false;
    check_kafka(resp.error_code);
    for (const auto& t : resp.topics) {
      // Kafka leaves out the topics the caller may not DESCRIBE; so do we for another broker's answer.
      if (is_remote && !may_describe_topic(node, req, t.name)) continue;
      for (const auto& p : t.partitions)
        if (p.error_code == 0 && p.committed_offset >= 0) out[{t.name, p.partition_index}] = p.committed_offset;
    }
    return true;
  });
  return out;
}

std::map<TopicPartition, int64_t> end_offsets(NodeView& node, const HttpRequest& req,
                                              const metadata::MetadataImage& image,
                                              const std::vector<TopicPartition>& partitions) {
  // leader -> topic -> partitions
  std::map<int32_t, std::map<std::string, std::vector<int32_t>>> by_leader;
  for (const auto& [topic, p] : partitions) {
    const auto* t = image.topic(topic);
    if (!t) continue;
    auto it = t->partitions.find(p);
    if (it == t->partitions.end() || it->second.leader < 0) continue;
    by_leader[it->second.leader][topic].push_back(p);
  }
  std::map<TopicPartition, int64_t> out;
  for (const auto& [leader, topics] : by_leader) {
    msg::ListOffsetsRequest lo;
    lo.replica_id = -1;
    lo.isolation_level = 1;  // READ_COMMITTED, as kafka-rest's lag managers
    for (const auto& [topic, ps] : topics) {
      if (remote(node, leader) && !may_describe_topic(node, req, topic)) continue;
      msg::ListOffsetsRequest::ListOffsetsTopic lt;
      lt.name = topic;
      for (int32_t p : ps) {
        msg::ListOffsetsRequest::ListOffsetsPartition lp;
        lp.partition_index = p;
        lp.timestamp = -1;  // latest
        lt.partitions.push_back(lp);
      }
      lo.topics.push_back(std::move(lt));
    }
    if (lo.topics.empty()) continue;
    msg::ListOffsetsResponse resp;
    try {
      resp = kafka_call<msg::ListOffsetsResponse>(node, req, lo, kListOffsetsVersion, kKafkaCallTimeout, leader);
    } catch (const RestError&) {
      continue;  // that leader's partitions have no end offset this time
    }
    for (const auto& t : resp.topics)
      for (const auto& p : t.partitions)
        if (p.error_code == 0 && p.offset >= 0) out[{t.name, p.partition_index}] = p.offset;
  }
  return out;
}

std::vector<LagRow> group_lags(NodeView& node, const HttpRequest& req, const metadata::MetadataImage& image,
                               const GroupInfo& group) {
  auto committed = group_offsets(node, req, group);
  if (committed.empty()) fail(404, kNotFoundCode, "Consumer group offsets could not be found.");
  std::vector<TopicPartition> tps;
  for (const auto& [tp, _] : committed) tps.push_back(tp);
  auto ends = end_offsets(node, req, image, tps);
  auto assigned = group.assignment();
  std::vector<LagRow> rows;
  for (const auto& [tp, offset] : committed) {
    auto e = ends.find(tp);
    if (e == ends.end()) continue;
    LagRow row;
    row.tp = tp;
    row.current_offset = offset;
    row.log_end_offset = e->second;
    auto a = assigned.find(tp);
    row.member = a == assigned.end() ? nullptr : a->second;
    rows.push_back(row);
  }
  return rows;
}

}  // namespace flotilla::http::rest
