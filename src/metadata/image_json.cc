#include "metadata/image_json.h"

namespace flotilla::metadata {

std::string broker_json(const BrokerRegistration& b) {
  nlohmann::ordered_json j;
  j["brokerId"] = b.id;
  j["brokerEpoch"] = b.epoch;
  j["incarnationId"] = b.incarnation_id.to_string();
  auto listeners = nlohmann::ordered_json::array();
  for (const auto& l : b.listeners)
    listeners.push_back({{"name", l.name}, {"host", l.host}, {"port", l.port}, {"securityProtocol", l.security_protocol}});
  j["listeners"] = listeners;
  auto features = nlohmann::ordered_json::object();
  for (const auto& [name, f] : b.supported_features)
    features[name] = {{"minVersion", f.min_version}, {"maxVersion", f.max_version}};
  j["supportedFeatures"] = features;
  j["rack"] = b.rack ? nlohmann::ordered_json(*b.rack) : nlohmann::ordered_json(nullptr);
  j["fenced"] = b.fenced;
  j["inControlledShutdown"] = b.in_controlled_shutdown;
  auto dirs = nlohmann::ordered_json::array();
  for (const auto& d : b.log_dirs) dirs.push_back(d.to_string());
  j["logDirs"] = dirs;
  return j.dump();
}


nlohmann::ordered_json partition_registration_json(const PartitionRegistration& p) {
  nlohmann::ordered_json j;
  j["replicas"] = p.replicas;
  j["isr"] = p.isr;
  j["removingReplicas"] = p.removing_replicas;
  j["addingReplicas"] = p.adding_replicas;
  j["leader"] = p.leader;
  j["leaderRecoveryState"] = p.leader_recovery_state;
  j["leaderEpoch"] = p.leader_epoch;
  j["partitionEpoch"] = p.partition_epoch;
  auto dirs = nlohmann::ordered_json::array();
  for (const auto& d : p.directories) dirs.push_back(d.to_string());
  j["directories"] = dirs;
  j["eligibleLeaderReplicas"] = p.elr;
  j["lastKnownElr"] = p.last_known_elr;
  return j;
}

std::string partition_json(const PartitionRegistration& p) { return partition_registration_json(p).dump(); }

std::string config_type_name(int8_t type) {
  switch (static_cast<ConfigResourceType>(type)) {
    case ConfigResourceType::TOPIC: return "topic";
    case ConfigResourceType::BROKER: return "broker";
    case ConfigResourceType::BROKER_LOGGER: return "broker_logger";
    case ConfigResourceType::CLIENT_METRICS: return "client_metrics";
    case ConfigResourceType::GROUP: return "group";
    default: return std::to_string(type);
  }
}

}  // namespace flotilla::metadata
