// Voted: this replica granted its vote for `epoch` to `voted_id` (persisted
// before the response goes out) and waits for that candidate to win.
// Legal transitions: -> Candidate (election timeout), -> Follower (learns the
// leader of this or a higher epoch), -> Unattached (learns a higher epoch).
#pragma once

#include <cstdint>

namespace flotilla::raft {

struct VotedState {
  int32_t epoch = 0;
  int32_t voted_id = -1;
  int64_t election_deadline_ms = 0;
};

}  // namespace flotilla::raft
