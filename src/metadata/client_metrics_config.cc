#include "metadata/client_metrics_config.h"

#include <algorithm>


#include "common/client_pattern.h"
#include "common/config_def.h"

namespace flotilla::metadata {

using config::ConfigKey;
using config::ConfigType;

namespace client_metrics_keys {

const std::vector<ConfigKey>& keys() {
  static const std::vector<ConfigKey> k = {
      {"metrics", ConfigType::LIST, "", {}, {}, {}},
      {"interval.ms", ConfigType::INT, "300000", {}, {}, {}},
      {"match", ConfigType::LIST, "", {}, {}, {}},
  };
  return k;
}

const ConfigKey* key_of(const std::string& name) {
  for (const auto& k : keys())
    if (k.name == name) return &k;
  return nullptr;
}

}  // namespace client_metrics_keys

const std::vector<std::string>& client_metrics_match_selectors() {
  static const std::vector<std::string> s = {"client_instance_id",      "client_id",           "client_software_name",
                                             "client_software_version", "client_source_address", "client_source_port"};
  return s;
}

bool split_match_pattern(const std::string& pattern, std::string& selector, std::string& regex) {
  std::vector<std::string> parts;
  size_t start = 0;
  for (;;) {
    size_t eq = pattern.find('=', start);
    parts.push_back(pattern.substr(start, eq == std::string::npos ? std::string::npos : eq - start));
    if (eq == std::string::npos) break;
    start = eq + 1;
  }
  while (!parts.empty() && parts.back().empty()) parts.pop_back();  // Java's split drops trailing empty strings
  if (parts.size() != 2) return false;
  selector = std::string(config::trim(parts[0]));
  regex = std::string(config::trim(parts[1]));
  const auto& allowed = client_metrics_match_selectors();
  return std::find(allowed.begin(), allowed.end(), selector) != allowed.end();
}

ClientMetricsValidation validate_client_metrics_configs(const std::string& name, const std::map<std::string, std::string>& configs) {
  if (name.empty()) return {ErrorCode::INVALID_REQUEST, "Subscription name can't be empty"};
  for (const auto& [k, v] : configs)
    if (!client_metrics_keys::key_of(k)) return {ErrorCode::INVALID_REQUEST, "Unknown client metrics configuration: " + k};
  for (const auto& k : client_metrics_keys::keys()) {
    auto it = configs.find(std::string(k.name));
    if (it == configs.end()) continue;
    if (std::string e = config::validate_value(k, it->second); !e.empty()) return {ErrorCode::INVALID_CONFIG, e};
  }
  if (auto it = configs.find("interval.ms"); it != configs.end()) {
    long long ms = std::stoll(std::string(config::trim(it->second)));  // an INT: validated above
    if (ms < kClientMetricsMinIntervalMs || ms > kClientMetricsMaxIntervalMs)
      return {ErrorCode::INVALID_REQUEST,
              "Invalid value " + std::to_string(ms) + " for interval.ms, interval must be between 100 and 3600000 (1 hour)"};
  }
  if (auto it = configs.find("match"); it != configs.end()) {
    for (const auto& p : config::split_list(it->second)) {
      if (config::trim(it->second).empty()) break;
      std::string selector, regex;
      bool ok = split_match_pattern(p, selector, regex);
      if (ok) ok = ClientPattern::compile(regex).has_value();
      if (!ok) return {ErrorCode::INVALID_CONFIG, "Illegal client matching pattern: " + p};
    }
  }
  return {};
}

ClientMetricsSubscription parse_client_metrics_subscription(const std::string& name, const std::map<std::string, std::string>& configs) {
  ClientMetricsSubscription s;
  s.name = name;
  if (auto it = configs.find("metrics"); it != configs.end() && !config::trim(it->second).empty()) s.metrics = config::split_list(it->second);
  if (auto it = configs.find("interval.ms"); it != configs.end()) {
    try {
      s.interval_ms = std::stoi(std::string(config::trim(it->second)));
    } catch (const std::exception&) {
    }
  }
  if (auto it = configs.find("match"); it != configs.end() && !config::trim(it->second).empty()) {
    for (const auto& p : config::split_list(it->second)) {
      std::string selector, regex;
      if (!split_match_pattern(p, selector, regex)) continue;
      auto dup = std::find_if(s.match.begin(), s.match.end(), [&](const auto& m) { return m.first == selector; });
      if (dup != s.match.end()) dup->second = regex;
      else s.match.emplace_back(selector, regex);
    }
  }
  return s;
}

}  // namespace flotilla::metadata
