#include "server/server_main.h"

#include <spdlog/spdlog.h>
#include <sys/resource.h>

#include <cerrno>
#include <csignal>
#include <cstring>
#include <iostream>

#include "common/log.h"
#include "server/config.h"
#include "server/node.h"

namespace flotilla::server {

namespace {
// Every partition's segments are opened through the fd cache, sized from the
// soft RLIMIT_NOFILE: raise it to the hard limit first (as Kafka's scripts
// and systemd units are told to), and say both.
void raise_fd_limit() {
  struct rlimit rl;
  if (::getrlimit(RLIMIT_NOFILE, &rl) != 0) return;
  const rlim_t before = rl.rlim_cur;
  if (rl.rlim_cur < rl.rlim_max) {
    rl.rlim_cur = rl.rlim_max;
    if (::setrlimit(RLIMIT_NOFILE, &rl) != 0) {
      spdlog::warn("Cannot raise the open files limit (RLIMIT_NOFILE) from {} to its hard limit {}: {}", before, rl.rlim_max,
                   std::strerror(errno));
      rl.rlim_cur = before;
    }
  }
  spdlog::info("Open files limit (RLIMIT_NOFILE): soft {} (was {}), hard {}", rl.rlim_cur, before, rl.rlim_max);
}
}  // namespace

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
  raise_fd_limit();
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
