// Kafka's ConfigDef value rules, for validating configuration values that
// arrive over the wire (AlterConfigs, IncrementalAlterConfigs, CreateTopics):
// a config's type (how its string parses) and its validator (a numeric range
// or a set of allowed strings). The error texts are Kafka's ConfigException
// texts ("Invalid value X for configuration Y: why"), because clients and
// operators see them verbatim in responses.
//
// Both the controller (topic configs) and the broker (dynamic broker configs)
// validate with these rules, so they live below both.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <map>
#include <set>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace flotilla::config {

// DescribeConfigs' ConfigType ids (Kafka's DescribeConfigsResponse.ConfigType).
enum class ConfigType : int8_t { UNKNOWN = 0, BOOLEAN = 1, STRING = 2, INT = 3, SHORT = 4, LONG = 5, DOUBLE = 6, LIST = 7, CLASS = 8, PASSWORD = 9 };

// One configuration key: its type, default (nullopt: Kafka's null default)
// and validator. `valid` lists the allowed strings of a STRING, or of each
// element of a LIST; `min`/`max` bound a number (Kafka's Range).
struct ConfigKey {
  std::string_view name;
  ConfigType type = ConfigType::STRING;
  std::optional<std::string_view> default_value;
  std::optional<double> min;
  std::optional<double> max;
  std::vector<std::string_view> valid;
};

// Kafka's ConfigException message: "Invalid value <value> for configuration <name>: <why>".
std::string invalid_value(std::string_view name, std::string_view value, std::string_view why);

// Parses `value` as the key's type and runs its validator, as Kafka's
// ConfigDef.parse does. Returns "" if valid, else the ConfigException text.
std::string validate_value(const ConfigKey& key, std::string_view value);

// `s` without the blanks Kafka trims around a config value (space, \t, \n, \r, \f).
std::string_view trim(std::string_view s);

// A LIST value's elements, as Kafka splits them (trimmed, split on commas
// with surrounding blanks; "" is the empty list).
std::vector<std::string> split_list(std::string_view value);

// Java's Double.toString for the numbers that appear in messages ("0.5", "2.0").
std::string java_double(double v);

// The (resource type, resource name) pairs named more than once in a config
// request's resources (Kafka answers each of them INVALID_REQUEST).
template <class Resources>
std::set<std::pair<int8_t, std::string>> duplicated(const Resources& resources) {
  std::map<std::pair<int8_t, std::string>, int> counts;
  for (const auto& r : resources) counts[{r.resource_type, r.resource_name}]++;
  std::set<std::pair<int8_t, std::string>> out;
  for (const auto& [k, n] : counts)
    if (n > 1) out.insert(k);
  return out;
}

}  // namespace flotilla::config
