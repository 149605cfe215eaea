// Log: construction and the segment list — new segments, rolling, retention,
// truncation, the log start offset, flushing, closing and removal. The other
// parts of the Log are listed in storage/log.h.
//
// Invariants (storage/log.h): segments are sorted by base offset and
// contiguous, only the last (active) one is appended to, and
// log_start_offset <= log_end_offset. Everything here that changes the tail
// or the files first drains the pending writes (Log::drain), so it never
// races the AppendWriter thread.
//
// Threading: the owning thread, except flush() (any thread). segments_ is
// changed only under mu_, so flush() and the cleaner see the old list or the
// new one; fdatasync runs outside it. Lock order: mu_ before pstate_mu_.
#include "storage/log.h"

#include <fcntl.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <algorithm>

#include "common/clock.h"
#include "storage/segment.h"

namespace flotilla::storage {

namespace fs = std::filesystem;
using records::BatchHeader;

Log::Log(std::string dir, LogConfig config, Uuid topic_id) : dir_(std::move(dir)), config_(config), topic_id_(topic_id) {}

Log::~Log() {
  try {
    close();
  } catch (...) {
  }
}

std::shared_ptr<Segment> Log::new_segment(int64_t base_offset) {
  auto s = std::make_shared<Segment>();
  s->base_offset = base_offset;
  s->next_offset = base_offset;
  s->log_path = dir_ + "/" + offset_file_name(base_offset, ".log");
  s->attach_files();
  // Created now (the indexes empty); they stay cached as the active segment's
  // files are the most recently used.
  s->file->open_with(O_RDWR | O_CREAT);
  s->index_file->open_with(O_RDWR | O_CREAT | O_TRUNC);
  s->time_file->open_with(O_RDWR | O_CREAT | O_TRUNC);
  // A new segment holds no markers yet: a stale index of that name (none is
  // expected) must not describe it.
  std::error_code ec;
  fs::remove(s->path(".txnindex"), ec);
  s->txn = std::make_unique<TxnIndex>(s->path(".txnindex"));
  s->created_ms = wall_clock_ms();
  return s;
}

size_t Log::segment_index_for(int64_t offset) const {
  auto it = std::upper_bound(segments_.begin(), segments_.end(), offset,
                             [](int64_t o, const std::shared_ptr<Segment>& s) { return o < s->base_offset; });
  return it == segments_.begin() ? 0 : static_cast<size_t>(it - segments_.begin() - 1);
}

int64_t Log::size_bytes() const {
  std::lock_guard<std::mutex> g(mu_);
  int64_t n = 0;
  for (const auto& s : segments_) n += s->size;
  return n;
}

int Log::segment_count() const {
  std::lock_guard<std::mutex> g(mu_);
  return static_cast<int>(segments_.size());
}

int64_t Log::segment_size(const Segment& s) { return s.size; }

void Log::publish_gauges() {
  int64_t closed = 0;
  for (size_t i = 0; i + 1 < segments_.size(); ++i) closed += segments_[i]->size;
  closed_bytes_.store(closed, std::memory_order_relaxed);
  constexpr auto r = std::memory_order_relaxed;
  gauges_->size_bytes.store(closed + (segments_.empty() ? 0 : segments_.back()->size), r);
  gauges_->segments.store(static_cast<int32_t>(segments_.size()), r);
  gauges_->log_start_offset.store(log_start_offset_, r);
  gauges_->log_end_offset.store(log_end_offset_.load(r), r);
}

void Log::share_gauges(std::shared_ptr<LogGauges> g) {
  std::lock_guard<std::mutex> lock(mu_);  // publish_cleaned reads gauges_ on the cleaner's thread
  gauges_ = std::move(g);
  publish_gauges();
}

void Log::publish_cleaned() {
  int64_t closed = 0;
  for (size_t i = 0; i + 1 < segments_.size(); ++i) closed += segments_[i]->size;
  const int64_t before = closed_bytes_.exchange(closed, std::memory_order_relaxed);
  gauges_->size_bytes.fetch_add(closed - before, std::memory_order_relaxed);
  gauges_->segments.store(static_cast<int32_t>(segments_.size()), std::memory_order_relaxed);
}

void Log::flush(int64_t up_to) {
  struct ToSync {
    std::shared_ptr<Segment> s;
    int64_t size;
    std::shared_ptr<FileHandle> file;
  };
  std::vector<ToSync> todo;
  int64_t end;
  {
    std::lock_guard<std::mutex> g(mu_);
    end = log_end_offset_.load();
    // Pinned here, while the segments are surely listed (a segment deleted
    // meanwhile must not be reopened by path). If the cache had closed the
    // descriptor the data was written through, nothing is lost (it is in the
    // page cache): fdatasync of a reopened descriptor flushes the file's
    // dirty pages (Linux).
    for (const auto& s : segments_)
      if (s->base_offset < up_to && s->flushed_size < s->size) todo.push_back({s, s->size, s->file->acquire()});
  }
  for (auto& t : todo) t.s->txn->flush();
  for (auto& [s, size, f] : todo) {
    if (::fdatasync(f->fd) != 0) fail("fdatasync of", s->log_path);
    s->flushed_size = std::max(s->flushed_size, size);
  }
  int64_t done = std::min(up_to, end);
  int64_t cur = flushed_offset_.load();
  while (done > cur && !flushed_offset_.compare_exchange_weak(cur, done)) {
  }
  unflushed_messages_ = 0;
}

void Log::truncate_to(int64_t offset) {
  drain();
  if (offset >= log_end_offset_.load()) return;
  if (offset <= log_start_offset_) {
    truncate_fully_and_start_at(offset);
    return;
  }
  std::lock_guard<std::mutex> g(mu_);
  ++change_epoch_;
  while (segments_.size() > 1 && segments_.back()->base_offset >= offset) {
    delete_segment(segments_.back());
    segments_.pop_back();
  }
  auto& s = *segments_.back();
  auto f = s.file->acquire();
  BatchHeader h;
  int64_t pos = locate(s, f->fd, offset, &h);
  // Truncation is at batch boundaries: a batch straddling `offset` goes entirely (as in Kafka).
  if (::ftruncate(f->fd, pos) != 0) fail("cannot truncate", s.log_path);
  s.size = pos;
  s.allocated = pos;
  s.flushed_size = std::min(s.flushed_size, pos);
  // Rebuild this segment's indexes.
  s.index.clear();
  s.tindex.clear();
  IndexPins pins{s.index_file->acquire(), s.time_file->acquire()};
  if (::ftruncate(pins.index->fd, 0) != 0 || ::ftruncate(pins.time->fd, 0) != 0) fail("cannot truncate index of", s.log_path);
  s.bytes_since_index = 0;
  s.max_timestamp = -1;
  s.first_timestamp = -1;
  s.next_offset = s.base_offset;
  int64_t p = 0;
  while (p < s.size && read_header(s, f->fd, p, h)) {
    track_batch(s, h, p, config_.index_interval_bytes, pins);
    p += h.total_size();
  }
  log_end_offset_ = std::max(s.next_offset, s.base_offset);
  if (flushed_offset_.load() > log_end_offset_.load()) flushed_offset_ = log_end_offset_.load();
  s.txn->truncate_to(log_end_offset_.load());  // the markers cut off (the replay below also redoes later ones)
  publish_gauges();
  rebuild_producer_state();  // Kafka's truncateAndReload: the snapshot below the new end + replay
}

void Log::truncate_fully_and_start_at(int64_t offset) {
  drain();
  std::lock_guard<std::mutex> g(mu_);
  ++change_epoch_;
  for (auto& s : segments_) delete_segment(s);
  segments_.clear();
  segments_.push_back(new_segment(offset));
  log_start_offset_ = offset;
  log_end_offset_ = offset;
  flushed_offset_ = offset;
  publish_gauges();
  std::lock_guard<std::mutex> pg(pstate_mu_);
  producers_.clear(offset);
  publish_first_unstable();
  ProducerStateManager::delete_snapshots_after(dir_, -1);
}

void Log::set_log_start_offset(int64_t offset) {
  drain();
  if (offset <= log_start_offset_) return;
  log_start_offset_ = std::min(offset, log_end_offset_.load());
  std::lock_guard<std::mutex> g(mu_);
  while (segments_.size() > 1 && segments_[1]->base_offset <= log_start_offset_) {
    ++change_epoch_;
    delete_segment(segments_.front());
    segments_.erase(segments_.begin());
  }
  publish_gauges();
  // The state itself stays (Kafka's onLogStartOffsetIncremented); snapshots of deleted segments go.
  ProducerStateManager::delete_snapshots_before(dir_, segments_.front()->base_offset);
  std::lock_guard<std::mutex> pg(pstate_mu_);
  producers_.on_log_start_offset(log_start_offset_);
  publish_first_unstable();
}

void Log::delete_segment(const std::shared_ptr<Segment>& s) {
  // Open fds (held by in-flight fetches) keep the data readable after unlink.
  // The cache forgets them first: a later acquire must not find the deleted files.
  s->retired = true;
  s->file->close_cached();
  s->index_file->close_cached();
  s->time_file->close_cached();
  std::error_code ec;
  fs::remove(s->log_path, ec);
  fs::remove(s->path(".index"), ec);
  fs::remove(s->path(".timeindex"), ec);
  if (s->txn) s->txn->remove_file();
}

int Log::apply_retention(int64_t now_ms) {
  drain();
  int deleted = 0;
  std::lock_guard<std::mutex> g(mu_);
  int64_t total = 0;
  for (const auto& s : segments_) total += s->size;
  while (segments_.size() > 1) {
    auto& s = segments_.front();
    bool by_time = config_.retention_ms >= 0 && s->max_timestamp >= 0 && s->max_timestamp < now_ms - config_.retention_ms;
    bool by_size = config_.retention_bytes >= 0 && total - s->size >= config_.retention_bytes;
    if (!config_.cleanup_delete) by_time = by_size = false;  // cleanup.policy=compact: the cleaner's
    if (!by_time && !by_size) break;
    ++change_epoch_;
    spdlog::info("[Log partition={}] Deleting segment {} by retention ({})", name(), fs::path(s->log_path).filename().string(),
                 by_time ? "retention.ms" : "retention.bytes");
    total -= s->size;
    delete_segment(s);
    segments_.erase(segments_.begin());
    ++deleted;
  }
  log_start_offset_ = std::max(log_start_offset_, segments_.front()->base_offset);
  publish_gauges();
  if (deleted > 0) {
    ProducerStateManager::delete_snapshots_before(dir_, segments_.front()->base_offset);
    std::lock_guard<std::mutex> pg(pstate_mu_);
    producers_.on_log_start_offset(log_start_offset_);
    publish_first_unstable();
  }
  return deleted;
}

void Log::roll_if_needed(int64_t now_ms) {
  drain();
  std::shared_ptr<Segment> active;
  {
    std::lock_guard<std::mutex> g(mu_);
    active = segments_.back();
  }
  auto& s = *active;
  if (s.size == 0) return;
  int64_t born = s.first_timestamp >= 0 ? std::min(s.first_timestamp, s.created_ms) : s.created_ms;
  if (now_ms - born >= config_.segment_ms) roll();
}

void Log::roll() {
  drain();
  std::shared_ptr<Segment> old;
  {
    std::lock_guard<std::mutex> g(mu_);
    old = segments_.back();
  }
  if (old->size == 0) return;
  auto s = new_segment(log_end_offset_.load());
  {
    std::lock_guard<std::mutex> g(mu_);
    trim(*old);
    segments_.push_back(std::move(s));
    publish_gauges();
  }
  take_producer_snapshot(false);  // `<new segment base>.snapshot`: small, not synced (a process crash loses nothing)
}

void Log::close() {
  drain();
  if (closed_) return;
  close_snapshot_ = take_producer_snapshot(true);
  flush(log_end_offset_.load());
  std::lock_guard<std::mutex> g(mu_);
  closed_ = true;
  if (!segments_.empty()) trim(*segments_.back());
}

void Log::remove() {
  drain();
  std::lock_guard<std::mutex> g(mu_);
  closed_ = true;
  ++change_epoch_;
  for (auto& s : segments_) {
    s->retired = true;
    s->file->close_cached();
    s->index_file->close_cached();
    s->time_file->close_cached();
  }
  segments_.clear();
  publish_gauges();
  std::error_code ec;
  fs::remove_all(dir_, ec);
}

}  // namespace flotilla::storage
