// `flotilla topics` (Kafka's kafka-topics.sh): create, list, describe,
// alter (partitions) and delete, with Kafka's option checks and output; the
// requests are client/admin.h's.
#include <algorithm>
#include <map>
#include <ostream>
#include <regex>
#include <set>
#include <sstream>

#include "client/admin.h"
#include "server/config.h"
#include "tools/client_security.h"
#include "tools/commands.h"
#include "tools/console.h"
#include "tools/topics_tool.h"

namespace flotilla::tools {

using client::ClientOptions;
using client::ClusterInfo;
using client::create_partitions;
using client::create_topic;
using client::delete_topics;
using client::describe_topic_configs;
using client::error_text;
using client::KafkaClient;
using client::NewPartitions;
using client::NewTopic;
using client::TopicInfo;

namespace {

class CommandError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

std::string join_ints(const std::vector<int32_t>& v) {
  std::string s;
  for (size_t i = 0; i < v.size(); ++i) {
    if (i) s += ',';
    s += std::to_string(v[i]);
  }
  return s;
}

bool is_internal_topic(const std::string& name) { return name == "__consumer_offsets" || name == "__transaction_state"; }

std::string throw_text(int16_t err, const std::optional<std::string>& msg, const std::string& topic) {
  if (msg && !msg->empty()) return *msg;
  switch (static_cast<ErrorCode>(err)) {
    case ErrorCode::TOPIC_ALREADY_EXISTS: return "Topic '" + topic + "' already exists.";
    case ErrorCode::UNKNOWN_TOPIC_OR_PARTITION: return "This server does not host this topic-partition.";
    default: return error_text(err);
  }
}

}  // namespace

TopicFilter::TopicFilter(const std::string& raw) {
  // Kafka's IncludeList: commas mean '|', spaces and surrounding quotes dropped.
  std::string s;
  for (char c : raw) {
    if (c == ' ') continue;
    s += c == ',' ? '|' : c;
  }
  while (!s.empty() && (s.front() == '"' || s.front() == '\'')) s.erase(s.begin());
  while (!s.empty() && (s.back() == '"' || s.back() == '\'')) s.pop_back();
  try {
    re_ = std::regex(s, std::regex::ECMAScript);
  } catch (const std::regex_error&) {
    throw std::invalid_argument(raw + " is an invalid regex.");
  }
}

bool TopicFilter::matches(const std::string& topic) const { return std::regex_match(topic, re_); }

std::string describe_topic_line(const std::string& topic, const Uuid& id, size_t partitions, size_t replication_factor,
                                const std::vector<std::pair<std::string, std::string>>& configs) {
  std::string s = "Topic: " + topic;
  if (!id.is_zero()) s += "\tTopicId: " + id.to_string();
  s += "\tPartitionCount: " + std::to_string(partitions);
  s += "\tReplicationFactor: " + std::to_string(replication_factor);
  s += "\tConfigs: ";
  for (size_t i = 0; i < configs.size(); ++i) {
    if (i) s += ",";
    s += configs[i].first + "=" + configs[i].second;
  }
  return s;
}

std::string describe_partition_line(const std::string& topic, int32_t partition, int32_t leader, const std::vector<int32_t>& replicas,
                                    const std::vector<int32_t>& isr, const std::vector<int32_t>& elr,
                                    const std::vector<int32_t>& last_known_elr) {
  std::string s = "\tTopic: " + topic;
  s += "\tPartition: " + std::to_string(partition);
  s += "\tLeader: " + (leader >= 0 ? std::to_string(leader) : std::string("none"));
  s += "\tReplicas: " + join_ints(replicas);
  s += "\tIsr: " + join_ints(isr);
  s += "\tElr: " + join_ints(elr);
  s += "\tLastKnownElr: " + join_ints(last_known_elr);
  return s;
}

int run_topics(const TopicsOptions& o, std::ostream& out, std::ostream& err) {
  // Option checks (Kafka's TopicCommandOptions.checkArgs).
  int actions = int(o.create) + int(o.list) + int(o.describe) + int(o.delete_) + int(o.alter);
  if (actions != 1) {
    err << "Command must include exactly one action: --list, --describe, --create, --alter or --delete\n";
    return 1;
  }
  if (o.bootstrap_server.empty()) {
    err << "Missing required argument \"[bootstrap-server]\"\n";
    return 1;
  }
  if ((o.create || o.alter || o.delete_) && !o.topic) {
    err << "Missing required argument \"[topic]\"\n";
    return 1;
  }
  if (o.alter && !o.partitions) {
    err << "Missing required argument \"[partitions]\"\n";
    return 1;
  }
  if (o.if_exists && !(o.alter || o.delete_ || o.describe)) {
    err << "Option \"[if-exists]\" can't be used with option \"[create]\" or \"[list]\"\n";
    return 1;
  }
  if (o.if_not_exists && !o.create) {
    err << "Option \"[if-not-exists]\" can only be used with option \"[create]\"\n";
    return 1;
  }
  if (o.replica_assignment && (o.partitions && o.create)) {
    err << "Option \"[replica-assignment]\" can't be used with option \"[partitions]\"\n";
    return 1;
  }
  if (o.replica_assignment && o.replication_factor) {
    err << "Option \"[replica-assignment]\" can't be used with option \"[replication-factor]\"\n";
    return 1;
  }

  try {
    ClientOptions copts;
    copts.client_id = "flotilla-topics";
    if (o.command_config) {
      auto props = server::load_properties_file(*o.command_config);
      apply_client_security(props);
      if (auto it = props.find("request.timeout.ms"); it != props.end()) copts.request_timeout_ms = std::stoi(it->second);
      if (auto it = props.find("client.id"); it != props.end()) copts.client_id = it->second;
    }
    KafkaClient client(o.bootstrap_server, copts);

    auto matching_topics = [&]() {
      ClusterInfo ci = client.metadata(std::nullopt);
      std::vector<std::string> names;
      std::optional<TopicFilter> filter;
      if (o.topic) filter.emplace(*o.topic);
      for (const auto& [name, t] : ci.topics) {
        bool internal = t.internal || is_internal_topic(name);
        if (o.exclude_internal && internal) continue;
        if (filter && !filter->matches(name)) continue;
        names.push_back(name);
      }
      std::sort(names.begin(), names.end());
      return std::make_pair(names, ci);
    };
    auto ensure_exists = [&](const std::vector<std::string>& found) {
      if (o.topic && !o.topic->empty() && !o.if_exists && found.empty())
        throw CommandError("Topic '" + *o.topic + "' does not exist as expected");
    };

    if (o.create) {
      if (o.replication_factor && (*o.replication_factor < 1 || *o.replication_factor > 32767))
        throw CommandError("The replication factor must be between 1 and 32767 inclusive");
      if (o.partitions && *o.partitions < 1) throw CommandError("The partitions must be greater than 0");
      std::map<std::string, std::string> configs;
      for (const auto& c : o.configs) {
        auto eq = c.find('=');
        if (eq == std::string::npos || c.find('=', eq + 1) != std::string::npos)
          throw CommandError("requirement failed: Invalid topic config: all configs to be added must be in the format \"key=val\".");
        auto trim = [](std::string s) {
          while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.pop_back();
          while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.erase(s.begin());
          return s;
        };
        configs[trim(c.substr(0, eq))] = trim(c.substr(eq + 1));
      }
      if (o.topic->find('.') != std::string::npos && o.topic->find('_') != std::string::npos)
        out << "WARNING: Due to limitations in metric names, topics with a period ('.') or underscore ('_') could collide. To avoid issues it is best to use either, but not both.\n";

      NewTopic t;
      t.name = *o.topic;
      t.partitions = o.partitions.value_or(-1);
      t.replication_factor = static_cast<int16_t>(o.replication_factor.value_or(-1));
      if (o.replica_assignment) {
        t.assignment = parse_replica_assignment(*o.replica_assignment);
        t.partitions = -1;
        t.replication_factor = -1;
      }
      t.configs = configs;
      auto resp = create_topic(client, t, 30000);
      for (const auto& r : resp.topics) {
        if (r.error_code == 0) continue;
        if (r.error_code == code(ErrorCode::TOPIC_ALREADY_EXISTS) && o.if_not_exists) return 0;
        throw CommandError(throw_text(r.error_code, r.error_message, *o.topic));
      }
      out << "Created topic " << *o.topic << ".\n";
      return 0;
    }

    if (o.list) {
      auto [names, ci] = matching_topics();
      std::string s;
      for (size_t i = 0; i < names.size(); ++i) {
        if (i) s += "\n";
        s += names[i];
      }
      out << s << "\n";
      return 0;
    }

    if (o.delete_) {
      auto [names, ci] = matching_topics();
      ensure_exists(names);
      if (names.empty()) return 0;
      for (const auto& n : names)
        if (ci.topics[n].internal || is_internal_topic(n))
          throw CommandError("Topic " + n + " is a kafka internal topic and is not allowed to be marked for deletion.");
      auto resp = delete_topics(client, names, 30000);
      for (const auto& r : resp.responses)
        if (r.error_code != 0) throw CommandError(throw_text(r.error_code, r.error_message, r.name.value_or("")));
      return 0;
    }

    if (o.alter) {
      auto [names, ci] = matching_topics();
      ensure_exists(names);
      if (names.empty()) return 0;
      std::vector<NewPartitions> topics;
      for (const auto& n : names) {
        NewPartitions t;
        t.topic = n;
        t.count = *o.partitions;
        if (o.replica_assignment) {
          // The assignment lists every partition; the request names the added ones.
          auto assignment = parse_replica_assignment(*o.replica_assignment);
          size_t existing = ci.topics[n].partitions.size();
          t.assignment.emplace();
          for (size_t i = existing; i < assignment.size(); ++i) t.assignment->push_back(assignment[i]);
        }
        topics.push_back(t);
      }
      auto resp = create_partitions(client, topics, 30000);
      for (const auto& r : resp.results)
        if (r.error_code != 0) throw CommandError(throw_text(r.error_code, r.error_message, r.name));
      return 0;
    }

    // describe
    auto [names, ci] = matching_topics();
    ensure_exists(names);
    if (names.empty()) return 0;
    std::map<std::string, std::vector<std::pair<std::string, std::string>>> configs;
    bool describe_configs = !o.under_replicated_partitions && !o.unavailable_partitions;
    bool describe_partitions = !o.topics_with_overrides;
    if (describe_configs) {
      auto described = describe_topic_configs(client, names);
      for (const auto& r : described.response.results) {
        if (r.error_code != 0) throw CommandError(throw_text(r.error_code, r.error_message, r.resource_name));
        auto& list = configs[r.resource_name];
        for (const auto& c : r.configs)
          if (!described.is_default(c)) list.emplace_back(c.name, c.value.value_or("null"));
      }
    }
    std::set<int32_t> live;
    for (const auto& [id, b] : ci.brokers) live.insert(id);
    // Partitions as Kafka 4.x's tool reads them: DescribeTopicPartitions,
    // paged, with the eligible leader replicas.
    using DescribedPartition = msg::DescribeTopicPartitionsResponse::DescribeTopicPartitionsResponsePartition;
    std::map<std::string, std::map<int32_t, DescribedPartition>> described_partitions;
    if (describe_partitions) {
      for (auto& t : client::describe_topic_partitions(client.any(), names, o.partition_size_limit_per_response.value_or(2000))) {
        if (!t.name) continue;
        if (t.error_code != 0) throw CommandError(throw_text(t.error_code, std::nullopt, *t.name));
        auto& m = described_partitions[*t.name];
        for (auto& p : t.partitions) m[p.partition_index] = std::move(p);
      }
    }
    for (const auto& n : names) {
      const TopicInfo& t = ci.topics[n];
      if (t.partitions.empty()) continue;
      if (describe_configs) {
        const auto& cfg = configs[n];
        if (!o.topics_with_overrides || !cfg.empty())
          out << describe_topic_line(n, t.id, t.partitions.size(), t.partitions.front().replicas.size(), cfg) << "\n";
      }
      if (describe_partitions) {
        for (const auto& [index, p] : described_partitions[n]) {
          // Kafka's TopicPartitionInfo: the leader is a node only while it is live.
          int32_t leader = live.count(p.leader_id) ? p.leader_id : -1;
          bool print = describe_configs;
          if (o.under_replicated_partitions && p.replica_nodes.size() > p.isr_nodes.size()) print = true;
          if (o.unavailable_partitions && leader < 0) print = true;
          if (print)
            out << describe_partition_line(n, index, leader, p.replica_nodes, p.isr_nodes, p.eligible_leader_replicas.value_or(std::vector<int32_t>{}),
                                           p.last_known_elr.value_or(std::vector<int32_t>{}))
                << "\n";
        }
      }
    }
    return 0;
  } catch (const CommandError& e) {
    out << "Error while executing topic command : " << e.what() << "\n";
    err << "ERROR " << e.what() << "\n";
    return 1;
  } catch (const std::exception& e) {
    out << "Error while executing topic command : " << e.what() << "\n";
    err << "ERROR " << e.what() << "\n";
    return 1;
  }
}

std::vector<std::vector<int32_t>> parse_replica_assignment(const std::string& s) {
  std::vector<std::vector<int32_t>> out;
  std::stringstream ss(s);
  std::string part;
  while (std::getline(ss, part, ',')) {
    std::vector<int32_t> brokers;
    std::stringstream ps(part);
    std::string b;
    while (std::getline(ps, b, ':')) {
      size_t used = 0;
      int v = 0;
      try {
        v = std::stoi(b, &used);
      } catch (const std::logic_error&) {
        throw std::invalid_argument("For input string: \"" + b + "\"");
      }
      if (std::find(brokers.begin(), brokers.end(), v) != brokers.end())
        throw std::invalid_argument("Partition replica lists may not contain duplicate entries: " + std::to_string(v));
      brokers.push_back(v);
    }
    if (!out.empty() && brokers.size() != out.front().size())
      throw std::invalid_argument("Partition " + std::to_string(out.size()) + " has different replication factor: [" + join_ints(brokers) + "]");
    out.push_back(brokers);
  }
  return out;
}

}  // namespace flotilla::tools
