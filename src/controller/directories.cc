// QuorumController: JBOD log directories (KIP-858), as Kafka's
// ClusterControlManager (registered dirs, defaultDir) and
// ReplicationControlManager (handleAssignReplicasToDirs,
// handleDirectoriesOffline, LeaderAcceptor).
//
// Invariants: with metadata.version >= 3.7-IV2 every partition records one
// directory per replica (PartitionRecord/PartitionChangeRecord Directories,
// aligned with Replicas); a broker's registration lists its online dirs. A
// replica whose dir is not among its broker's online dirs is never elected
// and leaves the ISR when the dir goes offline. Runs on the controller's
// thread like the rest of QuorumController.
#include <set>
#include <spdlog/spdlog.h>

#include "common/directory_id.h"
#include "controller/quorum_controller.h"
#include "protocol/metadata_record.h"

namespace flotilla::controller {

using protocol::frame_metadata_record;

Uuid QuorumController::default_dir(int32_t broker) const {
  if (mv() < kMvDirectories) return directory_id::kMigrating;
  const auto* b = latest_->broker(broker);
  if (!b) return directory_id::kUnassigned;  // the missing registration is reported elsewhere
  if (b->log_dirs.empty()) return directory_id::kMigrating;
  if (b->log_dirs.size() == 1) return b->log_dirs.front();
  return directory_id::kUnassigned;
}

bool QuorumController::replica_dir_online(const metadata::PartitionRegistration& p, int32_t replica) const {
  if (p.directories.size() != p.replicas.size()) return true;  // not tracked (before 3.7-IV2)
  const auto* b = latest_->broker(replica);
  if (!b) return false;
  for (size_t i = 0; i < p.replicas.size(); ++i)
    if (p.replicas[i] == replica) return directory_id::is_online(p.directories[i], b->log_dirs);
  return true;
}

std::string QuorumController::invalid_registration_dirs(const msg::BrokerRegistrationRequest& request) const {
  if (mv() < kMvDirectories) return {};
  if (request.log_dirs.empty()) return "No directories specified in request";
  std::set<Uuid> seen;
  for (const Uuid& d : request.log_dirs) {
    if (directory_id::reserved(d)) return "Reserved directory ID in request";
    if (!seen.insert(d).second) return "Duplicate directory ID in request";
  }
  for (const auto& [id, b] : latest_->brokers()) {
    if (id == request.broker_id) continue;
    for (const Uuid& d : b.log_dirs)
      if (seen.count(d))
        return "Broker " + std::to_string(id) + " is already registered with directory " + d.to_string() + ".";
  }
  return {};
}

void QuorumController::directories_offline_records(int32_t broker, int64_t broker_epoch, const std::vector<Uuid>& offline,
                                                   std::vector<std::vector<uint8_t>>& out) const {
  const auto* b = latest_->broker(broker);
  if (!b || offline.empty()) return;
  std::vector<Uuid> newly_offline, remaining;
  for (const Uuid& d : b->log_dirs) {
    if (std::find(offline.begin(), offline.end(), d) != offline.end()) newly_offline.push_back(d);
    else remaining.push_back(d);
  }
  if (newly_offline.empty()) return;
  // The broker's replicas in those dirs: out of the ISR, not leading.
  for (const auto& [name, t] : latest_->topics_by_name()) {
    for (const auto& [idx, p] : t.partitions) {
      if (p.directories.size() != p.replicas.size()) continue;
      bool affected = false;
      for (size_t i = 0; i < p.replicas.size(); ++i)
        if (p.replicas[i] == broker && std::find(newly_offline.begin(), newly_offline.end(), p.directories[i]) != newly_offline.end())
          affected = true;
      if (!affected || (p.leader != broker && !contains(p.isr, broker))) continue;
      if (auto c = leader_and_isr_change(t, idx, p, broker, -1)) out.push_back(partition_change(*c));
    }
  }
  msg::BrokerRegistrationChangeRecord c;
  c.broker_id = broker;
  c.broker_epoch = broker_epoch;
  c.log_dirs = remaining;
  out.push_back(frame_metadata_record(c, 2));
  std::vector<std::string> off_s, rem_s;
  for (const Uuid& d : newly_offline) off_s.push_back(d.to_string());
  for (const Uuid& d : remaining) rem_s.push_back(d.to_string());
  spdlog::warn("[QuorumController id={}] Directories [{}] in broker {} marked offline, remaining directories: [{}]", config_.node_id,
               fmt::join(off_s, ", "), broker, fmt::join(rem_s, ", "));
}

void QuorumController::assign_replicas_to_dirs(msg::AssignReplicasToDirsRequest request, int16_t,
                                               std::function<void(msg::AssignReplicasToDirsResponse)> done) {
  if (!active_) return answer_error_now(done, ErrorCode::NOT_CONTROLLER);
  if (mv() < kMvDirectories) return answer_error_now(done, ErrorCode::UNSUPPORTED_VERSION);
  const int32_t broker = request.broker_id;
  const auto* reg = latest_->broker(broker);
  if (!reg) return answer_error_now(done, ErrorCode::BROKER_ID_NOT_REGISTERED);
  if (reg->epoch != request.broker_epoch) return answer_error_now(done, ErrorCode::STALE_BROKER_EPOCH);

  msg::AssignReplicasToDirsResponse response;
  std::vector<std::vector<uint8_t>> records;
  std::vector<std::pair<Uuid, int32_t>> offline_assigned;
  // Each change is computed against the state including the earlier ones.
  metadata::MetadataDelta work(latest_);
  for (const auto& rd : request.directories) {
    const bool dir_offline = !directory_id::is_online(rd.id, reg->log_dirs);
    msg::AssignReplicasToDirsResponse::DirectoryData out_dir;
    out_dir.id = rd.id;
    for (const auto& rt : rd.topics) {
      msg::AssignReplicasToDirsResponse::TopicData out_topic;
      out_topic.topic_id = rt.topic_id;
      const metadata::TopicImage* t = latest_->topic(rt.topic_id);
      if (!t)
        spdlog::warn("[QuorumController id={}] AssignReplicasToDirsRequest from broker {} references unknown topic ID {}", config_.node_id,
                     broker, rt.topic_id.to_string());
      for (const auto& rp : rt.partitions) {
        ErrorCode ec = ErrorCode::NONE;
        if (!t) {
          ec = ErrorCode::UNKNOWN_TOPIC_ID;
        } else {
          const metadata::TopicImage* wt = work.topic(rt.topic_id);
          auto pit = wt->partitions.find(rp.partition_index);
          const metadata::PartitionRegistration* p = pit == wt->partitions.end() ? nullptr : &pit->second;
          if (!p) {
            spdlog::warn("[QuorumController id={}] AssignReplicasToDirsRequest from broker {} references unknown partition {}-{}",
                         config_.node_id, broker, t->name, rp.partition_index);
            ec = ErrorCode::UNKNOWN_TOPIC_OR_PARTITION;
          } else if (!contains(p->replicas, broker)) {
            spdlog::warn("[QuorumController id={}] AssignReplicasToDirsRequest from broker {} references non assigned partition {}-{}",
                         config_.node_id, broker, t->name, rp.partition_index);
            ec = ErrorCode::NOT_LEADER_OR_FOLLOWER;
          } else {
            // Only the directories change (Kafka's PartitionChangeBuilder.setDirectory).
            std::vector<Uuid> dirs = p->directories;
            if (dirs.size() != p->replicas.size()) {
              dirs.clear();
              for (int32_t r : p->replicas) dirs.push_back(default_dir(r));
            }
            for (size_t i = 0; i < p->replicas.size(); ++i)
              if (p->replicas[i] == broker) dirs[i] = rd.id;
            if (dirs != p->directories) {
              msg::PartitionChangeRecord c;
              c.topic_id = rt.topic_id;
              c.partition_id = rp.partition_index;
              c.directories = std::move(dirs);
              auto framed = partition_change(c);
              work.replay_value(framed);
              records.push_back(std::move(framed));
            }
            if (dir_offline) offline_assigned.emplace_back(rt.topic_id, rp.partition_index);
            spdlog::debug("[QuorumController id={}] Broker {} assigned partition {}:{} to {} dir {}", config_.node_id, broker, t->name,
                          rp.partition_index, dir_offline ? "OFFLINE" : "ONLINE", rd.id.to_string());
          }
        }
        msg::AssignReplicasToDirsResponse::PartitionData out_p;
        out_p.partition_index = rp.partition_index;
        out_p.error_code = code(ec);
        out_topic.partitions.push_back(out_p);
      }
      out_dir.topics.push_back(std::move(out_topic));
    }
    response.directories.push_back(std::move(out_dir));
  }
  std::optional<int64_t> off = write(std::move(records));
  // Replicas assigned to a dir that is already offline leave ISR and leadership.
  if (!offline_assigned.empty()) {
    std::vector<std::vector<uint8_t>> more;
    for (const auto& [tid, idx] : offline_assigned) {
      const metadata::TopicImage* t = latest_->topic(tid);
      const metadata::PartitionRegistration* p = nullptr;
      if (t)
        if (auto pit = t->partitions.find(idx); pit != t->partitions.end()) p = &pit->second;
      if (!p || (p->leader != broker && !contains(p->isr, broker))) continue;
      if (auto c = leader_and_isr_change(*t, idx, *p, broker, -1)) more.push_back(partition_change(*c));
    }
    if (auto o = write(std::move(more))) off = o;
  }
  after_commit_of(off, [done = std::move(done), response = std::move(response)](ErrorCode ec) mutable {
    if (ec != ErrorCode::NONE) {
      msg::AssignReplicasToDirsResponse r;
      r.error_code = code(ec);
      return done(std::move(r));
    }
    done(std::move(response));
  });
}

}  // namespace flotilla::controller
