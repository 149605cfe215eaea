#include "server/tls_reload.h"

#include <spdlog/spdlog.h>

namespace flotilla::server {

void TlsReloader::publish(const metadata::MetadataDelta&, std::shared_ptr<const metadata::MetadataImage> image) {
  if (listeners_.empty() || !image) return;
  auto dyn = image->configs_of(metadata::ConfigResourceType::BROKER, "");
  for (const auto& [k, v] : image->configs_of(metadata::ConfigResourceType::BROKER, std::to_string(config_.node_id))) dyn[k] = v;
  std::map<std::string, std::string> ssl;
  for (const auto& [k, v] : dyn)
    if (k.find("ssl.") != std::string::npos) ssl[k] = v;
  if (ssl == last_) return;
  last_ = ssl;
  auto merged = config_.originals;
  for (const auto& [k, v] : ssl) merged[k] = v;
  for (const auto& [name, tls] : listeners_) {
    try {
      auto next = security::SslConfig::from_map(merged, security::listener_config_prefix(name));
      if (next == tls->current()->config()) continue;
      tls->reconfigure(next);
      spdlog::info("[SocketServer listener={}] TLS reconfigured from dynamic broker configs: new connections use the new key store", name);
    } catch (const security::SslConfigError& e) {
      spdlog::error("[SocketServer listener={}] Dynamic TLS update rejected ({}): {}; the listener keeps its current key store", name,
                    e.key(), e.what());
    }
  }
}

}  // namespace flotilla::server
