// Log: opening a partition directory and recovering its tail. Files a crash
// left behind (swaps the cleaner committed, .deleted/.cleaned/.tmp files,
// orphaned .txnindex files) are finished or removed first; then every segment's
// batch chain is walked, rebuilding the in-memory indexes and the producer
// state after its newest snapshot.
//
// Invariants after load: the log ends at the last batch that checked out
// (size, magic, offsets; the CRC too past the recovery point and in the last
// segment, unless the previous shutdown was clean); everything after the
// first bad batch is gone (a torn tail is truncated, and logged, never
// served); each segment's .txnindex holds exactly the ABORT markers of its
// offsets (a replay first drops the entries it will re-add).
//
// Threading: runs inside Log::open, before the log is shared.
#include "storage/log.h"

#include <fcntl.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <map>

#include "common/clock.h"
#include "common/crc32c.h"
#include "storage/segment.h"

namespace flotilla::storage {

namespace fs = std::filesystem;
using records::BatchHeader;
using records::kHeaderSize;
using records::kLogOverhead;

std::unique_ptr<Log> Log::open(const fs::path& dir, const LogConfig& config, Uuid topic_id, int64_t recovery_point, bool clean_shutdown) {
  fs::create_directories(dir);
  std::unique_ptr<Log> log(new Log(dir, config, topic_id));
  if (auto existing = read_partition_metadata(dir)) {
    if (!topic_id.is_zero() && *existing != topic_id)
      throw StorageError("partition.metadata in " + dir.string() + " names topic id " + existing->to_string() + ", expected " +
                         topic_id.to_string());
    log->topic_id_ = *existing;
  } else if (!topic_id.is_zero()) {
    write_partition_metadata(dir, topic_id);
  }
  log->load(recovery_point, clean_shutdown);
  return log;
}

namespace {
// A preallocated, never written tail: zeros where the next batch header would be.
bool zero_tail(int fd, int64_t pos, int64_t file_size) {
  uint8_t b[records::kLogOverhead];
  size_t n = static_cast<size_t>(std::min<int64_t>(sizeof b, file_size - pos));
  if (n == 0 || !pread_fully(fd, b, n, pos)) return false;
  return std::all_of(b, b + n, [](uint8_t x) { return x == 0; });
}
// An index file rebuilt in place ends where its entries end (a longer one
// held entries of data since truncated, or of another index interval).
void fit_index_file(int fd, int64_t size, const fs::path& path) {
  struct stat st;
  if (::fstat(fd, &st) != 0) fail("cannot stat", path);
  if (st.st_size != size && ::ftruncate(fd, size) != 0) fail("cannot truncate", path);
}
}  // namespace

void Log::load(int64_t recovery_point, bool clean_shutdown) {
  // One listing of the directory serves every question below (a start-up
  // opens thousands of partitions: each listing is several system calls).
  auto list = [&] {
    std::vector<fs::path> names;
    for (const auto& e : fs::directory_iterator(dir_)) names.push_back(e.path());
    return names;
  };
  std::vector<fs::path> entries = list();
  // The log cleaner's interrupted segment replacements first (they may still
  // need files the loop below removes); then the directory as they left it.
  if (std::any_of(entries.begin(), entries.end(), [](const fs::path& p) { return p.filename().string().ends_with(".swap"); })) {
    complete_swaps(dir_);
    entries = list();
  }
  std::vector<int64_t> bases;
  std::vector<fs::path> txn_indexes;
  std::map<int64_t, fs::path> producer_snapshots;
  for (const auto& path : entries) {
    std::string name = path.filename().string();
    if (name.ends_with(".deleted") || name.ends_with(".cleaned") || name.ends_with(".swap") || name.ends_with(".tmp")) {
      fs::remove(path);
      continue;
    }
    if (name.size() == 24 && name.ends_with(".log")) bases.push_back(std::stoll(name.substr(0, 20)));
    else if (name.size() == 29 && name.ends_with(".txnindex")) txn_indexes.push_back(path);
    else if (auto offset = ProducerStateManager::snapshot_offset(name)) producer_snapshots.emplace(*offset, path);
  }
  std::sort(bases.begin(), bases.end());
  // A .txnindex without its segment (left by a crash during a deletion) describes nothing.
  for (const auto& path : txn_indexes) {
    if (!std::binary_search(bases.begin(), bases.end(), std::stoll(path.filename().string().substr(0, 20)))) {
      std::error_code ec;
      fs::remove(path, ec);
    }
  }
  // Producer state: the newest snapshot, then the batches after it as the walk finds them.
  const std::optional<int64_t> producer_snapshot = producers_.load_latest_snapshot(std::move(producer_snapshots), INT64_MAX, 0);
  const int64_t producer_replay_from = producer_snapshot.value_or(INT64_MIN);
  int64_t truncated_bytes = 0;
  bool stop = false;
  for (size_t i = 0; i < bases.size(); ++i) {
    auto s = std::make_shared<Segment>();
    s->base_offset = bases[i];
    s->next_offset = bases[i];
    s->log_path = dir_ / offset_file_name(bases[i], ".log");
    if (stop) {  // everything after a corrupt batch goes
      truncated_bytes += static_cast<int64_t>(fs::file_size(s->log_path));
      fs::remove(s->log_path);
      fs::remove(s->path(".index"));
      fs::remove(s->path(".timeindex"));
      fs::remove(s->path(".txnindex"));
      continue;
    }
    // Opened, walked and released: pinned only for this segment's walk, so a
    // start-up never holds more descriptors than the cache's bound (+ these).
    s->attach_files();
    const auto file = s->file->acquire();
    const int fd = file->fd;
    // The indexes are rebuilt from the walk, written over what the files hold
    // and cut to their length after it. Not O_TRUNC: ext4 (auto_da_alloc)
    // writes a file's pending data back before truncating it to zero, which
    // made a start-up after a clean shutdown wait on the disk for every segment.
    IndexPins pins{s->index_file->open_with(O_RDWR | O_CREAT), s->time_file->open_with(O_RDWR | O_CREAT)};
    s->txn = std::make_unique<TxnIndex>(s->path(".txnindex"));
    // The markers at or after the replay start are applied again below and
    // re-add their entries: drop them first (idempotent recovery).
    s->txn->truncate_to(producer_replay_from);
    struct stat st;
    if (::fstat(fd, &st) != 0) fail("cannot stat", s->log_path);
    int64_t file_size = st.st_size;
    s->size = file_size;
    s->allocated = file_size;
    s->created_ms = wall_clock_ms();
    // Walk the batch chain; verify CRCs past the recovery point (and always in
    // the last segment, where a crash tears writes) unless the log was closed
    // cleanly: then everything was flushed, and reading every record of every
    // active segment would make a restart cost as much as the data it holds.
    bool verify = !clean_shutdown && ((i + 1 == bases.size()) || (i + 1 < bases.size() && bases[i + 1] > recovery_point));
    int64_t pos = 0;
    std::vector<uint8_t> buf;
    while (pos < file_size) {
      if (zero_tail(fd, pos, file_size)) {
        // Preallocated and never written (a crash before the trim): the
        // segment's data ends here; the active one keeps its zeros.
        s->size = pos;
        if (i + 1 < bases.size()) trim(*s);
        break;
      }
      BatchHeader h;
      const char* bad = nullptr;
      if (!read_header(*s, fd, pos, h)) bad = "torn batch header";
      else if (h.magic != 2) bad = "bad magic";
      else if (h.batch_length < static_cast<int32_t>(kHeaderSize - kLogOverhead)) bad = "bad batch length";
      else if (pos + h.total_size() > file_size) bad = "torn batch";
      else if (h.base_offset < s->next_offset || h.last_offset_delta < 0) bad = "offsets out of order";
      else if (verify) {
        buf.resize(static_cast<size_t>(h.total_size()));
        if (!pread_fully(fd, buf.data(), buf.size(), pos)) bad = "unreadable batch";
        else if (crc32c(buf.data() + records::kAttributesOffset, buf.size() - records::kAttributesOffset) != h.crc) bad = "CRC mismatch";
      }
      if (bad) {
        spdlog::warn("[Log partition={}] {} at position {} of {}: truncating {} bytes (the log ends at offset {})", dir_.filename().string(),
                     bad, pos, s->log_path.filename().string(), file_size - pos, s->next_offset);
        truncated_bytes += file_size - pos;
        if (::ftruncate(fd, pos) != 0) fail("cannot truncate", s->log_path);
        s->size = pos;
        s->allocated = pos;
        stop = true;
        break;
      }
      track_batch(*s, h, pos, config_.index_interval_bytes, pins);
      if (h.base_offset >= producer_replay_from) {
        std::vector<uint8_t> marker_bytes;
        if (h.is_control() && h.producer_id >= 0) {
          marker_bytes.resize(static_cast<size_t>(h.total_size()));
          if (!pread_fully(fd, marker_bytes.data(), marker_bytes.size(), pos)) marker_bytes.clear();
        }
        std::lock_guard<std::mutex> pg(pstate_mu_);
        std::vector<CompletedTxn> completed;
        apply_to_producers(h, marker_bytes, completed);
        complete_txns(completed, *s);  // per batch, as Kafka's recovery
      }
      pos += h.total_size();
    }
    fit_index_file(pins.index->fd, static_cast<int64_t>(s->index.size()) * 8, s->path(".index"));
    fit_index_file(pins.time->fd, static_cast<int64_t>(s->tindex.size()) * 12, s->path(".timeindex"));
    s->flushed_size = s->size;
    segments_.push_back(s);
  }
  if (truncated_bytes > 0)
    spdlog::warn("[Log partition={}] Recovery truncated {} bytes of torn or corrupt data", dir_.filename().string(), truncated_bytes);
  if (segments_.empty()) segments_.push_back(new_segment(std::max<int64_t>(recovery_point, 0) > 0 ? 0 : 0));
  // An empty trailing segment may sit behind a non-empty one after truncation.
  log_start_offset_ = segments_.front()->base_offset;
  int64_t end = segments_.back()->next_offset;
  for (const auto& s : segments_) end = std::max(end, s->next_offset);
  log_end_offset_ = end;
  flushed_offset_ = end;
  // The index ends with the log (entries of markers cut off by the recovery go).
  for (const auto& s : segments_) s->txn->truncate_to(end);
  if (producer_snapshot && *producer_snapshot > end) {
    rebuild_producer_state();  // the log ends before the snapshot (lost unsynced writes): an older one
  } else {
    std::lock_guard<std::mutex> pg(pstate_mu_);
    publish_first_unstable();
    producers_.set_map_end_offset(end);
    if (producer_snapshot || !producers_.empty())
      spdlog::info("[Log partition={}] Producer state: {} producer(s), from {} and the batches after it", dir_.filename().string(),
                   producers_.size(), producer_snapshot ? offset_file_name(*producer_snapshot, ".snapshot") : std::string("the whole log"));
  }
}

}  // namespace flotilla::storage
