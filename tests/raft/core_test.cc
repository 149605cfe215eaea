// RaftCore unit tests on virtual time with a seeded Rng: single-voter
// election and commit, epochs across restarts, the LeaderChangeMessage,
// high watermark rules, appends, and the multi-voter election rules (votes,
// pre-votes, Begin/EndQuorumEpoch, observers, other clusters). Replication
// and snapshots: core_replication_test.cc.
#include <gtest/gtest.h>

#include "common/bytes.h"
#include "core_test_util.h"
#include "protocol/messages.h"
#include "protocol/metadata_record.h"
#include "protocol/record_batch.h"
#include "raft/core.h"

using namespace flotilla;
using namespace flotilla::protocol;
using namespace flotilla::raft;
using namespace flotilla::raft::testing;

TEST(RaftCoreSingleVoter, ElectsItselfAtStartAndPersistsFirst) {
  RaftCore core(config(1, {1}), Rng(7));
  core.start(std::nullopt, InitialLogState{}, 1000);
  auto as = core.take_actions();
  EXPECT_EQ(core.role(), Role::Leader);
  EXPECT_EQ(core.epoch(), 1);
  EXPECT_EQ(core.leader_and_epoch(), (LeaderAndEpoch{1, 1}));

  auto persists = all_of<PersistElection>(as);
  ASSERT_EQ(persists.size(), 2u);
  EXPECT_EQ(persists[0].state.epoch, 1);
  EXPECT_EQ(persists[0].state.voted_id, 1);  // candidate: voted for itself
  EXPECT_EQ(persists[0].state.leader_id, -1);
  EXPECT_EQ(persists[1].state.epoch, 1);
  EXPECT_EQ(persists[1].state.leader_id, 1);
  EXPECT_EQ(persists[1].state.voted_id, -1);
  EXPECT_EQ(persists[1].state.voters, std::vector<int32_t>{1});

  // The leader's quorum-state is persisted before the leadership shows anywhere.
  int p_leader = -1;
  for (int i = 0; i < static_cast<int>(as.size()); ++i)
    if (auto* p = std::get_if<PersistElection>(&as[i]); p && p->state.leader_id == 1) p_leader = i;
  int append = index_of<AppendToLog>(as);
  int changed = -1;  // (the candidate epoch is announced too, without a leader)
  for (int i = 0; i < static_cast<int>(as.size()); ++i)
    if (auto* l = std::get_if<LeaderChanged>(&as[i]); l && l->is_self) changed = i;
  ASSERT_GE(p_leader, 0);
  ASSERT_GE(append, 0);
  ASSERT_GE(changed, 0);
  EXPECT_LT(p_leader, append);
  EXPECT_LT(p_leader, changed);
  auto lc = std::get<LeaderChanged>(as[changed]);
  EXPECT_TRUE(lc.is_self);
  EXPECT_EQ(lc.epoch_start_offset, 0);
  EXPECT_EQ(lc.leader, (LeaderAndEpoch{1, 1}));
  // And a flush of the new epoch's first batch is requested.
  auto flushes = all_of<FlushLog>(as);
  ASSERT_EQ(flushes.size(), 1u);
  EXPECT_EQ(flushes[0].up_to, 1);
}

TEST(RaftCoreSingleVoter, LeaderChangeMessageStartsTheEpoch) {
  RaftCore core(config(3, {3}), Rng(1));
  core.start(std::nullopt, InitialLogState{}, 5000);
  auto appends = all_of<AppendToLog>(core.take_actions());
  ASSERT_EQ(appends.size(), 1u);
  EXPECT_EQ(appends[0].base_offset, 0);
  EXPECT_EQ(appends[0].last_offset, 0);
  const auto& bytes = *appends[0].batches;
  records::BatchHeader h;
  ASSERT_TRUE(records::parse_header(std::span<const uint8_t>(bytes), h));
  EXPECT_TRUE(h.is_control());
  EXPECT_EQ(h.partition_leader_epoch, 1);
  EXPECT_EQ(h.base_offset, 0);
  EXPECT_EQ(h.records_count, 1);
  auto recs = records::decode_records(std::span<const uint8_t>(bytes));
  ASSERT_EQ(recs.size(), 1u);
  ASSERT_TRUE(recs[0].key.has_value());
  EXPECT_EQ(parse_control_key(*recs[0].key), ControlType::LEADER_CHANGE);
  std::vector<uint8_t> expected_key = {0, 0, 0, 2};
  EXPECT_EQ(*recs[0].key, expected_key);
  ASSERT_TRUE(recs[0].value.has_value());
  msg::LeaderChangeMessage m;
  ByteReader r(*recs[0].value);
  m.decode(r, 0);
  EXPECT_EQ(m.version, 0);
  EXPECT_EQ(m.leader_id, 3);
  EXPECT_EQ(voter_ids(m.voters), std::vector<int32_t>{3});
  EXPECT_EQ(voter_ids(m.granting_voters), std::vector<int32_t>{3});
  EXPECT_TRUE(r.empty());
}

TEST(RaftCoreSingleVoter, HighWatermarkOnlyAfterFlush) {
  RaftCore core(config(1, {1}), Rng(1));
  core.start(std::nullopt, InitialLogState{}, 1000);
  auto as = core.take_actions();
  EXPECT_TRUE(all_of<HighWatermarkChanged>(as).empty());
  EXPECT_EQ(core.high_watermark(), 0);
  core.poll(1001);
  EXPECT_TRUE(all_of<HighWatermarkChanged>(core.take_actions()).empty());

  core.on_log_flushed(1, 1002);
  auto hw = all_of<HighWatermarkChanged>(core.take_actions());
  ASSERT_EQ(hw.size(), 1u);
  EXPECT_EQ(hw[0].high_watermark, 1);
  EXPECT_EQ(core.high_watermark(), 1);

  // An append is committed only once flushed too.
  auto off = core.append({{1, 2, 3}}, 1, 1003);
  ASSERT_TRUE(off);
  EXPECT_EQ(*off, 1);
  core.poll(1003);  // idle (nothing unflushed): drained at once
  auto as2 = core.take_actions();
  ASSERT_EQ(all_of<AppendToLog>(as2).size(), 1u);
  ASSERT_EQ(all_of<FlushLog>(as2).size(), 1u);
  EXPECT_EQ(all_of<FlushLog>(as2)[0].up_to, 2);
  EXPECT_TRUE(all_of<HighWatermarkChanged>(as2).empty());
  EXPECT_EQ(core.high_watermark(), 1);
  core.on_log_flushed(2, 1004);
  EXPECT_EQ(core.high_watermark(), 2);
}

TEST(RaftCoreSingleVoter, HighWatermarkNeedsAnEntryOfTheCurrentEpoch) {
  // A restarted leader with an old, durable log: the HW waits for the new LeaderChangeMessage.
  MemLog log;
  {
    RaftCore first(config(1, {1}), Rng(1));
    first.start(std::nullopt, InitialLogState{}, 0);
    apply_log(first.take_actions(), log);
    first.append({{9}}, 1, 1);
    first.flush_appends(1);
    apply_log(first.take_actions(), log);
    log.flush(log.end_offset());
  }
  ASSERT_EQ(log.end_offset(), 2);
  RaftCore core(config(1, {1}), Rng(2));
  ElectionState persisted = led_by(1, 1);
  core.start(persisted, log.initial_state(), 100);
  auto as = core.take_actions();
  EXPECT_EQ(core.epoch(), 2);
  EXPECT_TRUE(all_of<HighWatermarkChanged>(as).empty());  // flushed = 2 = epoch start: not enough
  auto lc = all_of<LeaderChanged>(as);
  ASSERT_FALSE(lc.empty());
  EXPECT_EQ(lc.back().epoch_start_offset, 2);
  core.on_log_flushed(3, 101);
  EXPECT_EQ(core.high_watermark(), 3);
}

TEST(RaftCoreSingleVoter, EpochIncrementsAcrossRestarts) {
  ElectionState state;
  bool have = false;
  MemLog log;
  for (int run = 1; run <= 3; ++run) {
    RaftCore core(config(1, {1}), Rng(run));
    core.start(have ? std::optional<ElectionState>(state) : std::nullopt, log.initial_state(), run * 1000);
    auto as = core.take_actions();
    apply_log(as, log);
    log.flush(log.end_offset());
    EXPECT_EQ(core.epoch(), run);
    EXPECT_EQ(core.role(), Role::Leader);
    state = all_of<PersistElection>(as).back().state;
    have = true;
    EXPECT_EQ(state.epoch, run);
    EXPECT_EQ(state.leader_id, 1);
  }
  // One LeaderChangeMessage per epoch, each in a batch of its epoch.
  ASSERT_EQ(log.batches().size(), 3u);
  for (int i = 0; i < 3; ++i) {
    EXPECT_TRUE(log.batches()[i].control);
    EXPECT_EQ(log.batches()[i].epoch, i + 1);
    EXPECT_EQ(log.batches()[i].base, i);
  }
}

TEST(RaftCoreSingleVoter, CandidateStateSurvivesRestartInSameEpoch) {
  ElectionState s = voted_for(5, 1);
  RaftCore core(config(1, {1}), Rng(3));
  core.start(s, InitialLogState{}, 0);
  EXPECT_EQ(core.role(), Role::Leader);
  EXPECT_EQ(core.epoch(), 5);
}

TEST(RaftCoreSingleVoter, AppendRefusedWhenNotLeaderOrWrongEpoch) {
  RaftCore core(config(1, {1}), Rng(1));
  core.start(std::nullopt, InitialLogState{}, 0);
  core.take_actions();
  EXPECT_FALSE(core.append({{1}}, 2, 1).has_value());   // wrong epoch
  EXPECT_FALSE(core.append({{1}}, 0, 1).has_value());
  EXPECT_FALSE(core.append({}, 1, 1).has_value());       // nothing to append
  EXPECT_TRUE(core.append({{1}}, 1, 1).has_value());

  // A voter of a 3-node quorum that has not won anything.
  RaftCore follower(config(2, {1, 2, 3}), Rng(1));
  follower.start(std::nullopt, InitialLogState{}, 0);
  EXPECT_EQ(follower.role(), Role::Unattached);
  EXPECT_FALSE(follower.append({{1}}, 0, 1).has_value());
  EXPECT_FALSE(follower.append({{1}}, 1, 1).has_value());
}

TEST(RaftCoreSingleVoter, AppendsOfOneTurnShareABatchAndAreNeverSplit) {
  RaftCore core(config(1, {1}), Rng(1));
  core.start(std::nullopt, InitialLogState{}, 0);
  core.take_actions();
  core.on_log_flushed(1, 1);
  core.take_actions();
  auto a = core.append({{1}, {2}}, 1, 2);
  auto b = core.append({{3}}, 1, 2);
  ASSERT_TRUE(a && b);
  EXPECT_EQ(*a, 2);
  EXPECT_EQ(*b, 3);
  EXPECT_EQ(core.next_offset(), 4);
  core.poll(2);
  auto appends = all_of<AppendToLog>(core.take_actions());
  ASSERT_EQ(appends.size(), 1u);
  EXPECT_EQ(appends[0].base_offset, 1);
  EXPECT_EQ(appends[0].last_offset, 3);
  auto recs = records::decode_records(std::span<const uint8_t>(*appends[0].batches));
  ASSERT_EQ(recs.size(), 3u);
  EXPECT_EQ(recs[2].offset, 3);
  EXPECT_FALSE(recs[0].key.has_value());
  EXPECT_EQ(*recs[2].value, std::vector<uint8_t>{3});
  records::BatchHeader h;
  ASSERT_TRUE(records::parse_header(std::span<const uint8_t>(*appends[0].batches), h));
  EXPECT_FALSE(h.is_control());
  EXPECT_EQ(h.partition_leader_epoch, 1);
}

TEST(RaftCoreSingleVoter, GroupCommitWhileAFlushIsOutstanding) {
  RaftCoreConfig c = config(1, {1});
  c.append_linger_ms = 25;
  RaftCore core(c, Rng(1));
  core.start(std::nullopt, InitialLogState{}, 0);
  core.take_actions();  // LeaderChange appended, flush to 1 outstanding
  ASSERT_TRUE(core.append({{1}}, 1, 10));
  core.poll(10);
  EXPECT_TRUE(all_of<AppendToLog>(core.take_actions()).empty());  // waits: flush in flight, linger not over
  EXPECT_EQ(core.next_deadline_ms(), 35);
  ASSERT_TRUE(core.append({{2}}, 1, 20));
  core.on_log_flushed(1, 21);  // the flush completes: pending appends go out together
  auto appends = all_of<AppendToLog>(core.take_actions());
  ASSERT_EQ(appends.size(), 1u);
  EXPECT_EQ(appends[0].base_offset, 1);
  EXPECT_EQ(appends[0].last_offset, 2);

  // Linger expiry drains even while a flush is outstanding.
  ASSERT_TRUE(core.append({{3}}, 1, 30));
  core.poll(54);
  EXPECT_TRUE(all_of<AppendToLog>(core.take_actions()).empty());
  core.poll(55);
  EXPECT_EQ(all_of<AppendToLog>(core.take_actions()).size(), 1u);
}

TEST(RaftCoreSingleVoter, StaleQuorumStateBelowLogEpoch) {
  MemLog log;
  RaftCore first(config(1, {1}), Rng(1));
  ElectionState s = led_by(4, 1);
  first.start(s, InitialLogState{}, 0);
  apply_log(first.take_actions(), log);
  log.flush(log.end_offset());
  ASSERT_EQ(first.epoch(), 5);
  // quorum-state lost its last write: it says epoch 2, the log has epoch 5.
  ElectionState stale = led_by(2, 1);
  RaftCore core(config(1, {1}), Rng(1));
  core.start(stale, log.initial_state(), 10);
  EXPECT_EQ(core.epoch(), 6);
  EXPECT_EQ(core.role(), Role::Leader);
}

// ---------------------------------------------------------------- multi-voter rules

TEST(RaftCoreElection, CandidateAsksForVotesAndWinsWithMajority) {
  RaftCore core(config(1, {1, 2, 3}), Rng(11));
  core.start(std::nullopt, InitialLogState{}, 0);
  EXPECT_EQ(core.role(), Role::Unattached);
  auto as = core.take_actions();
  EXPECT_TRUE(all_of<SendRequest>(as).empty());
  int64_t deadline = core.next_deadline_ms();
  EXPECT_GE(deadline, 1000);  // election timeout + random(0..timeout)
  EXPECT_LT(deadline, 2000);
  core.poll(deadline);
  // First a pre-vote (KIP-996): nothing bumped or persisted.
  EXPECT_EQ(core.role(), Role::Prospective);
  EXPECT_EQ(core.epoch(), 0);
  as = core.take_actions();
  EXPECT_TRUE(all_of<PersistElection>(as).empty());
  auto pre = all_of<SendRequest>(as);
  ASSERT_EQ(pre.size(), 2u);
  EXPECT_TRUE(std::get<VoteRequest>(pre[0].request).pre_vote);
  EXPECT_EQ(std::get<VoteRequest>(pre[0].request).candidate_epoch, 1);
  VoteResponse pre_granted = granted_vote(0);
  core.handle_response(3, pre_granted, deadline + 1);
  EXPECT_EQ(core.role(), Role::Candidate);
  EXPECT_EQ(core.epoch(), 1);
  as = core.take_actions();
  ASSERT_FALSE(all_of<PersistElection>(as).empty());
  EXPECT_EQ(all_of<PersistElection>(as)[0].state.voted_id, 1);
  auto sends = all_of<SendRequest>(as);
  ASSERT_EQ(sends.size(), 2u);
  EXPECT_LT(index_of<PersistElection>(as), index_of<SendRequest>(as));
  for (const auto& s : sends) {
    auto& v = std::get<VoteRequest>(s.request);
    EXPECT_EQ(v.candidate_epoch, 1);
    EXPECT_EQ(v.candidate_id, 1);
    EXPECT_EQ(v.last_offset, 0);
  }
  VoteResponse granted = granted_vote(1);
  core.handle_response(2, granted, deadline + 5);
  EXPECT_EQ(core.role(), Role::Leader);
  as = core.take_actions();
  auto begins = all_of<SendRequest>(as);
  ASSERT_EQ(begins.size(), 2u);
  EXPECT_TRUE(std::holds_alternative<BeginQuorumEpochRequest>(begins[0].request));
  auto appends = all_of<AppendToLog>(as);
  ASSERT_EQ(appends.size(), 1u);
  auto recs = records::decode_records(std::span<const uint8_t>(*appends[0].batches));
  msg::LeaderChangeMessage m;
  ByteReader r(*recs[0].value);
  m.decode(r, 0);
  EXPECT_EQ(voter_ids(m.voters), (std::vector<int32_t>{1, 2, 3}));
  EXPECT_EQ(voter_ids(m.granting_voters), (std::vector<int32_t>{1, 2}));
}

TEST(RaftCoreElection, VoteGrantingRules) {
  MemLog log;
  RaftCore core(config(2, {1, 2, 3}), Rng(5));
  InitialLogState ls = flushed_log(10, {EpochEntry{3, 0}});
  ElectionState s;
  s.epoch = 3;
  core.start(s, ls, 0);
  core.take_actions();

  auto vote = [&](int32_t cand, int32_t epoch, int32_t last_epoch, int64_t last_offset, uint64_t id) {
    VoteRequest v;
    v.cluster_id = "test-cluster";
    v.candidate_id = cand;
    v.candidate_epoch = epoch;
    v.last_offset_epoch = last_epoch;
    v.last_offset = last_offset;
    core.handle_request(id, cand, v, 10);
    auto as = core.take_actions();
    auto rs = all_of<SendResponse>(as);
    EXPECT_EQ(rs.size(), 1u);
    return std::make_pair(as, std::get<VoteResponse>(rs.at(0).response));
  };
  // A lower epoch is fenced.
  auto [a1, r1] = vote(1, 2, 2, 10, 1);
  EXPECT_FALSE(r1.vote_granted);
  EXPECT_EQ(r1.partition_error, ErrorCode::FENCED_LEADER_EPOCH);
  EXPECT_EQ(r1.leader_epoch, 3);
  // A candidate with a shorter log is rejected (but its epoch is adopted).
  auto [a2, r2] = vote(1, 4, 3, 9, 2);
  EXPECT_FALSE(r2.vote_granted);
  EXPECT_EQ(core.epoch(), 4);
  EXPECT_EQ(core.role(), Role::Unattached);
  // An up-to-date candidate gets the vote, persisted before the response.
  auto [a3, r3] = vote(3, 4, 3, 10, 3);
  EXPECT_TRUE(r3.vote_granted);
  EXPECT_EQ(core.role(), Role::Voted);
  ASSERT_GE(index_of<PersistElection>(a3), 0);
  EXPECT_LT(index_of<PersistElection>(a3), index_of<SendResponse>(a3));
  EXPECT_EQ(all_of<PersistElection>(a3)[0].state.voted_id, 3);
  // Same candidate again: still granted; another one in the same epoch: rejected.
  EXPECT_TRUE(vote(3, 4, 3, 10, 4).second.vote_granted);
  EXPECT_FALSE(vote(1, 4, 5, 100, 5).second.vote_granted);
  // A higher last epoch wins over a longer log.
  auto [a6, r6] = vote(1, 5, 4, 1, 6);
  EXPECT_TRUE(r6.vote_granted);
  // KIP-853: a candidate outside our (possibly stale) voter set still gets the
  // vote if its log is up to date; the candidate counts only its own voters.
  EXPECT_TRUE(vote(9, 6, 9, 100, 7).second.vote_granted);
  EXPECT_EQ(core.epoch(), 6);
}

TEST(RaftCoreElection, BeginQuorumEpochMakesAFollowerAndEndQuorumEpochTriggersElection) {
  RaftCore core(config(2, {1, 2, 3}), Rng(9));
  core.start(std::nullopt, InitialLogState{}, 0);
  core.take_actions();
  auto b = begin_quorum_epoch(1, 4);
  core.handle_request(1, 1, b, 10);
  auto as = core.take_actions();
  EXPECT_EQ(core.role(), Role::Follower);
  EXPECT_EQ(core.leader_and_epoch(), (LeaderAndEpoch{1, 4}));
  EXPECT_LT(index_of<PersistElection>(as), index_of<SendResponse>(as));
  EXPECT_EQ(all_of<PersistElection>(as)[0].state.leader_id, 1);
  ASSERT_EQ(all_of<LeaderChanged>(as).size(), 1u);

  EndQuorumEpochRequest e;
  e.cluster_id = "test-cluster";
  e.leader_id = 1;
  e.leader_epoch = 4;
  e.preferred_successors = {2, 3};
  core.handle_request(2, 1, e, 20);
  core.take_actions();
  EXPECT_EQ(core.next_deadline_ms(), 20);
  core.poll(20);
  EXPECT_EQ(core.role(), Role::Prospective);
  VoteResponse pre_granted = granted_vote(4);
  core.handle_response(3, pre_granted, 21);
  EXPECT_EQ(core.role(), Role::Candidate);
  EXPECT_EQ(core.epoch(), 5);
}

// ---------------------------------------------------------------- pre-vote, failures, observers

TEST(RaftCorePreVote, GrantedOnlyWithoutALiveLeaderAndNeverChangesState) {
  RaftCore core(config(2, {1, 2, 3}), Rng(5));
  start_following(core, 1, 3, 10);
  ASSERT_EQ(core.role(), Role::Follower);
  VoteRequest pv;
  pv.cluster_id = "test-cluster";
  pv.candidate_epoch = 4;
  pv.candidate_id = 3;
  pv.pre_vote = true;
  // The leader is alive (within the fetch timeout): refused, no state change.
  core.handle_request(2, 3, pv, 20);
  auto as = core.take_actions();
  EXPECT_TRUE(all_of<PersistElection>(as).empty());
  auto r = std::get<VoteResponse>(all_of<SendResponse>(as).at(0).response);
  EXPECT_FALSE(r.vote_granted);
  EXPECT_EQ(r.leader_id, 1);
  EXPECT_EQ(r.leader_epoch, 3);
  EXPECT_EQ(core.epoch(), 3);
  // One broken connection is retried at once (a live leader just reconnects);
  // the pre-vote is still refused.
  core.on_request_failed(1, 30);
  core.take_actions();
  core.handle_request(7, 3, pv, 30);
  EXPECT_FALSE(std::get<VoteResponse>(all_of<SendResponse>(core.take_actions()).at(0).response).vote_granted);
  // It fails again: the leader is gone; now the pre-vote is granted, still no state change.
  core.on_request_failed(1, 30);
  core.take_actions();
  core.handle_request(3, 3, pv, 31);
  as = core.take_actions();
  EXPECT_TRUE(std::get<VoteResponse>(all_of<SendResponse>(as).at(0).response).vote_granted);
  EXPECT_TRUE(all_of<PersistElection>(as).empty());
  EXPECT_EQ(core.epoch(), 3);
  // A pre-vote for an epoch that is not above ours is refused.
  pv.candidate_epoch = 3;
  core.handle_request(4, 3, pv, 32);
  as = core.take_actions();
  EXPECT_FALSE(std::get<VoteResponse>(all_of<SendResponse>(as).at(0).response).vote_granted);
}

TEST(RaftCorePreVote, ABrokenLeaderConnectionStartsAPreVoteWithinAFewMs) {
  RaftCore core(config(2, {1, 2, 3}), Rng(5));
  start_following(core, 1, 3, 10);
  core.on_request_failed(1, 100);
  EXPECT_EQ(core.next_deadline_ms(), 100);  // first: reconnect and fetch again at once
  core.poll(100);
  core.take_actions();
  core.on_request_failed(1, 100);  // refused again: the leader is gone
  for (int64_t now = 100; now <= 100 + 1000 / 20 + 1 && core.role() != Role::Prospective; ++now) core.poll(now);
  EXPECT_EQ(core.role(), Role::Prospective);
  core.take_actions();
  // The pre-vote is lost (the others still hear from the leader): back to the leader.
  VoteResponse no;
  no.leader_id = 1;
  no.leader_epoch = 3;
  int64_t t = core.next_deadline_ms();
  core.handle_response(1, no, t);
  core.handle_response(3, no, t);
  core.poll(core.next_deadline_ms());
  EXPECT_EQ(core.role(), Role::Follower);
  EXPECT_EQ(core.leader_and_epoch(), (LeaderAndEpoch{1, 3}));
  EXPECT_EQ(core.epoch(), 3);
}

TEST(RaftCoreObserver, FindsTheLeaderThroughAnyVoter) {
  RaftCore core(config(100, {1, 2, 3}), Rng(7));
  core.start(std::nullopt, InitialLogState{}, 0);
  core.take_actions();
  core.poll(core.next_deadline_ms());
  auto sends = all_of<SendRequest>(core.take_actions());
  ASSERT_EQ(sends.size(), 1u);
  int32_t asked = sends[0].destination;
  EXPECT_TRUE(asked >= 1 && asked <= 3);
  FetchResponse fenced;
  fenced.partition_error = ErrorCode::FENCED_LEADER_EPOCH;
  fenced.leader_id = 2;
  fenced.leader_epoch = 6;
  core.handle_response(asked, fenced, 5);
  EXPECT_EQ(core.role(), Role::Follower);
  EXPECT_EQ(core.leader_and_epoch(), (LeaderAndEpoch{2, 6}));
  auto as = core.take_actions();
  sends = all_of<SendRequest>(as);
  ASSERT_EQ(sends.size(), 1u);
  EXPECT_EQ(sends[0].destination, 2);
  // The leader goes away: the observer looks for the next one.
  core.on_request_failed(2, 10);
  EXPECT_EQ(core.role(), Role::Unattached);
  EXPECT_FALSE(core.is_voter());
}

TEST(RaftCoreElection, InconsistentClusterIdIsRejected) {
  RaftCore core(config(1, {1, 2, 3}), Rng(9));
  core.start(std::nullopt, InitialLogState{}, 0);
  core.take_actions();
  VoteRequest v;
  v.cluster_id = "other";
  v.candidate_id = 2;
  v.candidate_epoch = 7;
  core.handle_request(1, 2, v, 1);
  auto rs = all_of<SendResponse>(core.take_actions());
  ASSERT_EQ(rs.size(), 1u);
  EXPECT_EQ(std::get<VoteResponse>(rs[0].response).error, ErrorCode::INCONSISTENT_CLUSTER_ID);
  EXPECT_EQ(core.epoch(), 0);
}
