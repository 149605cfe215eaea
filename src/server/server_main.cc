#include "server/server_main.h"

#include <spdlog/spdlog.h>

#include <csignal>
#include <cstring>
#include <iostream>

#include "common/log.h"
#include "server/config.h"
#include "server/node.h"

namespace flotilla::server {

int run_server(int argc, char** argv) {
  // A peer that goes away mid-sendfile must cost one connection, not the process.
  std::signal(SIGPIPE, SIG_IGN);
  // argv: [server, <config>, --override k=v ...] (argv[0] is the sub-command).
  std::string path;
  std::map<std::string, std::string> overrides;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--override" && i + 1 < argc) {
      std::string kv = argv[++i];
      auto eq = kv.find('=');
      if (eq == std::string::npos) {
        std::cerr << "Invalid --override " << kv << ": expected key=value\n";
        return 1;
      }
      overrides[kv.substr(0, eq)] = kv.substr(eq + 1);
    } else if (a == "-h" || a == "--help") {
      std::cout << "USAGE: flotilla server server.properties [--override property=value]*\n";
      return 0;
    } else if (path.empty()) {
      path = a;
    } else {
      std::cerr << "Unexpected argument " << a << "\n";
      return 1;
    }
  }
  if (path.empty()) {
    std::cerr << "USAGE: flotilla server server.properties [--override property=value]*\n";
    return 1;
  }
  KafkaConfig config;
  std::vector<std::string> unknown;
  try {
    auto props = load_properties_file(path);
    for (const auto& [k, v] : overrides) props[k] = v;
    config = KafkaConfig::from_properties(props, &unknown);
  } catch (const ConfigError& e) {
    std::cerr << "ERROR Exiting Kafka due to fatal exception: " << e.what() << "\n";
    return 1;
  }
  init_logging(config.log_level);
  for (const auto& k : unknown) spdlog::warn("The configuration '{}' was supplied but isn't a known config.", k);
  try {
    Node node(std::move(config));
    node.start();
    return node.run();
  } catch (const std::exception& e) {
    spdlog::error("Exiting Kafka due to fatal exception during startup: {}", e.what());
    return 1;
  }
}

}  // namespace flotilla::server
