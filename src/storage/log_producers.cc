// Log: the idempotent and transactional producers' state (storage/
// producer_state.h) as the log keeps it — applying appended batches and
// completed transactions, the last stable offset, the cleaner's view, and
// rebuilding the state from a snapshot plus a replay of the batches after it.
//
// Invariants: after open, append, truncation or cleaning, the state is that of
// the whole log up to its end; each segment's .txnindex holds exactly the
// ABORT markers of its offsets whose transaction had data, each entry with
// Kafka's last stable offset at its marker (a replay from offset X first
// drops the entries with last offset >= X, so it never duplicates them).
//
// Threading: the owning thread changes producers_ under pstate_mu_ (the
// cleaner's thread reads it through producer_last_batch_offsets() and
// first_uncleanable_offset()); lock order mu_ before pstate_mu_.
#include "storage/log.h"

#include <spdlog/spdlog.h>

#include <algorithm>

#include "storage/segment.h"

namespace flotilla::storage {

using records::BatchHeader;

void Log::apply_to_producers(const BatchHeader& h, std::span<const uint8_t> batch, std::vector<CompletedTxn>& completed) {
  if (auto done = producers_.apply(h, batch)) completed.push_back(*done);
}

void Log::complete_txns(std::vector<CompletedTxn>& completed, Segment& seg) {
  for (const auto& t : completed) {
    if (t.aborted) seg.txn->append(AbortedTxn{t.producer_id, t.first_offset, t.last_offset, producers_.last_stable_offset(t)});
    producers_.complete_txn(t);
  }
  completed.clear();
  publish_first_unstable();
}

void Log::set_cleanable_limit(int64_t offset) {
  cleanable_limit_.store(offset);
  std::lock_guard<std::mutex> pg(pstate_mu_);
  producers_.on_high_watermark(offset);
  publish_first_unstable();
}

size_t Log::remove_expired_producers(int64_t now_ms, int64_t expiration_ms) {
  std::lock_guard<std::mutex> pg(pstate_mu_);
  return producers_.remove_expired(now_ms, expiration_ms);
}

void Log::publish_first_unstable() { first_unstable_offset_.store(producers_.first_unstable_offset().value_or(INT64_MAX)); }

int64_t Log::last_stable_offset(int64_t high_watermark) {
  std::lock_guard<std::mutex> pg(pstate_mu_);
  producers_.on_high_watermark(high_watermark);
  publish_first_unstable();
  std::optional<int64_t> fuo = producers_.first_unstable_offset();
  if (!fuo) return high_watermark;
  // Data below the log start is gone: its transactions no longer hold the LSO back (Kafka's).
  return std::min(high_watermark, std::max(*fuo, log_start_offset_));
}

std::unordered_map<int64_t, int64_t> Log::producer_last_batch_offsets() const {
  std::lock_guard<std::mutex> pg(pstate_mu_);
  std::unordered_map<int64_t, int64_t> out;
  for (const auto& e : producers_.entries())
    if (e.last_offset() >= 0) out.emplace(e.producer_id, e.last_offset());
  return out;
}

void Log::replay_producer_state_from(int64_t from) {
  from = std::max(from, log_start_offset_);
  if (segments_.empty() || from >= log_end_offset_.load()) return;
  for (size_t i = segment_index_for(from); i < segments_.size(); ++i) {
    Segment& s = *segments_[i];
    // The markers replayed below re-add their entries (idempotent replay).
    s.txn->truncate_to(from);
    auto file = s.file->acquire();  // pinned for this segment's walk
    BatchHeader h;
    int64_t pos = locate(s, file->fd, from, nullptr);
    std::vector<uint8_t> marker_bytes;
    std::vector<CompletedTxn> completed;
    while (pos < s.size && read_header(s, file->fd, pos, h)) {
      if (h.base_offset >= from) {
        marker_bytes.clear();
        if (h.is_control() && h.producer_id >= 0) {
          marker_bytes.resize(static_cast<size_t>(h.total_size()));
          if (!pread_fully(file->fd, marker_bytes.data(), marker_bytes.size(), pos)) marker_bytes.clear();
        }
        apply_to_producers(h, marker_bytes, completed);
        complete_txns(completed, s);
      }
      pos += h.total_size();
    }
  }
}

void Log::rebuild_producer_state() {
  const int64_t end = log_end_offset_.load();
  ProducerStateManager::delete_snapshots_after(dir_, end);
  std::lock_guard<std::mutex> pg(pstate_mu_);
  std::optional<int64_t> snap = producers_.load_latest_snapshot(dir_, end, log_start_offset_);
  const int64_t from = snap.value_or(log_start_offset_);
  // Entries of markers at or after the replay start are re-added by the replay.
  for (const auto& s : segments_) s->txn->truncate_to(std::max(from, log_start_offset_));
  replay_producer_state_from(from);
  producers_.set_map_end_offset(end);
  publish_first_unstable();
}

int64_t Log::take_producer_snapshot(bool sync) {
  if (producers_.empty() && ProducerStateManager::list_snapshots(dir_).empty()) return kNoProducerSnapshot;
  const int64_t end = log_end_offset_.load();
  producers_.set_map_end_offset(end);
  try {
    producers_.write_snapshot(dir_, sync);
  } catch (const std::exception& e) {
    spdlog::warn("[Log partition={}] Cannot write the producer snapshot: {}", name(), e.what());
    return kProducerSnapshotFailed;
  }
  int64_t first_base;
  {
    std::lock_guard<std::mutex> g(mu_);
    first_base = segments_.empty() ? 0 : segments_.front()->base_offset;
  }
  ProducerStateManager::delete_snapshots_before(dir_, first_base);
  return end;
}

}  // namespace flotilla::storage
