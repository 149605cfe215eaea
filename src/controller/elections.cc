// QuorumController: ElectLeaders (KIP-460), automatic preferred-leader
// balancing (auto.leader.rebalance.enable) and UnregisterBroker, as Kafka's
// KRaft ReplicationControlManager does them.
//
// Preferred-leader balancing: a partition is imbalanced while its leader is
// not its first replica. While the active controller sees an imbalanced
// partition it schedules a balance leader.imbalance.check.interval.seconds
// later (at once again if the previous run stopped at its cap of 1,000
// elections); the run makes a PREFERRED election on every imbalanced
// partition whose preferred replica can lead (in the ISR, live), in one
// batch. As in Kafka's KRaft controller, leader.imbalance.per.broker.percentage
// plays no part: any imbalance is corrected.
#include <algorithm>
#include <set>
#include <spdlog/spdlog.h>

#include "controller/partition_change.h"
#include "controller/quorum_controller.h"
#include "protocol/metadata_record.h"

namespace flotilla::controller {

using protocol::frame_metadata_record;

namespace {

constexpr int8_t kPreferred = 0, kUnclean = 1;  // Kafka's ElectionType ids
constexpr size_t kMaxElectionsPerImbalance = 1000;

const char* const kElectionNotNeeded = "Leader election not needed for topic partition.";
const char* const kPreferredNotAvailable = "The preferred leader was not available.";
const char* const kEligibleNotAvailable = "Eligible topic partition leaders are not available.";

// Kafka's !hasPreferredLeader(): the leader is not the first replica.
bool imbalanced(const metadata::PartitionRegistration& p) { return p.leader != (p.replicas.empty() ? -1 : p.replicas.front()); }

msg::ElectLeadersResponse::PartitionResult partition_result(int32_t partition, ErrorCode ec, std::optional<std::string> message) {
  msg::ElectLeadersResponse::PartitionResult r;
  r.partition_id = partition;
  r.error_code = code(ec);
  r.error_message = ec == ErrorCode::NONE ? std::nullopt : std::move(message);
  return r;
}

}  // namespace

// ---------------------------------------------------------------- ElectLeaders

ErrorCode QuorumController::elect_leader(const metadata::TopicImage& topic, int32_t partition, bool unclean,
                                         std::vector<std::vector<uint8_t>>& records) {
  const auto& p = topic.partitions.at(partition);
  // PREFERRED is needed only away from the first replica, UNCLEAN only without a leader.
  if (!unclean && !imbalanced(p)) return ErrorCode::ELECTION_NOT_NEEDED;
  if (unclean && p.leader >= 0) return ErrorCode::ELECTION_NOT_NEEDED;
  PartitionChange change(p, topic.id, partition, [this](int32_t b) { return is_live(b); }, mv());
  configure_elr(change, topic);
  change.set_election(unclean ? Election::UNCLEAN : Election::PREFERRED);
  change.set_default_dir([this](int32_t b) { return directories_for({b}).front(); });
  auto record = change.build();
  if (!record) return unclean ? ErrorCode::ELIGIBLE_LEADERS_NOT_AVAILABLE : ErrorCode::PREFERRED_LEADER_NOT_AVAILABLE;
  if (record->leader != -2)
    spdlog::info("[QuorumController id={}] {} leader election for {}-{}: leader {} -> {}", config_.node_id, unclean ? "Unclean" : "Preferred",
                 topic.name, partition, p.leader, record->leader);
  records.push_back(partition_change(*record));
  return ErrorCode::NONE;
}

void QuorumController::elect_leaders(msg::ElectLeadersRequest request, int16_t version,
                                     std::function<void(msg::ElectLeadersResponse)> done) {
  using Result = msg::ElectLeadersResponse::ReplicaElectionResult;
  auto response = std::make_shared<msg::ElectLeadersResponse>();
  // v0 has no ElectionType: it is always a preferred election.
  int8_t type = version >= 1 ? request.election_type : kPreferred;

  auto fail_all = [&](ErrorCode ec, const std::string& message) {
    response->error_code = code(ec);
    if (request.topic_partitions)
      for (const auto& t : *request.topic_partitions) {
        Result r;
        r.topic = t.topic;
        for (int32_t p : t.partitions) r.partition_result.push_back(partition_result(p, ec, message));
        response->replica_election_results.push_back(std::move(r));
      }
    post([done = std::move(done), response] { done(std::move(*response)); });
  };
  if (!active_) return fail_all(ErrorCode::NOT_CONTROLLER, std::string(error_message(ErrorCode::NOT_CONTROLLER)));
  if (type != kPreferred && type != kUnclean) return fail_all(ErrorCode::INVALID_REQUEST, "Unknown election type " + std::to_string(type));
  const bool unclean = type == kUnclean;

  std::vector<std::vector<uint8_t>> records;
  auto image = latest_;  // records are computed against one state; a partition named twice is elected once
  std::set<std::pair<Uuid, int32_t>> elected;
  auto elect = [&](const metadata::TopicImage& t, int32_t p) {
    if (!elected.insert({t.id, p}).second) return ErrorCode::NONE;
    return elect_leader(t, p, unclean, records);
  };
  if (!request.topic_partitions) {
    // Every partition; those that already have the desired leader are left out of the answer.
    for (const auto& [name, t] : image->topics_by_name()) {
      Result r;
      r.topic = name;
      for (const auto& [idx, p] : t.partitions) {
        ErrorCode ec = elect(t, idx);
        if (ec == ErrorCode::ELECTION_NOT_NEEDED) continue;
        r.partition_result.push_back(partition_result(idx, ec, ec == ErrorCode::PREFERRED_LEADER_NOT_AVAILABLE ? kPreferredNotAvailable
                                                                                                               : kEligibleNotAvailable));
      }
      response->replica_election_results.push_back(std::move(r));
    }
  } else {
    for (const auto& tp : *request.topic_partitions) {
      Result r;
      r.topic = tp.topic;
      const metadata::TopicImage* t = image->topic(tp.topic);
      for (int32_t idx : tp.partitions) {
        if (!t) {
          r.partition_result.push_back(partition_result(idx, ErrorCode::UNKNOWN_TOPIC_OR_PARTITION, "No such topic as " + tp.topic));
          continue;
        }
        if (!t->partitions.count(idx)) {
          r.partition_result.push_back(partition_result(idx, ErrorCode::UNKNOWN_TOPIC_OR_PARTITION,
                                                        "No such partition as " + tp.topic + "-" + std::to_string(idx)));
          continue;
        }
        ErrorCode ec = elect(*t, idx);
        const char* message = ec == ErrorCode::ELECTION_NOT_NEEDED         ? kElectionNotNeeded
                              : ec == ErrorCode::PREFERRED_LEADER_NOT_AVAILABLE ? kPreferredNotAvailable
                                                                            : kEligibleNotAvailable;
        r.partition_result.push_back(partition_result(idx, ec, message));
      }
      response->replica_election_results.push_back(std::move(r));
    }
  }
  std::optional<int64_t> off;
  if (!records.empty()) off = write(std::move(records));
  after_commit_of(off, [done = std::move(done), response](ErrorCode ec) mutable {
    if (ec != ErrorCode::NONE) {
      response->error_code = code(ec);
      for (auto& t : response->replica_election_results)
        for (auto& p : t.partition_result) {
          p.error_code = code(ec);
          p.error_message = std::string(error_message(ec));
        }
    }
    done(std::move(*response));
  });
}

// ---------------------------------------------------------------- leader balancing

void QuorumController::maybe_balance_partition_leaders(int64_t now) {
  if (!active_ || !config_.auto_leader_rebalance_enable || config_.leader_imbalance_check_interval_ms <= 0) return;
  if (balance_epoch_ != epoch_) {
    // A new term starts with a full interval before the first balance (Kafka: DEFERRED).
    balance_epoch_ = epoch_;
    balance_due_ms_ = -1;
    balance_immediately_ = false;
    imbalance_scanned_offset_ = -2;
  }
  if (balance_due_ms_ < 0) {
    // Not scheduled: look for an imbalance whenever the metadata changed.
    if (latest_->offset() == imbalance_scanned_offset_) return;
    imbalance_scanned_offset_ = latest_->offset();
    bool any = false;
    for (const auto& [name, t] : latest_->topics_by_name()) {
      for (const auto& [idx, p] : t.partitions)
        if (imbalanced(p)) {
          any = true;
          break;
        }
      if (any) break;
    }
    if (!any) return;
    balance_due_ms_ = now + (balance_immediately_ ? 0 : config_.leader_imbalance_check_interval_ms);
    return;
  }
  if (now < balance_due_ms_) return;
  balance_due_ms_ = -1;
  imbalance_scanned_offset_ = -2;  // look again after this run
  balance_immediately_ = false;
  std::vector<std::vector<uint8_t>> records;
  for (const auto& [name, t] : latest_->topics_by_name()) {
    for (const auto& [idx, p] : t.partitions) {
      if (!imbalanced(p)) continue;
      if (records.size() >= kMaxElectionsPerImbalance) {
        balance_immediately_ = true;
        break;
      }
      PartitionChange change(p, t.id, idx, [this](int32_t b) { return is_live(b); }, mv());
      configure_elr(change, t);
      change.set_election(Election::PREFERRED);
      change.set_default_dir([this](int32_t b) { return directories_for({b}).front(); });
      if (auto r = change.build()) records.push_back(partition_change(*r));
    }
    if (balance_immediately_) break;
  }
  if (records.empty()) return;
  spdlog::info("[QuorumController id={}] Balancing partition leaders: {} preferred leader election(s)", config_.node_id, records.size());
  write(std::move(records));
}

// ---------------------------------------------------------------- UnregisterBroker

void QuorumController::unregister_broker(msg::UnregisterBrokerRequest request, int16_t version,
                                         std::function<void(msg::UnregisterBrokerResponse)> done) {
  auto reply = [this, &done](ErrorCode ec, std::optional<std::string> message) {
    msg::UnregisterBrokerResponse r;
    r.error_code = code(ec);
    r.error_message = std::move(message);
    answer_now(done, std::move(r));
  };
  if (!active_) return reply(ErrorCode::NOT_CONTROLLER, std::string(error_message(ErrorCode::NOT_CONTROLLER)));
  const int32_t id = request.broker_id;
  const auto* b = latest_->broker(id);
  if (!b) return reply(ErrorCode::BROKER_ID_NOT_REGISTERED, "Broker ID " + std::to_string(id) + " is not currently registered");
  // Kafka unregisters any registered broker: it first leaves every ISR (unless
  // the last member) and leadership, exactly as when it is fenced.
  std::vector<std::vector<uint8_t>> records;
  leader_and_isr_updates(id, -1, records);
  msg::UnregisterBrokerRecord u;
  u.broker_id = id;
  u.broker_epoch = b->epoch;
  records.push_back(frame_metadata_record(u, 0));
  spdlog::info("[QuorumController id={}] Unregistering broker {} (epoch {}){}", config_.node_id, id, b->epoch,
               records.size() > 1 ? ", moving " + std::to_string(records.size() - 1) + " partition(s)" : "");
  sessions_.erase(id);
  auto off = write(std::move(records));
  after_commit_of(off, [done = std::move(done)](ErrorCode ec) mutable {
    msg::UnregisterBrokerResponse r;
    r.error_code = code(ec);
    r.error_message = ec == ErrorCode::NONE ? std::nullopt : std::optional<std::string>(std::string(error_message(ec)));
    done(std::move(r));
  });
}

}  // namespace flotilla::controller
