// `flotilla configs` (Kafka's kafka-configs.sh) for topics, brokers and
// client-metrics subscriptions (KIP-714; listed with ListClientMetricsResources) (users'
// and clients' quotas: configs_quotas.h; users' SCRAM credentials: configs_users.h):
// --describe prints a resource's dynamic configs (or --all of them) with their
// synonyms; --alter applies --delete-config and --add-config (or
// --add-config-file) with IncrementalAlterConfigs. A broker resource is sent
// to that broker (a broker only describes and screens its own configs); the
// cluster default (--entity-default / --broker-defaults) and topics to any
// (client/admin.h sends them; this file checks the options and prints).
#include <algorithm>
#include <map>
#include <ostream>
#include <regex>
#include <set>

#include "client/admin.h"
#include "common/config_def.h"
#include "server/config.h"
#include "tools/client_security.h"
#include "tools/commands.h"
#include "tools/configs_quotas.h"
#include "tools/configs_users.h"
#include "security/quota_entity.h"
#include "security/scram.h"
#include "tools/kafka_output.h"

namespace flotilla::tools {

using client::ClientOptions;
using client::ClusterInfo;
using client::config_connection;
using client::ConfigOp;
using client::ConfigResource;
using client::Connection;
using client::describe_configs;
using client::incremental_alter_configs;
using client::KafkaClient;
using client::KafkaError;
using client::kDeleteConfig;
using client::kSetConfig;

namespace {

// The keys of every --delete-config argument (comma-separated, blanks trimmed, empty ones dropped).
std::vector<std::string> delete_config_keys(const std::vector<std::string>& args) {
  std::vector<std::string> keys;
  for (const auto& a : args)
    for (auto& k : config::split_list(a))
      if (!k.empty()) keys.push_back(std::move(k));
  return keys;
}

using configs::ServerError;
using configs::UsageError;

constexpr int8_t kTopic = client::kTopicResource, kBroker = client::kBrokerResource, kClientMetrics = client::kClientMetricsResource;

const char* source_name(int8_t s) {
  switch (s) {
    case 1: return "DYNAMIC_TOPIC_CONFIG";
    case 2: return "DYNAMIC_BROKER_CONFIG";
    case 3: return "DYNAMIC_DEFAULT_BROKER_CONFIG";
    case 4: return "STATIC_BROKER_CONFIG";
    case 5: return "DEFAULT_CONFIG";
    case 6: return "DYNAMIC_BROKER_LOGGER_CONFIG";
    case 7: return "DYNAMIC_CLIENT_METRICS_CONFIG";
    case 8: return "DYNAMIC_GROUP_CONFIG";
    default: return "UNKNOWN";
  }
}


// --add-config "k1=v1,k2=[v2,v3]": split on commas outside brackets, then on
// the first "=", brackets dropped from values (Kafka's parseConfigsToBeAdded).
std::map<std::string, std::string> parse_add_config(const std::string& s) {
  std::vector<std::string> items;
  std::string cur;
  int depth = 0;
  for (char c : s) {
    if (c == '[') ++depth;
    if (c == ']') depth = std::max(0, depth - 1);
    if (c == ',' && depth == 0) {
      items.push_back(cur);
      cur.clear();
    } else {
      cur += c;
    }
  }
  items.push_back(cur);
  std::map<std::string, std::string> out;
  for (const auto& item : items) {
    size_t eq = std::string::npos;
    int d = 0;
    int count = 0;
    for (size_t i = 0; i < item.size(); ++i) {
      if (item[i] == '[') ++d;
      if (item[i] == ']') d = std::max(0, d - 1);
      if (item[i] == '=' && d == 0) {
        if (eq == std::string::npos) eq = i;
        ++count;
      }
    }
    if (count != 1)
      throw UsageError("requirement failed: Invalid entity config: all configs to be added must be in the format \"key=val\" or  "
                       "\"key=[val1,val2]\" to group values which contain commas.");
    std::string key(config::trim(item.substr(0, eq)));
    std::string value = item.substr(eq + 1);
    value.erase(std::remove_if(value.begin(), value.end(), [](char c) { return c == '[' || c == ']'; }), value.end());
    out[key] = std::string(config::trim(value));
  }
  for (const auto& [k, v] : out)
    if (!std::regex_match(k, std::regex("[a-zA-Z0-9._-]*"))) throw UsageError("Invalid character found for config key: " + k);
  return out;
}

// Kafka's entityNames for --entity-name / --entity-default: in the order the
// options appear on the command line (CLI11 keeps the two apart).
std::vector<std::string> entity_names_in_order(const std::vector<std::string>& raw, const std::vector<std::string>& names, bool entity_default) {
  std::vector<std::string> out;
  size_t next_name = 0;
  bool default_seen = false;
  for (size_t i = 0; i < raw.size(); ++i) {
    const std::string& a = raw[i];
    if (a == "--entity-name" || a.rfind("--entity-name=", 0) == 0) {
      if (next_name < names.size()) out.push_back(names[next_name++]);
      if (a == "--entity-name") ++i;  // its value
    } else if (a == "--entity-default") {
      out.push_back("");
      default_seen = true;
    }
  }
  while (next_name < names.size()) out.push_back(names[next_name++]);
  if (entity_default && !default_seen) out.push_back("");
  return out;
}

// Kafka's alterConfig for users and clients: which keys may go where, then
// quotas (AlterClientQuotas) or SCRAM credentials (AlterUserScramCredentials).
void alter_user_or_client(KafkaClient& client, const std::vector<std::string>& types, const std::vector<std::string>& names,
                          const std::map<std::string, std::string>& to_add, const std::vector<std::string>& to_delete) {
  auto is_scram = [](const std::string& k) { return security::parse_scram_mechanism(k).has_value(); };
  auto is_quota = [](const std::string& k) { return security::is_client_or_user_quota_key(k); };
  std::vector<std::string> unknown_add, scram_add, unknown_delete, scram_delete;
  bool quota_add = false, quota_delete = false;
  std::map<std::string, std::string> scram_to_add;
  for (const auto& [k, v] : to_add) {
    if (is_quota(k)) quota_add = true;
    else if (is_scram(k)) {
      scram_add.push_back(k);
      scram_to_add[k] = v;
    } else unknown_add.push_back(k);
  }
  for (const auto& k : to_delete) {
    if (is_quota(k)) quota_delete = true;
    else if (is_scram(k)) scram_delete.push_back(k);
    else unknown_delete.push_back(k);
  }
  auto scala = [](const char* kind, std::vector<std::string> a, const std::vector<std::string>& b) {
    a.insert(a.end(), b.begin(), b.end());
    std::string s;
    for (const auto& x : a) s += (s.empty() ? "" : ", ") + x;
    return std::string(kind) + "(" + s + ")";
  };
  if (types.front() == "clients" || types.size() == 2) {
    if (!unknown_add.empty() || !scram_add.empty())
      throw UsageError("Only quota configs can be added for 'clients' using --bootstrap-server. Unexpected config names: " +
                       scala("Set", unknown_add, scram_add));
    if (!unknown_delete.empty() || !scram_delete.empty())
      throw UsageError("Only quota configs can be deleted for 'clients' using --bootstrap-server. Unexpected config names: " +
                       scala("List", unknown_delete, scram_delete));
  } else {
    if (!unknown_add.empty())
      throw UsageError("Only quota and SCRAM credential configs can be added for 'users' using --bootstrap-server. Unexpected config names: " +
                       scala("Set", unknown_add, {}));
    if (!unknown_delete.empty())
      throw UsageError(
          "Only quota and SCRAM credential configs can be deleted for 'users' using --bootstrap-server. Unexpected config names: " +
          scala("List", unknown_delete, {}));
    if (!scram_add.empty() || !scram_delete.empty()) {
      if (std::any_of(names.begin(), names.end(), [](const std::string& n) { return n.empty(); }))
        throw UsageError("The use of --entity-default or --user-defaults is not allowed with User SCRAM Credentials using --bootstrap-server.");
      if (quota_add || quota_delete)
        throw UsageError("Cannot alter both quota and SCRAM credential configs simultaneously for 'users' using --bootstrap-server.");
    }
  }
  if (quota_add || quota_delete) return configs::alter_quota_configs(client, types, names, to_add, to_delete);
  configs::alter_user_scram_configs(client, names.front(), scram_to_add, scram_delete);
}

struct Resource {
  std::string entity_type;  // "topics" | "brokers" | "client-metrics"
  std::string name;         // "" = the brokers' cluster default
  int8_t type() const { return entity_type == "topics" ? kTopic : entity_type == "client-metrics" ? kClientMetrics : kBroker; }
  ConfigResource resource() const { return ConfigResource{type(), name}; }
};

msg::DescribeConfigsResponse::DescribeConfigsResult describe(KafkaClient& client, const Resource& r) {
  auto resp = describe_configs(config_connection(client, r.resource()), r.resource());
  if (resp.results.size() != 1) throw ServerError("org.apache.kafka.common.errors.UnknownServerException: unexpected DescribeConfigs answer");
  const auto& out = resp.results[0];
  if (out.error_code != 0) throw ServerError(kafka_exception(out.error_code, out.error_message));
  return out;
}

// The dynamic source of the resource's own configs (what --describe shows without --all).
int8_t dynamic_source(const Resource& r) {
  if (r.type() == kTopic) return 1;
  if (r.type() == kClientMetrics) return 7;  // CLIENT_METRICS_CONFIG
  return r.name.empty() ? 3 : 2;
}

}  // namespace

int run_configs(const ConfigsOptions& o, std::ostream& out, std::ostream& err) {
  std::string args;
  for (const auto& a : o.raw_args) args += (args.empty() ? "" : " ") + a;
  // The error line repeats the arguments: never a SCRAM password among them.
  args = std::regex_replace(args, std::regex("(password=)[^,\\]\\s]*"), "$1[hidden]");
  try {
    // Kafka's ConfigCommandOptions.checkArgs.
    if (int(o.alter) + int(o.describe) != 1) throw UsageError("Command must include exactly one action: --describe, --alter");
    if (o.describe && o.add_config) throw UsageError("Option \"[describe]\" can't be used with option \"[add-config]\"");
    if (o.describe && !o.delete_config.empty()) throw UsageError("Option \"[describe]\" can't be used with option \"[delete-config]\"");
    if (!o.bootstrap_server) throw UsageError("One of the required --bootstrap-server or --bootstrap-controller arguments must be specified");

    // Kafka's entityTypes: --entity-type values, then the specific entity
    // flags (topic, client, user, broker), then the defaults flags (client,
    // user, broker). entityNames: --entity-name / --entity-default in command
    // order ("" for a default), then the flags' names, then "" per defaults flag.
    std::vector<std::string> types = o.entity_types;
    std::vector<std::string> names = entity_names_in_order(o.raw_args, o.entity_names, o.entity_default);
    bool specific = o.topic || o.broker || o.broker_defaults || o.user || o.client || o.user_defaults || o.client_defaults || o.client_metrics;
    if ((!o.entity_types.empty() || !o.entity_names.empty() || o.entity_default) && specific)
      throw UsageError("--entity-{type,name,default} should not be used in conjunction with specific entity flags");
    if (o.topic) types.push_back("topics");
    if (o.client) types.push_back("clients");
    if (o.user) types.push_back("users");
    if (o.broker) types.push_back("brokers");
    if (o.client_metrics) types.push_back("client-metrics");
    if (o.client_defaults) types.push_back("clients");
    if (o.user_defaults) types.push_back("users");
    if (o.broker_defaults) types.push_back("brokers");
    for (const auto* flag : {&o.topic, &o.client, &o.user, &o.broker, &o.client_metrics})
      if (*flag) names.push_back(**flag);
    for (bool d : {o.client_defaults, o.user_defaults, o.broker_defaults})
      if (d) names.push_back("");
    std::set<std::string> distinct(types.begin(), types.end());
    if (distinct.size() != types.size()) throw UsageError("Duplicate entity type(s) specified: " + types.back());
    for (const auto& t : types)
      if (t != "topics" && t != "brokers" && t != "users" && t != "clients" && t != "client-metrics")
        throw UsageError("Invalid entity type " + t +
                         ", the entity type must be one of topics, clients, users, brokers, client-metrics (broker-loggers, ips and "
                         "groups are not supported by this tool) with a --bootstrap-server or --bootstrap-controller argument");
    if (types.empty()) throw UsageError("At least one entity type must be specified");
    if (types.size() > 1 && distinct != std::set<std::string>{"users", "clients"})
      throw UsageError("Only 'users' and 'clients' entity types may be specified together");
    const std::string entity_type = types.front();
    const bool quota_entity = entity_type == "users" || entity_type == "clients";
    bool has_name = std::any_of(names.begin(), names.end(), [](const std::string& n) { return !n.empty(); });
    bool has_default = std::any_of(names.begin(), names.end(), [](const std::string& n) { return n.empty(); });
    if (has_name && entity_type == "brokers")
      for (const auto& n : names)
        if (!n.empty()) {
          try {
            size_t pos = 0;
            std::stoi(n, &pos);
            if (pos != n.size()) throw std::invalid_argument(n);
          } catch (const std::exception&) {
            throw UsageError("The entity name for brokers must be a valid integer broker id, but it is: " + n);
          }
        }
    if (o.describe && o.entity_default && !quota_entity && entity_type != "brokers")
      throw UsageError("--entity-default must not be specified with --describe of " + entity_type);
    if (o.alter) {
      if (entity_type == "brokers" || quota_entity) {
        if (!has_name && !has_default)
          throw UsageError("an entity-name or default entity must be specified with --alter of users, clients, brokers or ips");
      } else if (!has_name) {
        throw UsageError("an entity name must be specified with --alter of " + entity_type);
      }
      if (o.add_config && o.add_config_file) throw UsageError("Only one of --add-config or --add-config-file must be specified");
      if (!o.add_config && !o.add_config_file && o.delete_config.empty())
        throw UsageError("At least one of --add-config, --add-config-file, or --delete-config must be specified with --alter");
      if (!quota_entity && names.size() != types.size()) throw UsageError("An entity name must be specified for every entity type");
    }

    ClientOptions copts;
    copts.client_id = "flotilla-configs";
    if (o.command_config) {
      auto props = server::load_properties_file(*o.command_config);
      apply_client_security(props);
      if (auto it = props.find("request.timeout.ms"); it != props.end()) copts.request_timeout_ms = std::stoi(it->second);
      if (auto it = props.find("client.id"); it != props.end()) copts.client_id = it->second;
    }
    KafkaClient client(*o.bootstrap_server, copts);

    if (quota_entity) {
      if (o.describe) {
        configs::describe_quota_configs(client, types, names, out);
        // Kafka describes SCRAM credentials only for users alone and without a default.
        if (std::find(types.begin(), types.end(), "clients") == types.end() && !has_default) {
          std::vector<std::string> named;
          for (const auto& n : names)
            if (!n.empty()) named.push_back(n);
          configs::describe_user_scram_configs(client, named, out);
        }
        return 0;
      }
      std::map<std::string, std::string> to_add;
      if (o.add_config) to_add = parse_add_config(*o.add_config);
      if (o.add_config_file) to_add = server::load_properties_file(*o.add_config_file);
      alter_user_or_client(client, types, names, to_add, delete_config_keys(o.delete_config));
      if (!names.front().empty())
        out << "Completed updating config for " << entity_type.substr(0, entity_type.size() - 1) << " " << names.front() << ".\n";
      else
        out << "Completed updating default config for " << entity_type << " in the cluster.\n";
      return 0;
    }

    if (o.describe) {
      std::vector<Resource> resources;
      if (!names.empty()) {
        resources.push_back(Resource{entity_type, names.front()});
      } else if (entity_type == "topics") {
        ClusterInfo ci = client.metadata(std::nullopt);
        for (const auto& [name, t] : ci.topics) resources.push_back(Resource{entity_type, name});
      } else if (entity_type == "client-metrics") {
        auto listed = client::list_client_metrics_resources(client.any());
        if (listed.error_code != 0) throw ServerError(kafka_exception(listed.error_code, std::nullopt));
        for (const auto& x : listed.client_metrics_resources) resources.push_back(Resource{entity_type, x.name});
      } else {
        ClusterInfo ci = client.metadata(std::vector<std::string>{});
        for (const auto& [id, b] : ci.brokers) resources.push_back(Resource{entity_type, std::to_string(id)});
        resources.push_back(Resource{entity_type, ""});
      }
      for (const auto& r : resources) {
        if (r.type() == kBroker && r.name.empty())
          out << "Default configs for " << entity_type << " in the cluster are:\n";
        else
          out << (o.all ? "All" : "Dynamic") << " configs for " << entity_type.substr(0, entity_type.size() - 1) << " " << r.name << " are:\n";
        if (r.type() == kBroker && !r.name.empty()) client.metadata(std::vector<std::string>{});
        auto result = describe(client, r);
        std::vector<const msg::DescribeConfigsResponse::DescribeConfigsResourceResult*> entries;
        for (const auto& c : result.configs)
          if (o.all || c.config_source == dynamic_source(r)) entries.push_back(&c);
        std::sort(entries.begin(), entries.end(), [](auto* a, auto* b) { return a->name < b->name; });
        for (const auto* c : entries) {
          std::string syn;
          for (const auto& s : c->synonyms)
            syn += (syn.empty() ? "" : ", ") + std::string(source_name(s.source)) + ":" + s.name + "=" + s.value.value_or("null");
          out << "  " << c->name << "=" << c->value.value_or("null") << " sensitive=" << (c->is_sensitive ? "true" : "false")
              << " synonyms={" << syn << "}\n";
        }
      }
      return 0;
    }

    // --alter
    Resource r{entity_type, names.front()};
    std::map<std::string, std::string> to_add;
    if (o.add_config) to_add = parse_add_config(*o.add_config);
    if (o.add_config_file) {
      to_add = server::load_properties_file(*o.add_config_file);
      for (const auto& [k, v] : to_add)
        if (!std::regex_match(k, std::regex("[a-zA-Z0-9._-]*"))) throw UsageError("Invalid character found for config key: " + k);
    }
    std::vector<std::string> to_delete = delete_config_keys(o.delete_config);
    if (r.type() == kBroker && !r.name.empty()) client.metadata(std::vector<std::string>{});
    // Only configs set on the resource itself can be deleted.
    auto current = describe(client, r);
    std::vector<std::string> invalid;
    for (const auto& k : to_delete) {
      bool found = false;
      for (const auto& c : current.configs) found |= c.name == k && c.config_source == dynamic_source(r);
      if (!found) invalid.push_back(k);
    }
    if (!invalid.empty()) {
      std::string s;
      for (const auto& k : invalid) s += (s.empty() ? "" : ",") + k;
      throw UsageError("Invalid config(s): " + s);
    }

    Connection& c = config_connection(client, r.resource());
    std::vector<ConfigOp> ops;
    for (const auto& k : to_delete) ops.push_back(ConfigOp{k, kDeleteConfig, ""});
    for (const auto& [k, v] : to_add) ops.push_back(ConfigOp{k, kSetConfig, v});
    msg::IncrementalAlterConfigsResponse resp;
    try {
      resp = incremental_alter_configs(c, r.resource(), ops);
    } catch (const KafkaError&) {
      // Only the version negotiation throws KafkaError here: the broker lacks the API.
      throw UsageError(
          "The INCREMENTAL_ALTER_CONFIGS API is not supported by the cluster. The API is supported starting from version 2.3.0. You may "
          "want to use an older version of this tool to interact with your cluster, or upgrade your brokers to version 2.3.0 or newer to "
          "avoid this error.");
    }
    for (const auto& x : resp.responses)
      if (x.error_code != 0) throw ServerError(kafka_exception(x.error_code, x.error_message));
    if (!r.name.empty())
      out << "Completed updating config for " << entity_type.substr(0, entity_type.size() - 1) << " " << r.name << ".\n";
    else
      out << "Completed updating default config for " << entity_type << " in the cluster.\n";
    return 0;
  } catch (const UsageError& e) {
    err << e.what() << "\n";
  } catch (const ServerError& e) {
    err << "Error while executing config command with args '" << args << "'\n";
    err << "java.util.concurrent.ExecutionException: " << e.what() << "\n";
  } catch (const KafkaError& e) {
    err << "Error while executing config command with args '" << args << "'\n";
    err << kafka_exception(code(e.code()), std::string(e.what())) << "\n";
  } catch (const std::exception& e) {
    err << "Error while executing config command with args '" << args << "'\n";
    err << e.what() << "\n";
  }
  return 1;
}

}  // namespace flotilla::tools
