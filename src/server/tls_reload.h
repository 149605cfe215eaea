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

class TlsReloader : public metadata::Publisher {
 public:
  // `listeners`: the TLS listeners by name, with their reloadable contexts.
  TlsReloader(const KafkaConfig& config, std::map<std::string, std::shared_ptr<security::ReloadableTlsContext>> listeners)
      : config_(config), listeners_(std::move(listeners)) {}
  void publish(const metadata::MetadataDelta& delta, std::shared_ptr<const metadata::MetadataImage> image) override;

 private:
  const KafkaConfig& config_;
  std::map<std::string, std::shared_ptr<security::ReloadableTlsContext>> listeners_;
  std::map<std::string, std::string> last_;  // the dynamic ssl keys seen last time
};

}  // namespace flotilla::server
