// Candidate: this replica voted for itself in `epoch` (persisted) and asks
// every other voter for its vote. With a majority of granted votes it becomes
// Leader; after the election timeout, or once a majority rejected it, it backs
// off (randomized, growing with retries) and stands again in epoch + 1.
// Legal transitions: -> Leader, -> Candidate (epoch + 1 after backoff),
// -> Follower (learns the leader of this or a higher epoch), -> Unattached
// (learns a higher epoch).
#pragma once

#include <cstdint>
#include <map>
#include <vector>

namespace flotilla::raft {

struct CandidateState {
  enum class Vote { Unrecorded, Granted, Rejected };

  int32_t epoch = 0;
  int32_t retries = 1;  // elections stood in a row (for backoff)
  std::map<int32_t, Vote> votes;  // every voter, self included (Granted)
  int64_t election_deadline_ms = 0;
  bool backing_off = false;
  int64_t backoff_deadline_ms = 0;
  int64_t next_vote_request_ms = 0;  // resend to voters that have not answered

  size_t majority() const { return votes.size() / 2 + 1; }
  size_t count(Vote v) const {
    size_t n = 0;
    for (const auto& [id, s] : votes) n += s == v;
    return n;
  }
  bool won() const { return count(Vote::Granted) >= majority(); }
  bool lost() const { return count(Vote::Rejected) >= votes.size() - majority() + 1; }
  std::vector<int32_t> granting() const {
    std::vector<int32_t> out;
    for (const auto& [id, s] : votes)
      if (s == Vote::Granted) out.push_back(id);
    return out;
  }
};

}  // namespace flotilla::raft
