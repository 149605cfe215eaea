#include "tools/metadata_quorum.h"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <map>
#include <ostream>
#include <stdexcept>
#include <vector>

#include "server/config.h"
#include "storage/meta_properties.h"
#include "tools/commands.h"
#include "tools/kafka_client.h"

namespace flotilla::tools {

namespace {

using Replica = msg::DescribeQuorumResponse::ReplicaState;
using Partition = msg::DescribeQuorumResponse::PartitionData;

constexpr const char* kMetadataTopic = "__cluster_metadata";

[[noreturn]] void unknown_server_error(const std::string& what) { throw KafkaError(ErrorCode::UNKNOWN_SERVER_ERROR, what); }

// Kafka's RaftVoterEndpoint.toString: NAME://host:port, an IPv6 host in brackets.
std::string endpoint_text(const msg::DescribeQuorumResponse::Listener& l) {
  bool v6 = l.host.find(':') != std::string::npos;
  return fmt::format("{}://{}{}{}:{}", l.name, v6 ? "[" : "", l.host, v6 ? "]" : "", l.port);
}

// One replica as Kafka 3.9 prints it in CurrentVoters / CurrentObservers:
// {"id": 1, "directoryId": "..." (null when unknown), "endpoints": [...] (only when known)}.
std::string node_text(const Replica& r, const std::map<int32_t, const msg::DescribeQuorumResponse::Node*>& nodes) {
  std::string s = fmt::format("{{\"id\": {}, \"directoryId\": ", r.replica_id);
  s += r.replica_directory_id.is_zero() ? "null" : "\"" + r.replica_directory_id.to_string() + "\"";
  auto it = nodes.find(r.replica_id);
  if (it != nodes.end() && !it->second->listeners.empty()) {
    std::vector<std::string> eps;
    for (const auto& l : it->second->listeners) eps.push_back("\"" + endpoint_text(l) + "\"");
    s += fmt::format(", \"endpoints\": [{}]", fmt::join(eps, ", "));
  }
  return s + "}";
}

std::string nodes_text(const msg::DescribeQuorumResponse& resp, const std::vector<Replica>& rs) {
  std::map<int32_t, const msg::DescribeQuorumResponse::Node*> nodes;
  for (const auto& n : resp.nodes) nodes.emplace(n.node_id, &n);
  std::vector<std::string> parts;
  for (const auto& r : rs) parts.push_back(node_text(r, nodes));
  return fmt::format("[{}]", fmt::join(parts, ", "));
}

const Replica& leader_of(const Partition& p) {
  for (const auto& v : p.current_voters)
    if (v.replica_id == p.leader_id) return v;
  throw std::runtime_error(fmt::format("The leader (LeaderId {}) is not among the current voters", p.leader_id));
}

// A timestamp column: -1 when unknown; with human_readable "N ms ago", which
// Kafka refuses (an error) for a time not in (epoch, now].
std::string timestamp_text(int64_t ts, int64_t now_ms, bool human, const char* desc) {
  if (ts == -1) return "-1";
  if (!human) return std::to_string(ts);
  if (ts <= 0 || ts > now_ms)
    throw std::runtime_error(fmt::format(
        "Error while computing relative time, possible drift in system clock. Current timestamp is {}, {} timestamp is {}", now_ms,
        desc, ts));
  return fmt::format("{} ms ago", now_ms - ts);
}

}  // namespace

const Partition& quorum_partition(const msg::DescribeQuorumResponse& r) {
  if (r.error_code != 0) throw KafkaError(static_cast<ErrorCode>(r.error_code), error_text(r.error_code, r.error_message));
  if (r.topics.size() != 1)
    unknown_server_error(fmt::format("DescribeMetadataQuorum received {} topics when 1 was expected", r.topics.size()));
  const auto& t = r.topics[0];
  if (t.topic_name != kMetadataTopic)
    unknown_server_error(
        fmt::format("DescribeMetadataQuorum received a topic with name {} when {} was expected", t.topic_name, kMetadataTopic));
  if (t.partitions.size() != 1)
    unknown_server_error(fmt::format("DescribeMetadataQuorum received a topic {} with {} partitions when 1 was expected", t.topic_name,
                                     t.partitions.size()));
  const auto& p = t.partitions[0];
  if (p.partition_index != 0)
    unknown_server_error(
        fmt::format("DescribeMetadataQuorum received a single partition with index {} when 0 was expected", p.partition_index));
  if (p.error_code != 0) throw KafkaError(static_cast<ErrorCode>(p.error_code), error_text(p.error_code, p.error_message));
  return p;
}

std::string format_quorum_status(const msg::DescribeQuorumResponse& response, const std::string& cluster_id) {
  const Partition& p = quorum_partition(response);
  const Replica& leader = leader_of(p);
  // The voter with the smallest log end offset (the first of equals, as
  // Java's Stream.min), which may be the leader itself.
  const Replica* laggard = &p.current_voters.front();
  for (const auto& v : p.current_voters)
    if (v.log_end_offset < laggard->log_end_offset) laggard = &v;
  int64_t max_lag = leader.log_end_offset - laggard->log_end_offset;
  // The leader reports its own LastCaughtUpTimestamp as its current time.
  int64_t max_lag_ms = -1;
  if (laggard == &leader) {
    max_lag_ms = 0;
  } else if (leader.last_caught_up_timestamp != -1 && laggard->last_caught_up_timestamp != -1) {
    max_lag_ms = leader.last_caught_up_timestamp - laggard->last_caught_up_timestamp;
  }
  std::string out;
  auto line = [&](const char* label, const std::string& value) { out += fmt::format("{:<24}{}\n", std::string(label) + ":", value); };
  line("ClusterId", cluster_id);
  line("LeaderId", std::to_string(p.leader_id));
  line("LeaderEpoch", std::to_string(p.leader_epoch));
  line("HighWatermark", std::to_string(p.high_watermark));
  line("MaxFollowerLag", std::to_string(max_lag));
  line("MaxFollowerLagTimeMs", std::to_string(max_lag_ms));
  line("CurrentVoters", nodes_text(response, p.current_voters));
  line("CurrentObservers", nodes_text(response, p.observers));
  return out;
}

std::string pretty_print_table(const std::vector<std::string>& headers, const std::vector<std::vector<std::string>>& rows) {
  std::vector<size_t> width;
  for (const auto& h : headers) width.push_back(h.size());
  for (const auto& r : rows)
    for (size_t i = 0; i < width.size() && i < r.size(); ++i) width[i] = std::max(width[i], r[i].size());
  std::string out;
  auto print_row = [&](const std::vector<std::string>& r) {
    for (size_t i = 0; i < r.size(); ++i) {
      out += r[i];
      if (i < width.size() && r[i].size() < width[i]) out.append(width[i] - r[i].size(), ' ');
      out += '\t';
    }
    out += '\n';
  };
  print_row(headers);
  for (const auto& r : rows) print_row(r);
  return out;
}

std::string format_quorum_replication(const msg::DescribeQuorumResponse& response, int64_t now_ms, bool human_readable) {
  const Partition& p = quorum_partition(response);
  const Replica& leader = leader_of(p);
  std::vector<std::vector<std::string>> rows;
  auto add = [&](const Replica& r, const char* status) {
    rows.push_back({std::to_string(r.replica_id), r.replica_directory_id.to_string(), std::to_string(r.log_end_offset),
                    std::to_string(leader.log_end_offset - r.log_end_offset),
                    timestamp_text(r.last_fetch_timestamp, now_ms, human_readable, "last fetch"),
                    timestamp_text(r.last_caught_up_timestamp, now_ms, human_readable, "last caught up"), status});
  };
  add(leader, "Leader");
  for (const auto& v : p.current_voters)
    if (v.replica_id != p.leader_id) add(v, "Follower");
  for (const auto& o : p.observers) add(o, "Observer");
  return pretty_print_table({"NodeId", "DirectoryId", "LogEndOffset", "Lag", "LastFetchTimestamp", "LastCaughtUpTimestamp", "Status"},
                            rows);
}

namespace {

// The active controller, found through any controller (DescribeCluster, KIP-919).
std::unique_ptr<Connection> connect_active_controller(const std::string& bootstrap) {
  std::string last_error = "no bootstrap address";
  size_t pos = 0;
  while (pos <= bootstrap.size()) {
    size_t comma = bootstrap.find(',', pos);
    std::string addr = bootstrap.substr(pos, comma == std::string::npos ? std::string::npos : comma - pos);
    pos = comma == std::string::npos ? bootstrap.size() + 1 : comma + 1;
    try {
      auto [host, port] = parse_host_port(addr);
      auto c = std::make_unique<Connection>(host, port, "flotilla-metadata-quorum", 10000);
      msg::DescribeClusterRequest dc;
      int16_t v = c->version_for(msg::DescribeClusterRequest::kApiKey);
      if (v >= 1) dc.endpoint_type = 2;
      auto [cr, cf] = c->call(dc, v);
      for (const auto& b : cr.brokers)
        if (b.broker_id == cr.controller_id) return std::make_unique<Connection>(b.host, b.port, "flotilla-metadata-quorum", 60000);
      last_error = "no active controller known to " + addr;
    } catch (const NetworkError& e) {
      last_error = e.what();
    }
  }
  throw NetworkError("could not reach the active controller through " + bootstrap + ": " + last_error);
}

int change_voters(const MetadataQuorumOptions& o, std::ostream& out, std::ostream& err) {
  if (!o.bootstrap_controller) {
    err << "add-controller and remove-controller need --bootstrap-controller\n";
    return 1;
  }
  auto c = connect_active_controller(*o.bootstrap_controller);
  if (o.add_controller) {
    if (!o.command_config) {
      err << "add-controller needs --command-config: the new controller's server.properties\n";
      return 1;
    }
    auto config = server::KafkaConfig::from_properties(server::load_properties_file(*o.command_config));
    auto mp = storage::read_meta_properties(std::filesystem::path(config.metadata_log_dir) / "meta.properties");
    msg::AddRaftVoterRequest req;
    req.cluster_id = mp.cluster_id;
    req.timeout_ms = 30000;
    req.voter_id = config.node_id;
    req.voter_directory_id = Uuid::parse(mp.directory_id).value_or(Uuid{});
    for (const auto& ep : config.listeners) {
      if (!config.is_controller_listener(ep.listener)) continue;
      server::Endpoint adv = config.advertised(ep.listener);
      msg::AddRaftVoterRequest::Listener l;
      l.name = ep.listener;
      l.host = adv.host.empty() ? "localhost" : adv.host;
      l.port = static_cast<uint16_t>(adv.port);
      req.listeners.push_back(l);
    }
    auto [resp, f] = c->call(req, c->version_for(msg::AddRaftVoterRequest::kApiKey));
    if (resp.error_code != 0) throw KafkaError(static_cast<ErrorCode>(resp.error_code), error_text(resp.error_code, resp.error_message));
    out << "Added controller " << config.node_id << " with directory id " << mp.directory_id << " and endpoints: ";
    for (size_t i = 0; i < req.listeners.size(); ++i)
      out << (i ? ", " : "") << req.listeners[i].name << "://" << req.listeners[i].host << ":" << req.listeners[i].port;
    out << "\n";
    return 0;
  }
  msg::RemoveRaftVoterRequest req;
  req.voter_id = o.controller_id;
  auto dir = Uuid::parse(o.controller_directory_id);
  if (!dir) {
    err << "Invalid --controller-directory-id " << o.controller_directory_id << "\n";
    return 1;
  }
  req.voter_directory_id = *dir;
  auto [resp, f] = c->call(req, c->version_for(msg::RemoveRaftVoterRequest::kApiKey));
  if (resp.error_code != 0) throw KafkaError(static_cast<ErrorCode>(resp.error_code), error_text(resp.error_code, resp.error_message));
  out << "Removed controller " << o.controller_id << " with directory id " << o.controller_directory_id << "\n";
  return 0;
}

}  // namespace

namespace {

// The cluster id for --status, from the endpoint that answered DescribeQuorum:
// DescribeCluster if it supports it, else Metadata (v2..v12 carry the cluster
// id); empty if neither answers.
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

// Sends DescribeQuorum on c. A controller that is not the leader answers
// NOT_LEADER_OR_FOLLOWER: then ask it for the active controller
// (DescribeCluster, KIP-919) and describe there, as Kafka's admin client does;
// c is replaced by the connection that answered.
msg::DescribeQuorumResponse describe_quorum(std::unique_ptr<Connection>& c, bool controller) {
  auto req = describe_quorum_request();
  auto [resp, frame] = c->call(req, c->version_for(msg::DescribeQuorumRequest::kApiKey));
  if (controller && partition_error(resp) == code(ErrorCode::NOT_LEADER_OR_FOLLOWER) &&
      c->supports(msg::DescribeClusterRequest::kApiKey)) {
    msg::DescribeClusterRequest dc;
    int16_t v = c->version_for(msg::DescribeClusterRequest::kApiKey);
    if (v >= 1) dc.endpoint_type = 2;
    auto [cr, cf] = c->call(dc, v);
    for (const auto& b : cr.brokers) {
      if (b.broker_id != cr.controller_id) continue;
      auto active = std::make_unique<Connection>(b.host, b.port, "flotilla-metadata-quorum", 10000);
      auto [resp2, frame2] = active->call(req, active->version_for(msg::DescribeQuorumRequest::kApiKey));
      c = std::move(active);
      return resp2;
    }
  }
  return resp;
}

}  // namespace

int run_metadata_quorum(const MetadataQuorumOptions& o, std::ostream& out, std::ostream& err) {
  if (!o.bootstrap_server == !o.bootstrap_controller) {
    err << "Exactly one of --bootstrap-server or --bootstrap-controller must be given\n";
    return 1;
  }
  if (o.command_config && !std::filesystem::exists(*o.command_config)) {
    err << "Properties file " << *o.command_config << " does not exist.\n";
    return 1;
  }
  if (o.add_controller || o.remove_controller) {
    try {
      return change_voters(o, out, err);
    } catch (const KafkaError& e) {
      err << "Error: " << error_name(e.code()) << ": " << e.what() << "\n";
    } catch (const std::exception& e) {
      err << "Error: " << e.what() << "\n";
    }
    return 1;
  }
  // Kafka's checks and messages.
  if (o.status && o.replication) {
    err << "Only one of --status or --replication should be specified with describe sub-command\n";
    return 1;
  }
  if (!o.status && !o.replication) {
    err << "One of --status or --replication must be specified with describe sub-command\n";
    return 1;
  }
  if (o.status && o.human_readable) {
    err << "The option --human-readable is only supported along with --replication\n";
    return 1;
  }
  bool controller = o.bootstrap_controller.has_value();
  const std::string& bootstrap = controller ? *o.bootstrap_controller : *o.bootstrap_server;
  try {
    // The comma-separated addresses in order; the first that answers is used.
    std::string last_error = "no bootstrap address";
    size_t pos = 0;
    while (pos <= bootstrap.size()) {
      size_t comma = bootstrap.find(',', pos);
      std::string addr = bootstrap.substr(pos, comma == std::string::npos ? std::string::npos : comma - pos);
      pos = comma == std::string::npos ? bootstrap.size() + 1 : comma + 1;
      if (addr.empty()) continue;
      auto [host, port] = parse_host_port(addr);
      std::unique_ptr<Connection> c;
      msg::DescribeQuorumResponse resp;
      try {
        c = std::make_unique<Connection>(host, port, "flotilla-metadata-quorum", 10000);
        resp = describe_quorum(c, controller);
      } catch (const NetworkError& e) {
        last_error = e.what();
        continue;
      }
      quorum_partition(resp);  // throws the response's error
      if (o.status) {
        out << format_quorum_status(resp, fetch_cluster_id(*c, controller));
      } else {
        int64_t now = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch()).count();
        out << format_quorum_replication(resp, now, o.human_readable);
      }
      return 0;
    }
    err << "Error: could not connect to " << bootstrap << ": " << last_error << "\n";
    return 1;
  } catch (const KafkaError& e) {
    err << "Error: " << error_name(e.code()) << ": " << e.what() << "\n";
  } catch (const std::exception& e) {
    err << "Error: " << e.what() << "\n";
  }
  return 1;
}

}  // namespace flotilla::tools
