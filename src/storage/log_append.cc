// Log: appends — a leader's client append (offsets assigned in place, the
// producer checks), a follower's append of batches the leader numbered, a
// leader's END_TXN marker — and the deferred writes of client appends.
//
// The produce path (storage/append_writer.h): Log::append with a WriteBatch
// does everything here on the owning thread but the write(2) of the batches,
// which it leaves as a PendingWrite for the AppendWriter thread. Invariants:
// a log's pending writes are a suffix of its active segment in offset order;
// the next append is numbered after them (append_offset()), but readers see
// them only once apply_written()/drain() applies them, oldest first (the
// segment's size and log_end_offset advance then, never before); a failed
// write is never applied, nor is anything after it, and the log takes no more
// appends (StorageError).
//
// Threading: the owning thread; the AppendWriter thread touches only the
// PendingWrites it was handed. segments_ is read under mu_ (the cleaner may
// be replacing older segments); producers_ changes under pstate_mu_.
#include "storage/log.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cstring>

#include "storage/segment.h"

namespace flotilla::storage {

using records::BatchHeader;

namespace {
constexpr int64_t kPreallocateStep = 256 << 10;

// Zero-fills the segment's file (`fd`) so that [0, end) is allocated and written.
void preallocate_to(Segment& s, int fd, int64_t end, int64_t limit) {
  if (end <= s.allocated) return;
  static const std::vector<uint8_t> zeros(1 << 16, 0);
  int64_t target = std::min(std::max(end, s.allocated + kPreallocateStep), std::max(end, limit));
  int64_t from = std::max(s.allocated, s.size);
  // Written zeros, not fallocate: blocks fallocate leaves "unwritten" cost a
  // metadata update again when first written. Small steps keep the extra
  // bytes of the next fdatasync small.
  for (int64_t pos = from; pos < target;) {
    size_t n = static_cast<size_t>(std::min<int64_t>(static_cast<int64_t>(zeros.size()), target - pos));
    pwrite_all(fd, zeros.data(), n, pos, s.log_path);
    pos += static_cast<int64_t>(n);
  }
  s.allocated = target;
}
}  // namespace

AppendInfo Log::append(std::span<uint8_t> batches, const records::Validation& v, int32_t leader_epoch, bool coordinator,
                       WriteBatch* deferred) {
  // A flush every N messages syncs what was written: such logs write at once.
  if (config_.flush_interval_messages != INT64_MAX) deferred = nullptr;
  if (!deferred) drain();
  throw_if_failed();
  int64_t first = append_offset();
  int64_t next = records::assign_offsets(batches, v, first, leader_epoch);
  std::vector<BatchHeader> headers;
  std::vector<size_t> positions;
  headers.reserve(v.batches.size());
  for (const auto& b : v.batches) {
    BatchHeader h = b.header;
    h.base_offset = first + (h.base_offset - h.base_offset);
    headers.push_back(h);
    positions.push_back(b.position);
  }
  // Fix base offsets of the copies (assign_offsets rewrote the bytes).
  int64_t o = first;
  for (auto& h : headers) {
    h.base_offset = o;
    o += h.last_offset_delta + 1;
  }
  // Idempotent producers: epoch and sequence checks, retried batches.
  if (ProducerCheck pc = producers_.check_client(headers, !coordinator); pc.error != ErrorCode::NONE || pc.duplicate) {
    AppendInfo info;
    info.error = pc.error;
    info.error_message = std::move(pc.message);
    if (pc.duplicate) {
      info.duplicate = true;
      info.first_offset = pc.duplicate->first_offset;
      info.last_offset = pc.duplicate->last_offset;
    }
    return info;
  }
  write_to_active(batches, first, next - 1, headers, positions, deferred);
  apply_appended(batches, headers, positions);
  AppendInfo info;
  info.first_offset = first;
  info.last_offset = next - 1;
  info.max_timestamp = v.max_timestamp;
  unflushed_messages_ += v.record_count;
  if (unflushed_messages_ >= config_.flush_interval_messages) flush(log_end_offset_.load());
  return info;
}

AppendInfo Log::append_as_follower(std::span<const uint8_t> batches) {
  drain();
  throw_if_failed();
  std::vector<BatchHeader> headers;
  std::vector<size_t> positions;
  size_t pos = 0;
  int64_t expect = log_end_offset_.load();
  while (pos < batches.size()) {
    BatchHeader h;
    if (!records::parse_header(batches.subspan(pos), h) || h.total_size() > static_cast<int64_t>(batches.size() - pos))
      throw StorageError("append_as_follower: partial batch");
    if (h.base_offset != expect)
      throw StorageError("append_as_follower: batch at offset " + std::to_string(h.base_offset) + ", log ends at " + std::to_string(expect));
    headers.push_back(h);
    positions.push_back(pos);
    expect = h.last_offset() + 1;
    pos += static_cast<size_t>(h.total_size());
  }
  AppendInfo info;
  if (headers.empty()) return info;
  info.first_offset = headers.front().base_offset;
  info.last_offset = headers.back().last_offset();
  write_to_active(batches, info.first_offset, info.last_offset, headers, positions);
  apply_appended(batches, headers, positions);
  return info;
}

void Log::apply_appended(std::span<const uint8_t> batches, const std::vector<BatchHeader>& headers, const std::vector<size_t>& positions) {
  std::shared_ptr<Segment> active;
  {
    std::lock_guard<std::mutex> g(mu_);
    active = segments_.back();  // write_to_active put the whole append in it
  }
  std::lock_guard<std::mutex> pg(pstate_mu_);
  // As Kafka's append: every batch first, then the completed transactions, so
  // that an entry's LSO counts transactions begun later in the same append.
  std::vector<CompletedTxn> completed;
  for (size_t i = 0; i < headers.size(); ++i)
    apply_to_producers(headers[i], batches.subspan(positions[i], static_cast<size_t>(headers[i].total_size())), completed);
  complete_txns(completed, *active);
}

AppendInfo Log::append_marker(int64_t producer_id, int16_t producer_epoch, int32_t coordinator_epoch, bool commit, int32_t leader_epoch,
                              int64_t now_ms) {
  drain();
  throw_if_failed();
  AppendInfo info;
  if (ProducerCheck pc = producers_.check_marker(producer_id, producer_epoch, coordinator_epoch); pc.error != ErrorCode::NONE) {
    info.error = pc.error;
    info.error_message = std::move(pc.message);
    return info;
  }
  const int64_t offset = log_end_offset_.load();
  records::BatchBuilder b(records::Compression::NONE, offset);
  b.set_producer(producer_id, producer_epoch, -1);
  b.set_control(true);
  b.set_transactional(true);
  b.set_partition_leader_epoch(leader_epoch);
  const std::vector<uint8_t> key = end_txn_marker_key(commit);
  const std::vector<uint8_t> value = end_txn_marker_value(coordinator_epoch);
  b.add(now_ms, std::span<const uint8_t>(key), std::span<const uint8_t>(value));
  const std::vector<uint8_t> bytes = b.build();
  BatchHeader h;
  records::parse_header(bytes, h);
  const std::vector<BatchHeader> headers{h};
  const std::vector<size_t> positions{0};
  write_to_active(bytes, offset, offset, headers, positions);
  apply_appended(bytes, headers, positions);
  info.first_offset = offset;
  info.last_offset = offset;
  info.max_timestamp = now_ms;
  unflushed_messages_ += 1;
  if (unflushed_messages_ >= config_.flush_interval_messages) flush(log_end_offset_.load());
  return info;
}

void Log::write_to_active(std::span<const uint8_t> data, int64_t first_offset, int64_t last_offset,
                          const std::vector<BatchHeader>& headers, const std::vector<size_t>& positions, WriteBatch* deferred) {
  std::shared_ptr<Segment> s;
  {
    std::lock_guard<std::mutex> g(mu_);  // the cleaner may be replacing older segments
    s = segments_.back();
  }
  int64_t at = pending_.empty() ? s->size : pending_.back()->position + static_cast<int64_t>(pending_.back()->size);
  int64_t rel_last = last_offset - s->base_offset;
  bool index_full = static_cast<int64_t>(s->index.size() + headers.size()) * 8 >= config_.max_index_bytes;
  if (at > 0 && (at + static_cast<int64_t>(data.size()) > config_.segment_bytes || rel_last > INT32_MAX || index_full)) {
    drain();  // a roll trims and closes the active segment: its writes must be done
    throw_if_failed();
    roll();
    std::lock_guard<std::mutex> g(mu_);
    s = segments_.back();
    at = s->size;
  }
  // Pinned for this append (and, deferred, until the writer thread is done
  // with it): the active segment's file is normally the cache's most recent entry.
  std::shared_ptr<FileHandle> file = s->file->acquire();
  if (config_.preallocate) preallocate_to(*s, file->fd, at + static_cast<int64_t>(data.size()), config_.segment_bytes);
  if (deferred) {
    auto w = std::make_shared<PendingWrite>();
    w->file = std::move(file);
    w->position = at;
    w->data = data.data();
    w->size = data.size();
    w->end_offset = last_offset + 1;
    pending_.push_back(w);
    deferred->writes.push_back(std::move(w));
  } else {
    pwrite_all(file->fd, data.data(), data.size(), at, s->log_path);
  }
  s->allocated = std::max(s->allocated, at + static_cast<int64_t>(data.size()));
  IndexPins pins;
  for (size_t i = 0; i < headers.size(); ++i)
    track_batch(*s, headers[i], at + static_cast<int64_t>(positions[i]), config_.index_interval_bytes, pins);
  if (!deferred) {
    s->size = at + static_cast<int64_t>(data.size());
    log_end_offset_ = last_offset + 1;
    publish_appended(*s);
  }
  (void)first_offset;
}

void Log::throw_if_failed() const {
  if (failed_) throw StorageError("an earlier write to " + name() + " failed; the log takes no more appends");
}

void Log::apply_front_pending() {
  std::shared_ptr<PendingWrite> w = std::move(pending_.front());
  pending_.pop_front();
  if (failed_) return;
  if (w->error != 0) {
    // What follows it may be written, but after a hole: nothing more becomes
    // visible, and a restart's recovery cuts the tail at the last valid batch.
    failed_ = true;
    spdlog::error("[Log partition={}] Write of {} bytes at position {} failed: {}; the log takes no more appends", name(),
                  w->size, w->position, std::strerror(w->error));
    return;
  }
  std::lock_guard<std::mutex> g(mu_);
  Segment& s = *segments_.back();  // pending writes are all in the active segment (a roll drains first)
  s.size = w->position + static_cast<int64_t>(w->size);
  log_end_offset_ = w->end_offset;
  publish_appended(s);
}

void Log::apply_written() {
  while (!pending_.empty() && pending_.front()->done()) apply_front_pending();
}

void Log::drain() {
  while (!pending_.empty()) {
    AppendWriter::write_or_wait(*pending_.front());
    apply_front_pending();
  }
}

}  // namespace flotilla::storage
