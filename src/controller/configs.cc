// QuorumController: IncrementalAlterConfigs and the legacy AlterConfigs for
// TOPIC, BROKER and CLIENT_METRICS resources, as Kafka's ControllerApis +
// ConfigurationControlManager + ControllerConfigurationValidator answer them.
//
// Each resource is validated and written on its own (one resource failing
// does not stop the others), but all the records of one request go into one
// batch. A TOPIC resource's whole resulting set of overrides is validated
// (names, types, ranges, conflicts) and its ConfigRecords are written only
// for keys whose value changes; a BROKER resource ("" = the cluster-wide
// default, else a node id) gets a record for every key named, changed or not,
// so that brokers reload it (KAFKA-14136). A record with a null value deletes
// the key. Broker config names and values are validated by the broker that
// forwards the request (it knows which configs are dynamic); the controller
// checks the resource name and that the node exists. A CLIENT_METRICS resource
// (a KIP-714 subscription) is validated whole as Kafka's ClientMetricsConfigs
// does, and gets records only for keys whose value changes.
#include <algorithm>
#include <map>
#include <set>
#include <spdlog/spdlog.h>

#include "common/config_def.h"
#include "controller/quorum_controller.h"
#include "metadata/client_metrics_config.h"
#include "protocol/metadata_record.h"

namespace flotilla::controller {

using protocol::frame_metadata_record;
using config::ConfigKey;
using config::ConfigType;

namespace {

constexpr int8_t kTopic = 2, kBroker = 4, kBrokerLogger = 8, kClientMetrics = 16, kGroup = 32;
constexpr int8_t kSet = 0, kDelete = 1, kAppend = 2, kSubtract = 3;  // AlterConfigOp.OpType ids
const char* const kOpNames[] = {"SET", "DELETE", "APPEND", "SUBTRACT"};

// Kafka's topic-level ConfigDef (LogConfig): type, default, validator.
const std::vector<ConfigKey>& topic_keys() {
  static const std::vector<ConfigKey> keys = {
      {"cleanup.policy", ConfigType::LIST, "delete", {}, {}, {"compact", "delete"}},
      {"compression.gzip.level", ConfigType::INT, "-1", {}, {}, {}},  // -1 or 1..9, checked below
      {"compression.lz4.level", ConfigType::INT, "9", 1, 17, {}},
      {"compression.type", ConfigType::STRING, "producer", {}, {}, {"uncompressed", "zstd", "lz4", "snappy", "gzip", "producer"}},
      {"compression.zstd.level", ConfigType::INT, "3", -131072, 22, {}},
      {"delete.retention.ms", ConfigType::LONG, "86400000", 0, {}, {}},
      {"file.delete.delay.ms", ConfigType::LONG, "60000", 0, {}, {}},
      {"flush.messages", ConfigType::LONG, "9223372036854775807", 1, {}, {}},
      {"flush.ms", ConfigType::LONG, "9223372036854775807", 0, {}, {}},
      {"follower.replication.throttled.replicas", ConfigType::LIST, "", {}, {}, {}},  // checked below
      {"index.interval.bytes", ConfigType::INT, "4096", 0, {}, {}},
      {"leader.replication.throttled.replicas", ConfigType::LIST, "", {}, {}, {}},  // checked below
      {"local.retention.bytes", ConfigType::LONG, "-2", -2, {}, {}},
      {"local.retention.ms", ConfigType::LONG, "-2", -2, {}, {}},
      {"max.compaction.lag.ms", ConfigType::LONG, "9223372036854775807", 1, {}, {}},
      {"max.message.bytes", ConfigType::INT, "1048588", 0, {}, {}},
      {"message.downconversion.enable", ConfigType::BOOLEAN, "true", {}, {}, {}},
      {"message.format.version", ConfigType::STRING, "3.0-IV1", {}, {}, {}},
      {"message.timestamp.after.max.ms", ConfigType::LONG, "9223372036854775807", 0, {}, {}},
      {"message.timestamp.before.max.ms", ConfigType::LONG, "9223372036854775807", 0, {}, {}},
      {"message.timestamp.difference.max.ms", ConfigType::LONG, "9223372036854775807", 0, {}, {}},
      {"message.timestamp.type", ConfigType::STRING, "CreateTime", {}, {}, {"CreateTime", "LogAppendTime"}},
      {"min.cleanable.dirty.ratio", ConfigType::DOUBLE, "0.5", 0, 1, {}},
      {"min.compaction.lag.ms", ConfigType::LONG, "0", 0, {}, {}},
      {"min.insync.replicas", ConfigType::INT, "1", 1, {}, {}},
      {"preallocate", ConfigType::BOOLEAN, "false", {}, {}, {}},
      {"remote.log.copy.disable", ConfigType::BOOLEAN, "false", {}, {}, {}},
      {"remote.log.delete.on.disable", ConfigType::BOOLEAN, "false", {}, {}, {}},
      {"remote.storage.enable", ConfigType::BOOLEAN, "false", {}, {}, {}},
      {"retention.bytes", ConfigType::LONG, "-1", {}, {}, {}},
      {"retention.ms", ConfigType::LONG, "604800000", -1, {}, {}},
      {"segment.bytes", ConfigType::INT, "1073741824", 14, {}, {}},
      {"segment.index.bytes", ConfigType::INT, "10485760", 4, {}, {}},
      {"segment.jitter.ms", ConfigType::LONG, "0", 0, {}, {}},
      {"segment.ms", ConfigType::LONG, "604800000", 1, {}, {}},
      {"unclean.leader.election.enable", ConfigType::BOOLEAN, "false", {}, {}, {}},
  };
  return keys;
}

const ConfigKey* topic_key(const std::string& name) {
  for (const auto& k : topic_keys())
    if (k.name == name) return &k;
  return nullptr;
}

// Java's List.toString of the trimmed elements: "[a, b]".
std::string java_list(const std::vector<std::string>& v) {
  std::string s = "[";
  for (size_t i = 0; i < v.size(); ++i) s += (i ? ", " : "") + v[i];
  return s + "]";
}

// The validators that are not a range or a set of strings.
std::string special_check(const ConfigKey& key, const std::string& value) {
  if (key.name == "compression.gzip.level") {
    long long level = std::stoll(std::string(config::trim(value)));  // parsed as INT already
    if (level > 9 || (level < 1 && level != -1))
      return config::invalid_value(key.name, std::to_string(level), "Value must be between 1 and 9 or equal to -1");
  }
  if (key.name == "follower.replication.throttled.replicas" || key.name == "leader.replication.throttled.replicas") {
    auto parts = config::split_list(value);
    std::string joined;
    bool all_pairs = true;
    for (const auto& p : parts) {
      joined += p;
      auto colon = p.find(':');
      bool pair = p.empty() || (colon != std::string::npos && colon > 0 && colon + 1 < p.size() &&
                                std::all_of(p.begin(), p.begin() + static_cast<std::ptrdiff_t>(colon), ::isdigit) &&
                                std::all_of(p.begin() + static_cast<std::ptrdiff_t>(colon) + 1, p.end(), ::isdigit));
      all_pairs &= pair;
    }
    if (!all_pairs && joined != "*")
      return config::invalid_value(key.name, java_list(parts),
                                   std::string(key.name) +
                                       " must be the literal '*' or a list of replicas in the following format: "
                                       "[partitionId]:[brokerId],[partitionId]:[brokerId],...");
  }
  return "";
}

std::optional<std::string> value_of(const metadata::ConfigMap& m, const std::string& k) {
  auto it = m.find(k);
  if (it == m.end()) return std::nullopt;
  return it->second;
}

}  // namespace

std::string validate_topic_configs(const metadata::ConfigMap& configs) {
  for (const auto& [name, value] : configs)
    if (!topic_key(name)) return "Unknown topic config name: " + name;
  for (const auto& key : topic_keys()) {
    auto v = value_of(configs, std::string(key.name));
    if (!v) continue;
    if (std::string e = config::validate_value(key, *v); !e.empty()) return e;
    if (std::string e = special_check(key, *v); !e.empty()) return e;
  }
  // Cross-config rules of LogConfig.validate.
  int64_t min_lag = 0, max_lag = INT64_MAX;
  if (auto v = value_of(configs, "min.compaction.lag.ms")) min_lag = std::stoll(std::string(config::trim(*v)));
  if (auto v = value_of(configs, "max.compaction.lag.ms")) max_lag = std::stoll(std::string(config::trim(*v)));
  if (min_lag > max_lag)
    return "conflict topic config setting min.compaction.lag.ms (" + std::to_string(min_lag) + ") > max.compaction.lag.ms (" +
           std::to_string(max_lag) + ")";
  if (auto v = value_of(configs, "remote.storage.enable")) {
    std::string l(config::trim(*v));
    std::transform(l.begin(), l.end(), l.begin(), ::tolower);
    if (l == "true")  // this server has no tiered storage (remote.log.storage.system.enable=false)
      return "Tiered Storage functionality is disabled in the broker. Topic cannot be configured with remote log storage.";
  }
  return "";
}

// ---------------------------------------------------------------- shared

ErrorCode QuorumController::prepare_config_change(int8_t type, const std::string& name,
                                                  const std::map<std::string, std::optional<std::string>>& changes, std::string& message,
                                                  std::vector<std::vector<uint8_t>>& records) const {
  metadata::ConfigMap current = latest_->configs_of(static_cast<metadata::ConfigResourceType>(type), name);
  metadata::ConfigMap all = current;
  std::vector<std::vector<uint8_t>> out;
  for (const auto& [key, value] : changes) {
    if (value != value_of(current, key) || type == kBroker) {
      msg::ConfigRecord r;
      r.resource_type = type;
      r.resource_name = name;
      r.name = key;
      r.value = value;
      out.push_back(frame_metadata_record(r, 0));
    }
    if (value) all[key] = *value;
    else all.erase(key);
  }
  if (type == kTopic) {
    if (name.empty()) {
      message = "Default topic resources are not allowed.";
      return ErrorCode::INVALID_REQUEST;
    }
    if (std::string e = validate_topic_name(name); !e.empty()) {
      message = e;
      return ErrorCode::INVALID_TOPIC_EXCEPTION;
    }
    if (std::string e = validate_topic_configs(all); !e.empty()) {
      message = e;
      return ErrorCode::INVALID_CONFIG;
    }
    if (!latest_->topic(name)) {
      message = "The topic '" + name + "' does not exist.";
      return ErrorCode::UNKNOWN_TOPIC_OR_PARTITION;
    }
  } else if (type == kClientMetrics) {
    // Kafka's ClientMetricsConfigs.validate of the resulting whole set.
    auto v = metadata::validate_client_metrics_configs(name, all);
    if (v.error != ErrorCode::NONE) {
      message = v.message;
      return v.error;
    }
  } else if (type == kBroker && !name.empty()) {
    int64_t id = -1;
    bool numeric = !name.empty() && name.size() <= 11 &&
                   std::all_of(name.begin() + (name[0] == '-' || name[0] == '+' ? 1 : 0), name.end(), ::isdigit) &&
                   name.find_first_of("0123456789") != std::string::npos;
    if (numeric) id = std::stoll(name);
    if (!numeric || id > INT32_MAX || id < INT32_MIN) {
      message = "Unable to parse broker name " + name;
      return ErrorCode::INVALID_REQUEST;
    }
    if (id < 0) {
      message = "Invalid negative broker ID.";
      return ErrorCode::INVALID_REQUEST;
    }
    int32_t node = static_cast<int32_t>(id);
    bool is_controller = node == config_.node_id ||
                         std::find(config_.controller_ids.begin(), config_.controller_ids.end(), node) != config_.controller_ids.end();
    if (!latest_->broker(node) && !is_controller) {
      message = "No node with id " + std::to_string(node) + " found.";
      return ErrorCode::BROKER_ID_NOT_REGISTERED;
    }
  }
  for (auto& r : out) records.push_back(std::move(r));
  return ErrorCode::NONE;
}

namespace {

// One resource's answer, shared by both APIs (their response structs differ only by name).
struct ResourceResult {
  int8_t type;
  std::string name;
  ErrorCode error;
  std::string message;
};

// Kafka's ControllerApis screening before the controller sees a resource: an
// unknown type, and resources named twice in one request.
std::optional<ResourceResult> screen(int8_t type, const std::string& name, const std::set<std::pair<int8_t, std::string>>& duplicates) {
  if (type != kTopic && type != kBroker && type != kBrokerLogger && type != kClientMetrics && type != kGroup)
    return ResourceResult{type, name, ErrorCode::UNSUPPORTED_VERSION, "Unknown resource type " + std::to_string(type) + "."};
  if (duplicates.count({type, name})) return ResourceResult{type, name, ErrorCode::INVALID_REQUEST, "Duplicate resource."};
  if (type == kBrokerLogger || type == kGroup)
    return ResourceResult{type, name, ErrorCode::INVALID_REQUEST, "Unknown resource type " + std::to_string(type)};
  return std::nullopt;
}


template <class Response>
Response to_response(const std::vector<ResourceResult>& results) {
  Response resp;
  for (const auto& r : results) {
    typename decltype(resp.responses)::value_type x;
    x.resource_type = r.type;
    x.resource_name = r.name;
    x.error_code = code(r.error);
    x.error_message = r.error == ErrorCode::NONE ? std::nullopt : std::optional<std::string>(r.message);
    resp.responses.push_back(std::move(x));
  }
  return resp;
}

}  // namespace

// ---------------------------------------------------------------- the frame of both APIs

// `changes_of(resource, changes, result)` turns one screened resource into its
// changes (nullopt: delete the key), or fails `result`.
template <class Response, class Request, class ChangesOf>
void QuorumController::alter_config_resources(const Request& request, const char* api, ChangesOf changes_of,
                                              std::function<void(Response)> done) {
  auto results = std::make_shared<std::vector<ResourceResult>>();
  if (!active_) {
    for (const auto& r : request.resources)
      results->push_back(ResourceResult{r.resource_type, r.resource_name, ErrorCode::NOT_CONTROLLER,
                                        std::string(error_message(ErrorCode::NOT_CONTROLLER))});
    post([done = std::move(done), results] { done(to_response<Response>(*results)); });
    return;
  }
  auto duplicates = config::duplicated(request.resources);
  std::set<std::pair<int8_t, std::string>> reported;
  std::vector<std::vector<uint8_t>> records;
  std::vector<size_t> written;  // results whose records are in this batch
  for (const auto& res : request.resources) {
    if (auto s = screen(res.resource_type, res.resource_name, duplicates)) {
      if (s->message == "Duplicate resource." && !reported.insert({res.resource_type, res.resource_name}).second) continue;
      results->push_back(*s);
      continue;
    }
    ResourceResult result{res.resource_type, res.resource_name, ErrorCode::NONE, ""};
    std::map<std::string, std::optional<std::string>> changes;
    changes_of(res, changes, result);
    if (result.error == ErrorCode::NONE) {
      std::vector<std::vector<uint8_t>> rs;
      result.error = prepare_config_change(res.resource_type, res.resource_name, changes, result.message, rs);
      if (result.error == ErrorCode::NONE && !request.validate_only) {
        for (auto& r : rs) records.push_back(std::move(r));
        written.push_back(results->size());
      }
    }
    if (result.error != ErrorCode::NONE)
      spdlog::info("[QuorumController id={}] {} of resource {}:'{}' failed: {} ({})", config_.node_id, api, res.resource_type,
                   res.resource_name, result.message, error_name(result.error));
    results->push_back(std::move(result));
  }
  std::optional<int64_t> off;
  if (!records.empty()) off = write(std::move(records));
  after_commit_of(off, [done = std::move(done), results, written](ErrorCode ec) mutable {
    if (ec != ErrorCode::NONE)
      for (size_t i : written) {
        (*results)[i].error = ec;
        (*results)[i].message = std::string(error_message(ec));
      }
    done(to_response<Response>(*results));
  });
}

// ---------------------------------------------------------------- IncrementalAlterConfigs

void QuorumController::incremental_alter_configs(msg::IncrementalAlterConfigsRequest request, int16_t version,
                                                 std::function<void(msg::IncrementalAlterConfigsResponse)> done) {
  auto changes_of = [this](const msg::IncrementalAlterConfigsRequest::AlterConfigsResource& res,
                           std::map<std::string, std::optional<std::string>>& changes, ResourceResult& result) {
    metadata::ConfigMap current = latest_->configs_of(static_cast<metadata::ConfigResourceType>(res.resource_type), res.resource_name);
    // A key named twice: the last operation wins (each applies to the current value).
    std::map<std::string, const msg::IncrementalAlterConfigsRequest::AlterableConfig*> ops;
    for (const auto& c : res.configs) ops[c.name] = &c;
    for (const auto& [op_name, op] : ops) {
      const auto& c = *op;
      std::optional<std::string> now = value_of(current, c.name);
      switch (c.config_operation) {
        case kSet:
          changes[c.name] = c.value;
          break;
        case kDelete:
          changes[c.name] = std::nullopt;
          break;
        case kAppend:
        case kSubtract: {
          const ConfigKey* key = res.resource_type == kTopic ? topic_key(c.name) : nullptr;
          // Broker keys were checked for LIST by the forwarding broker.
          bool splittable = res.resource_type == kBroker || (key && key->type == ConfigType::LIST);
          if (!splittable) {
            result.error = ErrorCode::INVALID_CONFIG;
            result.message = std::string("Can't ") + kOpNames[c.config_operation] + " to key " + c.name + " because its type is not LIST.";
            break;
          }
          std::string base = now ? *now : key && key->default_value ? std::string(*key->default_value) : "";
          std::vector<std::string> parts;
          for (auto& p : config::split_list(base))
            if (!p.empty()) parts.push_back(p);
          std::string arg = c.value.value_or("");
          size_t start = 0;
          for (;;) {
            size_t comma = arg.find(',', start);
            std::string v = arg.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
            if (c.config_operation == kAppend) {
              if (std::find(parts.begin(), parts.end(), v) == parts.end()) parts.push_back(v);
            } else {
              std::erase(parts, v);
            }
            if (comma == std::string::npos) break;
            start = comma + 1;
          }
          std::string joined;
          for (size_t i = 0; i < parts.size(); ++i) joined += (i ? "," : "") + parts[i];
          changes[c.name] = joined;
          break;
        }
        default:
          result.error = ErrorCode::INVALID_REQUEST;
          result.message = "Unknown operations type " + std::to_string(c.config_operation);
          break;
      }
      if (result.error != ErrorCode::NONE) break;
    }
  };
  alter_config_resources<msg::IncrementalAlterConfigsResponse>(request, "IncrementalAlterConfigs", changes_of, std::move(done));
}

// ---------------------------------------------------------------- AlterConfigs (legacy)

void QuorumController::alter_configs(msg::AlterConfigsRequest request, int16_t version, std::function<void(msg::AlterConfigsResponse)> done) {
  auto changes_of = [this](const msg::AlterConfigsRequest::AlterConfigsResource& res,
                           std::map<std::string, std::optional<std::string>>& changes, ResourceResult&) {
    // The request is the resource's whole new configuration: keys it leaves out are deleted.
    for (const auto& c : res.configs) changes[c.name] = c.value;
    for (const auto& [k, v] : latest_->configs_of(static_cast<metadata::ConfigResourceType>(res.resource_type), res.resource_name))
      if (!changes.count(k)) changes[k] = std::nullopt;
  };
  alter_config_resources<msg::AlterConfigsResponse>(request, "AlterConfigs", changes_of, std::move(done));
}

}  // namespace flotilla::controller
