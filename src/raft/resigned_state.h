// Resigned: this replica led `epoch` and stepped down (shutdown or lost
// quorum); it accepts no appends and tells the other voters with
// EndQuorumEpoch until they acknowledge. It keeps its vote for itself, so it
// cannot vote for anyone else in `epoch`.
// Legal transitions: -> Candidate (election timeout), -> Follower or
// Unattached (learns a higher epoch).
#pragma once

#include <cstdint>
#include <set>
#include <vector>

namespace flotilla::raft {

struct ResignedState {
  int32_t epoch = 0;
  int32_t leader_id = -1;  // this replica
  int64_t election_deadline_ms = 0;
  std::set<int32_t> unacknowledged;
  std::vector<int32_t> preferred_successors;
  int64_t next_end_quorum_ms = 0;
};

}  // namespace flotilla::raft
