#include "metadata/delta.h"

#include "metadata/acls.h"

#include <algorithm>
#include <spdlog/spdlog.h>

namespace flotilla::metadata {

namespace {
template <class T>
std::shared_ptr<T> clone_into(std::shared_ptr<T>& owned, std::shared_ptr<const T>& slot) {
  if (!owned) {
    owned = std::make_shared<T>(*slot);
    slot = owned;
  }
  return owned;
}
}  // namespace

MetadataDelta::MetadataDelta(std::shared_ptr<const MetadataImage> base)
    : base_(base ? std::move(base) : std::make_shared<const MetadataImage>()), next_(*base_) {}

MetadataDelta MetadataDelta::everything(std::shared_ptr<const MetadataImage> image) {
  MetadataDelta d(std::make_shared<const MetadataImage>());
  d.next_ = *image;
  for (const auto& [name, t] : image->topics_by_name()) {
    d.created_topics_.insert(t.id);
    d.changed_topics_.insert(t.id);
    for (const auto& [idx, p] : t.partitions) d.changed_partitions_.insert({t.id, idx});
  }
  for (const auto& [id, b] : image->brokers()) d.changed_brokers_.insert(id);
  for (const auto& [res, m] : image->configs()) d.changed_configs_.insert(res);
  for (const auto& [key, c] : image->scram()) d.changed_scram_.insert(key);
  for (const auto& [id, acl] : image->acls()) d.changed_acls_.insert(id);
  d.acls_snapshot_ = true;
  for (const auto& [entity, q] : image->client_quotas()) d.changed_client_quotas_.insert(entity);
  for (const auto& [id, t] : image->delegation_tokens()) d.changed_delegation_tokens_.insert(id);
  d.features_changed_ = !image->features().empty();
  d.other_changed_ = !image->controllers().empty();
  return d;
}

MetadataDelta MetadataDelta::between(std::shared_ptr<const MetadataImage> from, std::shared_ptr<const MetadataImage> to) {
  MetadataDelta d(std::move(from));
  if (!to) to = std::make_shared<const MetadataImage>();
  d.next_ = *to;
  const MetadataImage& a = *d.base_;
  const MetadataImage& b = *to;

  // A part both images share is equal without a look; any other is compared
  // entry by entry (images built separately share nothing).
  if (a.topics_ != b.topics_) {
    for (const auto& [name, t] : b.topics_by_name()) {
      const TopicImage* old = a.topic(t.id);
      if (!old) {
        d.created_topics_.insert(t.id);
        d.changed_topics_.insert(t.id);
        for (const auto& [idx, p] : t.partitions) d.changed_partitions_.insert({t.id, idx});
        continue;
      }
      if (*old == t) continue;
      // Records cannot rename a topic or drop a partition; were it to happen
      // the topic still shows as changed (a renamed one with all partitions).
      d.changed_topics_.insert(t.id);
      bool renamed = old->name != t.name;
      for (const auto& [idx, p] : t.partitions) {
        auto oit = old->partitions.find(idx);
        if (renamed || oit == old->partitions.end() || !(oit->second == p)) d.changed_partitions_.insert({t.id, idx});
      }
    }
    for (const auto& [name, t] : a.topics_by_name())
      if (!b.topic(t.id)) d.deleted_topics_[t.id] = name;
  }

  if (a.brokers_ != b.brokers_) {
    for (const auto& [id, reg] : b.brokers()) {
      const BrokerRegistration* old = a.broker(id);
      if (!old || !(*old == reg)) d.changed_brokers_.insert(id);
    }
    for (const auto& [id, reg] : a.brokers())
      if (!b.broker(id)) d.changed_brokers_.insert(id);
  }

  if (a.configs_ != b.configs_) {
    for (const auto& [res, m] : b.configs()) {
      auto it = a.configs().find(res);
      if (it == a.configs().end() || it->second != m) d.changed_configs_.insert(res);
    }
    for (const auto& [res, m] : a.configs())
      if (!b.configs().count(res)) d.changed_configs_.insert(res);
  }

  if (a.scram_ != b.scram_) {
    for (const auto& [key, c] : b.scram()) {
      auto it = a.scram().find(key);
      if (it == a.scram().end() || !(it->second == c)) d.changed_scram_.insert(key);
    }
    for (const auto& [key, c] : a.scram())
      if (!b.scram().count(key)) d.changed_scram_.insert(key);
  }

  if (a.acls_ != b.acls_) {
    for (const auto& [id, acl] : b.acls()) {
      auto it = a.acls().find(id);
      if (it == a.acls().end() || !(it->second == acl)) d.changed_acls_.insert(id);
    }
    for (const auto& [id, acl] : a.acls())
      if (!b.acls().count(id)) d.changed_acls_.insert(id);
  }
  d.acls_snapshot_ = true;
  if (a.client_quotas_ != b.client_quotas_) {
    for (const auto& [entity, q] : b.client_quotas()) {
      auto it = a.client_quotas().find(entity);
      if (it == a.client_quotas().end() || it->second != q) d.changed_client_quotas_.insert(entity);
    }
    for (const auto& [entity, q] : a.client_quotas())
      if (!b.client_quotas().count(entity)) d.changed_client_quotas_.insert(entity);
  }

  if (a.delegation_tokens_ != b.delegation_tokens_) {
    for (const auto& [id, t] : b.delegation_tokens()) {
      auto it = a.delegation_tokens().find(id);
      if (it == a.delegation_tokens().end() || !(it->second == t)) d.changed_delegation_tokens_.insert(id);
    }
    for (const auto& [id, t] : a.delegation_tokens())
      if (!b.delegation_tokens().count(id)) d.changed_delegation_tokens_.insert(id);
  }

  d.features_changed_ = a.features_ != b.features_ && a.features() != b.features();
  d.other_changed_ = a.next_producer_id_ != b.next_producer_id_ || a.cluster_id_ != b.cluster_id_ ||
                     (a.controllers_ != b.controllers_ && *a.controllers_ != *b.controllers_);
  return d;
}

bool MetadataDelta::empty() const {
  return created_topics_.empty() && deleted_topics_.empty() && changed_topics_.empty() && changed_partitions_.empty() &&
         changed_brokers_.empty() && changed_configs_.empty() && changed_scram_.empty() && changed_acls_.empty() &&
         changed_client_quotas_.empty() && changed_delegation_tokens_.empty() && !features_changed_ && !other_changed_;
}

std::map<std::string, int16_t>& MetadataDelta::features() { return *clone_into(features_, next_.features_); }
std::map<int32_t, BrokerRegistration>& MetadataDelta::brokers_mut() { return *clone_into(brokers_, next_.brokers_); }
TopicMap& MetadataDelta::topics_mut() { return *clone_into(topics_, next_.topics_); }
TopicIdMap& MetadataDelta::topic_names_mut() { return *clone_into(topic_names_, next_.topic_names_); }
ConfigsMap& MetadataDelta::configs_mut() { return *clone_into(configs_, next_.configs_); }
security::CredentialCache::Map& MetadataDelta::scram_mut() { return *clone_into(scram_, next_.scram_); }
AclMap& MetadataDelta::acls_mut() { return *clone_into(acls_, next_.acls_); }
security::ClientQuotaMap& MetadataDelta::client_quotas_mut() { return *clone_into(client_quotas_, next_.client_quotas_); }
security::DelegationTokenMap& MetadataDelta::delegation_tokens_mut() {
  return *clone_into(delegation_tokens_, next_.delegation_tokens_);
}

TopicImage* MetadataDelta::topic_mut(const Uuid& id) {
  auto nit = next_.topic_names_->find(id);
  if (nit == next_.topic_names_->end()) return nullptr;
  return topics_mut().find_mut(nit->second);
}

void MetadataDelta::set_offset(int64_t offset, int32_t epoch) {
  if (offset > next_.offset_) {
    next_.offset_ = offset;
    next_.epoch_ = epoch;
  }
}

void MetadataDelta::set_cluster_id(std::string id) { next_.cluster_id_ = std::move(id); }

void MetadataDelta::compact() const {
  if (topics_) {
    topics_->shrink_owned_chunks();
    topics_->for_each_owned([](TopicImage& t) { t.partitions.shrink_owned_chunks(); });
  }
  if (topic_names_) topic_names_->shrink_owned_chunks();
  if (configs_) configs_->shrink_owned_chunks();
}

std::shared_ptr<const MetadataImage> MetadataDelta::apply() const {
  compact();
  auto img = std::make_shared<const MetadataImage>(next_);
  // From now on the parts belong to the published image: clone again on change.
  features_.reset();
  brokers_.reset();
  controllers_.reset();
  topics_.reset();
  topic_names_.reset();
  configs_.reset();
  scram_.reset();
  acls_.reset();
  client_quotas_.reset();
  delegation_tokens_.reset();
  return img;
}

bool MetadataDelta::replay_value(std::span<const uint8_t> value) {
  try {
    replay(protocol::decode_metadata_record(value));
    return true;
  } catch (const std::exception& e) {
    spdlog::error("[MetadataDelta] Skipping a metadata record that cannot be decoded: {}", e.what());
    return false;
  }
}

void MetadataDelta::replay(const protocol::AnyMetadataRecord& record) {
  std::visit([this](const auto& r) { this->replay(r); }, record.record);
}

// ---------------------------------------------------------------- brokers

void MetadataDelta::replay(const msg::RegisterControllerRecord& r) {
  ControllerRegistration c;
  c.id = r.controller_id;
  c.incarnation_id = r.incarnation_id;
  c.zk_migration_ready = r.zk_migration_ready;
  for (const auto& e : r.end_points) c.listeners.push_back(BrokerEndpoint{e.name, e.host, e.port, e.security_protocol});
  for (const auto& f : r.features) c.supported_features[f.name] = SupportedFeature{f.min_supported_version, f.max_supported_version};
  (*clone_into(controllers_, next_.controllers_))[c.id] = std::move(c);
  other_changed_ = true;
}

void MetadataDelta::replay(const msg::RegisterBrokerRecord& r) {
  BrokerRegistration b;
  b.id = r.broker_id;
  b.epoch = r.broker_epoch;
  b.incarnation_id = r.incarnation_id;
  for (const auto& e : r.end_points) b.listeners.push_back(BrokerEndpoint{e.name, e.host, e.port, e.security_protocol});
  for (const auto& f : r.features) b.supported_features[f.name] = SupportedFeature{f.min_supported_version, f.max_supported_version};
  b.rack = r.rack;
  b.fenced = r.fenced;
  b.in_controlled_shutdown = r.in_controlled_shutdown;
  b.log_dirs = r.log_dirs;
  b.max_partitions = r.flotilla_max_partitions;
  brokers_mut()[b.id] = std::move(b);
  changed_brokers_.insert(r.broker_id);
}

void MetadataDelta::replay(const msg::UnregisterBrokerRecord& r) {
  auto it = next_.brokers_->find(r.broker_id);
  if (it == next_.brokers_->end()) {
    spdlog::warn("[MetadataDelta] UnregisterBrokerRecord for unknown broker {}", r.broker_id);
    return;
  }
  if (it->second.epoch != r.broker_epoch) {
    spdlog::warn("[MetadataDelta] UnregisterBrokerRecord for broker {} epoch {} but registered epoch is {}", r.broker_id,
                 r.broker_epoch, it->second.epoch);
    return;
  }
  brokers_mut().erase(r.broker_id);
  changed_brokers_.insert(r.broker_id);
}

BrokerRegistration* MetadataDelta::changed_broker(int32_t id, std::string_view record) {
  auto& bs = brokers_mut();
  auto it = bs.find(id);
  if (it == bs.end()) {
    spdlog::warn("[MetadataDelta] {} for unknown broker {}", record, id);
    return nullptr;
  }
  changed_brokers_.insert(id);
  return &it->second;
}

void MetadataDelta::replay(const msg::FenceBrokerRecord& r) {
  if (auto* b = changed_broker(r.id, "FenceBrokerRecord")) b->fenced = true;
}

void MetadataDelta::replay(const msg::UnfenceBrokerRecord& r) {
  if (auto* b = changed_broker(r.id, "UnfenceBrokerRecord")) b->fenced = false;
}

void MetadataDelta::replay(const msg::BrokerRegistrationChangeRecord& r) {
  auto* b = changed_broker(r.broker_id, "BrokerRegistrationChangeRecord");
  if (!b) return;
  if (r.fenced == 1) b->fenced = true;
  if (r.fenced == -1) b->fenced = false;
  if (r.in_controlled_shutdown == 1) b->in_controlled_shutdown = true;
  if (!r.log_dirs.empty()) b->log_dirs = r.log_dirs;
}

// ---------------------------------------------------------------- topics

void MetadataDelta::replay(const msg::TopicRecord& r) {
  if (next_.topic(r.name)) {
    spdlog::warn("[MetadataDelta] TopicRecord for existing topic {}; replacing it", r.name);
    deleted_topics_[next_.topic(r.name)->id] = r.name;
    topic_names_mut().erase(next_.topic(r.name)->id);
  }
  TopicImage t;
  t.name = r.name;
  t.id = r.topic_id;
  topics_mut().insert_or_assign(r.name, std::move(t));
  topic_names_mut().insert_or_assign(r.topic_id, r.name);
  if (!track_) return;
  created_topics_.insert(r.topic_id);
  changed_topics_.insert(r.topic_id);
  deleted_topics_.erase(r.topic_id);
}

void MetadataDelta::replay(const msg::PartitionRecord& r) {
  TopicImage* t = topic_mut(r.topic_id);
  if (!t) {
    spdlog::warn("[MetadataDelta] PartitionRecord for unknown topic id {}", r.topic_id.to_string());
    return;
  }
  PartitionRegistration p;
  p.replicas = r.replicas;
  p.isr = r.isr;
  p.removing_replicas = r.removing_replicas;
  p.adding_replicas = r.adding_replicas;
  p.leader = r.leader;
  p.leader_epoch = r.leader_epoch;
  p.partition_epoch = r.partition_epoch;
  p.leader_recovery_state = r.leader_recovery_state;
  p.directories = r.directories;
  p.elr = r.eligible_leader_replicas.value_or(std::vector<int32_t>{});
  p.last_known_elr = r.last_known_elr.value_or(std::vector<int32_t>{});
  t->partitions.insert_or_assign(r.partition_id, std::move(p));
  if (!track_) return;
  changed_topics_.insert(r.topic_id);
  changed_partitions_.insert({r.topic_id, r.partition_id});
}

void MetadataDelta::replay(const msg::PartitionChangeRecord& r) {
  TopicImage* t = topic_mut(r.topic_id);
  if (!t) {
    spdlog::warn("[MetadataDelta] PartitionChangeRecord for unknown topic id {}", r.topic_id.to_string());
    return;
  }
  PartitionRegistration* pp = t->partitions.find_mut(r.partition_id);
  if (!pp) {
    spdlog::warn("[MetadataDelta] PartitionChangeRecord for unknown partition {}-{}", t->name, r.partition_id);
    return;
  }
  PartitionRegistration& p = *pp;
  if (r.isr) p.isr = *r.isr;
  if (r.replicas) p.replicas = *r.replicas;
  if (r.removing_replicas) p.removing_replicas = *r.removing_replicas;
  if (r.adding_replicas) p.adding_replicas = *r.adding_replicas;
  if (r.directories) p.directories = *r.directories;
  if (r.leader_recovery_state != -1) p.leader_recovery_state = r.leader_recovery_state;
  if (r.eligible_leader_replicas) p.elr = *r.eligible_leader_replicas;
  if (r.last_known_elr) p.last_known_elr = *r.last_known_elr;
  if (r.leader != -2) {
    // Kafka's PartitionRegistration.merge: a leader change bumps the leader epoch.
    p.leader = r.leader;
    p.leader_epoch += 1;
  }
  p.partition_epoch += 1;
  if (!track_) return;
  changed_topics_.insert(r.topic_id);
  changed_partitions_.insert({r.topic_id, r.partition_id});
}

void MetadataDelta::replay(const msg::RemoveTopicRecord& r) {
  auto nit = next_.topic_names_->find(r.topic_id);
  if (nit == next_.topic_names_->end()) {
    spdlog::warn("[MetadataDelta] RemoveTopicRecord for unknown topic id {}", r.topic_id.to_string());
    return;
  }
  std::string name = nit->second;
  topics_mut().erase(name);
  topic_names_mut().erase(r.topic_id);
  ConfigResource res{static_cast<int8_t>(ConfigResourceType::TOPIC), name};
  if (next_.configs_->count(res)) {
    configs_mut().erase(res);
    changed_configs_.insert(res);
  }
  if (created_topics_.erase(r.topic_id) == 0) deleted_topics_[r.topic_id] = name;
  changed_topics_.erase(r.topic_id);
  for (auto it = changed_partitions_.begin(); it != changed_partitions_.end();) {
    if (it->first == r.topic_id)
      it = changed_partitions_.erase(it);
    else
      ++it;
  }
}

// ---------------------------------------------------------------- configs, features

void MetadataDelta::replay(const msg::ConfigRecord& r) {
  ConfigResource res{r.resource_type, r.resource_name};
  auto& cs = configs_mut();
  if (r.value) {
    cs.get_or_insert(res)[r.name] = *r.value;
  } else if (ConfigMap* m = cs.find_mut(res)) {
    m->erase(r.name);
    if (m->empty()) cs.erase(res);
  }
  if (track_) changed_configs_.insert(res);
}

void MetadataDelta::replay(const msg::FeatureLevelRecord& r) {
  if (r.feature_level == 0) {
    features().erase(r.name);
  } else {
    features()[r.name] = r.feature_level;
  }
  features_changed_ = true;
}

void MetadataDelta::replay(const msg::ProducerIdsRecord& r) {
  next_.next_producer_id_ = r.next_producer_id;
  other_changed_ = true;
}

// ---------------------------------------------------------------- SCRAM credentials

namespace {
bool known_mechanism(int8_t m) {
  return m == static_cast<int8_t>(security::ScramMechanism::SCRAM_SHA_256) ||
         m == static_cast<int8_t>(security::ScramMechanism::SCRAM_SHA_512);
}
}  // namespace

// An upsert, as Kafka's ScramImage/ScramDelta: the record replaces the user's
// credential for its mechanism.
void MetadataDelta::replay(const msg::UserScramCredentialRecord& r) {
  if (!known_mechanism(r.mechanism)) {
    spdlog::warn("[MetadataDelta] UserScramCredentialRecord for user {} with unknown mechanism {}", r.name, r.mechanism);
    return;
  }
  auto m = static_cast<security::ScramMechanism>(r.mechanism);
  scram_mut()[{r.name, m}] = security::ScramCredential{r.salt, r.stored_key, r.server_key, r.iterations};
  changed_scram_.insert({r.name, m});
}

void MetadataDelta::replay(const msg::RemoveUserScramCredentialRecord& r) {
  auto m = static_cast<security::ScramMechanism>(r.mechanism);
  if (!next_.scram_->count({r.name, m})) {
    spdlog::warn("[MetadataDelta] RemoveUserScramCredentialRecord for unknown credential of user {} mechanism {}", r.name,
                 r.mechanism);
    return;
  }
  scram_mut().erase({r.name, m});
  changed_scram_.insert({r.name, m});
}

// ---------------------------------------------------------------- ACLs

// As Kafka's AclsDelta: the record puts the ACL under its id (replacing one
// with the same id, which the controller never writes).
void MetadataDelta::replay(const msg::AccessControlEntryRecord& r) {
  acls_mut().put(standard_acl(r));
  changed_acls_.insert(r.id);
}

// An ACL added earlier in this delta and removed again leaves no trace in the
// changes (Kafka's AclsDelta drops it too).
void MetadataDelta::replay(const msg::RemoveAccessControlEntryRecord& r) {
  if (!next_.acls_->count(r.id)) {
    spdlog::warn("[MetadataDelta] RemoveAccessControlEntryRecord for unknown ACL {}", r.id.to_string());
    return;
  }
  acls_mut().erase(r.id);
  if (base_->acls().count(r.id))
    changed_acls_.insert(r.id);
  else
    changed_acls_.erase(r.id);
}

MetadataDelta::AclChanges MetadataDelta::acl_changes() const {
  AclChanges c;
  c.snapshot = acls_snapshot_;
  const AclMap& before = base_->acls();
  const AclMap& after = *next_.acls_;
  for (const Uuid& id : changed_acls_) {
    if (before.count(id)) c.removed.push_back(id);
    if (auto it = after.find(id); it != after.end()) c.added.push_back(it->second);
  }
  if (c.snapshot) {
    c.all.reserve(after.size());
    for (const auto& [id, acl] : after) c.all.push_back(acl);
  }
  return c;
}

// ---------------------------------------------------------------- client quotas

// Kafka's ClientQuotasDelta: the record's entity (its entries as a map: a
// type named twice keeps the last name) gets the key set, or removed with
// Remove; an entity left without keys leaves the image.
void MetadataDelta::replay(const msg::ClientQuotaRecord& r) {
  security::ClientQuotaEntity entity;
  for (const auto& e : r.entity) entity.entries[e.entity_type] = e.entity_name;
  auto& quotas = client_quotas_mut();
  if (r.remove) {
    auto it = quotas.find(entity);
    if (it != quotas.end()) {
      it->second.erase(r.key);
      if (it->second.empty()) quotas.erase(it);
    }
  } else {
    quotas[entity][r.key] = r.value;
  }
  changed_client_quotas_.insert(std::move(entity));
}

// ---------------------------------------------------------------- delegation tokens

// Kafka's DelegationTokenDelta: the record puts the token under its id (a
// renewal or expiry rewrites it whole); principals are "Type:name" texts.
void MetadataDelta::replay(const msg::DelegationTokenRecord& r) {
  auto owner = security::parse_kafka_principal(r.owner);
  auto requester = security::parse_kafka_principal(r.requester);
  if (!owner || !requester) {
    spdlog::warn("[MetadataDelta] DelegationTokenRecord for token {} with a malformed owner or requester principal", r.token_id);
    return;
  }
  security::DelegationToken t;
  t.token_id = r.token_id;
  t.owner = std::move(*owner);
  t.requester = std::move(*requester);
  for (const auto& name : r.renewers) {
    if (auto p = security::parse_kafka_principal(name)) t.renewers.push_back(std::move(*p));
    else spdlog::warn("[MetadataDelta] DelegationTokenRecord for token {}: skipping a malformed renewer principal", r.token_id);
  }
  t.issue_timestamp_ms = r.issue_timestamp;
  t.max_timestamp_ms = r.max_timestamp;
  t.expiry_timestamp_ms = r.expiration_timestamp;
  delegation_tokens_mut()[r.token_id] = std::move(t);
  changed_delegation_tokens_.insert(r.token_id);
}

void MetadataDelta::replay(const msg::RemoveDelegationTokenRecord& r) {
  if (!next_.delegation_tokens_->count(r.token_id)) {
    spdlog::warn("[MetadataDelta] RemoveDelegationTokenRecord for unknown token {}", r.token_id);
    return;
  }
  delegation_tokens_mut().erase(r.token_id);
  changed_delegation_tokens_.insert(r.token_id);
}

}  // namespace flotilla::metadata
