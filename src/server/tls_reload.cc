#include "server/tls_reload.h"

#include <spdlog/spdlog.h>

namespace flotilla::server {

namespace {
std::map<std::string, std::string> ssl_keys_of(const std::map<std::string, std::string>& dynamic) {
  std::map<std::string, std::string> ssl;
  for (const auto& [k, v] : dynamic)
    if (k.find("ssl.") != std::string::npos) ssl[k] = v;
  return ssl;
}
}  // namespace

std::map<std::string, std::string> with_dynamic_ssl(const KafkaConfig& config, const std::map<std::string, std::string>& dynamic) {
  auto merged = config.originals;
  for (const auto& [k, v] : ssl_keys_of(dynamic)) merged[k] = v;
  return merged;
}

std::string validate_dynamic_tls(const KafkaConfig& config, const TlsListeners& listeners,
                                 const std::map<std::string, std::string>& dynamic) {
  auto merged = with_dynamic_ssl(config, dynamic);
  for (const auto& [name, tls] : listeners) {
    try {
      auto next = security::SslConfig::from_map(merged, security::listener_config_prefix(name));
      if (next == tls->current()->config()) continue;
      tls->validate(next);
    } catch (const security::SslConfigError& e) {
      return "Validation of dynamic config update of SSLFactory failed for listener " + name + " (" + e.key() + "): " + e.what();
    }
  }
  return "";
}

void TlsReloader::publish(const metadata::MetadataDelta&, std::shared_ptr<const metadata::MetadataImage> image) {
  if (listeners_.empty() || !image) return;
  auto dyn = image->configs_of(metadata::ConfigResourceType::BROKER, "");
  for (const auto& [k, v] : image->configs_of(metadata::ConfigResourceType::BROKER, std::to_string(config_.node_id))) dyn[k] = v;
  auto ssl = ssl_keys_of(dyn);
  if (ssl == last_) return;
  last_ = ssl;
  auto merged = with_dynamic_ssl(config_, ssl);
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
