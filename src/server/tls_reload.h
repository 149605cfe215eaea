// Dynamic TLS reconfiguration of this node's listeners (Kafka's reconfigurable
// SSL channel builder): when the broker's dynamic configs (`configs
// --entity-type brokers --entity-name <id>` or the cluster default) change a
// `listener.name.<l>.ssl.*` or `ssl.*` key, the listener's SslConfig is rebuilt
// (dynamic per-broker over dynamic default over server.properties, listener
// prefix over plain key) and, when it differs, a new server TlsContext is
// swapped in: connections accepted afterwards use it, existing ones keep
// theirs. A config that fails to load keeps the old context and logs the key
// at fault (never a value).
//
// Threading: publish() runs on the metadata loader's io_context thread; the
// swap itself is ReloadableTlsContext's (thread-safe).
#pragma once

#include <map>
#include <memory>
#include <string>

#include "metadata/publisher.h"
#include "security/tls_context.h"
#include "server/config.h"

namespace flotilla::server {

using TlsListeners = std::map<std::string, std::shared_ptr<security::ReloadableTlsContext>>;

// The static configs with the dynamic ones (`dynamic`: per-broker over cluster
// default) laid over them: what each TLS listener's SslConfig is built from.
std::map<std::string, std::string> with_dynamic_ssl(const KafkaConfig& config, const std::map<std::string, std::string>& dynamic);

// Kafka's validation of a dynamic broker config change on the broker it
// names (DynamicBrokerConfig.validate, reached from the AlterConfigs APIs):
// "" when every TLS listener whose settings change can build its new context
// (key store and trust store load, same certificate DN); else the message,
// naming the key at fault, never a value. Reads the key store files: a few
// milliseconds, only for requests that change ssl keys.
std::string validate_dynamic_tls(const KafkaConfig& config, const TlsListeners& listeners,
                                 const std::map<std::string, std::string>& dynamic);

class TlsReloader : public metadata::Publisher {
 public:
  // `listeners`: the TLS listeners by name, with their reloadable contexts.
  TlsReloader(const KafkaConfig& config, TlsListeners listeners)
      : config_(config), listeners_(std::move(listeners)) {}
  void publish(const metadata::MetadataDelta& delta, std::shared_ptr<const metadata::MetadataImage> image) override;

 private:
  const KafkaConfig& config_;
  TlsListeners listeners_;
  std::map<std::string, std::string> last_;  // the dynamic ssl keys seen last time
};

}  // namespace flotilla::server
