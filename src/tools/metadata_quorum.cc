#include "tools/metadata_quorum.h"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <map>
#include <ostream>
#include <stdexcept>
#include <vector>

#include "client/quorum.h"
#include "server/config.h"
#include "storage/meta_properties.h"
#include "tools/client_security.h"
#include "tools/commands.h"

namespace flotilla::tools {

using client::Connection;
using client::error_text;
using client::KafkaError;
using client::kMetadataTopic;
using client::NetworkError;

namespace {

using Replica = msg::DescribeQuorumResponse::ReplicaState;
using Partition = msg::DescribeQuorumResponse::PartitionData;

constexpr const char* kClientId = "flotilla-metadata-quorum";

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

int change_voters(const MetadataQuorumOptions& o, std::ostream& out, std::ostream& err) {
  if (!o.bootstrap_controller) {
    err << "add-controller and remove-controller need --bootstrap-controller\n";
    return 1;
  }
  auto c = client::connect_active_controller(*o.bootstrap_controller, kClientId);
  if (o.add_controller) {
    if (!o.command_config) {
      err << "add-controller needs --command-config: the new controller's server.properties\n";
      return 1;
    }
    auto config = server::KafkaConfig::from_properties(server::load_properties_file(*o.command_config));
    auto mp = storage::read_meta_properties(std::filesystem::path(config.metadata_log_dir) / "meta.properties");
    std::vector<client::VoterEndpoint> listeners;
    for (const auto& ep : config.listeners) {
      if (!config.is_controller_listener(ep.listener)) continue;
      server::Endpoint adv = config.advertised(ep.listener);
      listeners.push_back({ep.listener, adv.host.empty() ? "localhost" : adv.host, static_cast<uint16_t>(adv.port)});
    }
    Uuid directory_id = Uuid::parse(mp.directory_id).value_or(Uuid{});
    auto resp = client::add_raft_voter(*c, mp.cluster_id, config.node_id, directory_id, listeners, 30000);
    if (resp.error_code != 0) throw KafkaError(static_cast<ErrorCode>(resp.error_code), error_text(resp.error_code, resp.error_message));
    out << "Added controller " << config.node_id << " with directory id " << mp.directory_id << " and endpoints: ";
    for (size_t i = 0; i < listeners.size(); ++i)
      out << (i ? ", " : "") << listeners[i].name << "://" << listeners[i].host << ":" << listeners[i].port;
    out << "\n";
    return 0;
  }
  auto dir = Uuid::parse(o.controller_directory_id);
  if (!dir) {
    err << "Invalid --controller-directory-id " << o.controller_directory_id << "\n";
    return 1;
  }
  auto resp = client::remove_raft_voter(*c, o.controller_id, *dir);
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
  if (o.command_config && !std::filesystem::exists(*o.command_config)) {
    err << "Properties file " << *o.command_config << " does not exist.\n";
    return 1;
  }
  if (o.command_config) {
    try {
      apply_client_security(server::load_properties_file(*o.command_config));
    } catch (const std::exception& e) {
      err << "Error: " << e.what() << "\n";
      return 1;
    }
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
    for (const auto& addr : client::split_list(bootstrap)) {
      if (addr.empty()) continue;
      auto [host, port] = client::parse_host_port(addr);
      std::unique_ptr<Connection> c;
      msg::DescribeQuorumResponse resp;
      try {
        c = std::make_unique<Connection>(host, port, kClientId, 10000);
        resp = client::describe_quorum(c, controller, kClientId);
      } catch (const NetworkError& e) {
        last_error = e.what();
        continue;
      }
      quorum_partition(resp);  // throws the response's error
      if (o.status) {
        out << format_quorum_status(resp, client::fetch_cluster_id(*c, controller));
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
