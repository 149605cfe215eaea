// RaftDriver: the snapshot side of KIP-630 — the registry of snapshot files,
// start-up recovery, handing snapshots to listeners, FetchSnapshot (serving
// chunks as leader, writing them as follower) and the metadata log cleaner.
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>

#include "common/clock.h"
#include "raft/assert.h"
#include "raft/driver.h"
#include "raft/file_util.h"
#include "raft/snapshot.h"

namespace flotilla::raft {

namespace fs = std::filesystem;

namespace {
SnapshotId to_snapshot_id(OffsetAndEpoch id) { return SnapshotId{id.offset, id.epoch}; }
OffsetAndEpoch to_offset_and_epoch(SnapshotId id) { return OffsetAndEpoch{id.end_offset, id.epoch}; }
std::string name_of(SnapshotId id) { return snapshot_file_name(id); }

std::shared_ptr<const SnapshotContents> read_valid_snapshot(const fs::path& p, std::string& why) {
  auto c = read_complete_snapshot(p, why);
  return c ? std::make_shared<const SnapshotContents>(std::move(*c)) : nullptr;
}
}  // namespace

fs::path RaftDriver::snapshot_path(SnapshotId id) const { return partition_dir_ / snapshot_file_name(id); }

std::optional<SnapshotId> RaftDriver::latest_snapshot() const {
  if (snapshots_.empty()) return std::nullopt;
  return snapshots_.rbegin()->second.id;
}

void RaftDriver::recover_snapshots(InitialLogState& s) {
  std::error_code ec;
  remove_partial_snapshots(partition_dir_);
  std::vector<SnapshotId> ids;
  for (const auto& id : list_snapshots(partition_dir_))
    if (id.end_offset > 0) ids.push_back(id);  // 0-0 is the bootstrap checkpoint, not metadata state
  // The newest snapshot that is whole and valid; newer broken ones are skipped, never loaded.
  // Invariant: no snapshot file that failed this validation stays behind a
  // start-up that succeeded. Only the newest is read (snapshots are large):
  // a broken one left on disk would be registered unread by a later start-up
  // that has a newer valid one (then loaded, served to followers, or made the
  // log start by the cleaner). Deleting it loses nothing: what it held is in
  // the older snapshot and the log, or (fetched past the log end) still on
  // the leader. A crash tears only the `.part` (written, fsynced, renamed); a
  // torn `.checkpoint` means the rename outran the data, or damage. When the
  // start-up fails below (no valid snapshot at the log start) it stays, as evidence.
  std::optional<SnapshotId> latest;
  std::vector<SnapshotId> broken;
  while (!ids.empty()) {
    std::string why;
    auto c = read_valid_snapshot(snapshot_path(ids.back()), why);
    if (c) {
      latest = ids.back();
      cached_contents_ = c;
      cached_id_ = *latest;
      break;
    }
    spdlog::error("[RaftDriver id={}] Skipping corrupt snapshot {}: {}", config_.node_id, name_of(ids.back()), why);
    broken.push_back(ids.back());
    ids.pop_back();
  }
  if (latest && latest->end_offset > log_->log_end_offset()) {
    // A snapshot downloaded from the leader was installed but the log reset
    // did not happen before a crash (Kafka's truncateToLatestSnapshot).
    spdlog::info("[RaftDriver id={}] The log ends at {} before the latest snapshot {}: starting the log at {}", config_.node_id,
                 log_->log_end_offset(), name_of(*latest), latest->end_offset);
    log_->truncate_fully_and_start_at(latest->end_offset);
  }
  int64_t start = log_->log_start_offset();
  if (start > 0 && std::none_of(ids.begin(), ids.end(), [&](const SnapshotId& id) { return id.end_offset == start; })) {
    // The cleaner deletes whole segments: the first segment may begin below
    // the snapshot the log start was advanced to. Start at that snapshot again.
    auto it = std::find_if(ids.begin(), ids.end(), [&](const SnapshotId& id) { return id.end_offset > start; });
    if (it == ids.end() || it->end_offset > log_->log_end_offset())
      throw std::runtime_error("The metadata log in " + partition_dir_.string() + " starts at " + std::to_string(start) +
                               " but no snapshot holds the records before it");
    log_->set_log_start_offset(it->end_offset);
    start = it->end_offset;
  }
  for (const auto& id : ids) {
    if (id.end_offset < start) {
      // Below the log start: nothing can use it any more (the cleaner was interrupted).
      fs::remove(snapshot_path(id), ec);
      continue;
    }
    SnapshotFile f;
    f.id = id;
    f.size = static_cast<int64_t>(fs::file_size(snapshot_path(id), ec));
    if (ec) continue;
    snapshots_[id.end_offset] = f;
  }
  s.start_epoch = start > 0 ? snapshots_.at(start).id.epoch : 0;
  for (const auto& id : broken) {
    fs::remove(snapshot_path(id), ec);
    spdlog::warn("[RaftDriver id={}] Deleted the corrupt snapshot {}: starting from {} and the log", config_.node_id, name_of(id),
                 latest ? name_of(*latest) : std::string("the log alone"));
  }
  if (latest) s.latest_snapshot = to_offset_and_epoch(*latest);
  if (latest)
    spdlog::info("[RaftDriver id={}] Latest snapshot {} ({} snapshots kept); log start {}", config_.node_id, name_of(*latest),
                 snapshots_.size(), start);
}

std::shared_ptr<const SnapshotContents> RaftDriver::snapshot_contents(SnapshotId id) {
  if (cached_contents_ && cached_id_ == id) return cached_contents_;
  std::string why;
  auto c = read_valid_snapshot(snapshot_path(id), why);
  if (!c) {
    spdlog::error("[RaftDriver id={}] Cannot load snapshot {}: {}", config_.node_id, name_of(id), why);
    return nullptr;
  }
  cached_contents_ = c;
  cached_id_ = id;
  return c;
}

// A listener starts from the latest snapshot when it registers, and is handed
// it again when it fell below the log start. False: it cannot make progress.
//
// A fresh listener holds no state at all, so it gets the latest snapshot
// whatever its position: that position is the log start, which may be the
// snapshot's very end (a log that begins where an installed FetchSnapshot
// ended, or whose older segments the cleaner deleted) — skipping the snapshot
// there would build an image from the log after it alone.
bool RaftDriver::maybe_deliver_snapshot(ListenerCtx& ctx) {
  auto latest = latest_snapshot();
  bool behind = ctx.next_offset < log_->log_start_offset();
  if (latest && (ctx.fresh || behind)) {
    auto c = snapshot_contents(*latest);
    if (c) {
      ctx.listener->handle_load_snapshot(*latest, *c);
      ctx.next_offset = latest->end_offset;
    }
  }
  ctx.fresh = false;
  if (ctx.next_offset < log_->log_start_offset()) {
    spdlog::error("[RaftDriver id={}] A listener at offset {} is below the log start {} and no snapshot can be loaded",
                  config_.node_id, ctx.next_offset, log_->log_start_offset());
    return false;
  }
  return true;
}

void RaftDriver::on_snapshot_written(SnapshotId id) {
  if (!started_ || stopped_) return;
  std::error_code ec;
  if (id.end_offset < log_->log_start_offset()) {
    // Written from an image older than a snapshot installed meanwhile.
    fs::remove(snapshot_path(id), ec);
    return;
  }
  SnapshotFile f;
  f.id = id;
  f.size = static_cast<int64_t>(fs::file_size(snapshot_path(id), ec));
  if (ec) {
    spdlog::error("[RaftDriver id={}] The new snapshot {} is not there: {}", config_.node_id, name_of(id), ec.message());
    return;
  }
  snapshots_[id.end_offset] = f;
  core_->on_snapshot_created(to_offset_and_epoch(id));
  pump();
  clean_metadata_log();
}

// ---------------------------------------------------------------- FetchSnapshot

void RaftDriver::fill_snapshot_read(FetchSnapshotResponse& r) {
  SnapshotReadSpec spec = *r.read;
  r.read.reset();
  auto it = snapshots_.find(spec.id.offset);
  if (it == snapshots_.end() || it->second.id.epoch != spec.id.epoch) {
    r.partition_error = ErrorCode::SNAPSHOT_NOT_FOUND;
    return;
  }
  int64_t size = it->second.size;
  if (spec.position < 0 || spec.position >= size) {
    r.partition_error = ErrorCode::POSITION_OUT_OF_RANGE;
    return;
  }
  int64_t n = std::min<int64_t>(spec.max_bytes, size - spec.position);
  auto bytes = std::make_shared<std::vector<uint8_t>>(static_cast<size_t>(n));
  int fd = ::open(snapshot_path(it->second.id).c_str(), O_RDONLY | O_CLOEXEC);
  ssize_t got = fd >= 0 ? ::pread(fd, bytes->data(), bytes->size(), spec.position) : -1;
  if (fd >= 0) ::close(fd);
  if (got != n) {
    spdlog::error("[RaftDriver id={}] Reading snapshot {} at {} failed", config_.node_id, name_of(it->second.id), spec.position);
    r.partition_error = ErrorCode::SNAPSHOT_NOT_FOUND;
    return;
  }
  r.size = size;
  r.position = spec.position;
  r.bytes = std::move(bytes);
}

void RaftDriver::write_snapshot_chunk(const WriteSnapshotChunk& c) {
  fs::path part = snapshot_path(to_snapshot_id(c.id));
  part += ".part";
  if (c.position == 0) {
    if (snapshot_part_fd_ >= 0) ::close(snapshot_part_fd_);
    snapshot_part_fd_ = ::open(part.c_str(), O_CREAT | O_TRUNC | O_WRONLY | O_CLOEXEC, 0644);
    snapshot_part_id_ = c.id;
    if (snapshot_part_fd_ < 0) spdlog::error("[RaftDriver id={}] Cannot create {}", config_.node_id, part.string());
  }
  if (snapshot_part_fd_ < 0 || snapshot_part_id_ != c.id) return;  // the install fails and the download starts over
  const uint8_t* p = c.bytes->data();
  size_t left = c.bytes->size();
  int64_t at = c.position;
  while (left > 0) {
    ssize_t w = ::pwrite(snapshot_part_fd_, p, left, at);
    if (w <= 0) {
      spdlog::error("[RaftDriver id={}] Writing {} failed", config_.node_id, part.string());
      ::close(snapshot_part_fd_);
      snapshot_part_fd_ = -1;
      return;
    }
    p += w;
    left -= static_cast<size_t>(w);
    at += w;
  }
}

bool RaftDriver::install_snapshot(OffsetAndEpoch oe, std::vector<VoterSetEntry>& voters) {
  SnapshotId id = to_snapshot_id(oe);
  fs::path final_path = snapshot_path(id);
  fs::path part = final_path;
  part += ".part";
  std::error_code ec;
  if (snapshot_part_fd_ < 0 || snapshot_part_id_ != oe) {
    fs::remove(part, ec);
    return false;
  }
  bool synced = ::fsync(snapshot_part_fd_) == 0;
  ::close(snapshot_part_fd_);
  snapshot_part_fd_ = -1;
  std::string why = "fsync failed";
  auto contents = synced ? read_valid_snapshot(part, why) : nullptr;
  if (!contents) {
    spdlog::error("[RaftDriver id={}] The snapshot {} fetched from the leader is not valid: {}", config_.node_id, name_of(id), why);
    fs::remove(part, ec);
    return false;
  }
  fs::rename(part, final_path, ec);
  if (ec) {
    spdlog::error("[RaftDriver id={}] Cannot rename {}: {}", config_.node_id, part.string(), ec.message());
    fs::remove(part, ec);
    return false;
  }
  fsync_directory(partition_dir_);
  // The snapshot replaces the log: everything we held lies below it.
  log_->truncate_fully_and_start_at(id.end_offset);
  for (auto it = snapshots_.begin(); it != snapshots_.end();) {
    if (it->first < id.end_offset) {
      fs::remove(snapshot_path(it->second.id), ec);
      it = snapshots_.erase(it);
    } else {
      ++it;
    }
  }
  SnapshotFile f;
  f.id = id;
  f.size = static_cast<int64_t>(fs::file_size(final_path, ec));
  f.timestamp = contents->last_contained_log_timestamp;
  snapshots_[id.end_offset] = f;
  cached_contents_ = contents;
  cached_id_ = id;
  if (contents->voters) {
    VoterSetEntry e{id.end_offset - 1, {}};
    for (const auto& v : *contents->voters) {
      e.voters.push_back(v.id);
      learn_voter(v);
    }
    std::sort(e.voters.begin(), e.voters.end());
    voters.push_back(std::move(e));
  }
  spdlog::info("[RaftDriver id={}] Installed snapshot {} ({} bytes) fetched from the leader; the log starts at {}", config_.node_id,
               name_of(id), f.size, id.end_offset);
  return true;
}

// ---------------------------------------------------------------- cleaner

void RaftDriver::schedule_cleaner() {
  if (stopped_) return;
  int64_t period = 30000;
  if (config_.max_retention_ms >= 0) period = std::min(period, std::max<int64_t>(100, config_.max_retention_ms / 4));
  if (config_.segment_ms > 0) period = std::min(period, std::max<int64_t>(100, config_.segment_ms / 4));
  cleaner_timer_.expires_after(std::chrono::milliseconds(period));
  auto alive = alive_;
  cleaner_timer_.async_wait([this, alive](const asio::error_code& ec) {
    if (ec || !*alive || stopped_) return;
    clean_metadata_log();
    schedule_cleaner();
  });
}

// Kafka's KafkaMetadataLog.cleanSnapshots: walking the snapshots oldest
// first, while the oldest has expired (by age, or because snapshots and log
// together exceed the size limit) and a newer one exists, the log start moves
// up to that newer snapshot and the oldest is deleted, with every segment
// wholly below the new log start. The latest snapshot, and the log after it,
// always stay.
void RaftDriver::clean_metadata_log() {
  if (!started_ || stopped_) return;
  int64_t now = now_ms();
  log_->roll_if_needed(now);
  int64_t snapshot_bytes = 0;
  for (const auto& [end, f] : snapshots_) snapshot_bytes += f.size;
  while (snapshots_.size() >= 2) {
    auto oldest = snapshots_.begin();
    auto next = std::next(oldest);
    bool by_size = config_.max_retention_bytes >= 0 && log_->size_bytes() + snapshot_bytes > config_.max_retention_bytes;
    bool by_time = false;
    if (!by_size && config_.max_retention_ms >= 0) {
      if (oldest->second.timestamp < 0) {
        try {
          oldest->second.timestamp = read_snapshot_timestamp(snapshot_path(oldest->second.id));
        } catch (const std::exception& e) {
          spdlog::error("[RaftDriver id={}] Cannot read the age of snapshot {}: {}", config_.node_id, name_of(oldest->second.id), e.what());
          return;
        }
      }
      by_time = oldest->second.timestamp <= now - config_.max_retention_ms;
    }
    if (!by_size && !by_time) return;
    SnapshotId keep = next->second.id;
    if (keep.end_offset > log_->log_end_offset()) return;
    if (keep.end_offset > log_->log_start_offset()) {
      core_->on_log_start_advanced(keep.end_offset, keep.epoch);
      int segments = log_->segment_count();
      log_->set_log_start_offset(keep.end_offset);
      spdlog::info("[RaftDriver id={}] Metadata log start advanced to {} (snapshot {}, {}); {} segment(s) deleted", config_.node_id,
                   keep.end_offset, name_of(keep), by_size ? "metadata.max.retention.bytes" : "metadata.max.retention.ms",
                   segments - log_->segment_count());
    }
    std::error_code ec;
    fs::remove(snapshot_path(oldest->second.id), ec);
    spdlog::info("[RaftDriver id={}] Deleted snapshot {}", config_.node_id, name_of(oldest->second.id));
    snapshot_bytes -= oldest->second.size;
    snapshots_.erase(oldest);
  }
  pump();
}

}  // namespace flotilla::raft
