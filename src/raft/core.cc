// RaftCore: start-up, role transitions, timers, client appends, invariants.
#include "raft/core.h"

#include <algorithm>

#include "common/bytes.h"
#include "common/overloaded.h"
#include "protocol/messages.h"
#include "protocol/metadata_record.h"
#include "protocol/record_batch.h"
#include "raft/assert.h"

namespace flotilla::raft {

using protocol::control_record_key;
using protocol::ControlType;

namespace {

std::vector<uint8_t> leader_change_value(int32_t leader_id, const std::vector<int32_t>& voters, const std::vector<int32_t>& granting) {
  msg::LeaderChangeMessage m;
  m.version = 0;
  m.leader_id = leader_id;
  for (int32_t v : voters) {
    msg::LeaderChangeMessage::Voter x;
    x.voter_id = v;
    m.voters.push_back(x);
  }
  for (int32_t v : granting) {
    msg::LeaderChangeMessage::Voter x;
    x.voter_id = v;
    m.granting_voters.push_back(x);
  }
  ByteWriter w;
  m.encode(w, 0);
  return std::move(w).take();
}
}  // namespace

RaftCore::RaftCore(RaftCoreConfig config, Rng rng) : config_(std::move(config)), rng_(rng) {
  std::sort(config_.voters.begin(), config_.voters.end());
  config_.voters.erase(std::unique(config_.voters.begin(), config_.voters.end()), config_.voters.end());
  voter_history_.push_back(VoterSetEntry{-1, config_.voters});
}

// ---------------------------------------------------------------- voter set (KIP-853)

void RaftCore::set_voters(std::vector<int32_t> voters) {
  std::sort(voters.begin(), voters.end());
  voters.erase(std::unique(voters.begin(), voters.end()), voters.end());
  if (voters == config_.voters) return;
  spdlog::info("[RaftCore id={}] Voter set is now {} (was {})", config_.local_id, fmt::join(voters, ","), fmt::join(config_.voters, ","));
  config_.voters = std::move(voters);
  if (auto* l = std::get_if<LeaderState>(&state_)) {
    l->update_voters(config_.voters);
    if (l->high_watermark() && *l->high_watermark() > high_watermark_) set_high_watermark(*l->high_watermark());
  }
}

void RaftCore::note_voters_in_batch(std::span<const uint8_t> batch, int64_t base_offset, int64_t now_ms) {
  try {
    for (const auto& r : records::decode_records(batch)) {
      if (!r.key || !r.value || r.key->size() < 4) continue;
      if (protocol::parse_control_key(*r.key) != ControlType::KRAFT_VOTERS) continue;
      msg::VotersRecord v;
      ByteReader rd(r.value->data(), r.value->size());
      v.decode(rd, 0);
      std::vector<int32_t> ids;
      for (const auto& x : v.voters) ids.push_back(x.voter_id);
      std::sort(ids.begin(), ids.end());
      voter_history_.push_back(VoterSetEntry{r.offset >= 0 ? r.offset : base_offset, ids});
      set_voters(ids);
      // An observer that became a voter now watches its leader like one.
      if (auto* f = std::get_if<FollowerState>(&state_); f && is_voter() && f->fetch_deadline_ms == INT64_MAX)
        f->fetch_deadline_ms = now_ms + config_.fetch_timeout_ms;
    }
  } catch (const std::exception& e) {
    spdlog::error("[RaftCore id={}] Undecodable control batch at {}: {}", config_.local_id, base_offset, e.what());
  }
}

void RaftCore::forget_voters_from(int64_t offset) {
  while (voter_history_.size() > 1 && voter_history_.back().offset >= offset) voter_history_.pop_back();
  set_voters(voter_history_.back().voters);
}

std::optional<int64_t> RaftCore::append_voters_change(std::vector<int32_t> voters, std::vector<uint8_t> voters_record, int64_t now_ms) {
  auto* l = std::get_if<LeaderState>(&state_);
  if (!l || !l->high_watermark()) return std::nullopt;        // nothing of this epoch committed yet
  if (voter_history_.back().offset >= high_watermark_) return std::nullopt;  // a change is pending
  if (voters.empty()) return std::nullopt;
  int64_t offset = l->accumulator().append_control({{control_record_key(ControlType::KRAFT_VOTERS), std::move(voters_record)}}, now_ms);
  voter_history_.push_back(VoterSetEntry{offset, voters});
  set_voters(std::move(voters));
  drain_accumulator(now_ms, true);
  check_invariants();
  return offset;
}

std::optional<ReplicaProgress> RaftCore::observer_progress(int32_t id) const {
  auto* l = std::get_if<LeaderState>(&state_);
  if (!l) return std::nullopt;
  auto it = l->observers().find(id);
  if (it == l->observers().end()) return std::nullopt;
  return it->second;
}

void RaftCore::maybe_resign_after_removal(int64_t now_ms) {
  if (!std::holds_alternative<LeaderState>(state_) || is_voter()) return;
  if (high_watermark_ > voter_history_.back().offset) {
    spdlog::info("[RaftCore id={}] Removed from the voter set (committed); resigning", config_.local_id);
    transition_to_resigned(now_ms);
  }
}

bool RaftCore::is_voter() const {
  return std::binary_search(config_.voters.begin(), config_.voters.end(), config_.local_id);
}

Role RaftCore::role() const {
  return std::visit(Overloaded{[](const UnattachedState&) { return Role::Unattached; },
                               [](const VotedState&) { return Role::Voted; },
                               [](const ProspectiveState&) { return Role::Prospective; },
                               [](const CandidateState&) { return Role::Candidate; },
                               [](const LeaderState&) { return Role::Leader; },
                               [](const FollowerState&) { return Role::Follower; },
                               [](const ResignedState&) { return Role::Resigned; }},
                    state_);
}

LeaderAndEpoch RaftCore::leader_and_epoch() const {
  if (std::holds_alternative<LeaderState>(state_)) return {config_.local_id, epoch_};
  if (auto* f = std::get_if<FollowerState>(&state_)) return {f->leader_id, epoch_};
  // A prospective still names the leader it had (it may well come back to it).
  if (auto* p = std::get_if<ProspectiveState>(&state_); p && p->retained_leader != config_.local_id)
    return {p->retained_leader, epoch_};
  // Resigned reports no leader (Kafka keeps reporting itself): the active
  // controller must stop at once, its appends would be refused anyway.
  return {kNoLeader, epoch_};
}

ElectionState RaftCore::election_state() const {
  ElectionState e;
  e.epoch = epoch_;
  e.voters = config_.voters;
  std::visit(Overloaded{[](const UnattachedState&) {},
                        [&](const VotedState& s) { e.voted_id = s.voted_id; },
                        [&](const ProspectiveState& s) {
                          e.voted_id = s.retained_vote;
                          e.leader_id = s.retained_leader;
                        },
                        [&](const CandidateState&) { e.voted_id = config_.local_id; },
                        [&](const LeaderState&) { e.leader_id = config_.local_id; },
                        [&](const FollowerState& s) { e.leader_id = s.leader_id; },
                        [&](const ResignedState&) { e.leader_id = config_.local_id; }},
             state_);
  return e;
}

int64_t RaftCore::next_offset() const {
  if (auto* l = std::get_if<LeaderState>(&state_)) return l->accumulator().next_offset();
  return log_.end_offset();
}

int64_t RaftCore::random_election_timeout_ms() {
  return config_.election_timeout_ms + rng_.uniform(config_.election_timeout_ms);
}

int64_t RaftCore::election_backoff_ms(int32_t retries) {
  // Exponential backoff with full jitter: uniform in [0, min(max, 100 ms x
  // 2^(retries-1))). Kafka's binaryExponentialElectionBackoffMs draws
  // 100 ms x random{0, 1, .., 2^retries - 1}: on a first retry two candidates
  // that split the vote pick the same value half the time and split again.
  // A continuous draw makes that a collision within the few ms of a
  // pre-vote + vote round trip (leader crash with both followers seeing the
  // broken connection at once: the split vote is over after one backoff).
  int shift = std::min(20, std::max(0, retries - 1));
  int64_t bound = std::min<int64_t>(config_.election_backoff_max_ms, int64_t(kElectionBackoffBaseMs) << shift);
  return rng_.uniform(std::max<int64_t>(bound, 1));
}

// ---------------------------------------------------------------- start-up

void RaftCore::start(const std::optional<ElectionState>& persisted, const InitialLogState& log, int64_t now_ms) {
  RAFT_ASSERT(!started_, "started twice");
  started_ = true;
  log_.reset(log.start_offset, log.end_offset, log.flushed_offset, log.epochs, log.start_epoch);
  latest_snapshot_ = log.latest_snapshot;
  RAFT_ASSERT(log.start_offset == 0 || latest_snapshot_, "log start {} without a snapshot", log.start_offset);
  for (const auto& v : log.voter_history) voter_history_.push_back(v);
  if (!log.voter_history.empty()) set_voters(voter_history_.back().voters);
  ElectionState e = persisted.value_or(ElectionState{});
  epoch_ = std::max(0, e.epoch);
  const int32_t self = config_.local_id;

  if (log_.last_epoch() > epoch_) {
    // The log has seen a later epoch than the quorum-state file (lost write).
    spdlog::warn("[RaftCore id={}] Epoch {} from quorum-state is below the log's last epoch {}; starting unattached",
                 self, epoch_, log_.last_epoch());
    epoch_ = log_.last_epoch();
    state_ = UnattachedState{epoch_, now_ms + random_election_timeout_ms()};
    emit(PersistElection{election_state()});
  } else if (e.leader_id == self && self >= 0) {
    // We led this epoch before the restart: we may not lead it again, nor vote in it.
    state_ = ResignedState{epoch_, self, now_ms + random_election_timeout_ms(), {}, {}, 0};
  } else if (e.leader_id >= 0) {
    FollowerState f;
    f.epoch = epoch_;
    f.leader_id = e.leader_id;
    f.fetch_deadline_ms = is_voter() ? now_ms + config_.fetch_timeout_ms : INT64_MAX;
    f.last_fetch_ok_ms = now_ms;
    f.next_fetch_ms = now_ms;
    state_ = f;
  } else if (e.voted_id == self && self >= 0) {
    CandidateState c;
    c.epoch = epoch_;
    for (int32_t v : config_.voters) c.votes[v] = CandidateState::Vote::Unrecorded;
    c.votes[self] = CandidateState::Vote::Granted;
    c.election_deadline_ms = now_ms + random_election_timeout_ms();
    state_ = std::move(c);
  } else if (e.voted_id >= 0) {
    state_ = VotedState{epoch_, e.voted_id, now_ms + random_election_timeout_ms()};
  } else {
    state_ = UnattachedState{epoch_, now_ms + random_election_timeout_ms()};
  }
  spdlog::info("[RaftCore id={}] Starting as {} in epoch {} (log end offset {}, last epoch {})", self, role_name(role()), epoch_,
               log_.end_offset(), log_.last_epoch());
  announced_ = LeaderAndEpoch{kNoLeader, -1};
  if (is_only_voter() && role() != Role::Candidate) {
    transition_to_candidate(now_ms);
  } else if (auto* c = std::get_if<CandidateState>(&state_)) {
    if (c->won()) {
      transition_to_leader(now_ms);
    } else {
      send_vote_requests(now_ms);
    }
  } else {
    if (leader_and_epoch() != announced_) {
      announced_ = leader_and_epoch();
      emit(LeaderChanged{announced_, false, -1});
    }
    maybe_send_fetch(now_ms);
  }
  check_invariants();
}

// ---------------------------------------------------------------- transitions

void RaftCore::persist_and_announce(LeaderAndEpoch before) {
  (void)before;
  emit(PersistElection{election_state()});
  LeaderAndEpoch now = leader_and_epoch();
  if (now != announced_ && !std::holds_alternative<LeaderState>(state_)) {
    announced_ = now;
    emit(LeaderChanged{now, false, -1});
  }
}

void RaftCore::leave_leader_state() {
  hw_sent_.clear();
  if (std::holds_alternative<LeaderState>(state_)) fail_parked_fetches();
}

void RaftCore::transition_to_unattached(int32_t epoch, int64_t now_ms) {
  RAFT_ASSERT(epoch > epoch_ || (epoch == epoch_ && role() == Role::Resigned), "unattached epoch {} from {}", epoch, epoch_);
  auto before = leader_and_epoch();
  // As Kafka does, a replica that was waiting for an election keeps its
  // remaining election timeout: a candidate that keeps bumping the epoch (with
  // a log too short to win) cannot postpone everybody else's candidacy forever.
  int64_t deadline = now_ms + random_election_timeout_ms();
  if (auto* u = std::get_if<UnattachedState>(&state_)) deadline = u->election_deadline_ms;
  if (auto* v = std::get_if<VotedState>(&state_)) deadline = v->election_deadline_ms;
  if (auto* c = std::get_if<CandidateState>(&state_)) deadline = c->election_deadline_ms;
  if (auto* p = std::get_if<ProspectiveState>(&state_)) deadline = p->election_deadline_ms;
  leave_leader_state();
  epoch_ = epoch;
  state_ = UnattachedState{epoch, is_voter() ? deadline : INT64_MAX};
  spdlog::info("[RaftCore id={}] Transitioned to Unattached in epoch {}", config_.local_id, epoch);
  persist_and_announce(before);
}

void RaftCore::transition_to_voted(int32_t epoch, int32_t candidate_id, int64_t now_ms) {
  RAFT_ASSERT(epoch == epoch_ && role() == Role::Unattached, "vote in epoch {} from {} as {}", epoch, epoch_, role_name(role()));
  auto before = leader_and_epoch();
  state_ = VotedState{epoch, candidate_id, now_ms + random_election_timeout_ms()};
  spdlog::info("[RaftCore id={}] Voted for {} in epoch {}", config_.local_id, candidate_id, epoch);
  persist_and_announce(before);
}

void RaftCore::transition_to_prospective(int64_t now_ms) {
  RAFT_ASSERT(is_voter(), "observer {} cannot stand for election", config_.local_id);
  RAFT_ASSERT(role() != Role::Leader, "a leader does not pre-vote");
  ProspectiveState p;
  p.epoch = epoch_;
  ElectionState e = election_state();
  p.retained_leader = e.leader_id;
  p.retained_vote = e.voted_id;
  if (auto* old = std::get_if<ProspectiveState>(&state_)) p.retries = old->retries + 1;
  if (auto* c = std::get_if<CandidateState>(&state_)) p.retries = c->retries + 1;
  for (int32_t v : config_.voters) p.votes[v] = ProspectiveState::Vote::Unrecorded;
  p.votes[config_.local_id] = ProspectiveState::Vote::Granted;
  p.election_deadline_ms = now_ms + random_election_timeout_ms();
  auto before = leader_and_epoch();
  state_ = std::move(p);
  spdlog::info("[RaftCore id={}] Transitioned to Prospective in epoch {} (pre-vote for epoch {})", config_.local_id, epoch_, epoch_ + 1);
  if (leader_and_epoch() != before) {
    announced_ = leader_and_epoch();
    emit(LeaderChanged{announced_, false, -1});
  }
  if (std::get<ProspectiveState>(state_).won()) {
    transition_to_candidate(now_ms);
  } else {
    send_pre_vote_requests(now_ms);
  }
}

void RaftCore::transition_to_candidate(int64_t now_ms) {
  RAFT_ASSERT(is_voter(), "observer {} cannot stand for election", config_.local_id);
  auto before = leader_and_epoch();
  int32_t retries = 1;
  if (auto* c = std::get_if<CandidateState>(&state_)) retries = c->retries + 1;
  if (auto* p = std::get_if<ProspectiveState>(&state_)) retries = p->retries;
  leave_leader_state();
  epoch_ += 1;
  CandidateState c;
  c.epoch = epoch_;
  c.retries = retries;
  for (int32_t v : config_.voters) c.votes[v] = CandidateState::Vote::Unrecorded;
  c.votes[config_.local_id] = CandidateState::Vote::Granted;
  c.election_deadline_ms = now_ms + random_election_timeout_ms();
  state_ = std::move(c);
  spdlog::info("[RaftCore id={}] Transitioned to Candidate in epoch {}", config_.local_id, epoch_);
  persist_and_announce(before);
  if (std::get<CandidateState>(state_).won()) {
    transition_to_leader(now_ms);
  } else {
    send_vote_requests(now_ms);
  }
}

void RaftCore::transition_to_leader(int64_t now_ms) {
  auto& c = std::get<CandidateState>(state_);
  RAFT_ASSERT(c.won(), "leader without majority in epoch {}", epoch_);
  std::vector<int32_t> granting = c.granting();
  int64_t start = log_.end_offset();
  state_ = LeaderState(config_.local_id, epoch_, start, config_.voters, granting,
                       BatchAccumulator(epoch_, start, config_.max_batch_size_bytes, config_.append_linger_ms));
  auto& l = std::get<LeaderState>(state_);
  l.check_quorum_deadline_ms = now_ms + config_.fetch_timeout_ms * 3 / 2;
  l.next_begin_quorum_ms = now_ms + config_.request_timeout_ms;
  spdlog::info("[RaftCore id={}] Transitioned to Leader in epoch {} (epoch start offset {}, voters {})", config_.local_id, epoch_,
               start, fmt::join(config_.voters, ","));
  emit(PersistElection{election_state()});
  // The first record of every epoch: a LeaderChangeMessage control batch.
  auto key = control_record_key(ControlType::LEADER_CHANGE);
  l.accumulator().append_control({{std::move(key), leader_change_value(config_.local_id, config_.voters, granting)}}, now_ms);
  drain_accumulator(now_ms, true);
  // The leader's own (already durable) prefix counts at once.
  l.update_local_end(log_.flushed_offset());
  announced_ = leader_and_epoch();
  emit(LeaderChanged{announced_, true, start});
  std::vector<int32_t> others;
  for (int32_t v : config_.voters)
    if (v != config_.local_id) others.push_back(v);
  send_begin_quorum(others, now_ms);
}

void RaftCore::transition_to_follower(int32_t epoch, int32_t leader_id, int64_t now_ms) {
  RAFT_ASSERT(epoch >= epoch_ && leader_id != config_.local_id, "follow {} in epoch {} from {}", leader_id, epoch, epoch_);
  if (epoch == epoch_) {
    RAFT_ASSERT(role() != Role::Leader, "two leaders in epoch {}: {} and {}", epoch, config_.local_id, leader_id);
    if (auto* f = std::get_if<FollowerState>(&state_)) {
      RAFT_ASSERT(f->leader_id == leader_id, "two leaders in epoch {}: {} and {}", epoch, f->leader_id, leader_id);
      return;
    }
  }
  auto before = leader_and_epoch();
  leave_leader_state();
  epoch_ = epoch;
  FollowerState f;
  f.epoch = epoch;
  f.leader_id = leader_id;
  f.fetch_deadline_ms = is_voter() ? now_ms + config_.fetch_timeout_ms : INT64_MAX;
  f.last_fetch_ok_ms = now_ms;
  f.next_fetch_ms = now_ms;
  state_ = f;
  spdlog::info("[RaftCore id={}] Transitioned to Follower of {} in epoch {}", config_.local_id, leader_id, epoch);
  persist_and_announce(before);
  maybe_send_fetch(now_ms);
}

void RaftCore::transition_to_resigned(int64_t now_ms) {
  auto* l = std::get_if<LeaderState>(&state_);
  RAFT_ASSERT(l != nullptr, "resign as {}", role_name(role()));
  // Successors: the other voters, most caught-up first.
  std::vector<std::pair<int64_t, int32_t>> by_end;
  for (const auto& [id, p] : l->voters())
    if (id != config_.local_id) by_end.push_back({-p.end_offset, id});
  std::sort(by_end.begin(), by_end.end());
  ResignedState r;
  r.epoch = epoch_;
  r.leader_id = config_.local_id;
  r.election_deadline_ms = now_ms + random_election_timeout_ms();
  for (const auto& [e, id] : by_end) {
    r.preferred_successors.push_back(id);
    r.unacknowledged.insert(id);
  }
  leave_leader_state();
  state_ = std::move(r);
  spdlog::info("[RaftCore id={}] Resigned leadership of epoch {}", config_.local_id, epoch_);
  announced_ = leader_and_epoch();
  emit(LeaderChanged{announced_, false, -1});
  send_end_quorum(now_ms);
}

bool RaftCore::maybe_transition(std::optional<int32_t> leader_id, int32_t epoch, int64_t now_ms) {
  if (leader_id && *leader_id < 0) leader_id.reset();
  if (epoch > epoch_) {
    if (leader_id && *leader_id != config_.local_id) {
      transition_to_follower(epoch, *leader_id, now_ms);
    } else {
      transition_to_unattached(epoch, now_ms);
    }
    return true;
  }
  if (epoch == epoch_ && leader_id && *leader_id != config_.local_id) {
    switch (role()) {
      case Role::Unattached:
      case Role::Voted:
      case Role::Prospective:
      case Role::Candidate:
        transition_to_follower(epoch, *leader_id, now_ms);
        return true;
      case Role::Leader:
        RAFT_ASSERT(false, "replica {} claims leadership of our epoch {}", *leader_id, epoch);
        break;
      case Role::Follower:
        RAFT_ASSERT(std::get<FollowerState>(state_).leader_id == *leader_id, "two leaders in epoch {}", epoch);
        break;
      case Role::Resigned:
        break;  // another replica cannot lead the epoch we led
    }
  }
  return false;
}

void RaftCore::resign(int64_t now_ms) {
  if (std::holds_alternative<LeaderState>(state_)) {
    flush_appends(now_ms);
    transition_to_resigned(now_ms);
  }
  check_invariants();
}

// ---------------------------------------------------------------- timers

int64_t RaftCore::next_deadline_ms() const {
  int64_t d = INT64_MAX;
  for (const auto& p : parked_fetches_) d = std::min(d, p.deadline_ms);
  std::visit(Overloaded{[&](const UnattachedState& s) {
                          d = std::min(d, s.election_deadline_ms);
                          if (!is_voter()) d = std::min(d, s.fetch_in_flight ? s.fetch_sent_ms + config_.request_timeout_ms : s.next_fetch_ms);
                        },
                        [&](const VotedState& s) { d = std::min(d, s.election_deadline_ms); },
                        [&](const ElectionRound& s) {  // Prospective, Candidate
                          d = std::min(d, s.backing_off ? s.backoff_deadline_ms : s.election_deadline_ms);
                          if (!s.backing_off && s.votes.size() > 1) d = std::min(d, s.next_vote_request_ms);
                        },
                        [&](const LeaderState& s) {
                          if (auto l = s.accumulator().linger_deadline_ms()) d = std::min(d, *l);
                          if (s.voters().size() > 1) {
                            d = std::min(d, s.check_quorum_deadline_ms);
                            if (!s.unacknowledged_voters().empty()) d = std::min(d, s.next_begin_quorum_ms);
                          }
                        },
                        [&](const FollowerState& s) {
                          d = std::min(d, s.fetch_deadline_ms);
                          if (s.fetch_in_flight) {
                            d = std::min(d, s.fetch_sent_ms + config_.request_timeout_ms);
                          } else if (log_.flushed_offset() >= log_.end_offset() && !(s.snapshot_fetch && s.snapshot_fetch->installing)) {
                            d = std::min(d, s.next_fetch_ms);
                          }
                        },
                        [&](const ResignedState& s) {
                          d = std::min(d, s.election_deadline_ms);
                          if (!s.unacknowledged.empty()) d = std::min(d, s.next_end_quorum_ms);
                        }},
             state_);
  return d;
}

void RaftCore::poll(int64_t now_ms) {
  complete_parked_fetches(now_ms, false);  // expired ones (and any that have data)
  if (auto* u = std::get_if<UnattachedState>(&state_)) {
    if (!is_voter()) {
      poll_observer_discovery(*u, now_ms);
    } else if (now_ms >= u->election_deadline_ms) {
      transition_to_prospective(now_ms);
    }
  } else if (auto* v = std::get_if<VotedState>(&state_)) {
    if (is_voter() && now_ms >= v->election_deadline_ms) transition_to_prospective(now_ms);
  } else if (auto* p = std::get_if<ProspectiveState>(&state_)) {
    poll_prospective(*p, now_ms);
  } else if (auto* c = std::get_if<CandidateState>(&state_)) {
    poll_candidate(*c, now_ms);
  } else if (auto* l = std::get_if<LeaderState>(&state_)) {
    poll_leader(*l, now_ms);
  } else if (auto* f = std::get_if<FollowerState>(&state_)) {
    poll_follower(*f, now_ms);
  } else if (auto* r = std::get_if<ResignedState>(&state_)) {
    if (now_ms >= r->election_deadline_ms && is_voter()) {
      transition_to_prospective(now_ms);
    } else if (!r->unacknowledged.empty() && now_ms >= r->next_end_quorum_ms) {
      send_end_quorum(now_ms);
    }
  }
  maybe_resign_after_removal(now_ms);
  check_invariants();
}

// ---------------------------------------------------------------- appends

std::optional<int64_t> RaftCore::append(std::vector<std::vector<uint8_t>> record_values, int32_t epoch, int64_t now_ms) {
  auto* l = std::get_if<LeaderState>(&state_);
  if (!l || epoch != epoch_ || record_values.empty()) return std::nullopt;
  return l->accumulator().append(std::move(record_values), now_ms);
}

void RaftCore::flush_appends(int64_t now_ms) {
  if (std::holds_alternative<LeaderState>(state_)) drain_accumulator(now_ms, true);
  check_invariants();
}

std::vector<Action> RaftCore::take_actions() {
  std::vector<Action> out;
  out.swap(actions_);
  return out;
}

// ---------------------------------------------------------------- dispatch

void RaftCore::handle_request(uint64_t request_id, int32_t source, RaftRequest request, int64_t now_ms) {
  std::visit(Overloaded{[&](const VoteRequest& r) { handle_vote_request(request_id, source, r, now_ms); },
                        [&](const BeginQuorumEpochRequest& r) { handle_begin_quorum_request(request_id, source, r, now_ms); },
                        [&](const EndQuorumEpochRequest& r) { handle_end_quorum_request(request_id, source, r, now_ms); },
                        [&](const FetchRequest& r) { handle_fetch_request(request_id, source, r, now_ms); },
                        [&](const FetchSnapshotRequest& r) { handle_fetch_snapshot_request(request_id, source, r, now_ms); }},
             request);
  maybe_resign_after_removal(now_ms);
  check_invariants();
}

void RaftCore::handle_response(int32_t source, RaftResponse response, int64_t now_ms, uint64_t correlation_id) {
  response_correlation_ = correlation_id;
  std::visit(Overloaded{[&](const VoteResponse& r) { handle_vote_response(source, r, now_ms); },
                        [&](const BeginQuorumEpochResponse& r) { handle_begin_quorum_response(source, r, now_ms); },
                        [&](const EndQuorumEpochResponse& r) { handle_end_quorum_response(source, r, now_ms); },
                        [&](const FetchResponse& r) { handle_fetch_response(source, r, now_ms); },
                        [&](const FetchSnapshotResponse& r) { handle_fetch_snapshot_response(source, r, now_ms); }},
             response);
  check_invariants();
}

// An observer that lost its leader looks for the leader again among the voters.
void RaftCore::become_leaderless_observer(int64_t now_ms) {
  UnattachedState u{epoch_, INT64_MAX};
  u.next_fetch_ms = now_ms + config_.retry_backoff_ms;
  state_ = u;
  announced_ = leader_and_epoch();
  emit(LeaderChanged{announced_, false, -1});
}

ElectionRound* RaftCore::election_round() {
  if (auto* p = std::get_if<ProspectiveState>(&state_)) return p;
  return std::get_if<CandidateState>(&state_);
}

// A small random delay: followers that saw the same thing (a connection
// break, the leader's resignation) should not all become candidates in the
// same millisecond (split votes).
void RaftCore::pre_vote_soon(FollowerState& f, int64_t now_ms) {
  f.leader_unreachable = true;
  f.fetch_deadline_ms = std::min(f.fetch_deadline_ms, now_ms + 1 + rng_.uniform(config_.election_timeout_ms / 20 + 1));
}

void RaftCore::on_request_failed(int32_t destination, int64_t now_ms) {
  if (auto* f = std::get_if<FollowerState>(&state_); f && destination == f->leader_id) {
    f->fetch_in_flight = false;
    f->next_fetch_ms = now_ms + config_.retry_backoff_ms;
    if (is_voter() && ++f->failed_requests == 1 && !f->leader_unreachable) {
      f->next_fetch_ms = now_ms;  // reconnect and fetch again at once
    } else if (is_voter()) {
      if (!f->leader_unreachable) {
        spdlog::info("[RaftCore id={}] Lost the connection to leader {}; pre-vote soon", config_.local_id, f->leader_id);
      }
      pre_vote_soon(*f, now_ms);
    } else {
      become_leaderless_observer(now_ms);
    }
  } else if (auto* u = std::get_if<UnattachedState>(&state_)) {
    u->fetch_in_flight = false;
  } else if (ElectionRound* round = election_round()) {
    // An unreachable voter is as good as a refusal: lose quickly, back off, retry.
    if (auto it = round->votes.find(destination); it != round->votes.end() && it->second == ElectionRound::Vote::Unrecorded) {
      it->second = ElectionRound::Vote::Rejected;
      back_off_if_lost(*round, now_ms);
    }
  }
  check_invariants();
}

// ---------------------------------------------------------------- invariants

void RaftCore::check_invariants() const {
  RAFT_ASSERT(epoch_ >= checked_epoch_, "epoch went back from {} to {}", checked_epoch_, epoch_);
  RAFT_ASSERT(high_watermark_ >= checked_hw_, "high watermark went back from {} to {}", checked_hw_, high_watermark_);
  RAFT_ASSERT(high_watermark_ <= log_.end_offset(), "high watermark {} beyond log end {}", high_watermark_, log_.end_offset());
  RAFT_ASSERT(log_.start_offset() <= log_.flushed_offset() && log_.flushed_offset() <= log_.end_offset(),
              "log offsets start {} flushed {} end {}", log_.start_offset(), log_.flushed_offset(), log_.end_offset());
  if (auto* l = std::get_if<LeaderState>(&state_)) {
    RAFT_ASSERT(l->epoch() == epoch_, "leader state epoch {} vs {}", l->epoch(), epoch_);
#if FLOTILLA_RAFT_PLANTED_BUG != 1
    RAFT_ASSERT(!l->high_watermark() || *l->high_watermark() > l->epoch_start_offset(), "leader hw {} <= epoch start {}",
                *l->high_watermark(), l->epoch_start_offset());
#endif
    RAFT_ASSERT(l->accumulator().next_offset() >= log_.end_offset(), "accumulator {} behind log end {}",
                l->accumulator().next_offset(), log_.end_offset());
  }
  checked_epoch_ = epoch_;
  checked_hw_ = high_watermark_;
}

}  // namespace flotilla::raft
