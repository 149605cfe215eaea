// Feeds the node's delegation token credentials (SCRAM with tokenauth=true)
// from the metadata image: every image whose delta touched a
// DelegationTokenRecord or RemoveDelegationTokenRecord (and the first image,
// which a publisher gets whole) replaces the set, so a token logs in on this
// node as soon as it has the record, and a removed one cannot (an expired one
// cannot either: DelegationTokenCredentials checks the expiry at login).
// New tokens cost PBKDF2 (4096 iterations, two mechanisms) here, once each.
//
// Threading: publish() runs on the loader's thread; the credentials are read
// by the network thread (security::DelegationTokenCredentials swaps whole sets).
#pragma once

#include <memory>

#include "metadata/publisher.h"
#include "security/delegation_token.h"

namespace flotilla::server {

class DelegationTokenPublisher : public metadata::Publisher {
 public:
  explicit DelegationTokenPublisher(std::shared_ptr<security::DelegationTokenCredentials> credentials)
      : credentials_(std::move(credentials)) {}
  void publish(const metadata::MetadataDelta& delta, std::shared_ptr<const metadata::MetadataImage> image) override {
    if (!first_ && delta.changed_delegation_tokens().empty()) return;
    first_ = false;
    credentials_->publish(image->delegation_tokens());
  }

 private:
  std::shared_ptr<security::DelegationTokenCredentials> credentials_;
  bool first_ = true;
};

}  // namespace flotilla::server
