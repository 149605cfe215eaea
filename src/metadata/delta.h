// MetadataDelta: the changes of a run of metadata records on top of a base
// image, and what they touched (created/deleted/changed topics and
// partitions, brokers, configs, features, SCRAM users, ACLs, client quota
// entities, delegation tokens). apply() builds the next image,
// sharing every untouched part with the base.
//
// ACLs: acl_changes() is what an authorizer needs to follow the images
// (security::StandardAuthorizer): for a delta of records, the ids of the base's
// ACLs that are gone and the ACLs that are new — apply(removed, added), one
// publication; for a delta that replaces the image (a snapshot load, or the
// first image a late publisher gets) `snapshot` is set and `all` holds every
// ACL of the new image — load_snapshot(all).
//
// A delta is a short-lived, single-threaded value: built by the loader (or
// the controller) from one or more batches, then handed to publishers with
// the new image. Records that name unknown brokers/topics are logged and
// skipped (the image stays consistent).
#pragma once

#include <map>
#include <memory>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "metadata/image.h"
#include "protocol/messages.h"
#include "protocol/metadata_record.h"

namespace flotilla::metadata {

class MetadataDelta {
 public:
  explicit MetadataDelta(std::shared_ptr<const MetadataImage> base);

  // A delta that presents all of `image` as new (for a publisher that joins late).
  static MetadataDelta everything(std::shared_ptr<const MetadataImage> image);
  // A delta from `from` to `to` (a loaded snapshot replacing an image): apply()
  // yields `to` (sharing its parts) and the change sets are what records
  // turning `from` into `to` would have reported. Topics are matched by id, so
  // a name re-created under a new id is a deleted topic plus a created one, as
  // a RemoveTopicRecord and a TopicRecord would make it; a broker or config
  // resource missing from `to` is in changed_brokers()/changed_configs() and
  // absent from the image, as after an UnregisterBrokerRecord or the deletion
  // of its last key. Offset and epoch are `to`'s, even if `from` is later.
  static MetadataDelta between(std::shared_ptr<const MetadataImage> from, std::shared_ptr<const MetadataImage> to);

  void replay(const protocol::AnyMetadataRecord& record);
  // Decodes and replays one framed record value; false (and logged) if it cannot be decoded.
  bool replay_value(std::span<const uint8_t> value);
  void set_offset(int64_t offset, int32_t epoch);
  void set_cluster_id(std::string id);

  std::shared_ptr<const MetadataImage> apply() const;

  // Off: replays skip the topic, partition and config change sets (they stay
  // empty) — for a delta whose changes nobody reads, such as a snapshot being
  // built into a new image (MetadataLoader then publishes between(old, new)):
  // 1,000,000 set inserts less on a snapshot of 1,000,000 partitions.
  void track_changes(bool on) { track_ = on; }

  const MetadataImage& base() const { return *base_; }
  // What the records changed.
  const std::set<Uuid>& created_topics() const { return created_topics_; }
  const std::map<Uuid, std::string>& deleted_topics() const { return deleted_topics_; }  // id -> name
  // Topics created or with changed partitions (not deleted).
  const std::set<Uuid>& changed_topics() const { return changed_topics_; }
  const std::set<std::pair<Uuid, int32_t>>& changed_partitions() const { return changed_partitions_; }
  const std::set<int32_t>& changed_brokers() const { return changed_brokers_; }
  const std::set<ConfigResource>& changed_configs() const { return changed_configs_; }
  bool features_changed() const { return features_changed_; }
  // (user, mechanism) pairs whose SCRAM credential was upserted or removed.
  const std::set<std::pair<std::string, security::ScramMechanism>>& changed_scram() const { return changed_scram_; }
  // Ids of ACLs added, removed or replaced (an ACL added and removed within
  // the delta is not in it).
  const std::set<Uuid>& changed_acls() const { return changed_acls_; }
  bool acls_changed() const { return !changed_acls_.empty(); }
  struct AclChanges {
    // The image was replaced rather than changed by records (a snapshot load,
    // or MetadataDelta::everything): reload from `all`.
    bool snapshot = false;
    std::vector<Uuid> removed;                   // ACLs of the base image gone (or replaced), by id
    std::vector<security::StandardAcl> added;    // ACLs of the new image not in the base (or replaced)
    std::vector<security::StandardAcl> all;      // when `snapshot`: every ACL of the new image
  };
  AclChanges acl_changes() const;
  // Client quota entities with a key set or removed.
  const std::set<security::ClientQuotaEntity>& changed_client_quotas() const { return changed_client_quotas_; }
  // Ids of delegation tokens created, renewed/expired (rewritten) or removed.
  const std::set<std::string>& changed_delegation_tokens() const { return changed_delegation_tokens_; }
  bool empty() const;

  // The working state (what apply() would return), for the controller's checks.
  const TopicMap& topics() const { return *next_.topics_; }
  const TopicImage* topic(const Uuid& id) const { return next_.topic(id); }
  const std::map<int32_t, BrokerRegistration>& brokers() const { return *next_.brokers_; }
  const std::map<int32_t, ControllerRegistration>& controllers() const { return *next_.controllers_; }
  const security::CredentialCache::Map& scram() const { return *next_.scram_; }
  const AclMap& acls() const { return *next_.acls_; }
  const security::ClientQuotaMap& client_quotas() const { return *next_.client_quotas_; }
  const security::DelegationTokenMap& delegation_tokens() const { return *next_.delegation_tokens_; }

  // Typed replays (public so that tests and the controller can use them directly).
  void replay(const msg::RegisterBrokerRecord& r);
  void replay(const msg::RegisterControllerRecord& r);
  void replay(const msg::UnregisterBrokerRecord& r);
  void replay(const msg::FenceBrokerRecord& r);
  void replay(const msg::UnfenceBrokerRecord& r);
  void replay(const msg::BrokerRegistrationChangeRecord& r);
  void replay(const msg::TopicRecord& r);
  void replay(const msg::PartitionRecord& r);
  void replay(const msg::PartitionChangeRecord& r);
  void replay(const msg::RemoveTopicRecord& r);
  void replay(const msg::ConfigRecord& r);
  void replay(const msg::FeatureLevelRecord& r);
  void replay(const msg::ProducerIdsRecord& r);
  void replay(const msg::UserScramCredentialRecord& r);
  void replay(const msg::RemoveUserScramCredentialRecord& r);
  void replay(const msg::AccessControlEntryRecord& r);
  void replay(const msg::RemoveAccessControlEntryRecord& r);
  void replay(const msg::ClientQuotaRecord& r);
  void replay(const msg::DelegationTokenRecord& r);
  void replay(const msg::RemoveDelegationTokenRecord& r);
  template <class T>
  void replay(const T&) {}  // records without image state (NoOp, transactions...)

 private:
  std::map<std::string, int16_t>& features();
  std::map<int32_t, BrokerRegistration>& brokers_mut();
  // The registered broker a record changes (marked changed), or nullptr
  // (logged) if `id` is not registered.
  BrokerRegistration* changed_broker(int32_t id, std::string_view record);
  TopicMap& topics_mut();
  TopicIdMap& topic_names_mut();
  ConfigsMap& configs_mut();
  security::CredentialCache::Map& scram_mut();
  AclMap& acls_mut();
  security::ClientQuotaMap& client_quotas_mut();
  security::DelegationTokenMap& delegation_tokens_mut();
  TopicImage* topic_mut(const Uuid& id);
  // Gives back the spare capacity of the map chunks this delta owns (an
  // ascending load reserves whole chunks): a published chunk is never grown.
  void compact() const;

  std::shared_ptr<const MetadataImage> base_;
  MetadataImage next_;
  // Owned copies once a part is modified (next_'s pointers then point at them).
  // apply() drops them (mutable) so that a published image is never modified.
  mutable std::shared_ptr<std::map<std::string, int16_t>> features_;
  mutable std::shared_ptr<std::map<int32_t, BrokerRegistration>> brokers_;
  mutable std::shared_ptr<std::map<int32_t, ControllerRegistration>> controllers_;
  mutable std::shared_ptr<TopicMap> topics_;
  mutable std::shared_ptr<TopicIdMap> topic_names_;
  mutable std::shared_ptr<ConfigsMap> configs_;
  mutable std::shared_ptr<security::CredentialCache::Map> scram_;
  mutable std::shared_ptr<AclMap> acls_;
  mutable std::shared_ptr<security::ClientQuotaMap> client_quotas_;
  mutable std::shared_ptr<security::DelegationTokenMap> delegation_tokens_;

  std::set<Uuid> created_topics_;
  std::map<Uuid, std::string> deleted_topics_;
  std::set<Uuid> changed_topics_;
  std::set<std::pair<Uuid, int32_t>> changed_partitions_;
  std::set<int32_t> changed_brokers_;
  std::set<ConfigResource> changed_configs_;
  std::set<std::pair<std::string, security::ScramMechanism>> changed_scram_;
  std::set<Uuid> changed_acls_;
  bool acls_snapshot_ = false;  // between() / everything(): see AclChanges::snapshot
  std::set<security::ClientQuotaEntity> changed_client_quotas_;
  std::set<std::string> changed_delegation_tokens_;
  bool features_changed_ = false;
  bool other_changed_ = false;
  bool track_ = true;
};

}  // namespace flotilla::metadata
