// QuorumController: replica placement for CreateTopics and CreatePartitions.
//
// Targets are the live brokers only (registered, unfenced, not in controlled
// shutdown): a replica placed on a fenced broker could not join the ISR until
// that broker came back, so the partition would start under-replicated.
//
// Without rack information (no live broker has broker.rack) the replicas of
// partition i are consecutive brokers (by id) from a rotating start. With
// racks, the brokers are arranged in Kafka's rack-alternated order (the first
// broker of each rack in rack order, then the second of each, ...); partition
// i is led by broker (start + i) of that list, and each further replica is the
// next candidate at a growing shift from the leader that is on a rack without
// a replica yet (once every rack has one, any broker without one). So leaders
// spread evenly, and a partition's replicas span min(RF, #racks) racks.
// Brokers without broker.rack (null or "") count as one rack of their own.
// Brokers a placement would take past their partition budget are left out
// by place_within_capacity (capacity.cc), which calls this again without them.
#include <algorithm>
#include <map>
#include <set>

#include "controller/quorum_controller.h"

namespace flotilla::controller {

bool QuorumController::is_live(int32_t broker_id) const {
  const auto* b = latest_->broker(broker_id);
  if (!b || b->fenced || b->in_controlled_shutdown) return false;
  auto s = sessions_.find(broker_id);
  return s == sessions_.end() || !s->second.shutting_down;
}

std::vector<int32_t> QuorumController::usable_brokers() const {
  std::vector<int32_t> out;
  for (const auto& [id, b] : latest_->brokers())
    if (is_live(id)) out.push_back(id);
  return out;
}

QuorumController::Placement QuorumController::place(int32_t num_partitions, int16_t replication_factor, int32_t first_partition,
                                                     const std::set<int32_t>& excluded) {
  Placement p;
  auto brokers = usable_brokers();  // sorted by id
  std::erase_if(brokers, [&](int32_t id) { return excluded.count(id) > 0; });
  const std::string prefix = "Unable to replicate the partition " + std::to_string(replication_factor) + " time(s): ";
  if (brokers.empty()) {
    p.error = ErrorCode::INVALID_REPLICATION_FACTOR;
    p.message = prefix + "All brokers are currently fenced.";
    return p;
  }
  if (static_cast<size_t>(replication_factor) > brokers.size()) {
    p.error = ErrorCode::INVALID_REPLICATION_FACTOR;
    p.message = prefix + "The target replication factor of " + std::to_string(replication_factor) +
                " cannot be reached because only " + std::to_string(brokers.size()) + " broker(s) are registered.";
    return p;
  }
  const size_t n = brokers.size();
  const uint64_t start = placement_offset_++;
  std::map<std::string, std::vector<int32_t>> racks;  // rack -> brokers, sorted
  bool any_rack = false;
  for (int32_t id : brokers) {
    // A null or empty broker.rack means none (the generated default is "").
    const std::string rack = latest_->broker(id)->rack.value_or("");
    any_rack |= !rack.empty();
    racks[rack].push_back(id);
  }
  p.replicas.reserve(static_cast<size_t>(num_partitions));

  if (!any_rack) {
    for (int32_t i = 0; i < num_partitions; ++i) {
      std::vector<int32_t> r;
      for (int16_t j = 0; j < replication_factor; ++j) r.push_back(brokers[(start + static_cast<uint64_t>(first_partition + i) + j) % n]);
      p.replicas.push_back(std::move(r));
    }
    return p;
  }

  // The rack-alternated list and each entry's rack.
  std::vector<int32_t> arranged;
  std::vector<std::string> rack_of;
  for (size_t k = 0; arranged.size() < n; ++k)
    for (const auto& [rack, ids] : racks)
      if (k < ids.size()) {
        arranged.push_back(ids[k]);
        rack_of.push_back(rack);
      }
  const size_t num_racks = racks.size();
  const uint64_t base_shift = start / n;  // a second rotation, so that followers vary between topics too
  for (int32_t i = 0; i < num_partitions; ++i) {
    const uint64_t pid = static_cast<uint64_t>(first_partition) + static_cast<uint64_t>(i);
    const size_t first = static_cast<size_t>((pid + start) % n);
    // The shift grows by one every n partitions, so followers rotate too.
    const uint64_t shift = (base_shift + pid / n) * num_racks;
    std::vector<int32_t> r{arranged[first]};
    std::set<std::string> racks_used{rack_of[first]};
    std::vector<bool> used(n, false);
    used[first] = true;
    // Candidates: every other broker once per n-1 steps, so that each further
    // replica is found within n-1 steps (a broker of an unused rack exists
    // while some rack is unused, and an unused broker while r.size() < n).
    for (uint64_t k = 0; r.size() < static_cast<size_t>(replication_factor); ++k) {
      const size_t idx = static_cast<size_t>((first + 1 + (shift + k) % (n - 1)) % n);
      bool rack_ok = !racks_used.count(rack_of[idx]) || racks_used.size() == num_racks;
      if (used[idx] || !rack_ok) continue;
      used[idx] = true;
      racks_used.insert(rack_of[idx]);
      r.push_back(arranged[idx]);
    }
    p.replicas.push_back(std::move(r));
  }
  return p;
}

}  // namespace flotilla::controller
