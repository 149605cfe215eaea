// Kafka's topic-level configs: names, their broker-level synonyms and defaults,
// and how overrides (ConfigRecords) turn into a storage::LogConfig.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "broker/broker_config.h"
#include "storage/log.h"

namespace flotilla::broker {

struct TopicConfigDef {
  std::string name;           // e.g. "retention.ms"
  std::string broker_synonym; // e.g. "log.retention.ms", "" if none
  std::string default_value;  // Kafka's default, as Kafka prints it
  int8_t type;                // DescribeConfigs ConfigType: 1 BOOLEAN 2 STRING 3 INT 4 SHORT 5 LONG 6 DOUBLE 7 LIST 8 CLASS 9 PASSWORD
};

const std::vector<TopicConfigDef>& topic_config_defs();
const TopicConfigDef* find_topic_config(const std::string& name);

// The effective value of each topic config for this broker: the topic override
// if any, else the broker's static value, else Kafka's default. `source` gets
// DescribeConfigs' ConfigSource (1 DYNAMIC_TOPIC_CONFIG, 4 STATIC_BROKER_CONFIG, 5 DEFAULT_CONFIG).
struct EffectiveConfig {
  std::string name;
  std::string value;
  int8_t source;
  int8_t type;
  std::string broker_synonym;
};
std::vector<EffectiveConfig> effective_topic_configs(const BrokerConfig& broker,
                                                     const std::map<std::string, std::string>& overrides);

storage::LogConfig log_config_for(const BrokerConfig& broker, const std::map<std::string, std::string>& overrides);

// Validation of a value given in CreateTopics/AlterConfigs; the error text if invalid.
std::optional<std::string> validate_topic_config(const std::string& name, const std::optional<std::string>& value);

}  // namespace flotilla::broker
