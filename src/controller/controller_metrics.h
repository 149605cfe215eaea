// The QuorumController's own figures for /metrics (Kafka's
// QuorumControllerMetrics, `kafka.controller:type=KafkaController`): whether
// this node is the active controller, how often a new one was seen, the last
// record it applied, the records it could not decode. The counts computed
// from the image (fenced brokers, topics, offline partitions ...) are not
// here: the HTTP collector computes them from the published image.
//
// Threading: written by the controller on the event loop, read by the HTTP
// thread at scrape time; relaxed atomics only. One per process
// (controller_metrics()), as metrics::global() is.
#pragma once

#include <atomic>
#include <cstdint>

namespace flotilla::controller {

struct ControllerMetrics {
  std::atomic<int32_t> active{0};                      // ActiveControllerCount: 1 while active
  std::atomic<int64_t> new_active_controllers{0};      // NewActiveControllersCount
  std::atomic<int64_t> metadata_errors{0};             // MetadataErrorCount: records that failed to decode
  std::atomic<int64_t> last_applied_offset{-1};        // LastAppliedRecordOffset (the active one: its own appends too)
  std::atomic<int64_t> last_applied_timestamp{0};      // LastAppliedRecordTimestamp (Unix ms of the batch's append)
  // ControllerStats: committed leader changes that elected a replica outside
  // the ISR (LeaderRecoveryState RECOVERING: UncleanLeaderElectionsPerSec) or
  // a member of the ELR (KIP-966: ElectionFromEligibleLeaderReplicasPerSec).
  std::atomic<int64_t> unclean_leader_elections{0};
  std::atomic<int64_t> elr_elections{0};
  std::atomic<int64_t> timed_out_broker_heartbeats{0};  // TimedOutBrokerHeartbeatCount: heartbeats are answered on the
                                                        // loop without a queue deadline, so none times out
};

inline ControllerMetrics& controller_metrics() {
  static ControllerMetrics m;
  return m;
}

}  // namespace flotilla::controller
