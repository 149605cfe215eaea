// The SCRAM credentials a node authenticates against: a copy of the metadata
// image's UserScramCredentialRecords, replaced whole by the metadata publisher
// on every image that changed them and read by the network threads during
// SASL exchanges.
//
// Threading: publish() and find() may run on different threads; a reader sees
// either the old or the new set, never a mix (one shared_ptr swapped under a
// mutex; find() copies the credential out).
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <utility>

#include "security/scram.h"

namespace flotilla::security {

class CredentialCache {
 public:
  using Map = std::map<std::pair<std::string, ScramMechanism>, ScramCredential>;  // (user, mechanism)

  void publish(Map credentials) {
    auto next = std::make_shared<const Map>(std::move(credentials));
    std::lock_guard lock(mu_);
    map_ = std::move(next);
  }

  std::optional<ScramCredential> find(const std::string& user, ScramMechanism m) const {
    std::shared_ptr<const Map> map;
    {
      std::lock_guard lock(mu_);
      map = map_;
    }
    auto it = map->find({user, m});
    if (it == map->end()) return std::nullopt;
    return it->second;
  }

 private:
  mutable std::mutex mu_;
  std::shared_ptr<const Map> map_ = std::make_shared<const Map>();
};

}  // namespace flotilla::security
