// Kafka's broker configs as dynamic configuration sees them (KIP-226): each
// known key's type, default and update mode; the validation a broker applies
// to a BROKER resource's dynamic configs before forwarding a change to the
// controller (Kafka's DynamicBrokerConfig.validate); and DescribeConfigs'
// view of broker and topic configs through the four layers, most specific
// first: this broker's dynamic configs (ConfigRecords for resource "<id>"),
// the cluster-wide dynamic defaults (resource ""), server.properties, Kafka's
// defaults. Keys this table does not know are custom configs: stored and
// described as given, never rejected (Kafka ignores unknown names too).
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "broker/broker_config.h"
#include "common/config_def.h"

namespace flotilla::broker {

// Kafka's ConfigSource ids (DescribeConfigs v1+).
enum ConfigSourceId : int8_t {
  kDynamicTopicConfig = 1,
  kDynamicBrokerConfig = 2,
  kDynamicDefaultBrokerConfig = 3,
  kStaticBrokerConfig = 4,
  kDefaultConfig = 5,
};

// Kafka's broker config update modes: read-only (server.properties only),
// per-broker (a node's own dynamic config), cluster-wide (also the "" default).
enum class UpdateMode { READ_ONLY, PER_BROKER, CLUSTER_WIDE };

struct BrokerConfigDef {
  config::ConfigKey key;
  UpdateMode mode;
};

const std::vector<BrokerConfigDef>& broker_config_defs();
const BrokerConfigDef* find_broker_config(const std::string& name);

// Validates a BROKER resource's dynamic configs as they would be after the
// change (`per_broker`: a node's own, else the cluster default): no read-only
// key, values of the right type and range, no per-broker-only key at the
// cluster level. "" if valid, else Kafka's message (INVALID_REQUEST).
std::string validate_dynamic_broker_configs(const std::map<std::string, std::string>& props, bool per_broker);

// The names that set `name` (log.retention.ms: also .minutes and .hours), in
// Kafka's order.
std::vector<std::string> broker_synonyms(const std::string& name);

struct DescribedSynonym {
  std::string name;
  std::optional<std::string> value;
  int8_t source;
};
struct DescribedConfig {
  std::string name;
  std::optional<std::string> value;
  int8_t source = kDefaultConfig;
  bool read_only = true;
  bool sensitive = false;
  config::ConfigType type = config::ConfigType::UNKNOWN;
  std::vector<DescribedSynonym> synonyms;  // most specific first; the first one's source is `source`
};

// The broker config layers below a topic's own overrides.
struct BrokerConfigLayers {
  std::map<std::string, std::string> per_broker;       // ConfigRecords of BROKER "<this node id>"
  std::map<std::string, std::string> cluster_default;  // ConfigRecords of BROKER ""
  std::map<std::string, std::string> static_configs;   // server.properties
};

// DescribeConfigs of this broker (`per_broker`) — every known key, every key
// of server.properties and every dynamic key — or of the cluster default
// (only the keys set there). Sorted by name.
std::vector<DescribedConfig> describe_broker_configs(const BrokerConfigLayers& layers, bool per_broker);
// DescribeConfigs of a topic: every topic config, its value from the topic's
// override, else the broker layers of its broker synonym, else Kafka's default.
std::vector<DescribedConfig> describe_topic_configs(const BrokerConfigLayers& layers, const std::map<std::string, std::string>& overrides);

}  // namespace flotilla::broker
