// Requests as a broker (registration, heartbeats) or an admin client
// (CreateTopics) sends them to the controller: one builder each for the
// controller tests on the fake Raft (harness.h) and on a real Raft
// (raft_node.h), so both speak with the same requests.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "common/uuid.h"
#include "protocol/messages.h"

namespace flotilla::controller::testing {

// The log dir a test broker registers (one each, as from 3.7-IV2 a broker
// must list its dirs): distinct per broker, never a reserved id.
inline Uuid broker_dir(int32_t id) { return Uuid{0xD1D1000000000000ull + static_cast<uint32_t>(id), 0x1234}; }

// Broker `id` on PLAINTEXT localhost:(9092 + id), supporting metadata.version
// 1-25, with one log dir (broker_dir(id)).
inline msg::BrokerRegistrationRequest registration(int32_t id, std::optional<std::string> rack, Uuid incarnation) {
  msg::BrokerRegistrationRequest r;
  r.broker_id = id;
  r.cluster_id = "cluster";
  r.incarnation_id = incarnation;
  msg::BrokerRegistrationRequest::Listener l;
  l.name = "PLAINTEXT";
  l.host = "localhost";
  l.port = static_cast<uint16_t>(9092 + id);
  r.listeners.push_back(l);
  msg::BrokerRegistrationRequest::Feature f;
  f.name = "metadata.version";
  f.min_supported_version = 1;
  f.max_supported_version = 25;  // 4.0-IV3
  r.features.push_back(f);
  r.rack = std::move(rack);
  r.log_dirs = {broker_dir(id)};
  return r;
}

inline msg::BrokerHeartbeatRequest heartbeat_request(int32_t id, int64_t epoch, int64_t offset, bool fence = false,
                                                     bool shut_down = false) {
  msg::BrokerHeartbeatRequest h;
  h.broker_id = id;
  h.broker_epoch = epoch;
  h.current_metadata_offset = offset;
  h.want_fence = fence;
  h.want_shut_down = shut_down;
  return h;
}

// One topic (-1: the broker defaults for partitions and replication factor).
inline msg::CreateTopicsRequest create_topic_request(const std::string& name, int32_t partitions, int16_t rf,
                                                     const std::vector<std::pair<std::string, std::string>>& configs = {}) {
  msg::CreateTopicsRequest req;
  msg::CreateTopicsRequest::CreatableTopic t;
  t.name = name;
  t.num_partitions = partitions;
  t.replication_factor = rf;
  for (const auto& [k, v] : configs) {
    msg::CreateTopicsRequest::CreatableTopicConfig c;
    c.name = k;
    c.value = v;
    t.configs.push_back(c);
  }
  req.topics.push_back(t);
  return req;
}

}  // namespace flotilla::controller::testing
