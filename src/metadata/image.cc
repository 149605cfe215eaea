#include "metadata/image.h"

namespace flotilla::metadata {

MetadataImage::MetadataImage()
    : features_(std::make_shared<const std::map<std::string, int16_t>>()),
      brokers_(std::make_shared<const std::map<int32_t, BrokerRegistration>>()),
      controllers_(std::make_shared<const std::map<int32_t, ControllerRegistration>>()),
      topics_(std::make_shared<const TopicMap>()),
      topic_names_(std::make_shared<const TopicIdMap>()),
      configs_(std::make_shared<const ConfigsMap>()),
      scram_(std::make_shared<const security::CredentialCache::Map>()),
      acls_(std::make_shared<const AclMap>()),
      client_quotas_(std::make_shared<const security::ClientQuotaMap>()),
      delegation_tokens_(std::make_shared<const security::DelegationTokenMap>()) {}

int16_t MetadataImage::metadata_version() const {
  auto it = features_->find(kMetadataVersionFeature);
  return it == features_->end() ? 0 : it->second;
}

const BrokerRegistration* MetadataImage::broker(int32_t id) const {
  auto it = brokers_->find(id);
  return it == brokers_->end() ? nullptr : &it->second;
}

const TopicImage* MetadataImage::topic(const std::string& name) const {
  auto it = topics_->find(name);
  return it == topics_->end() ? nullptr : &it->second;
}

const TopicImage* MetadataImage::topic(const Uuid& id) const {
  auto it = topic_names_->find(id);
  return it == topic_names_->end() ? nullptr : topic(it->second);
}

const PartitionRegistration* MetadataImage::partition(const Uuid& topic_id, int32_t index) const {
  const TopicImage* t = topic(topic_id);
  if (!t) return nullptr;
  auto it = t->partitions.find(index);
  return it == t->partitions.end() ? nullptr : &it->second;
}

ConfigMap MetadataImage::configs_of(ConfigResourceType type, const std::string& name) const {
  auto it = configs_->find(ConfigResource{static_cast<int8_t>(type), name});
  return it == configs_->end() ? ConfigMap{} : it->second;
}

const security::ScramCredential* MetadataImage::scram_credential(const std::string& user, security::ScramMechanism m) const {
  auto it = scram_->find({user, m});
  return it == scram_->end() ? nullptr : &it->second;
}

}  // namespace flotilla::metadata
