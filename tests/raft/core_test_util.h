// Helpers of the RaftCore unit tests (core_test.cc, core_replication_test.cc):
// configs, the actions a core emitted, and the persisted states, logs and
// messages the tests start cores from or hand them.
#pragma once

#include <gtest/gtest.h>

#include <optional>
#include <variant>
#include <vector>

#include "mem_log.h"
#include "protocol/messages.h"
#include "raft/core.h"

namespace flotilla::raft::testing {

inline RaftCoreConfig config(int32_t id, std::vector<int32_t> voters) {
  RaftCoreConfig c;
  c.local_id = id;
  c.voters = std::move(voters);
  c.cluster_id = "test-cluster";
  return c;
}

template <class T>
std::vector<T> all_of(const std::vector<Action>& as) {
  std::vector<T> out;
  for (const auto& a : as)
    if (auto* p = std::get_if<T>(&a)) out.push_back(*p);
  return out;
}

template <class T>
int index_of(const std::vector<Action>& as, int from = 0) {
  for (int i = from; i < static_cast<int>(as.size()); ++i)
    if (std::holds_alternative<T>(as[i])) return i;
  return -1;
}

// Applies log actions to `log` (flushes are left to the test).
inline void apply_log(const std::vector<Action>& as, MemLog& log) {
  for (const auto& a : as) {
    if (auto* ap = std::get_if<AppendToLog>(&a)) log.append(*ap->batches);
    if (auto* t = std::get_if<TruncateLog>(&a)) log.truncate_to(t->offset);
  }
}

inline std::vector<int32_t> voter_ids(const std::vector<msg::LeaderChangeMessage::Voter>& vs) {
  std::vector<int32_t> out;
  for (const auto& v : vs) out.push_back(v.voter_id);
  return out;
}

// The persisted election state of a replica that voted for `voted_id` in
// `epoch` (voted_for), or follows `leader_id` in it (led_by).
inline ElectionState voted_for(int32_t epoch, int32_t voted_id) {
  ElectionState s;
  s.epoch = epoch;
  s.voted_id = voted_id;
  return s;
}
inline ElectionState led_by(int32_t epoch, int32_t leader_id) {
  ElectionState s;
  s.epoch = epoch;
  s.leader_id = leader_id;
  return s;
}

// A log of `end` records, all of them flushed, in the given epochs.
inline InitialLogState flushed_log(int64_t end, std::vector<EpochEntry> epochs) {
  InitialLogState ls;
  ls.end_offset = end;
  ls.flushed_offset = end;
  ls.epochs = std::move(epochs);
  return ls;
}

// A voter's answer granting the (pre-)vote in `epoch`.
inline VoteResponse granted_vote(int32_t epoch) {
  VoteResponse g;
  g.leader_epoch = epoch;
  g.vote_granted = true;
  return g;
}

// Leader `leader_id` announcing `epoch`.
inline BeginQuorumEpochRequest begin_quorum_epoch(int32_t leader_id, int32_t epoch) {
  BeginQuorumEpochRequest b;
  b.cluster_id = "test-cluster";
  b.leader_id = leader_id;
  b.leader_epoch = epoch;
  return b;
}

// A new replica (empty log, no election state) that leader `leader_id`
// tells of `epoch` at `now_ms`; the actions of both steps are taken.
inline void start_following(RaftCore& core, int32_t leader_id, int32_t epoch, int64_t now_ms) {
  core.start(std::nullopt, InitialLogState{}, 0);
  core.take_actions();
  core.handle_request(1, leader_id, begin_quorum_epoch(leader_id, epoch), now_ms);
  core.take_actions();
}

}  // namespace flotilla::raft::testing
