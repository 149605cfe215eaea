#include "client/quorum.h"

#include <algorithm>

namespace flotilla::client {

std::optional<BrokerInfo> active_controller(Connection& c) {
  msg::DescribeClusterRequest dc;
  int16_t v = c.version_for(msg::DescribeClusterRequest::kApiKey);
  if (v >= 1) dc.endpoint_type = 2;  // controllers
  auto [cr, cf] = c.call(dc, v);
  for (const auto& b : cr.brokers)
    if (b.broker_id == cr.controller_id) return BrokerInfo{b.broker_id, b.host, b.port, b.rack};
  return std::nullopt;
}

std::unique_ptr<Connection> connect_active_controller(const std::string& bootstrap, const std::string& client_id) {
  std::string last_error = "no bootstrap address";
  for (const auto& addr : split_list(bootstrap)) {
    try {
      auto [host, port] = parse_host_port(addr);
      auto c = std::make_unique<Connection>(host, port, client_id, 10000);
      if (auto b = active_controller(*c)) return std::make_unique<Connection>(b->host, b->port, client_id, 60000);
      last_error = "no active controller known to " + addr;
    } catch (const NetworkError& e) {
      last_error = e.what();
    }
  }
  throw NetworkError("could not reach the active controller through " + bootstrap + ": " + last_error);
}

namespace {

msg::DescribeQuorumRequest describe_quorum_request() {
  msg::DescribeQuorumRequest req;
  msg::DescribeQuorumRequest::TopicData t;
  t.topic_name = kMetadataTopic;
  msg::DescribeQuorumRequest::PartitionData pd;
  pd.partition_index = 0;
  t.partitions.push_back(pd);
  req.topics.push_back(t);
  return req;
}

// The partition error of a response, if it is well-formed enough to have one.
int16_t partition_error(const msg::DescribeQuorumResponse& r) {
  if (r.error_code != 0 || r.topics.size() != 1 || r.topics[0].partitions.size() != 1) return 0;
  return r.topics[0].partitions[0].error_code;
}

}  // namespace

msg::DescribeQuorumResponse describe_quorum(std::unique_ptr<Connection>& c, bool controller, const std::string& client_id) {
  auto req = describe_quorum_request();
  auto [resp, frame] = c->call(req, c->version_for(msg::DescribeQuorumRequest::kApiKey));
  if (controller && partition_error(resp) == code(ErrorCode::NOT_LEADER_OR_FOLLOWER) &&
      c->supports(msg::DescribeClusterRequest::kApiKey)) {
    if (auto b = active_controller(*c)) {
      auto active = std::make_unique<Connection>(b->host, b->port, client_id, 10000);
      auto [resp2, frame2] = active->call(req, active->version_for(msg::DescribeQuorumRequest::kApiKey));
      c = std::move(active);
      return resp2;
    }
  }
  return resp;
}

std::string fetch_cluster_id(Connection& c, bool controller) {
  try {
    if (c.supports(msg::DescribeClusterRequest::kApiKey)) {
      msg::DescribeClusterRequest dc;
      int16_t v = c.version_for(msg::DescribeClusterRequest::kApiKey);
      if (v >= 1) dc.endpoint_type = controller ? 2 : 1;
      auto [cr, cf] = c.call(dc, v);
      if (cr.error_code == 0) return cr.cluster_id;
    }
  } catch (const KafkaError&) {
  } catch (const DecodeError&) {
  } catch (const NetworkError&) {
  }
  try {
    if (c.supports(msg::MetadataRequest::kApiKey)) {
      int16_t v = std::min<int16_t>(c.version_for(msg::MetadataRequest::kApiKey), 12);
      if (v >= 2) {
        msg::MetadataRequest req;
        req.topics = std::vector<msg::MetadataRequest::MetadataRequestTopic>{};  // no topics: the cluster only
        req.allow_auto_topic_creation = false;
        auto [mr, mf] = c.call(req, v);
        return mr.cluster_id.value_or("");
      }
    }
  } catch (const KafkaError&) {
  } catch (const DecodeError&) {
  } catch (const NetworkError&) {
  }
  return "";
}

msg::AddRaftVoterResponse add_raft_voter(Connection& c, const std::string& cluster_id, int32_t voter_id, const Uuid& directory_id,
                                         const std::vector<VoterEndpoint>& listeners, int32_t timeout_ms) {
  msg::AddRaftVoterRequest req;
  req.cluster_id = cluster_id;
  req.timeout_ms = timeout_ms;
  req.voter_id = voter_id;
  req.voter_directory_id = directory_id;
  for (const auto& ep : listeners) {
    msg::AddRaftVoterRequest::Listener l;
    l.name = ep.name;
    l.host = ep.host;
    l.port = ep.port;
    req.listeners.push_back(l);
  }
  return c.call(req, c.version_for(msg::AddRaftVoterRequest::kApiKey)).first;
}

msg::RemoveRaftVoterResponse remove_raft_voter(Connection& c, int32_t voter_id, const Uuid& directory_id) {
  msg::RemoveRaftVoterRequest req;
  req.voter_id = voter_id;
  req.voter_directory_id = directory_id;
  return c.call(req, c.version_for(msg::RemoveRaftVoterRequest::kApiKey)).first;
}

}  // namespace flotilla::client
