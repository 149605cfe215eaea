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

#include "common/bytes.h"
#include "common/clock.h"
#include "common/crc32c.h"
#include "storage/segment.h"

namespace flotilla::storage {

namespace fs = std::filesystem;
using records::BatchHeader;
using records::kHeaderSize;
using records::kLogOverhead;

std::unique_ptr<Log> Log::open(const std::string& dir, const LogConfig& config, Uuid topic_id, int64_t recovery_point, bool clean_shutdown,
                               int parent_fd) {
  const size_t slash = dir.rfind('/');
  const char* name = parent_fd == AT_FDCWD || slash == std::string::npos ? dir.c_str() : dir.c_str() + slash + 1;
  int dir_fd = ::openat(parent_fd, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir_fd < 0 && errno == ENOENT) {
    fs::create_directories(dir);
    dir_fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  }
  if (dir_fd < 0) throw fs::filesystem_error("cannot open", dir, std::error_code(errno, std::generic_category()));
  struct DirFd {
    int fd;
    ~DirFd() { ::close(fd); }
  } guard{dir_fd};
  std::unique_ptr<Log> log(new Log(dir, config, topic_id));
  if (auto existing = read_partition_metadata(dir_fd)) {
    if (!topic_id.is_zero() && *existing != topic_id)
      throw StorageError("partition.metadata in " + dir + " names topic id " + existing->to_string() + ", expected " +
                         topic_id.to_string());
    log->topic_id_ = *existing;
  } else if (!topic_id.is_zero()) {
    write_partition_metadata(dir, topic_id);
  }
  log->load(recovery_point, clean_shutdown, dir_fd);
  return log;
}

namespace {
// Whether an index file is as long as the entries the walk found (a clean
// shutdown's are: they are written entry by entry and cut at each load).
bool index_file_matches(int dir_fd, const std::string& name, int64_t size) {
  struct stat st;
  return ::fstatat(dir_fd, name.c_str(), &st, 0) == 0 && st.st_size == size;
}
// Writes a segment's in-memory indexes over its files, cut to length (an
// index that does not match its log after a clean shutdown: the walk
// truncated a bad batch, or the index interval changed since).
void rewrite_index_files(Segment& s) {
  std::vector<uint8_t> bytes(s.index.size() * 8);
  for (size_t k = 0; k < s.index.size(); ++k) {
    store_be32(&bytes[k * 8], static_cast<uint32_t>(s.index[k].first));
    store_be32(&bytes[k * 8 + 4], static_cast<uint32_t>(s.index[k].second));
  }
  rewrite_file_in_place(s.path(".index"), std::string(bytes.begin(), bytes.end()));
  bytes.assign(s.tindex.size() * 12, 0);
  for (size_t k = 0; k < s.tindex.size(); ++k) {
    store_be64(&bytes[k * 12], static_cast<uint64_t>(s.tindex[k].first));
    store_be32(&bytes[k * 12 + 8], static_cast<uint32_t>(s.tindex[k].second));
  }
  rewrite_file_in_place(s.path(".timeindex"), std::string(bytes.begin(), bytes.end()));
}
// An index file rebuilt in place ends where its entries end (a longer one
// held entries of data since truncated, or of another index interval).
void fit_index_file(int fd, int64_t size, const std::string& path) {
  struct stat st;
  if (::fstat(fd, &st) != 0) fail("cannot stat", path);
  if (st.st_size != size && ::ftruncate(fd, size) != 0) fail("cannot truncate", path);
}
}  // namespace

void Log::load(int64_t recovery_point, bool clean_shutdown, int dir_fd) {
  // One listing of the directory serves every question below (a start-up
  // opens thousands of partitions: each listing is several system calls).
  std::vector<std::string> entries = list_dir_names(dir_fd, dir_);
  // The log cleaner's interrupted segment replacements first (they may still
  // need files the loop below removes); then the directory as they left it.
  if (std::any_of(entries.begin(), entries.end(), [](const std::string& n) { return n.ends_with(".swap"); })) {
    complete_swaps(dir_);
    entries = list_dir_names(dir_fd, dir_);
  }
  std::vector<int64_t> bases;
  std::vector<fs::path> txn_indexes;
  std::map<int64_t, fs::path> producer_snapshots;
  // The segments whose .index / .timeindex exist (a clean shutdown's are trusted, below).
  std::vector<int64_t> with_index, with_time_index;
  for (const auto& name : entries) {
    // A path only where one is needed: each costs several allocations.
    auto path = [&] { return fs::path(dir_) / name; };
    if (name.ends_with(".deleted") || name.ends_with(".cleaned") || name.ends_with(".swap") || name.ends_with(".tmp")) {
      fs::remove(path());
      continue;
    }
    if (name.size() == 24 && name.ends_with(".log")) bases.push_back(std::stoll(name.substr(0, 20)));
    else if (name.size() == 26 && name.ends_with(".index")) with_index.push_back(std::stoll(name.substr(0, 20)));
    else if (name.size() == 30 && name.ends_with(".timeindex")) with_time_index.push_back(std::stoll(name.substr(0, 20)));
    else if (name.size() == 29 && name.ends_with(".txnindex")) txn_indexes.push_back(path());
    else if (name == "leader-epoch-checkpoint") loaded_epoch_checkpoint_ = read_small_file(dir_fd, name.c_str());
    else if (auto offset = ProducerStateManager::snapshot_offset(name)) producer_snapshots.emplace(*offset, path());
  }
  if (!loaded_epoch_checkpoint_) loaded_epoch_checkpoint_ = std::string();  // listed: there is none
  std::sort(with_index.begin(), with_index.end());
  std::sort(with_time_index.begin(), with_time_index.end());
  std::vector<int64_t> txn_bases;
  std::sort(bases.begin(), bases.end());
  // A .txnindex without its segment (left by a crash during a deletion) describes nothing.
  for (const auto& path : txn_indexes) {
    const int64_t base = std::stoll(path.filename().string().substr(0, 20));
    if (!std::binary_search(bases.begin(), bases.end(), base)) {
      std::error_code ec;
      fs::remove(path, ec);
    } else {
      txn_bases.push_back(base);
    }
  }
  std::sort(txn_bases.begin(), txn_bases.end());
  // Producer state: the newest snapshot, then the batches after it as the walk finds them.
  const std::optional<int64_t> producer_snapshot = producers_.load_latest_snapshot(std::move(producer_snapshots), INT64_MAX, 0);
  const int64_t producer_replay_from = producer_snapshot.value_or(INT64_MIN);
  int64_t truncated_bytes = 0;
  bool stop = false;
  for (size_t i = 0; i < bases.size(); ++i) {
    auto s = std::make_shared<Segment>();
    s->base_offset = bases[i];
    s->next_offset = bases[i];
    s->log_path = dir_ + "/" + offset_file_name(bases[i], ".log");
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
    const auto file = s->file->acquire(dir_fd);
    const int fd = file->fd;
    // The indexes are rebuilt from the walk. After a clean shutdown the files
    // already hold what the walk finds (every entry was written, and they
    // were cut to length at the last load): they are checked by size after
    // the walk and only rewritten if they differ — two stats instead of
    // opening, writing and cutting both, a third of a start-up's system calls
    // per partition. Otherwise they are written over as the walk goes and cut
    // to length after it. Not O_TRUNC: ext4 (auto_da_alloc) writes a file's
    // pending data back before truncating it to zero, which made a start-up
    // after a clean shutdown wait on the disk for every segment.
    const bool check_indexes = clean_shutdown && std::binary_search(with_index.begin(), with_index.end(), bases[i]) &&
                               std::binary_search(with_time_index.begin(), with_time_index.end(), bases[i]);
    std::unique_ptr<CachedFile> index_file, time_file;
    IndexPins pins;
    if (check_indexes) {  // the walk keeps its entries in memory (track_batch writes only through attached files)
      index_file = std::move(s->index_file);
      time_file = std::move(s->time_file);
    } else {
      pins = IndexPins{s->index_file->open_with(O_RDWR | O_CREAT), s->time_file->open_with(O_RDWR | O_CREAT)};
    }
    s->txn = std::make_unique<TxnIndex>(s->path(".txnindex"), std::binary_search(txn_bases.begin(), txn_bases.end(), bases[i]));
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
      // One read serves both questions: zeros (a preallocated, never written
      // tail: a crash before the trim) or a batch header.
      uint8_t head[kHeaderSize];
      const size_t head_len = static_cast<size_t>(std::min<int64_t>(kHeaderSize, file_size - pos));
      const bool head_read = pread_fully(fd, head, head_len, pos);
      if (head_read && std::all_of(head, head + std::min<size_t>(head_len, kLogOverhead), [](uint8_t x) { return x == 0; })) {
        // The segment's data ends here; the active one keeps its zeros.
        s->size = pos;
        if (i + 1 < bases.size()) trim(*s);
        break;
      }
      BatchHeader h;
      const char* bad = nullptr;
      if (!head_read || head_len < kHeaderSize || !records::parse_header(std::span<const uint8_t>(head, kHeaderSize), h))
        bad = "torn batch header";
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
        spdlog::warn("[Log partition={}] {} at position {} of {}: truncating {} bytes (the log ends at offset {})", name(),
                     bad, pos, fs::path(s->log_path).filename().string(), file_size - pos, s->next_offset);
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
    if (check_indexes) {
      s->index_file = std::move(index_file);
      s->time_file = std::move(time_file);
      if (!index_file_matches(dir_fd, offset_file_name(s->base_offset, ".index"), static_cast<int64_t>(s->index.size()) * 8) ||
          !index_file_matches(dir_fd, offset_file_name(s->base_offset, ".timeindex"), static_cast<int64_t>(s->tindex.size()) * 12))
        rewrite_index_files(*s);
    } else {
      fit_index_file(pins.index->fd, static_cast<int64_t>(s->index.size()) * 8, s->path(".index"));
      fit_index_file(pins.time->fd, static_cast<int64_t>(s->tindex.size()) * 12, s->path(".timeindex"));
    }
    s->flushed_size = s->size;
    segments_.push_back(s);
  }
  if (truncated_bytes > 0)
    spdlog::warn("[Log partition={}] Recovery truncated {} bytes of torn or corrupt data", name(), truncated_bytes);
  if (segments_.empty()) segments_.push_back(new_segment(std::max<int64_t>(recovery_point, 0) > 0 ? 0 : 0));
  // An empty trailing segment may sit behind a non-empty one after truncation.
  log_start_offset_ = segments_.front()->base_offset;
  int64_t end = segments_.back()->next_offset;
  for (const auto& s : segments_) end = std::max(end, s->next_offset);
  log_end_offset_ = end;
  flushed_offset_ = end;
  {
    std::lock_guard<std::mutex> g(mu_);
    publish_gauges();
  }
  // The index ends with the log (entries of markers cut off by the recovery go).
  for (const auto& s : segments_) s->txn->truncate_to(end);
  if (producer_snapshot && *producer_snapshot > end) {
    rebuild_producer_state();  // the log ends before the snapshot (lost unsynced writes): an older one
  } else {
    std::lock_guard<std::mutex> pg(pstate_mu_);
    publish_first_unstable();
    producers_.set_map_end_offset(end);
    if (producer_snapshot || !producers_.empty())
      spdlog::info("[Log partition={}] Producer state: {} producer(s), from {} and the batches after it", name(),
                   producers_.size(), producer_snapshot ? offset_file_name(*producer_snapshot, ".snapshot") : std::string("the whole log"));
  }
}

}  // namespace flotilla::storage

namespace flotilla::storage {

std::optional<LogSummary> Log::summarize(std::string epoch_checkpoint) const {
  std::lock_guard<std::mutex> g(mu_);
  // Only what a load would rebuild the same way: a closed log whose producer
  // state is in a snapshot at its end (or was empty with no snapshot at all).
  if (!closed_ || failed_ || !pending_.empty() || segments_.empty() || close_snapshot_ == kProducerSnapshotFailed ||
      (close_snapshot_ >= 0 && close_snapshot_ != log_end_offset_.load()))
    return std::nullopt;
  LogSummary out;
  out.name = name();
  out.topic_id = topic_id_;
  out.epoch_checkpoint = std::move(epoch_checkpoint);
  out.producer_snapshot = close_snapshot_;
  out.segments.reserve(segments_.size());
  for (const auto& s : segments_) {
    if (s->allocated != s->size) return std::nullopt;  // close() trims; a preallocated tail is for a load to find
    SegmentSummary ss;
    ss.base_offset = s->base_offset;
    ss.next_offset = s->next_offset;
    ss.size = s->size;
    ss.bytes_since_index = s->bytes_since_index;
    ss.max_timestamp = s->max_timestamp;
    ss.max_timestamp_offset = s->max_timestamp_offset;
    ss.first_timestamp = s->first_timestamp;
    ss.has_txn_index = !s->txn->empty();
    ss.index = s->index;
    ss.tindex = s->tindex;
    out.segments.push_back(std::move(ss));
  }
  return out;
}

std::unique_ptr<Log> Log::restore(const std::string& dir, const LogConfig& config, LogSummary&& summary, int parent_fd) {
  const size_t slash = dir.rfind('/');
  const std::string relative = parent_fd == AT_FDCWD || slash == std::string::npos ? dir : dir.substr(slash + 1);
  for (const auto& ss : summary.segments) {
    struct stat st;
    const std::string file = relative + "/" + offset_file_name(ss.base_offset, ".log");
    if (::fstatat(parent_fd, file.c_str(), &st, 0) != 0 || st.st_size != ss.size) {
      spdlog::info("[Log partition={}] {} is not as the clean shutdown left it: loading the log from its files", summary.name,
                   offset_file_name(ss.base_offset, ".log"));
      return nullptr;
    }
  }
  std::unique_ptr<Log> log(new Log(dir, config, summary.topic_id));
  const int64_t now = wall_clock_ms();
  int64_t end = 0;
  for (auto& ss : summary.segments) {
    auto s = std::make_shared<Segment>();
    s->base_offset = ss.base_offset;
    s->next_offset = ss.next_offset;
    s->size = ss.size;
    s->allocated = ss.size;
    s->flushed_size = ss.size;
    s->log_path = dir + "/" + offset_file_name(ss.base_offset, ".log");
    s->attach_files();  // opened on first use, through the fd cache
    s->index = std::move(ss.index);
    s->tindex = std::move(ss.tindex);
    s->bytes_since_index = ss.bytes_since_index;
    s->max_timestamp = ss.max_timestamp;
    s->max_timestamp_offset = ss.max_timestamp_offset;
    s->first_timestamp = ss.first_timestamp;
    s->created_ms = now;
    s->txn = std::make_unique<TxnIndex>(s->path(".txnindex"), ss.has_txn_index);
    end = std::max(end, s->next_offset);
    log->segments_.push_back(std::move(s));
  }
  log->log_start_offset_ = log->segments_.front()->base_offset;
  log->log_end_offset_ = end;
  log->flushed_offset_ = end;
  {
    std::lock_guard<std::mutex> g(log->mu_);
    log->publish_gauges();
  }
  log->loaded_epoch_checkpoint_ = std::move(summary.epoch_checkpoint);
  if (summary.producer_snapshot >= 0) {
    std::optional<int64_t> loaded;
    {
      std::lock_guard<std::mutex> pg(log->pstate_mu_);
      std::map<int64_t, fs::path> snaps{{summary.producer_snapshot, fs::path(dir) / offset_file_name(summary.producer_snapshot, ".snapshot")}};
      loaded = log->producers_.load_latest_snapshot(std::move(snaps), INT64_MAX, 0);
    }
    if (loaded != end) {
      // Unreadable (or not at the end): from the older snapshots and the log, as a load does.
      spdlog::warn("[Log partition={}] The producer snapshot at {} could not be loaded: rebuilding the producer state from the log",
                   log->name(), summary.producer_snapshot);
      log->rebuild_producer_state();
      return log;
    }
  }
  std::lock_guard<std::mutex> pg(log->pstate_mu_);
  log->publish_first_unstable();
  log->producers_.set_map_end_offset(end);
  return log;
}

}  // namespace flotilla::storage
