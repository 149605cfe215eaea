// Feeds the node's SCRAM credential cache from the metadata image: every image
// whose delta touched a UserScramCredentialRecord (and the first image, which
// a publisher gets whole) replaces the cache's set, so a user created with
// `configs --alter --add-config 'SCRAM-SHA-256=[...]'` can log in on this node
// as soon as it has the record, and a deleted one cannot.
//
// Threading: publish() runs on the loader's thread; the cache is read by the
// network thread (security::CredentialCache swaps whole sets).
#pragma once

#include <memory>

#include "metadata/publisher.h"
#include "security/credential_cache.h"

namespace flotilla::server {

class ScramCredentialPublisher : public metadata::Publisher {
 public:
  explicit ScramCredentialPublisher(std::shared_ptr<security::CredentialCache> cache) : cache_(std::move(cache)) {}
  void publish(const metadata::MetadataDelta& delta, std::shared_ptr<const metadata::MetadataImage> image) override {
    if (!first_ && delta.changed_scram().empty()) return;
    first_ = false;
    cache_->publish(image->scram());
  }

 private:
  std::shared_ptr<security::CredentialCache> cache_;
  bool first_ = true;
};

}  // namespace flotilla::server
