// Partition capacity (issue 21): ReplicaCounts, and the QuorumController's
// checks of CreateTopics / CreatePartitions against each broker's budget
// (max.broker.partitions, or the broker's own derived figure, sent in its
// registration) and the cluster's max.partitions. A request that would take
// a broker or the cluster past its limit is refused with POLICY_VIOLATION
// and a message naming the limit; placement first tries to leave full
// brokers out. See capacity.h.
#include "controller/capacity.h"

#include <algorithm>

#include "controller/quorum_controller.h"

namespace flotilla::controller {

// ---------------------------------------------------------------- ReplicaCounts

void ReplicaCounts::add(const metadata::PartitionRegistration& p, int64_t sign) {
  partitions_ += sign;
  for (int32_t b : p.replicas) per_broker_[b] += sign;
}

void ReplicaCounts::recount(const metadata::MetadataImage& image) {
  per_broker_.clear();
  partitions_ = 0;
  for (const auto& [name, t] : image.topics_by_name())
    for (const auto& [idx, p] : t.partitions) add(p, 1);
}

void ReplicaCounts::apply(const metadata::MetadataImage& before, const metadata::MetadataImage& after, const metadata::MetadataDelta& d) {
  for (const auto& [id, name] : d.deleted_topics()) {
    if (const auto* t = before.topic(id))
      for (const auto& [idx, p] : t->partitions) add(p, -1);
  }
  for (const auto& [id, idx] : d.changed_partitions()) {
    if (d.deleted_topics().count(id)) continue;  // counted out above
    if (const auto* p = before.partition(id, idx)) add(*p, -1);
    if (const auto* p = after.partition(id, idx)) add(*p, 1);
  }
}

std::string with_thousands(int64_t n) {
  std::string digits = std::to_string(n < 0 ? -n : n);
  std::string out;
  for (size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0) out += ',';
    out += digits[i];
  }
  return n < 0 ? "-" + out : out;
}

// ---------------------------------------------------------------- the checks

void QuorumController::CapacityPlan::add(const std::vector<std::vector<int32_t>>& assignment) {
  partitions += static_cast<int64_t>(assignment.size());
  for (const auto& replicas : assignment)
    for (int32_t b : replicas) ++this->replicas[b];
}

namespace {
// New replicas per broker of one assignment.
std::map<int32_t, int64_t> replicas_per_broker(const std::vector<std::vector<int32_t>>& assignment) {
  std::map<int32_t, int64_t> out;
  for (const auto& replicas : assignment)
    for (int32_t b : replicas) ++out[b];
  return out;
}

int64_t planned(const std::map<int32_t, int64_t>& m, int32_t b) {
  auto it = m.find(b);
  return it == m.end() ? 0 : it->second;
}
}  // namespace

std::string QuorumController::capacity_error(const CapacityPlan& plan, const std::vector<std::vector<int32_t>>& assignment,
                                             const char* verb) const {
  if (config_.max_partitions >= 0) {
    const int64_t adding = static_cast<int64_t>(assignment.size());
    const int64_t total = latest_counts_.partitions() + plan.partitions + adding;
    if (total > config_.max_partitions)
      return std::string(verb) + " " + with_thousands(adding) + " partitions would bring the cluster to " + with_thousands(total) +
             " partitions, above its limit of " + with_thousands(config_.max_partitions) +
             " (max.partitions); raise max.partitions on the controllers";
  }
  return broker_capacity_error(plan, replicas_per_broker(assignment), verb);
}

std::string QuorumController::broker_capacity_error(const CapacityPlan& plan, const std::map<int32_t, int64_t>& new_replicas,
                                                    const char* verb) const {
  for (const auto& [b, adding] : new_replicas) {
    const auto* reg = latest_->broker(b);
    if (!reg || reg->max_partitions < 0) continue;  // unknown (an old or foreign broker): unlimited
    const int64_t total = latest_counts_.replicas(b) + planned(plan.replicas, b) + adding;
    if (total > reg->max_partitions)
      return std::string(verb) + " " + with_thousands(adding) + " partition replicas would put broker " + std::to_string(b) + " at " +
             with_thousands(total) + " replicas, above its limit of " + with_thousands(reg->max_partitions) +
             " (max.broker.partitions, or derived from the broker's RLIMIT_NOFILE x flotilla.partitions.per.fd and its memory; "
             "its start-up log shows the inputs); raise max.broker.partitions or the broker's file-descriptor limit";
  }
  return "";
}

QuorumController::Placement QuorumController::place_within_capacity(const CapacityPlan& plan, int32_t num_partitions,
                                                                     int16_t replication_factor, int32_t first_partition) {
  std::set<int32_t> excluded;
  Placement p = place(num_partitions, replication_factor, first_partition);
  if (p.error != ErrorCode::NONE) return p;
  for (;;) {
    std::string err = capacity_error(plan, p.replicas, first_partition == 0 ? "Creating" : "Adding");
    if (err.empty()) return p;
    // Leave out every broker this placement would overfill, and place again
    // while the others can still take the replication factor.
    bool more = false;
    for (const auto& [b, adding] : replicas_per_broker(p.replicas)) {
      const auto* reg = latest_->broker(b);
      if (reg && reg->max_partitions >= 0 && latest_counts_.replicas(b) + planned(plan.replicas, b) + adding > reg->max_partitions)
        more |= excluded.insert(b).second;
    }
    Placement q;
    if (more) q = place(num_partitions, replication_factor, first_partition, excluded);
    if (!more || q.error != ErrorCode::NONE) {
      p.error = ErrorCode::POLICY_VIOLATION;
      p.message = std::move(err);
      p.replicas.clear();
      return p;
    }
    p = std::move(q);
  }
}

}  // namespace flotilla::controller
