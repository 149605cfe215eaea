#include "tools/metadata_quorum.h"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <ostream>
#include <vector>

#include "tools/commands.h"
#include "tools/kafka_client.h"
#include "server/config.h"
#include "storage/meta_properties.h"

namespace flotilla::tools {

namespace {

using Replica = msg::DescribeQuorumResponse::ReplicaState;
using Partition = msg::DescribeQuorumResponse::PartitionData;

const Partition* metadata_partition(const msg::DescribeQuorumResponse& r) {
  for (const auto& t : r.topics)
    for (const auto& p : t.partitions)
      if (t.topic_name == "__cluster_metadata" && p.partition_index == 0) return &p;
  return nullptr;
}

const Replica* leader_of(const Partition& p) {
  for (const auto& v : p.current_voters)
    if (v.replica_id == p.leader_id) return &v;
  return nullptr;
}

std::string ids(const std::vector<Replica>& rs) {
  std::vector<int32_t> v;
  for (const auto& r : rs) v.push_back(r.replica_id);
  return fmt::format("[{}]", fmt::join(v, ","));
}

// Kafka 3.9 prints nodes with their directory ids once the quorum has them
// (kraft.version 1); a static quorum has none: plain ids then.
std::string nodes(const msg::DescribeQuorumResponse& resp, const std::vector<Replica>& rs) {
  bool any_dir = std::any_of(rs.begin(), rs.end(), [](const Replica& r) { return !r.replica_directory_id.is_zero(); });
  if (!any_dir) return ids(rs);
  std::vector<std::string> parts;
  for (const auto& r : rs) {
    std::vector<std::string> eps;
    for (const auto& n : resp.nodes)
      if (n.node_id == r.replica_id)
        for (const auto& l : n.listeners) eps.push_back(fmt::format("\"{}://{}:{}\"", l.name, l.host, l.port));
    if (eps.empty()) {
      parts.push_back(fmt::format("{{\"id\": {}, \"directoryId\": \"{}\"}}", r.replica_id, r.replica_directory_id.to_string()));
    } else {
      parts.push_back(fmt::format("{{\"id\": {}, \"directoryId\": \"{}\", \"endpoints\": [{}]}}", r.replica_id,
                                  r.replica_directory_id.to_string(), fmt::join(eps, ", ")));
    }
  }
  return fmt::format("[{}]", fmt::join(parts, ", "));
}

std::string timestamp(int64_t ts, int64_t now_ms, bool human) {
  if (ts < 0) return "-1";
  if (!human) return std::to_string(ts);
  return fmt::format("{} ms ago", std::max<int64_t>(0, now_ms - ts));
}

}  // namespace

std::string format_quorum_status(const msg::DescribeQuorumResponse& response, const std::string& cluster_id) {
  const Partition* p = metadata_partition(response);
  if (!p) return "";
  const Replica* leader = leader_of(*p);
  int64_t leader_end = leader ? leader->log_end_offset : -1;
  // The follower furthest behind (the leader itself if nobody is).
  const Replica* laggard = leader;
  for (const auto& v : p->current_voters)
    if (!laggard || v.log_end_offset < laggard->log_end_offset) laggard = &v;
  int64_t max_lag = laggard && leader ? leader_end - laggard->log_end_offset : 0;
  int64_t max_lag_ms = -1;
  if (laggard == leader) {
    max_lag_ms = 0;
  } else if (leader && laggard && leader->last_caught_up_timestamp >= 0 && laggard->last_caught_up_timestamp >= 0) {
    max_lag_ms = leader->last_caught_up_timestamp - laggard->last_caught_up_timestamp;
  }
  std::string out;
  auto line = [&](const char* label, const std::string& value) { out += fmt::format("{:<24}{}\n", std::string(label) + ":", value); };
  line("ClusterId", cluster_id);
  line("LeaderId", std::to_string(p->leader_id));
  line("LeaderEpoch", std::to_string(p->leader_epoch));
  line("HighWatermark", std::to_string(p->high_watermark));
  line("MaxFollowerLag", std::to_string(max_lag));
  line("MaxFollowerLagTimeMs", std::to_string(max_lag_ms));
  line("CurrentVoters", nodes(response, p->current_voters));
  line("CurrentObservers", nodes(response, p->observers));
  return out;
}

std::string format_quorum_replication(const msg::DescribeQuorumResponse& response, int64_t now_ms, bool human_readable) {
  const Partition* p = metadata_partition(response);
  if (!p) return "";
  const Replica* leader = leader_of(*p);
  int64_t leader_end = leader ? leader->log_end_offset : 0;
  std::vector<std::vector<std::string>> rows;
  rows.push_back({"NodeId", "DirectoryId", "LogEndOffset", "Lag", "LastFetchTimestamp", "LastCaughtUpTimestamp", "Status"});
  auto add = [&](const Replica& r, const char* status) {
    rows.push_back({std::to_string(r.replica_id), r.replica_directory_id.to_string(), std::to_string(r.log_end_offset),
                    std::to_string(std::max<int64_t>(0, leader_end - r.log_end_offset)),
                    timestamp(r.last_fetch_timestamp, now_ms, human_readable),
                    timestamp(r.last_caught_up_timestamp, now_ms, human_readable), status});
  };
  if (leader) add(*leader, "Leader");
  for (const auto& v : p->current_voters)
    if (&v != leader) add(v, "Follower");
  for (const auto& o : p->observers) add(o, "Observer");
  // Left-aligned columns padded to their widest cell, tab-separated.
  std::vector<size_t> width(rows[0].size(), 0);
  for (const auto& r : rows)
    for (size_t i = 0; i < r.size(); ++i) width[i] = std::max(width[i], r[i].size());
  std::string out;
  for (const auto& r : rows) {
    std::string line;
    for (size_t i = 0; i < r.size(); ++i) {
      if (i) line += '\t';
      line += fmt::format("{:<{}}", r[i], width[i]);
    }
    while (!line.empty() && line.back() == ' ') line.pop_back();
    out += line + "\n";
  }
  return out;
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

int run_metadata_quorum(const MetadataQuorumOptions& o, std::ostream& out, std::ostream& err) {
  if (!o.bootstrap_server == !o.bootstrap_controller) {
    err << "Exactly one of --bootstrap-server or --bootstrap-controller must be given\n";
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
  if (o.status == o.replication) {
    err << "Exactly one of --status or --replication must be given\n";
    return 1;
  }
  const std::string& bootstrap = o.bootstrap_server ? *o.bootstrap_server : *o.bootstrap_controller;
  try {
    std::string last_error = "no bootstrap address";
    // Any of the comma-separated addresses; the first that answers is used.
    size_t pos = 0;
    while (pos <= bootstrap.size()) {
      size_t comma = bootstrap.find(',', pos);
      std::string addr = bootstrap.substr(pos, comma == std::string::npos ? std::string::npos : comma - pos);
      pos = comma == std::string::npos ? bootstrap.size() + 1 : comma + 1;
      std::unique_ptr<Connection> c;
      try {
        auto [host, port] = parse_host_port(addr);
        c = std::make_unique<Connection>(host, port, "flotilla-metadata-quorum", 10000);
      } catch (const NetworkError& e) {
        last_error = e.what();
        continue;
      }
      msg::DescribeQuorumRequest req;
      msg::DescribeQuorumRequest::TopicData t;
      t.topic_name = "__cluster_metadata";
      msg::DescribeQuorumRequest::PartitionData pd;
      pd.partition_index = 0;
      t.partitions.push_back(pd);
      req.topics.push_back(t);
      auto [resp, frame] = c->call(req, c->version_for(msg::DescribeQuorumRequest::kApiKey));
      if (resp.error_code != 0) throw KafkaError(static_cast<ErrorCode>(resp.error_code), error_text(resp.error_code, resp.error_message));
      const Partition* p = metadata_partition(resp);
      if (!p) throw KafkaError(ErrorCode::UNKNOWN_TOPIC_OR_PARTITION, "no __cluster_metadata-0 in the response");
      // Only the leader describes the quorum: a controller that is not the
      // leader says so; ask it for the controllers (DescribeCluster, KIP-919)
      // and go to the active one, as Kafka's admin client does.
      if (p->error_code == static_cast<int16_t>(ErrorCode::NOT_LEADER_OR_FOLLOWER) && o.bootstrap_controller &&
          c->supports(msg::DescribeClusterRequest::kApiKey)) {
        msg::DescribeClusterRequest dc;
        int16_t v = c->version_for(msg::DescribeClusterRequest::kApiKey);
        if (v >= 1) dc.endpoint_type = 2;
        auto [cr, cf] = c->call(dc, v);
        for (const auto& b : cr.brokers) {
          if (b.broker_id != cr.controller_id) continue;
          c = std::make_unique<Connection>(b.host, b.port, "flotilla-metadata-quorum", 10000);
          auto [resp2, frame2] = c->call(req, c->version_for(msg::DescribeQuorumRequest::kApiKey));
          resp = std::move(resp2);
          frame = std::move(frame2);
          p = metadata_partition(resp);
          if (!p) throw KafkaError(ErrorCode::UNKNOWN_TOPIC_OR_PARTITION, "no __cluster_metadata-0 in the response");
          break;
        }
      }
      if (p->error_code != 0) throw KafkaError(static_cast<ErrorCode>(p->error_code), error_text(p->error_code, p->error_message));
      if (o.status) {
        std::string cluster_id;
        if (c->supports(msg::DescribeClusterRequest::kApiKey)) {
          msg::DescribeClusterRequest dc;
          int16_t v = c->version_for(msg::DescribeClusterRequest::kApiKey);
          if (v >= 1) dc.endpoint_type = o.bootstrap_controller ? 2 : 1;
          auto [cr, cf] = c->call(dc, v);
          cluster_id = cr.cluster_id;
        }
        out << format_quorum_status(resp, cluster_id);
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
