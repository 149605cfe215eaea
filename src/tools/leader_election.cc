// `flotilla leader-election` (Kafka's kafka-leader-election.sh): a PREFERRED
// or UNCLEAN election for one partition, the partitions of a JSON file, or
// every partition, through ElectLeaders; prints what was elected, what needed
// no election, and what failed (exit code 1 if anything failed). The request
// is client/admin.h's; this file checks the options and prints.
#include <algorithm>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <ostream>
#include <set>
#include <sstream>

#include "client/admin.h"
#include "server/config.h"
#include "tools/client_security.h"
#include "tools/commands.h"
#include "tools/kafka_output.h"

namespace flotilla::tools {

using client::ClientOptions;
using client::Connection;
using client::elect_leaders;
using client::KafkaClient;
using client::KafkaError;
using client::TopicPartition;

namespace {

class CommandFailed : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

std::string tp_string(const TopicPartition& tp) { return tp.first + "-" + std::to_string(tp.second); }

std::string join(const std::set<TopicPartition>& s) {
  std::string out;
  for (const auto& tp : s) out += (out.empty() ? "" : ", ") + tp_string(tp);
  return out;
}

// {"partitions": [{"topic": "foo", "partition": 1}, ...]}
std::set<TopicPartition> parse_json_file(const std::string& path) {
  std::ifstream f(path);
  if (!f) throw CommandFailed("java.nio.file.NoSuchFileException: " + path);
  std::stringstream ss;
  ss << f.rdbuf();
  nlohmann::json js;
  try {
    js = nlohmann::json::parse(ss.str());
  } catch (const std::exception& e) {
    throw CommandFailed(std::string("Failed to parse the JSON file: ") + e.what());
  }
  if (!js.is_object() || !js.contains("partitions")) throw CommandFailed("Replica election data is missing \"partitions\" field");
  std::vector<TopicPartition> list;
  try {
    for (const auto& p : js.at("partitions")) list.emplace_back(p.at("topic").get<std::string>(), p.at("partition").get<int32_t>());
  } catch (const std::exception& e) {
    throw CommandFailed(std::string("Invalid replica election data: ") + e.what());
  }
  std::set<TopicPartition> out, dups;
  for (const auto& tp : list)
    if (!out.insert(tp).second) dups.insert(tp);
  if (!dups.empty()) {
    std::string s;
    for (const auto& tp : dups) s += (s.empty() ? "" : ", ") + tp_string(tp);
    throw CommandFailed("Replica election data contains duplicate partitions: [" + s + "]");
  }
  return out;
}

}  // namespace

int run_leader_election(const LeaderElectionOptions& o, std::ostream& out, std::ostream& err) {
  try {
    // Kafka's LeaderElectionCommandOptions.validate.
    std::vector<std::string> missing;
    if (!o.bootstrap_server) missing.push_back("bootstrap-server");
    if (!o.election_type) missing.push_back("election-type");
    if (!missing.empty()) {
      std::string m;
      for (const auto& s : missing) m += (m.empty() ? "" : ", ") + s;
      throw CommandFailed("Missing required option(s): " + m);
    }
    int targets = int(o.topic.has_value()) + int(o.all_topic_partitions) + int(o.path_to_json_file.has_value());
    if (targets != 1) throw CommandFailed("One and only one of the following options is required: topic, all-topic-partitions, path-to-json-file");
    if (o.topic && !o.partition) throw CommandFailed("Missing required option(s): partition");
    if (!o.topic && o.partition) throw CommandFailed("Option partition is only allowed if topic is used");
    std::string type = *o.election_type;
    std::transform(type.begin(), type.end(), type.begin(), ::toupper);
    if (type != "PREFERRED" && type != "UNCLEAN")
      throw CommandFailed("Value [" + *o.election_type + "] is not one of [PREFERRED, UNCLEAN]");
    const int8_t election_type = type == "PREFERRED" ? 0 : 1;

    std::optional<std::set<TopicPartition>> partitions;  // nullopt: every partition
    if (o.path_to_json_file) partitions = parse_json_file(*o.path_to_json_file);
    if (o.topic) partitions = std::set<TopicPartition>{{*o.topic, *o.partition}};

    ClientOptions copts;
    copts.client_id = "flotilla-leader-election";
    copts.request_timeout_ms = 15000;
    if (o.admin_config) {
      auto props = server::load_properties_file(*o.admin_config);
      apply_client_security(props);
      if (auto it = props.find("request.timeout.ms"); it != props.end()) copts.request_timeout_ms = std::stoi(it->second);
      if (auto it = props.find("client.id"); it != props.end()) copts.client_id = it->second;
    }
    KafkaClient client(*o.bootstrap_server, copts);
    client.metadata(std::vector<std::string>{});
    Connection& c = client.controller();

    // A v0-only broker refuses an unclean election (KafkaError, printed as
    // Kafka's UnsupportedVersionException); v0 answers carry no top-level error.
    msg::ElectLeadersResponse resp = elect_leaders(c, election_type, partitions, 30000);
    if (resp.error_code != 0)
      throw CommandFailed("java.util.concurrent.ExecutionException: " + kafka_exception(resp.error_code, std::nullopt));

    std::set<TopicPartition> succeeded, noop;
    std::map<TopicPartition, std::string> failed;
    for (const auto& t : resp.replica_election_results)
      for (const auto& p : t.partition_result) {
        TopicPartition tp{t.topic, p.partition_id};
        if (p.error_code == 0) succeeded.insert(tp);
        else if (p.error_code == code(ErrorCode::ELECTION_NOT_NEEDED)) noop.insert(tp);
        else failed[tp] = kafka_exception(p.error_code, p.error_message);
      }
    if (!succeeded.empty()) out << "Successfully completed leader election (" << type << ") for partitions " << join(succeeded) << "\n";
    if (!noop.empty()) out << "Valid replica already elected for partitions " << join(noop) << "\n";
    if (!failed.empty()) {
      for (const auto& [tp, e] : failed)
        out << "Error completing leader election (" << type << ") for partition: " << tp_string(tp) << ": " << e << "\n";
      throw CommandFailed(std::to_string(failed.size()) + " replica(s) could not be elected");
    }
    return 0;
  } catch (const CommandFailed& e) {
    err << e.what() << "\n";
  } catch (const KafkaError& e) {
    err << kafka_exception(code(e.code()), std::string(e.what())) << "\n";
  } catch (const std::exception& e) {
    err << e.what() << "\n";
  }
  return 1;
}

}  // namespace flotilla::tools
