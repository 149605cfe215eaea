// `flotilla log-dirs --describe` (Kafka's kafka-log-dirs.sh): DescribeLogDirs
// sent to each broker (all of the cluster, or --broker-list), printed as
// Kafka's LogDirsCommand does:
//   Querying brokers for log directories information
//   Received log directory information from brokers 1,2
//   {"version":1,"brokers":[{"broker":1,"logDirs":[{"logDir":"/d","error":null,
//     "partitions":[{"partition":"t-0","size":0,"offsetLag":0,"isFuture":false}]}]}]}
// "error" is the exception class of a dir's error (an offline dir:
// org.apache.kafka.common.errors.KafkaStorageException), else null;
// --topic-list keeps only those topics' partitions. An unknown broker of
// --broker-list is an error (exit code 1), as Kafka's.
#include <nlohmann/json.hpp>
#include <ostream>
#include <set>
#include <sstream>

#include "client/kafka_client.h"
#include "server/config.h"
#include "tools/client_security.h"
#include "tools/commands.h"
#include "tools/kafka_output.h"

namespace flotilla::tools {

namespace {

class LogDirsFailed : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

std::vector<std::string> log_dirs_split(const std::string& s) {
  std::vector<std::string> out;
  std::stringstream ss(s);
  std::string item;
  while (std::getline(ss, item, ','))
    if (!item.empty()) out.push_back(item);
  return out;
}

std::string join_broker_ids(const std::set<int32_t>& s) {
  std::string out;
  for (int32_t x : s) out += (out.empty() ? "" : ",") + std::to_string(x);
  return out;
}

}  // namespace

int run_log_dirs(const LogDirsOptions& o, std::ostream& out, std::ostream& err) {
  try {
    std::vector<std::string> missing;
    if (!o.bootstrap_server) missing.push_back("bootstrap-server");
    if (!o.describe) missing.push_back("describe");
    if (!missing.empty()) {
      std::string m;
      for (const auto& s : missing) m += (m.empty() ? "" : ", ") + s;
      throw LogDirsFailed("Missing required argument \"[" + m + "]\"");
    }
    std::set<std::string> topics;
    for (const auto& t : log_dirs_split(o.topic_list)) topics.insert(t);
    std::set<int32_t> wanted;
    for (const auto& b : log_dirs_split(o.broker_list)) {
      try {
        wanted.insert(std::stoi(b));
      } catch (const std::exception&) {
        throw LogDirsFailed("For input string: \"" + b + "\"");
      }
    }

    client::ClientOptions copts;
    copts.client_id = "log-dirs-tool";
    if (o.command_config) {
      auto props = server::load_properties_file(*o.command_config);
      apply_client_security(props);
      if (auto it = props.find("request.timeout.ms"); it != props.end()) copts.request_timeout_ms = std::stoi(it->second);
      if (auto it = props.find("client.id"); it != props.end()) copts.client_id = it->second;
    }
    client::KafkaClient client(*o.bootstrap_server, copts);
    std::set<int32_t> cluster;
    for (const auto& [id, b] : client.metadata(std::vector<std::string>{}).brokers) cluster.insert(id);
    std::set<int32_t> unknown, brokers;
    for (int32_t b : wanted) (cluster.count(b) ? brokers : unknown).insert(b);
    if (wanted.empty()) brokers = cluster;
    if (!unknown.empty())
      throw LogDirsFailed("ERROR: The given brokers do not exist from --broker-list: " + join_broker_ids(unknown) +
                          ". Current existent brokers: " + join_broker_ids(cluster));

    out << "Querying brokers for log directories information\n";
    nlohmann::ordered_json js;
    js["version"] = 1;
    js["brokers"] = nlohmann::ordered_json::array();
    for (int32_t id : brokers) {
      client::Connection& c = client.broker(id);
      msg::DescribeLogDirsRequest req;
      req.topics = std::nullopt;  // every partition
      const int16_t v = c.version_for(msg::DescribeLogDirsRequest::kApiKey, msg::DescribeLogDirsRequest::kMaxVersion,
                                      std::numeric_limits<int16_t>::min(), "tool");
      auto [resp, frame] = c.call(req, v);
      if (resp.error_code != 0) throw client::KafkaError(static_cast<ErrorCode>(resp.error_code), "");
      nlohmann::ordered_json broker;
      broker["broker"] = id;
      broker["logDirs"] = nlohmann::ordered_json::array();
      for (const auto& r : resp.results) {
        nlohmann::ordered_json d;
        d["logDir"] = r.log_dir;
        if (r.error_code != 0) {
          std::string e = kafka_exception(r.error_code, std::nullopt);
          d["error"] = e.substr(0, e.find(':'));
        } else {
          d["error"] = nullptr;
        }
        d["partitions"] = nlohmann::ordered_json::array();
        for (const auto& t : r.topics) {
          if (!topics.empty() && !topics.count(t.name)) continue;
          for (const auto& p : t.partitions) {
            nlohmann::ordered_json x;
            x["partition"] = t.name + "-" + std::to_string(p.partition_index);
            x["size"] = p.partition_size;
            x["offsetLag"] = p.offset_lag;
            x["isFuture"] = p.is_future_key;
            d["partitions"].push_back(std::move(x));
          }
        }
        broker["logDirs"].push_back(std::move(d));
      }
      js["brokers"].push_back(std::move(broker));
    }
    out << "Received log directory information from brokers " << join_broker_ids(brokers) << "\n";
    out << js.dump() << "\n";
    return 0;
  } catch (const LogDirsFailed& e) {
    err << e.what() << "\n";
  } catch (const client::KafkaError& e) {
    err << kafka_exception(code(e.code()), std::string(e.what())) << "\n";
  } catch (const std::exception& e) {
    err << e.what() << "\n";
  }
  return 1;
}

}  // namespace flotilla::tools
