// Candidate: this replica voted for itself in `epoch` (persisted) and asks
// every other voter for its vote. With a majority of granted votes it becomes
// Leader; after the election timeout, or once a majority rejected it, it backs
// off (randomized, growing with retries) and stands again in epoch + 1.
// Legal transitions: -> Leader, -> Candidate (epoch + 1 after backoff),
// -> Follower (learns the leader of this or a higher epoch), -> Unattached
// (learns a higher epoch).
#pragma once

#include <cstdint>

#include "raft/vote_tally.h"

namespace flotilla::raft {

// retries: elections stood in a row.
struct CandidateState : ElectionRound {
  int32_t epoch = 0;
};

}  // namespace flotilla::raft
