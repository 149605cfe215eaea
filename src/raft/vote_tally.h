// The votes (or pre-votes) a Candidate (or Prospective) has collected, one
// entry per voter of its voter set, itself included (Granted).
#pragma once

#include <cstdint>
#include <map>
#include <vector>

namespace flotilla::raft {

struct VoteTally {
  enum class Vote { Unrecorded, Granted, Rejected };
  std::map<int32_t, Vote> votes;

  size_t majority() const { return votes.size() / 2 + 1; }
  size_t count(Vote v) const {
    size_t n = 0;
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

}  // namespace flotilla::raft
