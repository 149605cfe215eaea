// PartitionChange: see partition_change.h.
#include "controller/partition_change.h"

#include <algorithm>
#include <map>
#include <set>

namespace flotilla::controller {

ReassignmentReplicas reassignment_replicas(const std::vector<int32_t>& current, const std::vector<int32_t>& target) {
  ReassignmentReplicas r;
  std::set<int32_t> removing, adding;
  for (int32_t c : current)
    if (!contains(target, c)) removing.insert(c);
  for (int32_t t : target)
    if (!contains(current, t)) adding.insert(t);
  r.removing.assign(removing.begin(), removing.end());
  r.adding.assign(adding.begin(), adding.end());
  r.replicas = target;
  r.replicas.insert(r.replicas.end(), r.removing.begin(), r.removing.end());
  return r;
}

PartitionChange::PartitionChange(const metadata::PartitionRegistration& partition, const Uuid& topic_id, int32_t partition_id,
                                 std::function<bool(int32_t)> acceptable_leader, int16_t metadata_version)
    : partition_(partition),
      topic_id_(topic_id),
      partition_id_(partition_id),
      acceptable_(std::move(acceptable_leader)),
      metadata_version_(metadata_version),
      target_isr_(partition.isr),
      target_replicas_(partition.replicas),
      target_removing_(partition.removing_replicas),
      target_adding_(partition.adding_replicas),
      target_elr_(partition.elr),
      target_recovery_(partition.leader_recovery_state) {}

PartitionChange& PartitionChange::set_target_isr(std::vector<int32_t> isr) {
  target_isr_ = std::move(isr);
  return *this;
}
PartitionChange& PartitionChange::set_target_replicas(std::vector<int32_t> replicas) {
  target_replicas_ = std::move(replicas);
  return *this;
}
PartitionChange& PartitionChange::set_target_removing(std::vector<int32_t> removing) {
  target_removing_ = std::move(removing);
  return *this;
}
PartitionChange& PartitionChange::set_target_adding(std::vector<int32_t> adding) {
  target_adding_ = std::move(adding);
  return *this;
}
PartitionChange& PartitionChange::set_election(Election election) {
  election_ = election;
  return *this;
}
PartitionChange& PartitionChange::set_default_dir(std::function<Uuid(int32_t)> default_dir) {
  default_dir_ = std::move(default_dir);
  return *this;
}

PartitionChange& PartitionChange::set_eligible_leader_replicas(bool enabled, int32_t min_isr) {
  elr_enabled_ = enabled;
  min_isr_ = min_isr;
  return *this;
}
PartitionChange& PartitionChange::set_unclean_shutdown_replicas(std::vector<int32_t> replicas) {
  unclean_shutdown_ = std::move(replicas);
  return *this;
}
PartitionChange& PartitionChange::set_target_leader_recovery_state(int8_t state) {
  target_recovery_ = state;
  return *this;
}

bool PartitionChange::is_valid_leader(int32_t replica) const {
  if (replica < 0) return false;
  bool eligible = contains(target_isr_, replica) || (target_isr_.empty() && contains(target_elr_, replica));
  return eligible && acceptable_(replica);
}

bool PartitionChange::can_elect_last_known_leader() const {
  if (!elr_enabled_ || !target_elr_.empty() || !target_isr_.empty()) return false;
  // LastKnownElr holds the last leader only while it has exactly one member.
  return partition_.last_known_elr.size() == 1 && acceptable_(partition_.last_known_elr.front());
}

PartitionChange::ElectionResult PartitionChange::elect() const {
  if (election_ == Election::PREFERRED) {
    if (!target_replicas_.empty() && is_valid_leader(target_replicas_.front())) return {target_replicas_.front(), false};
    if (is_valid_leader(partition_.leader)) return {partition_.leader, false};
    for (size_t i = 1; i < target_replicas_.size(); ++i)
      if (is_valid_leader(target_replicas_[i])) return {target_replicas_[i], false};
    if (can_elect_last_known_leader()) return {partition_.last_known_elr.front(), true};
    return {-1, false};
  }
  if (is_valid_leader(partition_.leader)) return {partition_.leader, false};
  for (int32_t r : target_replicas_)
    if (is_valid_leader(r)) return {r, false};
  if (can_elect_last_known_leader()) return {partition_.last_known_elr.front(), true};
  if (election_ == Election::UNCLEAN) {
    for (int32_t r : target_replicas_)
      if (acceptable_(r)) return {r, true};
  }
  return {-1, false};
}

void PartitionChange::complete_reassignment_if_needed() {
  if (target_removing_.empty() && target_adding_.empty()) return;
  std::vector<int32_t> isr = target_isr_;
  std::vector<int32_t> replicas = target_replicas_;
  if (!target_removing_.empty()) {
    std::erase_if(isr, [&](int32_t r) { return contains(target_removing_, r); });
    if (isr.empty()) return;  // would leave no replica in sync
    std::erase_if(replicas, [&](int32_t r) { return contains(target_removing_, r); });
    if (replicas.empty()) return;
  }
  if (!contains_all(isr, replicas)) return;  // a target replica has not caught up yet
  target_isr_ = std::move(isr);
  target_replicas_ = std::move(replicas);
  target_removing_.clear();
  target_adding_.clear();
  completed_reassignment_ = true;
}

void PartitionChange::populate_target_elr() {
  if (!elr_enabled_) return;
  if (static_cast<int32_t>(target_isr_.size()) >= min_isr_) {
    target_elr_.clear();
    return;
  }
  std::set<int32_t> candidates(target_elr_.begin(), target_elr_.end());
  candidates.insert(partition_.isr.begin(), partition_.isr.end());
  target_elr_.clear();
  for (int32_t c : candidates)
    if (!contains(target_isr_, c) && !contains(unclean_shutdown_, c)) target_elr_.push_back(c);
}

void PartitionChange::update_record_elr(msg::PartitionChangeRecord& r) {
  bool clean = !r.isr;  // an unclean election has set the ISR already
  if (!clean || !elr_enabled_) target_elr_.clear();
  if (target_elr_ != partition_.elr) r.eligible_leader_replicas = target_elr_;
}

void PartitionChange::update_last_known_leader(msg::PartitionChangeRecord& r) const {
  if (!elr_enabled_) return;  // as Kafka: left as it is
  const auto& lk = partition_.last_known_elr;
  if (r.isr && r.isr->empty() && (lk.size() != 1 || lk.front() != partition_.leader)) {
    // The partition becomes leaderless for the first time: remember who led it.
    r.last_known_elr = std::vector<int32_t>{partition_.leader};
  } else if ((r.leader >= 0 || (partition_.leader != -1 && r.leader != -1)) && !lk.empty()) {
    r.last_known_elr = std::vector<int32_t>{};  // it has (or keeps) a leader
  }
}

std::optional<msg::PartitionChangeRecord> PartitionChange::build() {
  msg::PartitionChangeRecord r;
  r.topic_id = topic_id_;
  r.partition_id = partition_id_;

  complete_reassignment_if_needed();
  populate_target_elr();

  ElectionResult e = elect();
  if (e.node != partition_.leader) {
    r.leader = e.node;
    if (contains(target_elr_, e.node)) {
      // A clean election from the ELR: the new leader is the ISR alone.
      target_isr_ = {e.node};
      std::erase(target_elr_, e.node);
    }
    if (e.unclean) {
      // Data past the new leader's log end may be lost: only it is in sync now.
      r.isr = std::vector<int32_t>{e.node};
      if (partition_.leader_recovery_state != kLeaderRecovering && metadata_version_ >= kMvLeaderRecovery) r.leader_recovery_state = kLeaderRecovering;
    }
  }
  // A replica that leaves must stop acting on the old epoch.
  if (r.leader == -2 && !contains_all(target_replicas_, partition_.replicas)) r.leader = partition_.leader;

  update_record_elr(r);

  // With ELR the ISR may become empty (its members moved to the ELR).
  if (!r.isr && (!target_isr_.empty() || elr_enabled_) && target_isr_ != partition_.isr) r.isr = target_isr_;

  if (metadata_version_ < kMvNoIsrShrinkBump && r.leader == -2 && r.isr && !contains_all(*r.isr, partition_.isr))
    r.leader = partition_.leader;

  update_last_known_leader(r);

  if (!target_replicas_.empty()) {
    if (metadata_version_ >= kMvDirectories) {
      std::map<int32_t, Uuid> known;
      if (partition_.directories.size() == partition_.replicas.size())
        for (size_t i = 0; i < partition_.replicas.size(); ++i) known[partition_.replicas[i]] = partition_.directories[i];
      std::vector<Uuid> dirs;
      for (int32_t t : target_replicas_) {
        auto it = known.find(t);
        dirs.push_back(it != known.end() ? it->second : default_dir_ ? default_dir_(t) : Uuid{});
      }
      if (dirs != partition_.directories) r.directories = std::move(dirs);
    }
    if (target_replicas_ != partition_.replicas) r.replicas = target_replicas_;
  }
  if (target_removing_ != partition_.removing_replicas) r.removing_replicas = target_removing_;
  if (target_adding_ != partition_.adding_replicas) r.adding_replicas = target_adding_;

  if (r.leader_recovery_state == -1 && target_recovery_ != partition_.leader_recovery_state && metadata_version_ >= kMvLeaderRecovery)
    r.leader_recovery_state = target_recovery_;

  bool noop = !r.isr && r.leader == -2 && !r.replicas && !r.removing_replicas && !r.adding_replicas && r.leader_recovery_state == -1 &&
              !r.directories && !r.eligible_leader_replicas && !r.last_known_elr;
  if (noop) return std::nullopt;
  return r;
}

}  // namespace flotilla::controller
