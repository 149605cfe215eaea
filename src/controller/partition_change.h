// PartitionChange: the one way this controller computes a PartitionChangeRecord
// from a partition's current registration and the state it should move to
// (Kafka's PartitionChangeBuilder): a target ISR, replica list and
// reassignment sets, and the kind of leader election to run. build() returns
// the record that gets the partition there, or nothing when it is already
// there.
//
// What build() guarantees, in order:
//  1. An in-progress reassignment completes when the target ISR holds every
//     target replica (the removing replicas drop out of replicas and ISR), as
//     long as some replica is left in the ISR.
//  2. Election: PREFERRED picks the first target replica if it is a valid
//     leader (in the target ISR and acceptable), else keeps a valid current
//     leader, else the first valid other replica; ONLINE keeps a valid current
//     leader, else the first valid replica; UNCLEAN additionally falls back to
//     the first acceptable replica outside the ISR, and then the ISR becomes
//     just that leader and the partition is marked RECOVERING (metadata.version
//     3.2-IV0+). No valid leader: -1 (the partition goes offline).
//  3. The leader epoch is bumped (Leader set to the unchanged leader) when a
//     replica leaves the replica list, and, before 3.6-IV0, when the ISR shrinks.
//  4. Only changed fields are set; an empty ISR is never written unless ELR
//     is enabled.
//
// With eligible leader replicas (KIP-966, set_eligible_leader_replicas):
//  - ISR >= min.insync.replicas: the ELR is cleared. Below it, the ELR becomes
//    (current ELR + current ISR) - target ISR - unclean-shutdown replicas
//    (sorted): a replica that left an ISR which still guaranteed min ISR has
//    every committed record.
//  - A valid leader is in the target ISR, or in the ELR when the ISR is empty;
//    a leader elected from the ELR becomes the ISR alone and leaves the ELR.
//  - With ISR and ELR empty, LastKnownElr holds the last leader (set the first
//    time the partition loses it) and an election may pick that leader back
//    if it is acceptable (an unclean election: ISR = it, RECOVERING); any
//    election that yields a leader clears LastKnownElr.
//  - An unclean election clears the ELR.
//
// Single-threaded value type; the caller supplies who is an acceptable leader
// (registered, unfenced, not shutting down) and each new replica's default
// log directory.
#pragma once

#include <algorithm>
#include <cstdint>
#include <functional>
#include <optional>
#include <vector>

#include "common/uuid.h"
#include "metadata/image.h"
#include "protocol/messages.h"

namespace flotilla::controller {

// LeaderRecoveryState of a partition: RECOVERED, or RECOVERING after an
// unclean election until its leader reports (AlterPartition) it recovered.
inline constexpr int8_t kLeaderRecovered = 0;
inline constexpr int8_t kLeaderRecovering = 1;
// The metadata.version levels partition changes depend on.
inline constexpr int16_t kMvLeaderRecovery = 3;    // 3.2-IV0: LeaderRecoveryState exists
inline constexpr int16_t kMvScram = 11;            // 3.5-IV2: SCRAM credential records
inline constexpr int16_t kMvNoIsrShrinkBump = 12;  // 3.6-IV0: an ISR shrink no longer bumps the leader epoch (KAFKA-15021)
inline constexpr int16_t kMvDirectories = 17;      // 3.7-IV2: replica directories

// Replica-id lists (replicas, ISR, reassignment sets) are short: linear scans.
inline bool contains(const std::vector<int32_t>& v, int32_t x) { return std::find(v.begin(), v.end(), x) != v.end(); }
inline bool contains_all(const std::vector<int32_t>& v, const std::vector<int32_t>& of) {
  for (int32_t x : of)
    if (!contains(v, x)) return false;
  return true;
}

enum class Election { PREFERRED, ONLINE, UNCLEAN };

class PartitionChange {
 public:
  PartitionChange(const metadata::PartitionRegistration& partition, const Uuid& topic_id, int32_t partition_id,
                  std::function<bool(int32_t)> acceptable_leader, int16_t metadata_version);

  PartitionChange& set_target_isr(std::vector<int32_t> isr);
  PartitionChange& set_target_replicas(std::vector<int32_t> replicas);
  PartitionChange& set_target_removing(std::vector<int32_t> removing);
  PartitionChange& set_target_adding(std::vector<int32_t> adding);
  PartitionChange& set_election(Election election);
  // The directory of a replica the partition does not have yet (needed from
  // metadata.version 3.7-IV2, which records directories).
  PartitionChange& set_default_dir(std::function<Uuid(int32_t)> default_dir);
  // KIP-966: maintain EligibleLeaderReplicas/LastKnownElr against the topic's
  // min.insync.replicas (needs metadata.version 4.0-IV1; see metadata/features.h).
  PartitionChange& set_eligible_leader_replicas(bool enabled, int32_t min_isr);
  // Replicas whose broker restarted after an unclean shutdown: never kept in the ELR.
  PartitionChange& set_unclean_shutdown_replicas(std::vector<int32_t> replicas);
  // The leader recovery state to move to (AlterPartition); default: unchanged.
  PartitionChange& set_target_leader_recovery_state(int8_t state);

  std::optional<msg::PartitionChangeRecord> build();
  // After build(): whether the record completes a reassignment.
  bool completed_reassignment() const { return completed_reassignment_; }

 private:
  struct ElectionResult {
    int32_t node;
    bool unclean;
  };
  bool is_valid_leader(int32_t replica) const;
  bool can_elect_last_known_leader() const;
  ElectionResult elect() const;
  void complete_reassignment_if_needed();
  void populate_target_elr();
  void update_record_elr(msg::PartitionChangeRecord& r);
  void update_last_known_leader(msg::PartitionChangeRecord& r) const;

  const metadata::PartitionRegistration& partition_;
  Uuid topic_id_;
  int32_t partition_id_;
  std::function<bool(int32_t)> acceptable_;
  int16_t metadata_version_;
  std::function<Uuid(int32_t)> default_dir_;
  std::vector<int32_t> target_isr_;
  std::vector<int32_t> target_replicas_;
  std::vector<int32_t> target_removing_;
  std::vector<int32_t> target_adding_;
  std::vector<int32_t> target_elr_;
  std::vector<int32_t> unclean_shutdown_;
  int8_t target_recovery_;
  bool elr_enabled_ = false;
  int32_t min_isr_ = 1;
  Election election_ = Election::ONLINE;
  bool completed_reassignment_ = false;
};

// A reassignment's sets as Kafka computes them from the current and target
// replica lists: removing = current - target, adding = target - current (both
// sorted), replicas = target followed by removing.
struct ReassignmentReplicas {
  std::vector<int32_t> replicas;
  std::vector<int32_t> removing;
  std::vector<int32_t> adding;
};
ReassignmentReplicas reassignment_replicas(const std::vector<int32_t>& current, const std::vector<int32_t>& target);

inline bool is_reassigning(const metadata::PartitionRegistration& p) { return !p.adding_replicas.empty() || !p.removing_replicas.empty(); }

}  // namespace flotilla::controller
