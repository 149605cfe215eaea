// MetadataImage: the cluster metadata as of one offset of __cluster_metadata —
// features, brokers, topics with their partitions, configs, SCRAM credentials,
// ACLs, client quotas, delegation tokens. Immutable once
// built (handed around as std::shared_ptr<const MetadataImage>); readers
// never lock. Built only by MetadataDelta::apply(), which shares unchanged
// parts (features, brokers, topics, configs, SCRAM credentials, ACLs, client quotas) with the previous image;
// topics, their partitions, the topic-id index and configs are SharedMaps
// (shared_map.h), shared chunk by chunk, so that a one-record delta on an image
// of 1,000,000 partitions copies a few hundred pointers and entries, not the maps.
//
// Invariants: topics_by_name() and topic(Uuid) index the same set of topics;
// every partition belongs to a topic in the image; offset() only grows from
// one image to the next.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "common/uuid.h"
#include "metadata/acl_map.h"
#include "metadata/shared_map.h"
#include "security/acl.h"
#include "security/credential_cache.h"
#include "security/delegation_token.h"
#include "security/quota_entity.h"

namespace flotilla::metadata {

inline constexpr const char* kMetadataVersionFeature = "metadata.version";

struct BrokerEndpoint {
  std::string name;  // listener name
  std::string host;
  uint16_t port = 0;
  int16_t security_protocol = 0;  // Kafka's SecurityProtocol id (0 PLAINTEXT, 1 SSL, 2 SASL_PLAINTEXT, 3 SASL_SSL)
  bool operator==(const BrokerEndpoint&) const = default;
};

struct SupportedFeature {
  int16_t min_version = 0;
  int16_t max_version = 0;
  bool operator==(const SupportedFeature&) const = default;
};

struct BrokerRegistration {
  int32_t id = -1;
  int64_t epoch = -1;  // the offset of its RegisterBrokerRecord
  Uuid incarnation_id;
  std::vector<BrokerEndpoint> listeners;
  std::map<std::string, SupportedFeature> supported_features;
  std::optional<std::string> rack;
  bool fenced = true;
  bool in_controlled_shutdown = false;
  std::vector<Uuid> log_dirs;
  // The most partition replicas the broker may host (Flotilla's tagged
  // FlotillaMaxPartitions of its registration); -1: unknown, unlimited.
  int32_t max_partitions = -1;
  bool operator==(const BrokerRegistration&) const = default;
};

// A controller's registration (KIP-919, RegisterControllerRecord, from
// metadata.version 3.7-IV0): what it listens on and the feature levels it
// supports, which the active controller checks before finalizing a level.
struct ControllerRegistration {
  int32_t id = -1;
  Uuid incarnation_id;
  bool zk_migration_ready = false;
  std::vector<BrokerEndpoint> listeners;
  std::map<std::string, SupportedFeature> supported_features;
  bool operator==(const ControllerRegistration&) const = default;
};

struct PartitionRegistration {
  std::vector<int32_t> replicas;
  std::vector<int32_t> isr;
  std::vector<int32_t> removing_replicas;
  std::vector<int32_t> adding_replicas;
  int32_t leader = -1;
  int32_t leader_epoch = 0;
  int32_t partition_epoch = 0;
  int8_t leader_recovery_state = 0;
  std::vector<Uuid> directories;
  // KIP-966 (eligible.leader.replicas.version >= 1): replicas that left the
  // ISR while it was below min.insync.replicas but still hold every committed
  // record (elr), and the last leader(s) known before the partition lost them
  // all (last_known_elr). Both empty when ELR is off.
  std::vector<int32_t> elr;
  std::vector<int32_t> last_known_elr;
  bool operator==(const PartitionRegistration&) const = default;
};

// A topic's partitions by index, read like a const std::map<int32_t,
// PartitionRegistration> and shared piecewise by every image that did not
// change them (shared_map.h): a delta that changes one partition of a topic of
// 10,000 copies one chunk of 32 partitions and the topic's chunk pointers.
using PartitionMap = SharedMap<int32_t, PartitionRegistration, 32>;

struct TopicImage {
  std::string name;
  Uuid id;
  PartitionMap partitions;
  bool operator==(const TopicImage&) const = default;
};

// Kafka's ConfigResource.Type ids as used in ConfigRecord.ResourceType.
enum class ConfigResourceType : int8_t { UNKNOWN = 0, TOPIC = 2, BROKER = 4, BROKER_LOGGER = 8, CLIENT_METRICS = 16, GROUP = 32 };

struct ConfigResource {
  int8_t type = 0;
  std::string name;  // "" for the cluster-wide default broker config
  auto operator<=>(const ConfigResource&) const = default;
  bool operator==(const ConfigResource&) const = default;
};

using ConfigMap = std::map<std::string, std::string>;

// The image's big maps, shared piecewise between images (shared_map.h): a
// delta copies the chunks it changes, not the map.
using TopicMap = SharedMap<std::string, TopicImage, 64>;      // by name, in name order
using TopicIdMap = SharedMap<Uuid, std::string, 64>;          // id -> name
using ConfigsMap = SharedMap<ConfigResource, ConfigMap, 32>;  // by resource


class MetadataImage {
 public:
  MetadataImage();

  const std::string& cluster_id() const { return cluster_id_; }
  // The last offset (and its epoch) reflected in this image; -1 for the empty image.
  int64_t offset() const { return offset_; }
  int32_t epoch() const { return epoch_; }
  bool empty() const { return offset_ < 0; }

  // Finalized feature levels, metadata.version included.
  const std::map<std::string, int16_t>& features() const { return *features_; }
  // metadata.version's feature level, 0 if none was written yet.
  int16_t metadata_version() const;

  const std::map<int32_t, BrokerRegistration>& brokers() const { return *brokers_; }
  const BrokerRegistration* broker(int32_t id) const;
  const std::map<int32_t, ControllerRegistration>& controllers() const { return *controllers_; }

  const TopicMap& topics_by_name() const { return *topics_; }
  const TopicImage* topic(const std::string& name) const;
  const TopicImage* topic(const Uuid& id) const;
  const PartitionRegistration* partition(const Uuid& topic_id, int32_t index) const;

  const ConfigsMap& configs() const { return *configs_; }
  ConfigMap configs_of(ConfigResourceType type, const std::string& name) const;
  ConfigMap topic_configs(const std::string& topic) const { return configs_of(ConfigResourceType::TOPIC, topic); }

  // SCRAM credentials by (user, mechanism), from UserScramCredentialRecords
  // (StoredKey/ServerKey, salt, iterations: never a password or a salted
  // password). The type the CredentialCache is published with.
  const security::CredentialCache::Map& scram() const { return *scram_; }
  const security::ScramCredential* scram_credential(const std::string& user, security::ScramMechanism m) const;

  // ACLs by id (Kafka's AclsImage), from AccessControlEntryRecords
  // (RemoveAccessControlEntryRecord removes one). Every value's `id` is its
  // key. Read as a const std::map (acl_map.h: shared piecewise between images).
  const AclMap& acls() const { return *acls_; }
  // Client quotas by entity (Kafka's ClientQuotasImage), from ClientQuotaRecords:
  // user, client-id, user+client-id and ip entities, a nullopt name being the
  // default of its type; an entity whose last key was removed is gone.
  const security::ClientQuotaMap& client_quotas() const { return *client_quotas_; }
  // Delegation tokens by token id (Kafka's DelegationTokenImage), from
  // DelegationTokenRecords (an upsert: a renewal rewrites the record with its
  // new expiry) and RemoveDelegationTokenRecords. No HMAC: nodes compute it.
  const security::DelegationTokenMap& delegation_tokens() const { return *delegation_tokens_; }

  // From the last ProducerIdsRecord (-1 if none).
  int64_t next_producer_id() const { return next_producer_id_; }

 private:
  friend class MetadataDelta;

  std::string cluster_id_;
  int64_t offset_ = -1;
  int32_t epoch_ = -1;
  int64_t next_producer_id_ = -1;
  std::shared_ptr<const std::map<std::string, int16_t>> features_;
  std::shared_ptr<const std::map<int32_t, BrokerRegistration>> brokers_;
  std::shared_ptr<const std::map<int32_t, ControllerRegistration>> controllers_;
  std::shared_ptr<const TopicMap> topics_;
  std::shared_ptr<const TopicIdMap> topic_names_;  // id -> name
  std::shared_ptr<const ConfigsMap> configs_;
  std::shared_ptr<const security::CredentialCache::Map> scram_;
  std::shared_ptr<const AclMap> acls_;
  std::shared_ptr<const security::ClientQuotaMap> client_quotas_;
  std::shared_ptr<const security::DelegationTokenMap> delegation_tokens_;
};

}  // namespace flotilla::metadata
