// A minimal valid single-node server.properties for config tests, with
// overrides; and the ConfigError that start-up would stop with.
#pragma once

#include <map>
#include <string>

#include "server/config.h"

namespace flotilla::server::testing {

inline std::map<std::string, std::string> props(std::map<std::string, std::string> extra = {}) {
  auto p = parse_properties(R"(
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:9093
listeners=PLAINTEXT://127.0.0.1:9092,CONTROLLER://127.0.0.1:9093
controller.listener.names=CONTROLLER
)");
  for (auto& [k, v] : extra) p[k] = v;
  return p;
}

// The message of the ConfigError `p` is refused with ("" if it is valid).
inline std::string config_error(const std::map<std::string, std::string>& p) {
  try {
    KafkaConfig::from_properties(p);
  } catch (const ConfigError& e) {
    return e.what();
  }
  return "";
}

}  // namespace flotilla::server::testing
