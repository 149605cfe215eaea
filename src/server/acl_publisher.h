// Feeds the node's StandardAuthorizer from the metadata image: every delta
// that changed ACLs is one publication of the authorizer
// (apply(removed ids, added ACLs)); a delta that replaced the image (a
// snapshot loaded, or downloaded with FetchSnapshot) reloads every ACL
// (load_snapshot). So an ACL written by the controller takes effect on a node
// as soon as its image has the record, on brokers and controllers alike (the
// controller runs the same authorizer, as Kafka's KRaft controllers do).
// The initial load is completed by the node once it has caught up with the
// log (server/node.cc), not here.
//
// Threading: publish() runs on the loader's thread; request threads read the
// authorizer's snapshots (security::StandardAuthorizer).
#pragma once

#include <spdlog/spdlog.h>

#include "metadata/publisher.h"
#include "security/authorizer.h"

namespace flotilla::server {

class AclPublisher : public metadata::Publisher {
 public:
  explicit AclPublisher(security::StandardAuthorizer& authorizer) : authorizer_(authorizer) {}
  void publish(const metadata::MetadataDelta& delta, std::shared_ptr<const metadata::MetadataImage> image) override {
    metadata::MetadataDelta::AclChanges c = delta.acl_changes();
    std::vector<std::string> refused;
    if (c.snapshot) {
      refused = authorizer_.load_snapshot(c.all);
      spdlog::info("[AclPublisher] Loaded {} ACLs from the metadata image at offset {}", c.all.size(), image->offset());
    } else if (!c.removed.empty() || !c.added.empty()) {
      refused = authorizer_.apply(c.removed, c.added);
    }
    // The image holds each ACL once by id: a refusal means the two disagree (a bug), not bad input.
    for (const auto& r : refused) spdlog::error("[AclPublisher] ACL change at offset {} not applied: {}", image->offset(), r);
  }

 private:
  security::StandardAuthorizer& authorizer_;
};

}  // namespace flotilla::server
