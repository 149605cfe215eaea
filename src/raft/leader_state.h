// Leader: this replica won `epoch` (persisted). At the start of the epoch it
// appends a LeaderChangeMessage control batch at `epoch_start_offset`; the
// high watermark is the largest offset that a majority of voters hold
// durably (the leader counts its flushed offset, a follower its fetch offset)
// and it only exists once it passes epoch_start_offset, i.e. once an entry of
// this epoch is committed (Raft's current-term rule). It never decreases.
// Check-quorum: if a majority of voters has not fetched within 1.5 x the fetch
// timeout, the leader resigns.
// Legal transitions: -> Resigned (shutdown, lost quorum), -> Follower or
// Unattached (learns a higher epoch).
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <vector>

#include "raft/batch_accumulator.h"

namespace flotilla::raft {

struct ReplicaProgress {
  int64_t end_offset = -1;      // -1: unknown
  int64_t last_fetch_ms = -1;
  int64_t last_caught_up_ms = -1;  // last fetch at (or past) the leader's durable end offset
  bool acknowledged_epoch = false;  // answered BeginQuorumEpoch or fetched in this epoch
};

class LeaderState {
 public:
  LeaderState(int32_t local_id, int32_t epoch, int64_t epoch_start_offset, const std::vector<int32_t>& voters,
              std::vector<int32_t> granting_voters, BatchAccumulator accumulator);

  int32_t epoch() const { return epoch_; }
  int64_t epoch_start_offset() const { return epoch_start_offset_; }
  std::optional<int64_t> high_watermark() const { return high_watermark_; }
  const std::vector<int32_t>& granting_voters() const { return granting_voters_; }
  BatchAccumulator& accumulator() { return accumulator_; }
  const BatchAccumulator& accumulator() const { return accumulator_; }

  bool is_voter(int32_t id) const { return voters_.count(id) > 0; }
  // The voter set changed (KIP-853): progress of the remaining voters is kept,
  // new voters start unknown (an observer's progress carries over).
  void update_voters(const std::vector<int32_t>& voters);
  const std::map<int32_t, ReplicaProgress>& voters() const { return voters_; }
  const std::map<int32_t, ReplicaProgress>& observers() const { return observers_; }
  std::vector<int32_t> unacknowledged_voters() const;

  // The leader's own durable end offset; returns true if the HW advanced.
  bool update_local_end(int64_t flushed_end_offset);
  // A fetch at `fetch_offset` from replica `id` (voter or observer); returns true if the HW advanced.
  bool update_replica_end(int32_t id, int64_t fetch_offset, int64_t now_ms);
  void acknowledge(int32_t id) {
    if (auto it = voters_.find(id); it != voters_.end()) it->second.acknowledged_epoch = true;
  }

  // Check-quorum bookkeeping.
  int64_t check_quorum_deadline_ms = 0;
  std::set<int32_t> fetched_since_check;  // voters (not self) that fetched since the last check
  int64_t next_begin_quorum_ms = 0;       // resend BeginQuorumEpoch to unacknowledged voters

 private:
  bool maybe_advance_hw();

  int32_t local_id_;
  int32_t epoch_;
  int64_t epoch_start_offset_;
  std::vector<int32_t> granting_voters_;
  std::map<int32_t, ReplicaProgress> voters_;     // self included
  std::map<int32_t, ReplicaProgress> observers_;
  std::optional<int64_t> high_watermark_;
  int64_t local_end_ = -1;  // the leader's durable end (counted only while it is a voter)
  BatchAccumulator accumulator_;
};

}  // namespace flotilla::raft
