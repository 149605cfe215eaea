// RaftCore: the KRaft (KIP-595) state machine for the one partition
// __cluster_metadata-0, free of I/O and deterministic: time, randomness (a
// seeded Rng), received messages and I/O completions come in as method
// arguments; everything to do comes out as Actions (raft/actions.h), taken
// with take_actions() and applied by the driver (or the simulator) in order.
//
// Roles: Unattached, Voted, Candidate, Leader, Follower, Resigned (one file
// each: raft/*_state.h, with their legal transitions). Transitions persist
// the election state first (a PersistElection action precedes every action
// that depends on it).
//
// Invariants (checked after every input by check_invariants(), always on):
//  - the epoch never decreases; the high watermark never decreases;
//  - high_watermark <= log end offset; log start <= flushed <= end;
//  - a leader's epoch-start offset holds its LeaderChangeMessage, and its
//    high watermark, once known, is > epoch_start_offset;
//  - a replica votes at most once per epoch (the vote is persisted before the
//    response is sent).
//
// Threading: none. A core is used from one thread (the driver's io_context
// thread, or the simulator's loop).
#pragma once

#include <cstdint>
#include <deque>
#include <map>
#include <limits>
#include <optional>
#include <span>
#include <string>
#include <variant>
#include <vector>

#include "raft/actions.h"
#include "raft/candidate_state.h"
#include "raft/follower_state.h"
#include "raft/leader_state.h"
#include "raft/log_view.h"
#include "raft/messages.h"
#include "raft/prospective_state.h"
#include "raft/quorum_state.h"
#include "raft/resigned_state.h"
#include "raft/rng.h"
#include "raft/types.h"
#include "raft/unattached_state.h"
#include "raft/voted_state.h"

namespace flotilla::raft {

// The controller.quorum.* timings and the batch bound, with Kafka's defaults:
// what the driver's RaftConfig hands on to the core's RaftCoreConfig.
struct QuorumTimings {
  int32_t election_timeout_ms = 1000;      // controller.quorum.election.timeout.ms
  int32_t election_backoff_max_ms = 1000;  // controller.quorum.election.backoff.max.ms
  int32_t fetch_timeout_ms = 2000;         // controller.quorum.fetch.timeout.ms
  int32_t request_timeout_ms = 2000;       // controller.quorum.request.timeout.ms
  int32_t retry_backoff_ms = 20;           // controller.quorum.retry.backoff.ms
  int32_t append_linger_ms = 25;           // controller.quorum.append.linger.ms
  int32_t max_batch_size_bytes = 8 * 1024 * 1024;
};

struct RaftCoreConfig : QuorumTimings {
  int32_t local_id = -1;
  std::vector<int32_t> voters;  // the initial voter set (controller.quorum.voters or the bootstrap checkpoint)
  // controller.quorum.bootstrap.servers as pseudo ids (-2, -3, ...): where an
  // observer that knows no voter asks for the leader.
  std::vector<int32_t> bootstrap_ids;
  std::string cluster_id;
  int32_t fetch_max_wait_ms = 500;
  int32_t fetch_max_bytes = 8 * 1024 * 1024;
  int32_t fetch_snapshot_max_bytes = 8 * 1024 * 1024;  // one FetchSnapshot chunk
};

// What the local log holds at start-up (recovered by the driver).
struct InitialLogState {
  int64_t start_offset = 0;
  int32_t start_epoch = 0;  // of the snapshot ending at start_offset (start_offset > 0)
  // The newest complete snapshot (KIP-630); required when start_offset > 0.
  std::optional<OffsetAndEpoch> latest_snapshot;
  int64_t end_offset = 0;
  int64_t flushed_offset = 0;
  std::vector<EpochEntry> epochs;
  // VotersRecords found in the log, in offset order (dynamic quorums).
  std::vector<VoterSetEntry> voter_history;
};

class RaftCore {
 public:
  using State = std::variant<UnattachedState, VotedState, ProspectiveState, CandidateState, LeaderState, FollowerState, ResignedState>;

  RaftCore(RaftCoreConfig config, Rng rng);

  // Enters the initial role from the persisted election state (nullopt: a new
  // replica, epoch 0). A single voter stands for election at once.
  void start(const std::optional<ElectionState>& persisted, const InitialLogState& log, int64_t now_ms);

  // Timers: elections, fetch timeouts, linger, parked fetches, retries.
  void poll(int64_t now_ms);
  // When poll() must run next (INT64_MAX: nothing scheduled).
  int64_t next_deadline_ms() const;

  // Leader only, and only for the current epoch: queues the records (one
  // batch, never split) and returns the offset of the last one.
  std::optional<int64_t> append(std::vector<std::vector<uint8_t>> record_values, int32_t epoch, int64_t now_ms);
  // Builds the pending batch now instead of waiting for the linger.
  void flush_appends(int64_t now_ms);
  // KIP-853, leader only: appends a VotersRecord (its encoded value) making
  // `voters` the voter set, effective at once. One change at a time: refused
  // (nullopt) while an earlier change is uncommitted or before an entry of
  // this epoch is committed. Returns the record's offset.
  std::optional<int64_t> append_voters_change(std::vector<int32_t> voters, std::vector<uint8_t> voters_record, int64_t now_ms);
  const std::vector<VoterSetEntry>& voter_history() const { return voter_history_; }
  // Observers known to a leader: (end offset, last fetch ms) by id.
  std::optional<ReplicaProgress> observer_progress(int32_t id) const;

  // The log is durable below `up_to` (completion of a FlushLog).
  void on_log_flushed(int64_t up_to, int64_t now_ms);
  // An inbound request; the answer comes out as SendResponse{request_id}
  // (possibly later: a leader parks fetches that wait for data).
  void handle_request(uint64_t request_id, int32_t source, RaftRequest request, int64_t now_ms);
  // A response to a request this core sent to `source`.
  // `correlation_id`: as emitted with the SendRequest (0: unknown, accepted).
  void handle_response(int32_t source, RaftResponse response, int64_t now_ms, uint64_t correlation_id = 0);
  // A request to `destination` was not delivered or answered (connection
  // refused, reset, timed out): whatever was in flight to it is not. A
  // follower whose leader became unreachable starts a pre-vote almost at once
  // (safe: voters that still hear from the leader refuse it) instead of
  // waiting out the fetch timeout.
  void on_request_failed(int32_t destination, int64_t now_ms);
  // Graceful step-down (shutdown): a leader becomes Resigned and sends EndQuorumEpoch.
  void resign(int64_t now_ms);

  // KIP-630. A snapshot of the committed state below id.offset was written
  // (by the node's snapshot generator): a replica behind the log start is sent there.
  void on_snapshot_created(OffsetAndEpoch id);
  // The log cleaner removed the records below `offset`, which the snapshot
  // {offset, epoch} holds (it must have been reported with on_snapshot_created).
  void on_log_start_advanced(int64_t offset, int32_t epoch);
  std::optional<OffsetAndEpoch> latest_snapshot() const { return latest_snapshot_; }
  // Completion of an InstallSnapshot action (synchronous: nothing else may
  // reach the core in between). ok: the snapshot is durable and the log was
  // replaced by it; not ok: nothing changed, the download starts over.
  // `snapshot_voters`: the voter sets the snapshot records (its VotersRecord,
  // at id.offset - 1, for a dynamic quorum; none for a static one).
  void on_snapshot_installed(OffsetAndEpoch id, bool ok, std::vector<VoterSetEntry> snapshot_voters, int64_t now_ms);
  // The voter set in force at `offset` (KIP-853: the latest VotersRecord at or
  // before it): what a snapshot ending after `offset` records.
  const std::vector<int32_t>& voters_at(int64_t offset) const;

  std::vector<Action> take_actions();
  bool has_actions() const { return !actions_.empty(); }

  Role role() const;
  int32_t epoch() const { return epoch_; }
  int32_t local_id() const { return config_.local_id; }
  bool is_voter() const;
  bool is_only_voter() const { return config_.voters.size() == 1 && is_voter(); }
  LeaderAndEpoch leader_and_epoch() const;
  // Committed offsets are < high_watermark(); 0 until one is known.
  int64_t high_watermark() const { return high_watermark_; }
  // The offset the next appended record gets (leader), else the log end.
  int64_t next_offset() const;
  const LogView& log() const { return log_; }
  const State& state() const { return state_; }
  const RaftCoreConfig& config() const { return config_; }
  ElectionState election_state() const;

  void check_invariants() const;

 private:
  struct ParkedFetch {
    uint64_t request_id;
    int32_t replica_id;
    int64_t fetch_offset;
    int32_t max_bytes;
    int64_t deadline_ms;
  };

  // Transitions (core.cc).
  void transition_to_unattached(int32_t epoch, int64_t now_ms);
  void transition_to_voted(int32_t epoch, int32_t candidate_id, int64_t now_ms);
  void transition_to_prospective(int64_t now_ms);
  void transition_to_candidate(int64_t now_ms);
  void transition_to_leader(int64_t now_ms);
  void transition_to_follower(int32_t epoch, int32_t leader_id, int64_t now_ms);
  void transition_to_resigned(int64_t now_ms);
  // A message told us about `epoch` (and maybe its leader): step down / follow if it is news.
  // Returns true if the state changed.
  bool maybe_transition(std::optional<int32_t> leader_id, int32_t epoch, int64_t now_ms);
  void persist_and_announce(LeaderAndEpoch before);
  void leave_leader_state();
  int64_t random_election_timeout_ms();
  // After a lost election or pre-vote round (`retries` rounds lost in a row).
  static constexpr int32_t kElectionBackoffBaseMs = 100;
  int64_t election_backoff_ms(int32_t retries);

  // Elections (core_election.cc).
  void handle_vote_request(uint64_t id, int32_t source, const VoteRequest& r, int64_t now_ms);
  void handle_vote_response(int32_t source, const VoteResponse& r, int64_t now_ms);
  void handle_begin_quorum_request(uint64_t id, int32_t source, const BeginQuorumEpochRequest& r, int64_t now_ms);
  void handle_begin_quorum_response(int32_t source, const BeginQuorumEpochResponse& r, int64_t now_ms);
  void handle_end_quorum_request(uint64_t id, int32_t source, const EndQuorumEpochRequest& r, int64_t now_ms);
  void handle_end_quorum_response(int32_t source, const EndQuorumEpochResponse& r, int64_t now_ms);
  void send_vote_requests(int64_t now_ms);
  void send_pre_vote_requests(int64_t now_ms);
  void request_votes(ElectionRound& round, int32_t candidate_epoch, bool pre_vote, int64_t now_ms);
  // A lost or timed-out round (`round.retries` lost in a row) waits before the next one.
  void back_off(ElectionRound& round, int64_t now_ms);
  void back_off_if_lost(ElectionRound& round, int64_t now_ms);
  // The round a Prospective or Candidate runs; nullptr in any other role.
  ElectionRound* election_round();
  void poll_prospective(ProspectiveState& p, int64_t now_ms);
  void handle_pre_vote_request(uint64_t id, const VoteRequest& r, bool candidate_is_voter, int64_t now_ms);
  void handle_pre_vote_response(ProspectiveState& p, int32_t source, const VoteResponse& r, int64_t now_ms);
  // After losing a pre-vote round: back to the leader we had, or a new round.
  void after_prospective_backoff(int64_t now_ms);
  // Whether this replica has heard from a live leader within the fetch timeout.
  bool has_live_leader(int64_t now_ms) const;
  void poll_observer_discovery(UnattachedState& u, int64_t now_ms);
  void send_begin_quorum(const std::vector<int32_t>& to, int64_t now_ms);
  void send_end_quorum(int64_t now_ms);
  void poll_candidate(CandidateState& s, int64_t now_ms);

  // Replication (core_replication.cc).
  void handle_fetch_request(uint64_t id, int32_t source, const FetchRequest& r, int64_t now_ms);
  void handle_fetch_response(int32_t source, const FetchResponse& r, int64_t now_ms);
  // Whether a response answers the request in flight (correlation ids match, or unknown).
  bool answers(uint64_t in_flight) const { return response_correlation_ == 0 || response_correlation_ == in_flight; }
  void handle_fetch_snapshot_request(uint64_t id, int32_t source, const FetchSnapshotRequest& r, int64_t now_ms);
  void handle_fetch_snapshot_response(int32_t source, const FetchSnapshotResponse& r, int64_t now_ms);
  // Kafka's validateOffsetAndEpoch for a Fetch at (offset, last fetched epoch):
  // the snapshot to load instead, or the diverging end, or neither (valid).
  struct FetchValidation {
    std::optional<OffsetAndEpoch> snapshot_id;
    std::optional<OffsetAndEpoch> diverging_epoch;
  };
  FetchValidation validate_fetch(int64_t fetch_offset, int32_t last_fetched_epoch) const;
  // Follower: the last chunk of the snapshot arrived; the log becomes it.
  void install_snapshot(FollowerState& f, int64_t now_ms);
  void maybe_send_fetch(int64_t now_ms);
  FetchRequest fetch_request(int32_t max_wait_ms, int32_t max_bytes) const;
  void drain_accumulator(int64_t now_ms, bool force);
  void set_high_watermark(int64_t hw);
  void complete_parked_fetches(int64_t now_ms, bool only_expired);
  void fail_parked_fetches();
  FetchResponse fetch_response_base() const;
  void poll_leader(LeaderState& s, int64_t now_ms);
  void poll_follower(FollowerState& s, int64_t now_ms);
  void leader_resigned(FollowerState& f, int64_t now_ms);
  // A voter whose leader is gone stands (pre-vote) within a few ms.
  void pre_vote_soon(FollowerState& f, int64_t now_ms);
  // The first checks of our leader's answer to the Fetch or FetchSnapshot
  // (`api`, for the log) in flight. kAccepted: an answer of our epoch without
  // error, to be handled; kPartitionError: a partition error the caller may
  // look at further (the next fetch waits the retry backoff); kHandled: stale,
  // failed, or it moved us (`f` may be gone).
  enum class LeaderAnswer { kAccepted, kPartitionError, kHandled };
  LeaderAnswer accept_leader_answer(FollowerState& f, int32_t source, const ResponseHeader& r, const char* api, int64_t now_ms);
  void become_leaderless_observer(int64_t now_ms);

  void set_voters(std::vector<int32_t> voters);
  // A follower read VotersRecords in batches it appended / truncated them away.
  void note_voters_in_batch(std::span<const uint8_t> batch, int64_t base_offset, int64_t now_ms);
  void forget_voters_from(int64_t offset);
  // A leader removed from the voter set steps down once that change commits.
  void maybe_resign_after_removal(int64_t now_ms);

  void emit(Action a) { actions_.push_back(std::move(a)); }
  bool cluster_id_ok(const std::string& id) const { return id.empty() || config_.cluster_id.empty() || id == config_.cluster_id; }
  // A request of another cluster is answered INCONSISTENT_CLUSTER_ID (with
  // `resp` as it is) and changes nothing. Returns whether it was.
  template <class Response>
  bool refuse_other_cluster(uint64_t request_id, const std::string& cluster_id, Response& resp) {
    if (cluster_id_ok(cluster_id)) return false;
    resp.error = ErrorCode::INCONSISTENT_CLUSTER_ID;
    emit(SendResponse{request_id, std::move(resp)});
    return true;
  }
  // Every answer carries the leader this replica knows, and its epoch.
  void stamp_leader(ResponseHeader& resp) const {
    resp.leader_id = leader_and_epoch().leader_id;
    resp.leader_epoch = epoch_;
  }

  RaftCoreConfig config_;
  std::vector<VoterSetEntry> voter_history_;  // the initial set first
  Rng rng_;
  State state_;
  int32_t epoch_ = 0;
  int64_t high_watermark_ = 0;
  LogView log_;
  std::optional<OffsetAndEpoch> latest_snapshot_;
  std::vector<ParkedFetch> parked_fetches_;
  // Leader: the high watermark last sent to each replica. A fetch from a
  // replica that has not seen the current one is answered at once instead of
  // parked, or it would learn of commits only after fetch max wait.
  std::map<int32_t, int64_t> hw_sent_;
  std::vector<Action> actions_;
  LeaderAndEpoch announced_;  // last LeaderChanged emitted
  uint64_t next_correlation_ = 1;
  uint64_t response_correlation_ = 0;  // of the response being handled (0: unknown)
  bool started_ = false;
  // For invariant checks across steps.
  mutable int32_t checked_epoch_ = 0;
  mutable int64_t checked_hw_ = 0;
};

}  // namespace flotilla::raft
