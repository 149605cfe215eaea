// The votes (or pre-votes) a Candidate (or Prospective) has collected, one
// entry per voter of its voter set, itself included (Granted); and the timing
// of such a round (ElectionRound), which both roles run the same way: ask the
// voters that have not answered, and once the round is lost or timed out, back
// off (randomized, growing with `retries`) before the next one.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <vector>

namespace flotilla::raft {

struct VoteTally {
  enum class Vote { Unrecorded, Granted, Rejected };
  std::map<int32_t, Vote> votes;

  std::size_t majority() const { return votes.size() / 2 + 1; }
  std::size_t count(Vote v) const {
    std::size_t n = 0;
    for (const auto& [id, s] : votes) n += s == v;
    return n;
  }
  bool won() const { return count(Vote::Granted) >= majority(); }
  // So many refused that a majority can no longer be reached.
  bool lost() const { return count(Vote::Rejected) >= votes.size() - majority() + 1; }
  std::vector<int32_t> granting() const {
    std::vector<int32_t> out;
    for (const auto& [id, s] : votes)
      if (s == Vote::Granted) out.push_back(id);
    return out;
  }
};

struct ElectionRound : VoteTally {
  int32_t retries = 1;  // rounds stood in a row (for backoff)
  int64_t election_deadline_ms = 0;
  bool backing_off = false;
  int64_t backoff_deadline_ms = 0;
  int64_t next_vote_request_ms = 0;  // resend to voters that have not answered
};

}  // namespace flotilla::raft
