// ReplicaManager: log dir failures (KIP-112 in KRaft, KIP-858), as Kafka's
// LogDirFailureChannel + ReplicaManager.handleLogDirFailure: an I/O error
// under a log dir (a system call on a log's files failing: EIO, ENOSPC,
// EROFS on append, roll, flush) takes that dir offline. Its replicas stop —
// no fetcher, no role change, KAFKA_STORAGE_ERROR to produce and fetch — and
// are never touched again until a restart; replicas in the other dirs keep
// serving. The node then reports the dir in its heartbeats (OfflineLogDirs)
// and the controller moves leaderships and ISRs away from those replicas.
//
// A partition whose own files cannot be opened (storage::PartitionIoError:
// EMFILE/ENFILE, EACCES, ENOENT) stops alone, the same way, without failing
// its dir. KRaft heartbeats name whole dirs only, so the AssignmentsManager
// reports the replica in the LOST directory (AssignReplicasToDirs, KIP-858)
// when it has replicas elsewhere: the controller takes it out of the ISR and
// leadership as for a failed dir. A replica without others keeps its
// leadership (clients get KAFKA_STORAGE_ERROR, not "no leader"). Once its
// files open again (a restart), the real dir is assigned back.
//
// Threading: the broker's io_context thread.
#include <spdlog/spdlog.h>

#include "broker/replica_fetcher.h"
#include "broker/replica_manager.h"
#include "storage/log_files.h"

namespace flotilla::broker {

bool ReplicaManager::fail_dir_if_io_error(Partition& p, const std::exception* e) {
  if (p.offline) return true;
  if (const auto* own = e ? dynamic_cast<const storage::PartitionIoError*>(e) : nullptr) {
    // Its files cannot be opened (out of descriptors, permissions, gone): this
    // partition alone stops, as a replica in a failed dir does; the dir and
    // the other partitions keep serving.
    const std::string name = p.topic + "-" + std::to_string(p.index);
    logs_.mark_failed(p.topic, p.index, own->what());
    spdlog::error("[ReplicaManager broker={}] Stopping serving partition {}: its files cannot be opened: {}", config_.node_id, name,
                  own->what());
    p.offline = true;
    p.publish_gauges(config_.node_id);
    fetchers_->unfollow(p.topic, p.index);
    if (logs_.cleaner() && p.log) logs_.cleaner()->remove_log(p.log);
    if (p.is_leader(config_.node_id)) notify_leadership(p.topic, p.index, p.leader_epoch, false);
    p.followers.clear();
    notify_replica(p.topic_id, p.index);  // the controller moves its leadership if it has replicas elsewhere
    wake(name);
    return true;
  }
  const auto* io = e ? dynamic_cast<const storage::LogDirIoError*>(e) : nullptr;
  // A log that failed a deferred write failed on the file system too.
  if (!io && !(p.log && p.log->failed())) return false;
  std::string dir = logs_.dir_of(p.topic, p.index);
  if (dir.empty()) return false;
  handle_log_dir_failure(dir, e ? e->what() : "a write to " + p.topic + "-" + std::to_string(p.index) + " failed");
  return p.offline;
}

bool ReplicaManager::in_offline_dir(const metadata::PartitionRegistration& reg) const {
  for (size_t i = 0; i < reg.replicas.size() && i < reg.directories.size(); ++i) {
    if (reg.replicas[i] != config_.node_id) continue;
    std::string dir = logs_.dir_with_id(reg.directories[i]);
    return !dir.empty() && logs_.is_offline(dir);
  }
  return false;
}

void ReplicaManager::handle_log_dir_failure(const std::string& dir, const std::string& why) {
  if (!logs_.mark_offline(dir)) return;
  spdlog::error("[ReplicaManager broker={}] Stopping serving replicas in dir {}: {}", config_.node_id, dir, why);
  std::vector<std::string> stopped;
  for (auto& [k, pp] : partitions_) {
    Partition& p = *pp;
    if (p.offline || logs_.dir_of(p.topic, p.index) != dir) continue;
    p.offline = true;
    p.publish_gauges(config_.node_id);
    fetchers_->unfollow(p.topic, p.index);
    if (logs_.cleaner() && p.log) logs_.cleaner()->remove_log(p.log);
    if (p.is_leader(config_.node_id)) notify_leadership(p.topic, p.index, p.leader_epoch, false);
    p.followers.clear();
    stopped.push_back(k);
  }
  spdlog::warn("[ReplicaManager broker={}] Broker {} stopped fetcher for partitions [{}] and stopped moving logs for partitions because "
               "they are in the failed log directory {}.",
               config_.node_id, config_.node_id, fmt::join(stopped, ", "), dir);
  for (const auto& k : stopped) wake(k);
  if (dir_failure_listener_) dir_failure_listener_(dir);
}

}  // namespace flotilla::broker
