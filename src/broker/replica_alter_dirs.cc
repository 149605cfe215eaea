// ReplicaManager: AlterReplicaLogDirs (KIP-113, in KRaft with KIP-858), as
// Kafka's ReplicaManager.alterReplicaLogDirs + ReplicaAlterLogDirsThread: a
// local replica moves to another log dir while it keeps serving. A future log
// `<topic>-<partition>.<id>-future` is created in the destination dir and
// filled from the current log (the batches as they are, offsets kept); once it
// has caught up with the log end — after the pending writes are drained, on
// this thread, so nothing is appended in between — it is promoted in place of
// the current log (which is deleted), the leader epoch cache moves with it,
// and the AssignmentsManager tells the controller the new dir. Kafka asks the
// controller first and swaps on its answer; here the swap comes first and the
// assignment follows (the metadata names the old dir for that moment).
//
// A move of a compacted log with gaps between batches is abandoned (logged):
// the copy appends batch after batch at the log end.
//
// Threading: the broker's io_context thread; the copy runs in steps of at
// most kMoveStepBytes so that the event loop keeps serving.
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <filesystem>

#include "broker/replica_manager.h"
#include "storage/log_files.h"

namespace flotilla::broker {

namespace {

constexpr size_t kMoveStepBytes = 4 << 20;
constexpr int kMoveIntervalMs = 5;

std::string absolute_dir(const std::string& p) {
  std::filesystem::path a = std::filesystem::absolute(p).lexically_normal();
  std::string s = a.string();
  if (s.size() > 1 && s.back() == '/') s.pop_back();
  return s;
}

// The bytes of a read (its view and file regions), in order.
std::vector<uint8_t> materialize(const Records& r) {
  std::vector<uint8_t> out(r.view.begin(), r.view.end());
  for (const auto& f : r.files) {
    size_t at = out.size();
    out.resize(at + static_cast<size_t>(f.length));
    int64_t done = 0;
    while (done < f.length) {
      ssize_t n = ::pread(f.fd, out.data() + at + done, static_cast<size_t>(f.length - done), f.offset + done);
      if (n <= 0) throw storage::StorageError("short read while moving a log");
      done += n;
    }
  }
  return out;
}

}  // namespace

ErrorCode ReplicaManager::alter_replica_log_dir(const std::string& topic, int32_t partition, const std::string& dir) {
  // Only an absolute path can name a configured dir (and "" has no absolute form: checked first).
  if (dir.empty() || dir.front() != '/') return ErrorCode::LOG_DIR_NOT_FOUND;
  std::string configured;
  for (const auto& d : config_.log_dirs)
    if (absolute_dir(d) == absolute_dir(dir)) configured = d;
  if (configured.empty()) return ErrorCode::LOG_DIR_NOT_FOUND;
  if (logs_.is_offline(configured)) return ErrorCode::KAFKA_STORAGE_ERROR;
  Partition* p = find(topic, partition);
  if (!p || !p->log) return ErrorCode::REPLICA_NOT_AVAILABLE;
  if (p->offline) return ErrorCode::KAFKA_STORAGE_ERROR;
  if (logs_.dir_of(topic, partition) == configured) {
    if (logs_.future(topic, partition)) {
      spdlog::info("[ReplicaManager broker={}] Cancelling the move of {}-{}: it is back in {}", config_.node_id, topic, partition, dir);
      logs_.remove_future(topic, partition);
    }
    return ErrorCode::NONE;
  }
  // Kafka creates no future log while a dir is offline (it could end up in two dirs).
  if (!logs_.offline_dirs().empty()) return ErrorCode::KAFKA_STORAGE_ERROR;
  try {
    storage::Log* fut = logs_.create_future(topic, partition, configured);
    if (fut->log_end_offset() < p->log->log_start_offset()) fut->truncate_fully_and_start_at(p->log->log_start_offset());
  } catch (const storage::LogDirIoError& e) {
    spdlog::error("[ReplicaManager broker={}] Cannot create the future log of {}-{} in {}: {}", config_.node_id, topic, partition, dir, e.what());
    if (!e.dir.empty()) handle_log_dir_failure(e.dir, e.what());
    return ErrorCode::KAFKA_STORAGE_ERROR;
  }
  spdlog::info("[ReplicaManager broker={}] Moving {}-{} from {} to {}", config_.node_id, topic, partition, logs_.dir_of(topic, partition), dir);
  arm_mover();
  return ErrorCode::NONE;
}

void ReplicaManager::arm_mover() {
  if (mover_armed_ || stopped_) return;
  mover_armed_ = true;
  auto alive = alive_;
  mover_timer_.expires_after(std::chrono::milliseconds(kMoveIntervalMs));
  mover_timer_.async_wait([this, alive](const asio::error_code& ec) {
    if (ec || !*alive) return;
    mover_armed_ = false;
    if (!stopped_) move_step();
  });
}

void ReplicaManager::move_step() {
  bool more = false;
  size_t budget = kMoveStepBytes;
  for (auto& [k, pp] : partitions_) {
    Partition& p = *pp;
    storage::Log* fut = logs_.future(p.topic, p.index);
    if (!fut || p.offline) continue;
    const std::string dest = logs_.future_dir_of(p.topic, p.index);
    try {
      if (fut->log_end_offset() < p.log->log_start_offset()) fut->truncate_fully_and_start_at(p.log->log_start_offset());
      while (budget > 0 && fut->log_end_offset() < p.log->log_end_offset()) {
        storage::ReadResult rr = p.log->read(fut->log_end_offset(), 1 << 20, p.log->log_end_offset(), true);
        std::vector<uint8_t> bytes = materialize(rr.records);
        if (bytes.empty()) break;
        fut->append_as_follower(bytes);
        budget -= std::min(budget, bytes.size());
      }
      if (fut->log_end_offset() < p.log->log_end_offset()) {
        more = true;
        continue;
      }
      p.log->drain();  // writes in flight become visible: copy them too, or wait
      if (fut->log_end_offset() < p.log->log_end_offset()) {
        more = true;
        continue;
      }
      // The epoch cache goes along: written into the future dir before the swap.
      {
        storage::LeaderEpochCache moved(fut->dir());
        for (const auto& e : p.epochs->entries()) moved.assign(e.epoch, e.start_offset);
      }
      fut->flush(fut->log_end_offset());
      p.epochs->discard_queued();  // the old dir goes; the future dir has them all
      storage::Log* promoted = logs_.promote_future(p.topic, p.index);
      p.log = promoted;
      p.publish_gauges(config_.node_id);
      p.epochs = std::make_unique<storage::LeaderEpochCache>(promoted->dir());
      spdlog::info("[ReplicaManager broker={}] The log of {}-{} is now in {} (log end offset {})", config_.node_id, p.topic, p.index, dest,
                   promoted->log_end_offset());
      notify_replica(p.topic_id, p.index);
      wake(k);
    } catch (const storage::LogDirIoError& e) {
      spdlog::error("[ReplicaManager broker={}] Moving {}-{} to {} failed: {}", config_.node_id, p.topic, p.index, dest, e.what());
      logs_.remove_future(p.topic, p.index);
      std::string failed = e.dir.empty() ? dest : e.dir;
      // Which side failed: the destination unless the error names the current log's files.
      if (std::string(e.what()).find(p.log->dir().string()) != std::string::npos) failed = logs_.dir_of(p.topic, p.index);
      handle_log_dir_failure(failed, e.what());
    } catch (const std::exception& e) {
      spdlog::error("[ReplicaManager broker={}] Abandoning the move of {}-{} to {}: {}", config_.node_id, p.topic, p.index, dest, e.what());
      logs_.remove_future(p.topic, p.index);
    }
  }
  if (more) arm_mover();
}

}  // namespace flotilla::broker
