// QuorumController: partition reassignments (KIP-455), as Kafka's KRaft
// ReplicationControlManager runs them.
//
// A reassignment of a partition from replicas C to target T goes through:
//  1. a PartitionChangeRecord with Replicas = T followed by (C - T),
//     AddingReplicas = T - C, RemovingReplicas = C - T (sorted);
//  2. the new replicas replicate from the leader and the leader adds them to
//     the ISR (AlterPartition);
//  3. once every target replica is in the ISR (and the ISR keeps a member
//     outside the removing ones), a PartitionChangeRecord with Replicas = T,
//     the ISR without the removing replicas, empty Adding/Removing, and a new
//     leader if the old one was removed (the leader epoch is bumped either way,
//     so removed replicas stop acting on the old epoch).
// Steps 1 and 3 are one record when the ISR already qualifies (e.g. a
// reordering). Step 3 is checked after every committed batch that changed a
// partition with a reassignment in progress. Cancelling (Replicas null)
// reverts to the replicas without the adding ones and the ISR without them;
// if no ISR member would be left that needs an unclean election, allowed
// only with unclean.leader.election.enable.
#include <algorithm>
#include <spdlog/fmt/ranges.h>
#include <spdlog/spdlog.h>

#include "controller/partition_change.h"
#include "controller/quorum_controller.h"
#include "protocol/metadata_record.h"

namespace flotilla::controller {

namespace {

struct Failure {
  ErrorCode error;
  std::string message;
};

}  // namespace

void QuorumController::alter_partition_reassignments(msg::AlterPartitionReassignmentsRequest request, int16_t version,
                                                     std::function<void(msg::AlterPartitionReassignmentsResponse)> done) {
  using TopicResponse = msg::AlterPartitionReassignmentsResponse::ReassignableTopicResponse;
  using PartitionResponse = msg::AlterPartitionReassignmentsResponse::ReassignablePartitionResponse;
  auto response = std::make_shared<msg::AlterPartitionReassignmentsResponse>();
  response->error_message = std::nullopt;
  response->allow_replication_factor_change = request.allow_replication_factor_change;  // v1 echoes it
  auto result = [](int32_t partition, ErrorCode ec, std::optional<std::string> message) {
    PartitionResponse r;
    r.partition_index = partition;
    r.error_code = code(ec);
    r.error_message = ec == ErrorCode::NONE ? std::nullopt : std::move(message);
    return r;
  };
  if (!active_) {
    std::string m(error_message(ErrorCode::NOT_CONTROLLER));
    response->error_code = code(ErrorCode::NOT_CONTROLLER);
    response->error_message = m;
    for (const auto& t : request.topics) {
      TopicResponse tr;
      tr.name = t.name;
      for (const auto& p : t.partitions) tr.partitions.push_back(result(p.partition_index, ErrorCode::NOT_CONTROLLER, m));
      response->responses.push_back(std::move(tr));
    }
    post([done = std::move(done), response] { done(std::move(*response)); });
    return;
  }

  std::vector<std::vector<uint8_t>> records;
  CapacityPlan capacity;  // replicas the accepted reassignments add (capacity.cc)
  auto acceptable = [this](int32_t b) { return is_live(b); };
  auto default_dir = [this](int32_t b) { return directories_for({b}).front(); };
  int successes = 0, total = 0;
  for (const auto& t : request.topics) {
    TopicResponse tr;
    tr.name = t.name;
    const metadata::TopicImage* topic = latest_->topic(t.name);
    for (const auto& target : t.partitions) {
      ++total;
      auto attempt = [&]() -> std::optional<Failure> {
        if (!topic) return Failure{ErrorCode::UNKNOWN_TOPIC_OR_PARTITION, "Unable to find a topic named " + t.name + "."};
        auto pit = topic->partitions.find(target.partition_index);
        if (pit == topic->partitions.end())
          return Failure{ErrorCode::UNKNOWN_TOPIC_OR_PARTITION,
                         "Unable to find partition " + t.name + ":" + std::to_string(target.partition_index) + "."};
        const metadata::PartitionRegistration& part = pit->second;
        PartitionChange change(part, topic->id, target.partition_index, acceptable, mv());
        configure_elr(change, *topic);
        change.set_default_dir(default_dir);
        if (!target.replicas) {
          // Cancel: back to the replicas without the ones being added.
          if (!is_reassigning(part)) return Failure{ErrorCode::NO_REASSIGNMENT_IN_PROGRESS, "No partition reassignment is in progress."};
          std::vector<int32_t> replicas, isr;
          for (int32_t r : part.replicas)
            if (!contains(part.adding_replicas, r)) replicas.push_back(r);
          for (int32_t r : part.isr)
            if (!contains(part.adding_replicas, r)) isr.push_back(r);
          bool unclean = false;
          if (isr.empty()) {
            if (replicas.empty())
              return Failure{ErrorCode::INVALID_REPLICA_ASSIGNMENT, "Invalid replica assignment: addingReplicas contains all replicas."};
            isr.push_back(replicas.front());
            unclean = true;
          }
          bool unclean_enabled = unclean_election_enabled(t.name);
          if (unclean && !unclean_enabled)
            return Failure{ErrorCode::INVALID_REPLICA_ASSIGNMENT, "Unable to revert partition assignment for " + t.name + ":" +
                                                                       std::to_string(target.partition_index) +
                                                                       " because it would require an unclean leader election."};
          if (unclean_enabled) change.set_election(Election::UNCLEAN);
          change.set_target_isr(std::move(isr)).set_target_replicas(std::move(replicas)).set_target_removing({}).set_target_adding({});
          spdlog::info("[QuorumController id={}] Cancelling the reassignment of {}-{}", config_.node_id, t.name, target.partition_index);
        } else {
          // Kafka's validateManualPartitionAssignment, in broker id order.
          const auto& want = *target.replicas;
          if (want.empty())
            return Failure{ErrorCode::INVALID_REPLICA_ASSIGNMENT, "The manual partition assignment includes an empty replica list."};
          std::vector<int32_t> sorted = want;
          std::sort(sorted.begin(), sorted.end());
          for (size_t i = 0; i < sorted.size(); ++i) {
            if (!latest_->broker(sorted[i]))
              return Failure{ErrorCode::INVALID_REPLICA_ASSIGNMENT, "The manual partition assignment includes broker " +
                                                                        std::to_string(sorted[i]) + ", but no such broker is registered."};
            if (i > 0 && sorted[i] == sorted[i - 1])
              return Failure{ErrorCode::INVALID_REPLICA_ASSIGNMENT,
                             "The manual partition assignment includes the broker " + std::to_string(sorted[i]) + " more than once."};
          }
          // v1 (Kafka 4.1): AllowReplicationFactorChange false
          // refuses a target whose size differs from the partition's replication
          // factor — that of the reassignment in progress, if any (its target
          // replicas: the replicas without the removing ones).
          if (version >= 1 && !request.allow_replication_factor_change) {
            size_t current = part.replicas.size();
            if (is_reassigning(part)) {
              current = 0;
              for (int32_t r : part.replicas)
                if (!contains(part.removing_replicas, r)) ++current;
            }
            if (current != want.size())
              return Failure{ErrorCode::INVALID_REPLICATION_FACTOR,
                             "The replication factor is changed from " + std::to_string(current) + " to " + std::to_string(want.size())};
          }
          ReassignmentReplicas rr = reassignment_replicas(part.replicas, want);
          // Issue 21: the new replicas must fit their brokers' partition budgets (capacity.cc).
          std::map<int32_t, int64_t> new_replicas;
          for (int32_t b : rr.adding) ++new_replicas[b];
          if (std::string cap = broker_capacity_error(capacity, new_replicas, "Reassigning to add"); !cap.empty())
            return Failure{ErrorCode::POLICY_VIOLATION, cap};
          for (int32_t b : rr.adding) ++capacity.replicas[b];
          if (rr.replicas != part.replicas) change.set_target_replicas(rr.replicas);
          if (!rr.removing.empty()) change.set_target_removing(rr.removing);
          if (!rr.adding.empty()) change.set_target_adding(rr.adding);
          spdlog::info("[QuorumController id={}] Reassigning {}-{} from [{}] to [{}]", config_.node_id, t.name, target.partition_index,
                       fmt::join(part.replicas, ","), fmt::join(want, ","));
        }
        if (auto record = change.build()) records.push_back(partition_change(*record));
        return std::nullopt;
      };
      auto failure = attempt();
      if (failure) {
        spdlog::info("[QuorumController id={}] Unable to alter partition reassignment for {}:{}: {} ({})", config_.node_id, t.name,
                     target.partition_index, failure->message, error_name(failure->error));
        tr.partitions.push_back(result(target.partition_index, failure->error, failure->message));
      } else {
        ++successes;
        tr.partitions.push_back(result(target.partition_index, ErrorCode::NONE, std::nullopt));
      }
    }
    response->responses.push_back(std::move(tr));
  }
  spdlog::info("[QuorumController id={}] Successfully altered {} out of {} partition reassignment(s).", config_.node_id, successes, total);
  std::optional<int64_t> off;
  if (!records.empty()) off = write(std::move(records));  // atomic: one batch
  after_commit_of(off, [done = std::move(done), response](ErrorCode ec) mutable {
    if (ec != ErrorCode::NONE) {
      response->error_code = code(ec);
      response->error_message = std::string(error_message(ec));
      for (auto& t : response->responses)
        for (auto& p : t.partitions) {
          p.error_code = code(ec);
          p.error_message = std::string(error_message(ec));
        }
    }
    done(std::move(*response));
  });
}

void QuorumController::list_partition_reassignments(msg::ListPartitionReassignmentsRequest request, int16_t version,
                                                    std::function<void(msg::ListPartitionReassignmentsResponse)> done) {
  using Topic = msg::ListPartitionReassignmentsResponse::OngoingTopicReassignment;
  using Partition = msg::ListPartitionReassignmentsResponse::OngoingPartitionReassignment;
  msg::ListPartitionReassignmentsResponse response;
  response.error_message = std::nullopt;
  if (!active_) {
    response.error_code = code(ErrorCode::NOT_CONTROLLER);
    response.error_message = std::string(error_message(ErrorCode::NOT_CONTROLLER));
    post([done = std::move(done), response]() mutable { done(std::move(response)); });
    return;
  }
  // The committed state: what a reader may rely on.
  auto image = committed_;
  auto ongoing = [](int32_t idx, const metadata::PartitionRegistration& p) {
    Partition o;
    o.partition_index = idx;
    o.replicas = p.replicas;
    o.adding_replicas = p.adding_replicas;
    o.removing_replicas = p.removing_replicas;
    return o;
  };
  if (!request.topics) {
    for (const auto& [name, t] : image->topics_by_name()) {
      Topic out;
      out.name = name;
      for (const auto& [idx, p] : t.partitions)
        if (is_reassigning(p)) out.partitions.push_back(ongoing(idx, p));
      if (!out.partitions.empty()) response.topics.push_back(std::move(out));
    }
  } else {
    for (const auto& want : *request.topics) {
      const metadata::TopicImage* t = image->topic(want.name);
      if (!t) continue;  // unknown topics are left out, as Kafka does
      Topic out;
      out.name = t->name;
      for (int32_t idx : want.partition_indexes) {
        auto it = t->partitions.find(idx);
        if (it != t->partitions.end() && is_reassigning(it->second)) out.partitions.push_back(ongoing(idx, it->second));
      }
      if (!out.partitions.empty()) response.topics.push_back(std::move(out));
    }
  }
  // After what was appended before this request committed (read-your-writes).
  after_commit_of(std::nullopt, [done = std::move(done), response](ErrorCode ec) mutable {
    if (ec != ErrorCode::NONE) {
      response.topics.clear();
      response.error_code = code(ec);
      response.error_message = std::string(error_message(ec));
    }
    done(std::move(response));
  });
}

void QuorumController::maybe_complete_reassignments(std::vector<std::pair<Uuid, int32_t>> partitions) {
  if (!active_) return;
  std::vector<std::vector<uint8_t>> records;
  for (const auto& [topic_id, idx] : partitions) {
    // latest_ includes this controller's own uncommitted writes: a completion
    // already written is not written again.
    const metadata::TopicImage* t = latest_->topic(topic_id);
    if (!t) continue;
    auto it = t->partitions.find(idx);
    if (it == t->partitions.end() || !is_reassigning(it->second)) continue;
    PartitionChange change(it->second, topic_id, idx, [this](int32_t b) { return is_live(b); }, mv());
    configure_elr(change, *t);
    change.set_default_dir([this](int32_t b) { return directories_for({b}).front(); });
    auto record = change.build();
    if (!record || !change.completed_reassignment()) continue;
    spdlog::info("[QuorumController id={}] Completing the reassignment of {}-{}: replicas [{}]", config_.node_id, t->name, idx,
                 fmt::join(record->replicas.value_or(it->second.replicas), ","));
    records.push_back(partition_change(*record));
  }
  if (!records.empty()) write(std::move(records));
}

void QuorumController::maybe_resume_reassignments() {
  if (!active_ || reassignments_resumed_epoch_ == epoch_) return;
  reassignments_resumed_epoch_ = epoch_;
  std::vector<std::pair<Uuid, int32_t>> ongoing;
  for (const auto& [name, t] : latest_->topics_by_name())
    for (const auto& [idx, p] : t.partitions)
      if (is_reassigning(p)) ongoing.emplace_back(t.id, idx);
  if (!ongoing.empty()) maybe_complete_reassignments(std::move(ongoing));
}

}  // namespace flotilla::controller
