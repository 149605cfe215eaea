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
  // Observers with no known leader ask a random voter (a Fetch answered with
  // the leader it knows): the discovery fetch in flight, and the next one.
  bool fetch_in_flight = false;
  int64_t fetch_sent_ms = 0;
  uint64_t fetch_correlation = 0;
  int64_t next_fetch_ms = 0;
};

}  // namespace flotilla::raft
