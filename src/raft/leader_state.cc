#include "raft/leader_state.h"

#include <algorithm>
#include <functional>

namespace flotilla::raft {

LeaderState::LeaderState(int32_t local_id, int32_t epoch, int64_t epoch_start_offset, const std::vector<int32_t>& voters,
                         std::vector<int32_t> granting_voters, BatchAccumulator accumulator)
    : local_id_(local_id),
      epoch_(epoch),
      epoch_start_offset_(epoch_start_offset),
      granting_voters_(std::move(granting_voters)),
      accumulator_(std::move(accumulator)) {
  for (int32_t v : voters) voters_[v] = ReplicaProgress{};
  if (auto it = voters_.find(local_id); it != voters_.end()) it->second.acknowledged_epoch = true;
}

std::vector<int32_t> LeaderState::unacknowledged_voters() const {
  std::vector<int32_t> out;
  for (const auto& [id, p] : voters_)
    if (id != local_id_ && !p.acknowledged_epoch) out.push_back(id);
  return out;
}

bool LeaderState::update_local_end(int64_t flushed_end_offset) {
  local_end_ = std::max(local_end_, flushed_end_offset);
  if (auto it = voters_.find(local_id_); it != voters_.end()) it->second.end_offset = local_end_;
  return maybe_advance_hw();
}

void LeaderState::update_voters(const std::vector<int32_t>& voters) {
  std::map<int32_t, ReplicaProgress> next;
  for (int32_t v : voters) {
    if (auto it = voters_.find(v); it != voters_.end()) {
      next[v] = it->second;
    } else if (auto o = observers_.find(v); o != observers_.end()) {
      next[v] = o->second;
      observers_.erase(o);
    } else {
      next[v] = ReplicaProgress{};
    }
  }
  if (auto it = next.find(local_id_); it != next.end()) {
    it->second.end_offset = local_end_;
    it->second.acknowledged_epoch = true;
  }
  for (auto& [id, p] : voters_)
    if (!next.count(id) && id != local_id_) observers_[id] = p;
  voters_ = std::move(next);
  fetched_since_check.clear();
  maybe_advance_hw();
}

bool LeaderState::update_replica_end(int32_t id, int64_t fetch_offset, int64_t now_ms) {
  bool caught_up = fetch_offset >= local_end_;
  auto it = voters_.find(id);
  if (it == voters_.end()) {
    auto& o = observers_[id];
    o.end_offset = fetch_offset;
    o.last_fetch_ms = now_ms;
    if (caught_up) o.last_caught_up_ms = now_ms;
    return false;
  }
  // A follower's fetch offset may go down after it truncated a divergent tail.
  it->second.end_offset = fetch_offset;
  it->second.last_fetch_ms = now_ms;
  if (caught_up) it->second.last_caught_up_ms = now_ms;
  it->second.acknowledged_epoch = true;
  if (id != local_id_) fetched_since_check.insert(id);
  return maybe_advance_hw();
}

bool LeaderState::maybe_advance_hw() {
  if (voters_.empty()) return false;
  std::vector<int64_t> ends;
  ends.reserve(voters_.size());
  for (const auto& [id, p] : voters_) ends.push_back(p.end_offset);
  std::sort(ends.begin(), ends.end(), std::greater<>());
  int64_t majority_end = ends[voters_.size() / 2];
  // Only an offset that includes an entry of this epoch may become the HW.
#if FLOTILLA_RAFT_PLANTED_BUG == 1
  // Planted for the simulation's self-test (tests/raft): Raft's current-term
  // rule left out. Never compiled into the server.
#else
  if (majority_end <= epoch_start_offset_) return false;
#endif
  if (high_watermark_ && majority_end <= *high_watermark_) return false;
  high_watermark_ = majority_end;
  return true;
}

}  // namespace flotilla::raft
