#include "http/console_kafka.h"

#include "common/bytes.h"
#include "protocol/messages.h"
#include "security/authorizer.h"

namespace flotilla::http {

namespace {

constexpr int16_t kDescribeQuorumVersion = 2;
constexpr int16_t kListOffsetsVersion = 4;
constexpr int16_t kListGroupsVersion = 3;
constexpr int16_t kDescribeGroupsVersion = 5;
constexpr int16_t kOffsetFetchVersion = 6;

// Whether the HTTP user may DESCRIBE the resource (checked here before a
// request goes to another broker as this node).
bool may_describe(NodeView& node, const HttpRequest& req, security::ResourceType type, const std::string& name) {
  const security::StandardAuthorizer* a = node.authorizer();
  if (!a || !req.session) return true;
  return a->authorize(req.session->principal, req.session->client_host, security::AclOperation::DESCRIBE, type, name) ==
         security::AuthorizationResult::ALLOWED;
}

template <class Resp, class Req>
std::optional<Resp> call(NodeView& node, const HttpRequest& req, const Req& r, int16_t version, int32_t target) {
  ByteWriter w;
  r.encode(w, version);
  if (target == node.node_id()) target = -1;
  KafkaReply reply = node.kafka_call(Req::kApiKey, version, std::move(w).take(), req.session, kConsoleCallTimeout, target);
  if (!reply.ok) return std::nullopt;
  try {
    Resp resp;
    ByteReader rd(reply.body);
    resp.decode(rd, version);
    return resp;
  } catch (const std::exception&) {
    return std::nullopt;
  }
}

bool live_broker(const metadata::MetadataImage& image, int32_t id) {
  const auto* b = image.broker(id);
  return b && !b->fenced;
}

}  // namespace

std::optional<RaftStatus> console_describe_quorum(NodeView& node, const HttpRequest& req,
                                                  const metadata::MetadataImage* image) {
  int32_t target = -1;
  if (!node.broker_role()) {
    if (!image || !may_describe(node, req, security::ResourceType::CLUSTER, "kafka-cluster")) return std::nullopt;
    for (const auto& [id, b] : image->brokers())
      if (!b.fenced) {
        target = id;
        break;
      }
    if (target < 0) return std::nullopt;
  }
  msg::DescribeQuorumRequest r;
  auto& t = r.topics.emplace_back();
  t.topic_name = "__cluster_metadata";
  t.partitions.emplace_back().partition_index = 0;
  auto resp = call<msg::DescribeQuorumResponse>(node, req, r, kDescribeQuorumVersion, target);
  if (!resp || resp->error_code != 0 || resp->topics.empty() || resp->topics[0].partitions.empty()) return std::nullopt;
  const auto& p = resp->topics[0].partitions[0];
  if (p.error_code != 0) return std::nullopt;
  RaftStatus s;
  s.leader_id = p.leader_id;
  s.epoch = p.leader_epoch;
  s.high_watermark = p.high_watermark;
  auto replica = [](const msg::DescribeQuorumResponse::ReplicaState& x) {
    RaftReplicaStatus o;
    o.replica_id = x.replica_id;
    if (!(x.replica_directory_id == Uuid{})) o.directory_id = x.replica_directory_id.to_string();
    o.log_end_offset = x.log_end_offset;
    o.last_fetch_timestamp = x.last_fetch_timestamp;
    o.last_caught_up_timestamp = x.last_caught_up_timestamp;
    return o;
  };
  for (const auto& v : p.current_voters) s.voters.push_back(replica(v));
  for (const auto& o : p.observers) s.observers.push_back(replica(o));
  return s;
}

std::map<TopicPartitionKey, int64_t> console_end_offsets(NodeView& node, const HttpRequest& req,
                                                         const metadata::MetadataImage& image) {
  std::map<TopicPartitionKey, int64_t> out;
  std::map<int32_t, msg::ListOffsetsRequest> by_leader;
  for (const auto& [name, t] : image.topics_by_name()) {
    bool remote_ok = may_describe(node, req, security::ResourceType::TOPIC, name);
    for (const auto& [index, p] : t.partitions) {
      if (p.leader < 0 || !live_broker(image, p.leader)) continue;
      if (p.leader != node.node_id() && !remote_ok) continue;
      auto& r = by_leader[p.leader];
      r.replica_id = -1;
      if (r.topics.empty() || r.topics.back().name != name) r.topics.emplace_back().name = name;
      auto& part = r.topics.back().partitions.emplace_back();
      part.partition_index = index;
      part.timestamp = -1;  // latest
    }
  }
  for (const auto& [leader, r] : by_leader) {
    auto resp = call<msg::ListOffsetsResponse>(node, req, r, kListOffsetsVersion, leader);
    if (!resp) continue;
    for (const auto& t : resp->topics)
      for (const auto& p : t.partitions)
        if (p.error_code == 0 && p.offset >= 0) out[{t.name, p.partition_index}] = p.offset;
  }
  return out;
}

nlohmann::ordered_json console_groups(NodeView& node, const HttpRequest& req, const metadata::MetadataImage& image,
                                      const std::map<TopicPartitionKey, int64_t>& end_offsets) {
  nlohmann::ordered_json out = nlohmann::ordered_json::array();
  if (!node.broker_role() && image.brokers().empty()) return out;
  for (const auto& [id, b] : image.brokers()) {
    if (b.fenced) continue;
    auto listed = call<msg::ListGroupsResponse>(node, req, msg::ListGroupsRequest{}, kListGroupsVersion, id);
    if (!listed || listed->error_code != 0) continue;
    for (const auto& g : listed->groups) {
      if (id != node.node_id() && !may_describe(node, req, security::ResourceType::GROUP, g.group_id)) continue;
      nlohmann::ordered_json j;
      j["groupId"] = g.group_id;
      j["state"] = g.group_state;
      j["protocolType"] = g.protocol_type;
      j["coordinator"] = id;
      j["members"] = 0;
      msg::DescribeGroupsRequest dr;
      dr.groups = {g.group_id};
      if (auto d = call<msg::DescribeGroupsResponse>(node, req, dr, kDescribeGroupsVersion, id); d && !d->groups.empty()) {
        j["state"] = d->groups[0].group_state;
        j["members"] = d->groups[0].members.size();
      }
      nlohmann::ordered_json offsets = nlohmann::ordered_json::array();
      int64_t total = 0;
      msg::OffsetFetchRequest fr;
      fr.group_id = g.group_id;
      fr.topics = std::nullopt;  // all committed offsets
      if (auto f = call<msg::OffsetFetchResponse>(node, req, fr, kOffsetFetchVersion, id)) {
        for (const auto& t : f->topics)
          for (const auto& p : t.partitions) {
            if (p.error_code != 0 || p.committed_offset < 0) continue;
            nlohmann::ordered_json o = {{"topic", t.name}, {"partition", p.partition_index}, {"committed", p.committed_offset}};
            auto e = end_offsets.find({t.name, p.partition_index});
            if (e != end_offsets.end()) {
              int64_t lag = std::max<int64_t>(0, e->second - p.committed_offset);
              o["logEndOffset"] = e->second;
              o["lag"] = lag;
              total += lag;
            } else {
              o["logEndOffset"] = nullptr;
              o["lag"] = nullptr;
            }
            offsets.push_back(std::move(o));
          }
      }
      j["offsets"] = std::move(offsets);
      j["lag"] = total;
      out.push_back(std::move(j));
    }
  }
  return out;
}

}  // namespace flotilla::http
