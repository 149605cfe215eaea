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

struct CandidateState : VoteTally {
  int32_t epoch = 0;
  int32_t retries = 1;  // elections stood in a row (for backoff)
  int64_t election_deadline_ms = 0;
  bool backing_off = false;
  int64_t backoff_deadline_ms = 0;
  int64_t next_vote_request_ms = 0;  // resend to voters that have not answered
};

}  // namespace flotilla::raft
