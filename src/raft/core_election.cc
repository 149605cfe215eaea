// RaftCore: Vote, BeginQuorumEpoch, EndQuorumEpoch (KIP-595 elections).
#include <algorithm>

#include "raft/assert.h"
#include "raft/core.h"

namespace flotilla::raft {

// ---------------------------------------------------------------- Vote

// Asks every voter of the round that has not answered yet, for a vote in
// `candidate_epoch` (a pre-vote: the epoch it would stand in).
void RaftCore::request_votes(ElectionRound& round, int32_t candidate_epoch, bool pre_vote, int64_t now_ms) {
  VoteRequest r;
  r.cluster_id = config_.cluster_id;
  r.candidate_epoch = candidate_epoch;
  r.candidate_id = config_.local_id;
  r.last_offset_epoch = log_.last_epoch();
  r.last_offset = log_.end_offset();
  r.pre_vote = pre_vote;
  for (const auto& [id, v] : round.votes) {
    if (id == config_.local_id || v != ElectionRound::Vote::Unrecorded) continue;
    emit(SendRequest{id, r});
  }
  round.next_vote_request_ms = now_ms + config_.request_timeout_ms;
}

void RaftCore::back_off(ElectionRound& round, int64_t now_ms) {
  round.backing_off = true;
  round.backoff_deadline_ms = now_ms + election_backoff_ms(round.retries);
}

void RaftCore::back_off_if_lost(ElectionRound& round, int64_t now_ms) {
  if (round.lost() && !round.backing_off) back_off(round, now_ms);
}

void RaftCore::send_vote_requests(int64_t now_ms) { request_votes(std::get<CandidateState>(state_), epoch_, false, now_ms); }

void RaftCore::poll_candidate(CandidateState& c, int64_t now_ms) {
  if (c.backing_off) {
    // The next round starts with a pre-vote: a candidate that cannot win must
    // not keep bumping the epoch of everyone it can reach.
    if (now_ms >= c.backoff_deadline_ms && is_voter()) transition_to_prospective(now_ms);
  } else if (now_ms >= c.election_deadline_ms) {
    back_off(c, now_ms);
    spdlog::info("[RaftCore id={}] Election in epoch {} timed out; backing off until {}", config_.local_id, epoch_,
                 c.backoff_deadline_ms);
  } else if (now_ms >= c.next_vote_request_ms) {
    send_vote_requests(now_ms);
  }
}

// ---------------------------------------------------------------- pre-vote (KIP-996)

void RaftCore::send_pre_vote_requests(int64_t now_ms) {
  request_votes(std::get<ProspectiveState>(state_), epoch_ + 1, true, now_ms);  // the epoch it would stand in
}

void RaftCore::poll_prospective(ProspectiveState& p, int64_t now_ms) {
  if (p.backing_off) {
    if (now_ms >= p.backoff_deadline_ms) after_prospective_backoff(now_ms);
  } else if (now_ms >= p.election_deadline_ms) {
    back_off(p, now_ms);
  } else if (now_ms >= p.next_vote_request_ms) {
    send_pre_vote_requests(now_ms);
  }
}

void RaftCore::after_prospective_backoff(int64_t now_ms) {
  auto& p = std::get<ProspectiveState>(state_);
  if (!is_voter()) {
    // Removed from the voters meanwhile: look for the leader as an observer.
    UnattachedState u{epoch_, INT64_MAX};
    u.next_fetch_ms = now_ms;
    state_ = u;
    announced_ = leader_and_epoch();
    emit(LeaderChanged{announced_, false, -1});
    return;
  }
  if (p.retained_leader >= 0 && p.retained_leader != config_.local_id) {
    // The others still hear from our leader: try it again (a fetch failure or
    // timeout brings us back here). Until a fetch succeeds we do not count as
    // hearing from it, so we don't refuse the others' pre-votes meanwhile.
    transition_to_follower(epoch_, p.retained_leader, now_ms);
    if (auto* f = std::get_if<FollowerState>(&state_)) f->leader_unreachable = true;
  } else {
    transition_to_prospective(now_ms);
  }
}

bool RaftCore::has_live_leader(int64_t now_ms) const {
  if (std::holds_alternative<LeaderState>(state_)) return true;
  if (auto* f = std::get_if<FollowerState>(&state_))
    return !f->leader_unreachable && now_ms < std::min(f->fetch_deadline_ms, f->last_fetch_ok_ms + config_.fetch_timeout_ms);
  return false;
}

// A pre-vote changes nothing here: no epoch, no vote, nothing persisted. It
// is granted only for an epoch above ours (so a granted pre-vote can never be
// mistaken for a real vote of the candidate's epoch), to an up-to-date log,
// by a voter that has no live leader.
void RaftCore::handle_pre_vote_request(uint64_t id, const VoteRequest& r, bool candidate_is_voter, int64_t now_ms) {
  // The asker already is in a later epoch than ours (it won a pre-vote round
  // before, so a majority agreed to an election): we learn that epoch, as a
  // real vote would teach it. Otherwise a leader of an older epoch, still
  // heard by a bare majority, would keep it out forever.
  if (candidate_is_voter && r.candidate_epoch - 1 > epoch_) transition_to_unattached(r.candidate_epoch - 1, now_ms);
  VoteResponse resp;
  stamp_leader(resp);
  if (r.candidate_epoch <= epoch_) {
    resp.vote_granted = false;  // it missed our epoch: our answer tells it (and its leader, if any)
  } else {
    OffsetAndEpoch theirs{r.last_offset, r.last_offset_epoch};
    resp.vote_granted = theirs >= log_.end_offset_and_epoch() && !has_live_leader(now_ms);
  }
  emit(SendResponse{id, resp});
}

void RaftCore::handle_pre_vote_response(ProspectiveState& p, int32_t source, const VoteResponse& r, int64_t now_ms) {
  if (r.leader_epoch > epoch_) {
    maybe_transition(r.leader_id, r.leader_epoch, now_ms);
    return;
  }
  if (r.leader_epoch == epoch_ && r.leader_id >= 0 && r.leader_id != config_.local_id && r.leader_id != p.retained_leader) {
    // A voter knows a leader of our epoch that we did not: follow it.
    transition_to_follower(epoch_, r.leader_id, now_ms);
    return;
  }
  auto it = p.votes.find(source);
  if (it == p.votes.end() || it->second != ProspectiveState::Vote::Unrecorded) return;
  it->second = r.vote_granted ? ProspectiveState::Vote::Granted : ProspectiveState::Vote::Rejected;
  if (p.won()) {
    transition_to_candidate(now_ms);
  } else {
    back_off_if_lost(p, now_ms);
  }
}

// ---------------------------------------------------------------- Vote

void RaftCore::handle_vote_request(uint64_t id, int32_t source, const VoteRequest& r, int64_t now_ms) {
  VoteResponse resp;
  if (refuse_other_cluster(id, r.cluster_id, resp)) return;
  bool candidate_is_voter = std::binary_search(config_.voters.begin(), config_.voters.end(), r.candidate_id);
  if (r.pre_vote) {
    handle_pre_vote_request(id, r, candidate_is_voter, now_ms);
    return;
  }
  // KIP-853: our voter set may be stale (the candidate may have been added,
  // or we may have been, after our log ends), so neither side's membership in
  // our view decides the vote; the candidate counts only votes of its own set.
  if (r.candidate_epoch > epoch_) {
    // A higher epoch: we forget the old leader/vote first (persisted).
    transition_to_unattached(r.candidate_epoch, now_ms);
  }
  if (r.candidate_epoch < epoch_) {
    resp.partition_error = ErrorCode::FENCED_LEADER_EPOCH;
    stamp_leader(resp);
    emit(SendResponse{id, resp});
    return;
  }
  bool grant = false;
  {
    OffsetAndEpoch theirs{r.last_offset, r.last_offset_epoch};
#if FLOTILLA_RAFT_PLANTED_BUG == 2
    (void)theirs;
    bool up_to_date = true;  // planted for the simulation's self-test: no log check on votes
#else
    bool up_to_date = theirs >= log_.end_offset_and_epoch();
#endif
    if (auto* v = std::get_if<VotedState>(&state_)) {
      grant = v->voted_id == r.candidate_id;
    } else if (std::holds_alternative<UnattachedState>(state_)) {
      grant = up_to_date;
      if (grant) transition_to_voted(epoch_, r.candidate_id, now_ms);
    }
    // Candidate (voted for itself), Leader, Follower (has a leader), Resigned: no.
  }
  if (!grant) {
    spdlog::debug("[RaftCore id={}] Rejecting vote for {} in epoch {} as {}", config_.local_id, r.candidate_id, r.candidate_epoch,
                  role_name(role()));
  }
  resp.vote_granted = grant;
  stamp_leader(resp);
  emit(SendResponse{id, resp});
}

void RaftCore::handle_vote_response(int32_t source, const VoteResponse& r, int64_t now_ms) {
  if (r.error != ErrorCode::NONE) {
    spdlog::warn("[RaftCore id={}] Vote response from {}: {}", config_.local_id, source, error_name(r.error));
    return;
  }
  if (auto* p = std::get_if<ProspectiveState>(&state_)) {
    handle_pre_vote_response(*p, source, r, now_ms);
    return;
  }
  if (maybe_transition(r.leader_id, r.leader_epoch, now_ms)) return;
  if (r.partition_error != ErrorCode::NONE || r.leader_epoch != epoch_) return;
  auto* c = std::get_if<CandidateState>(&state_);
  if (!c) return;  // late answer
  auto it = c->votes.find(source);
  if (it == c->votes.end()) return;
  if (r.vote_granted) {
    it->second = CandidateState::Vote::Granted;
    if (c->won()) transition_to_leader(now_ms);
  } else {
    it->second = CandidateState::Vote::Rejected;
    back_off_if_lost(*c, now_ms);
  }
}

// ---------------------------------------------------------------- BeginQuorumEpoch

void RaftCore::send_begin_quorum(const std::vector<int32_t>& to, int64_t now_ms) {
  BeginQuorumEpochRequest r;
  r.cluster_id = config_.cluster_id;
  r.leader_id = config_.local_id;
  r.leader_epoch = epoch_;
  for (int32_t id : to) emit(SendRequest{id, r});
  if (auto* l = std::get_if<LeaderState>(&state_)) l->next_begin_quorum_ms = now_ms + config_.request_timeout_ms;
}

void RaftCore::handle_begin_quorum_request(uint64_t id, int32_t source, const BeginQuorumEpochRequest& r, int64_t now_ms) {
  BeginQuorumEpochResponse resp;
  if (refuse_other_cluster(id, r.cluster_id, resp)) return;
  if (r.leader_epoch < epoch_) {
    resp.partition_error = ErrorCode::FENCED_LEADER_EPOCH;
  } else if (r.leader_id == config_.local_id || r.leader_id < 0) {
    resp.partition_error = ErrorCode::INVALID_REQUEST;
  } else {
    maybe_transition(r.leader_id, r.leader_epoch, now_ms);
  }
  stamp_leader(resp);
  emit(SendResponse{id, resp});
}

void RaftCore::handle_begin_quorum_response(int32_t source, const BeginQuorumEpochResponse& r, int64_t now_ms) {
  if (r.error != ErrorCode::NONE) return;
  if (maybe_transition(r.leader_id, r.leader_epoch, now_ms)) return;
  if (auto* l = std::get_if<LeaderState>(&state_); l && r.partition_error == ErrorCode::NONE && r.leader_epoch == epoch_) {
    l->acknowledge(source);
  }
}

// ---------------------------------------------------------------- EndQuorumEpoch

void RaftCore::send_end_quorum(int64_t now_ms) {
  auto& s = std::get<ResignedState>(state_);
  EndQuorumEpochRequest r;
  r.cluster_id = config_.cluster_id;
  r.leader_id = config_.local_id;
  r.leader_epoch = epoch_;
  r.preferred_successors = s.preferred_successors;
  for (int32_t id : s.unacknowledged) emit(SendRequest{id, r});
  s.next_end_quorum_ms = now_ms + config_.request_timeout_ms;
}

void RaftCore::handle_end_quorum_request(uint64_t id, int32_t source, const EndQuorumEpochRequest& r, int64_t now_ms) {
  EndQuorumEpochResponse resp;
  if (refuse_other_cluster(id, r.cluster_id, resp)) return;
  if (r.leader_epoch < epoch_) {
    resp.partition_error = ErrorCode::FENCED_LEADER_EPOCH;
  } else {
    maybe_transition(r.leader_id, r.leader_epoch, now_ms);
    if (auto* f = std::get_if<FollowerState>(&state_); f && f->leader_id == r.leader_id && epoch_ == r.leader_epoch && is_voter()) {
      // The leader resigned: the best successor stands at once, the others after a backoff.
      auto pos = std::find(r.preferred_successors.begin(), r.preferred_successors.end(), config_.local_id);
      int64_t delay;
      if (pos == r.preferred_successors.end()) {
        delay = config_.election_backoff_max_ms;
      } else {
        auto i = pos - r.preferred_successors.begin();
        delay = i == 0 ? 0 : std::min<int64_t>(config_.election_backoff_max_ms, int64_t(config_.retry_backoff_ms) << std::min<int64_t>(i, 20));
      }
      f->fetch_deadline_ms = std::min(f->fetch_deadline_ms, now_ms + delay);
    }
  }
  stamp_leader(resp);
  emit(SendResponse{id, resp});
}

void RaftCore::handle_end_quorum_response(int32_t source, const EndQuorumEpochResponse& r, int64_t now_ms) {
  if (r.error != ErrorCode::NONE) return;
  if (maybe_transition(r.leader_id, r.leader_epoch, now_ms)) return;
  if (auto* s = std::get_if<ResignedState>(&state_)) s->unacknowledged.erase(source);
}

}  // namespace flotilla::raft
