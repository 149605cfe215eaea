// Unattached: this replica knows the epoch but neither a leader nor a vote of
// its own for it. Legal transitions: -> Voted (grants a vote in this epoch),
// -> Candidate (election timeout, voters only), -> Follower (learns the leader
// of this or a higher epoch), -> Unattached (learns a higher epoch).
#pragma once

#include <cstdint>

namespace flotilla::raft {

struct UnattachedState {
  int32_t epoch = 0;
  int64_t election_deadline_ms = 0;  // randomized; observers never time out
};

}  // namespace flotilla::raft
