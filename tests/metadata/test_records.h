// Metadata records and committed batches as the controller and Raft produce
// them, for the tests of the image, the loader and snapshots (and the
// controller's): one builder per record, so every test builds a topic, a
// partition or a broker the same way.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "common/uuid.h"
#include "protocol/messages.h"
#include "raft/types.h"

namespace flotilla::metadata::testing {

inline const Uuid kTopicA = *Uuid::parse("J8aAPcfLQt2bqs1JT_rMgQ");
inline const Uuid kTopicB = *Uuid::parse("AAAAAAAAAAAAAAAAAAAAAQ");
inline const Uuid kTopicC = *Uuid::parse("AAAAAAAAAAAAAAAAAAAAAg");

inline msg::TopicRecord topic_record(const std::string& name, Uuid id) {
  msg::TopicRecord r;
  r.name = name;
  r.topic_id = id;
  return r;
}

// Partition `idx` of topic `id` on `replicas`, all in sync, the first one
// leading, at leader and partition epoch `epoch`.
inline msg::PartitionRecord partition_record(Uuid id, int32_t idx, std::vector<int32_t> replicas, int32_t epoch = 0) {
  msg::PartitionRecord r;
  r.topic_id = id;
  r.partition_id = idx;
  r.replicas = replicas;
  r.isr = replicas;
  r.leader = replicas.front();
  r.leader_epoch = epoch;
  r.partition_epoch = epoch;
  return r;
}

// Broker `id` listening on PLAINTEXT localhost:(9092 + id).
inline msg::RegisterBrokerRecord broker_record(int32_t id, int64_t epoch, Uuid incarnation, bool fenced) {
  msg::RegisterBrokerRecord r;
  r.broker_id = id;
  r.broker_epoch = epoch;
  r.incarnation_id = incarnation;
  msg::RegisterBrokerRecord::BrokerEndpoint e;
  e.name = "PLAINTEXT";
  e.host = "localhost";
  e.port = static_cast<uint16_t>(9092 + id);
  r.end_points.push_back(e);
  r.fenced = fenced;
  return r;
}

// The batch of `values` (framed records) at offset `base`, as Raft commits it.
inline raft::CommittedBatch committed_batch(int64_t base, std::vector<std::vector<uint8_t>> values, int32_t epoch) {
  raft::CommittedBatch b;
  b.base_offset = base;
  b.last_offset = base + static_cast<int64_t>(values.size()) - 1;
  b.epoch = epoch;
  b.records = std::move(values);
  return b;
}

}  // namespace flotilla::metadata::testing
