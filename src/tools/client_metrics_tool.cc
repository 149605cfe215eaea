// `flotilla client-metrics` (Kafka's kafka-client-metrics.sh, KIP-714): the
// client-metrics subscriptions — --list their names (ListClientMetricsResources),
// --describe one (--name) or all of them (DescribeConfigs), --alter one
// (--name or --generate-name; --metrics, --interval, --match set those keys,
// an empty value deletes it) and --delete one (every key deleted), both with
// IncrementalAlterConfigs. Output and messages are Kafka's.
#include <algorithm>
#include <map>
#include <ostream>

#include "client/admin.h"
#include "client/kafka_client.h"
#include "common/error.h"
#include "common/uuid.h"
#include "server/config.h"
#include "tools/client_security.h"
#include "tools/commands.h"

namespace flotilla::tools {

namespace client_metrics_tool {

struct Usage : std::runtime_error {
  using std::runtime_error::runtime_error;
};
struct Failed : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// An ApiException's message: the server's, else Kafka's default for the code.
[[noreturn]] void fail(int16_t error_code, const std::optional<std::string>& message) {
  if (message && !message->empty()) throw Failed(*message);
  throw Failed(std::string(error_message(static_cast<ErrorCode>(error_code))));
}

client::ConfigResource resource(const std::string& name) { return client::ConfigResource{client::kClientMetricsResource, name}; }

std::vector<std::string> list_names(client::KafkaClient& c) {
  auto resp = client::list_client_metrics_resources(c.any());
  if (resp.error_code != 0) fail(resp.error_code, std::nullopt);
  std::vector<std::string> names;
  for (const auto& r : resp.client_metrics_resources) names.push_back(r.name);
  return names;
}

std::vector<std::pair<std::string, std::string>> configs_of(client::KafkaClient& c, const std::string& name) {
  auto resp = client::describe_configs(c.any(), resource(name));
  if (resp.results.size() != 1) throw Failed("Unexpected DescribeConfigs answer");
  const auto& r = resp.results[0];
  if (r.error_code != 0) fail(r.error_code, r.error_message);
  std::vector<std::pair<std::string, std::string>> out;
  for (const auto& e : r.configs) out.emplace_back(e.name, e.value.value_or("null"));
  std::sort(out.begin(), out.end());
  return out;
}

void alter(client::KafkaClient& c, const std::string& name, const std::vector<client::ConfigOp>& ops) {
  auto resp = client::incremental_alter_configs(c.any(), resource(name), ops);
  for (const auto& x : resp.responses)
    if (x.error_code != 0) fail(x.error_code, x.error_message);
}

std::string join(const std::vector<std::string>& v) {
  std::string s;
  for (size_t i = 0; i < v.size(); ++i) s += (i ? "," : "") + v[i];
  return s;
}

}  // namespace client_metrics_tool

namespace cmt = client_metrics_tool;

int run_client_metrics(const ClientMetricsOptions& o, std::ostream& out, std::ostream& err) {
  try {
    int actions = int(o.alter) + int(o.remove) + int(o.describe) + int(o.list);
    if (actions != 1) throw cmt::Usage("Command must include exactly one action: --alter, --delete, --describe or --list.");
    if (!o.bootstrap_server) throw cmt::Usage("--bootstrap-server must be specified.");
    bool config_args = o.generate_name || o.interval || o.match || o.metrics;
    if ((o.remove || o.describe) && config_args)
      throw cmt::Usage(std::string("Option \"[") + (o.remove ? "delete" : "describe") +
                  "]\" can't be used with option \"[generate-name]\", \"[interval]\", \"[match]\" or \"[metrics]\"");
    if (o.list && (config_args || o.name)) throw cmt::Usage("Option \"[list]\" can't be used with option \"[name]\" or the config options");
    if (o.alter && (o.name.has_value() == o.generate_name))
      throw cmt::Usage("One of --name or --generate-name must be specified with --alter.");
    if (o.remove && !o.name) throw cmt::Usage("A client metrics resource name must be specified with --delete.");

    client::ClientOptions copts;
    copts.client_id = "flotilla-client-metrics";
    if (o.command_config) {
      auto props = server::load_properties_file(*o.command_config);
      apply_client_security(props);
      if (auto it = props.find("request.timeout.ms"); it != props.end()) copts.request_timeout_ms = std::stoi(it->second);
      if (auto it = props.find("client.id"); it != props.end()) copts.client_id = it->second;
    }
    client::KafkaClient c(*o.bootstrap_server, copts);

    if (o.list) {
      std::string lines;
      for (const auto& n : cmt::list_names(c)) lines += (lines.empty() ? "" : "\n") + n;
      out << lines << "\n";
      return 0;
    }
    if (o.describe) {
      std::vector<std::string> names = o.name ? std::vector<std::string>{*o.name} : cmt::list_names(c);
      for (const auto& n : names) {
        out << "Client metrics configs for " << n << " are:\n";
        for (const auto& [k, v] : cmt::configs_of(c, n)) out << "  " << k << "=" << v << "\n";
      }
      return 0;
    }
    if (o.remove) {
      std::vector<client::ConfigOp> ops;
      for (const auto& [k, v] : cmt::configs_of(c, *o.name)) ops.push_back({k, client::kDeleteConfig, ""});
      cmt::alter(c, *o.name, ops);
      out << "Deleted client metrics config for " << *o.name << ".\n";
      return 0;
    }
    std::string name = o.generate_name ? Uuid::random().to_string() : *o.name;
    std::map<std::string, std::string> set;
    if (o.interval) set["interval.ms"] = std::to_string(*o.interval);
    if (o.metrics) set["metrics"] = cmt::join(*o.metrics);
    if (o.match) set["match"] = cmt::join(*o.match);
    std::vector<client::ConfigOp> ops;
    for (const auto& [k, v] : set) ops.push_back({k, v.empty() ? client::kDeleteConfig : client::kSetConfig, v});
    cmt::alter(c, name, ops);
    out << "Altered client metrics config for " << name << ".\n";
    return 0;
  } catch (const cmt::Usage& e) {
    err << e.what() << "\n";
  } catch (const std::exception& e) {
    out << "Error while executing client metrics command : " << e.what() << "\n";
  }
  return 1;
}

}  // namespace flotilla::tools
