// Prospective (KIP-996 pre-vote): this voter's election or fetch timeout
// expired (or its connection to the leader broke) and it asks the other
// voters whether they *would* vote for it in epoch + 1, without bumping or
// persisting anything. A voter grants a pre-vote only if the asker's log is
// at least as up to date as its own and it has not heard from a live leader
// within the fetch timeout; so a node that was partitioned away cannot
// disrupt a healthy leader when it comes back. With a majority of grants it
// becomes Candidate in epoch + 1.
//
// The election state of the epoch (the vote given, the leader known) is kept
// unchanged: Prospective is not persisted and may not grant real votes.
// Legal transitions: -> Candidate (majority of pre-votes), -> Follower
// (learns the leader of this or a higher epoch, or goes back to the leader it
// had after losing the pre-vote), -> Unattached (learns a higher epoch),
// -> Prospective (a new pre-vote round after the backoff).
#pragma once

#include <cstdint>

#include "raft/vote_tally.h"

namespace flotilla::raft {

// retries: pre-vote rounds lost in a row.
struct ProspectiveState : ElectionRound {
  int32_t epoch = 0;
  int32_t retained_leader = -1;  // the leader of `epoch` this replica knew (-1: none)
  int32_t retained_vote = -1;    // the vote it gave in `epoch` (-1: none)
};

}  // namespace flotilla::raft
