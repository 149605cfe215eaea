// Log: the log cleaner's side (storage/log_cleaner.h) — the segment views it
// plans from, the swap of cleaned segments into the list, and the start-up
// half of that swap's crash safety (complete_swaps).
//
// Invariants: a replacement is committed by renaming the cleaned file to
// `<base>.log.swap`; from then on a crash is completed at start-up, so the
// old segments' data and .txnindex entries are never lost and never doubled
// (entries are merged by last offset). Readers see the old list or the new
// one: the swap into segments_ happens under mu_, and it is refused if the
// log changed since the cleaner planned (change_epoch) or is closed.
//
// Threading: segment_views() and replace_segments() run on the cleaner's
// thread; complete_swaps() in Log::open, before the log is shared.
#include "storage/log.h"

#include <fcntl.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>

#include "common/bytes.h"
#include "common/clock.h"
#include "storage/segment.h"

namespace flotilla::storage {

namespace fs = std::filesystem;
using records::BatchHeader;
using records::kHeaderSize;
using records::kLogOverhead;

namespace {
int64_t mtime_ms(const fs::path& p) {
  struct stat st;  // by path: no descriptor needed
  if (::stat(p.c_str(), &st) != 0) return 0;
  return static_cast<int64_t>(st.st_mtim.tv_sec) * 1000 + st.st_mtim.tv_nsec / 1000000;
}

// The next offset of the batches in a segment file (its base if it has none),
// walking headers until the first one that does not parse.
int64_t scan_next_offset(int fd, int64_t base, int64_t file_size) {
  int64_t pos = 0, next = base;
  uint8_t buf[kHeaderSize];
  while (pos + static_cast<int64_t>(kHeaderSize) <= file_size && pread_fully(fd, buf, kHeaderSize, pos)) {
    BatchHeader h;
    if (!records::parse_header(std::span<const uint8_t>(buf, kHeaderSize), h) || h.magic != 2 ||
        h.batch_length < static_cast<int32_t>(kHeaderSize - kLogOverhead) || pos + h.total_size() > file_size)
      break;
    next = h.last_offset() + 1;
    pos += h.total_size();
  }
  return next;
}
}  // namespace

void complete_swaps(const fs::path& dir) {
  std::vector<fs::path> swaps;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(dir, ec)) {
    std::string name = e.path().filename().string();
    if (name.size() == 29 && name.ends_with(".log.swap")) swaps.push_back(e.path());
  }
  std::sort(swaps.begin(), swaps.end());
  for (const auto& swap : swaps) {
    std::string name = swap.filename().string();
    int64_t base = std::stoll(name.substr(0, 20));
    int fd = ::open(swap.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) continue;
    struct stat st;
    ::fstat(fd, &st);
    int64_t next = std::max(scan_next_offset(fd, base, st.st_size), base + 1);
    ::close(fd);
    // Aborted-transaction entries of the replaced segments: merged first, so
    // that a crash before the old files go loses none.
    {
      std::vector<AbortedTxn> merged;
      std::vector<fs::path> olds;
      for (const auto& e : fs::directory_iterator(dir, ec)) {
        std::string n = e.path().filename().string();
        if (n.size() != 29 || !n.ends_with(".txnindex")) continue;
        int64_t b = std::stoll(n.substr(0, 20));
        if (b < base || b >= next) continue;
        auto entries = TxnIndex::read_file(e.path());
        merged.insert(merged.end(), entries.begin(), entries.end());
        if (b != base) olds.push_back(e.path());
      }
      std::sort(merged.begin(), merged.end(), [](const AbortedTxn& a, const AbortedTxn& b) { return a.last_offset < b.last_offset; });
      merged.erase(std::unique(merged.begin(), merged.end(), [](const AbortedTxn& a, const AbortedTxn& b) { return a.last_offset == b.last_offset; }),
                   merged.end());
      TxnIndex(dir / offset_file_name(base, ".txnindex")).reset(std::move(merged));
      for (const auto& o : olds) fs::remove(o, ec);
    }
    for (const auto& e : fs::directory_iterator(dir, ec)) {
      std::string n = e.path().filename().string();
      if (n.size() != 24 || !n.ends_with(".log")) continue;
      int64_t b = std::stoll(n.substr(0, 20));
      if (b < base || b >= next) continue;
      fs::path p = e.path();
      fs::remove(p, ec);
      p.replace_extension(".index");
      fs::remove(p, ec);
      p.replace_extension(".timeindex");
      fs::remove(p, ec);
    }
    fs::path log = dir / offset_file_name(base, ".log");
    fs::rename(swap, log);
    spdlog::info("[Log partition={}] Completed the swap of cleaned segment {} (offsets {} to {})", dir.filename().string(),
                 log.filename().string(), base, next - 1);
  }
}

std::vector<SegmentView> Log::segment_views() const {
  std::lock_guard<std::mutex> g(mu_);
  std::vector<SegmentView> out;
  out.reserve(segments_.size());
  for (const auto& s : segments_) {
    SegmentView v;
    v.base_offset = s->base_offset;
    v.next_offset = s->next_offset;
    v.size = s->size;
    v.first_timestamp = s->first_timestamp;
    v.max_timestamp = s->max_timestamp;
    v.last_modified_ms = mtime_ms(s->log_path);
    v.index_entries = s->index.size();
    v.file = s->file;
    v.aborted_txns = s->txn->entries();
    out.push_back(std::move(v));
  }
  return out;
}

bool Log::replace_segments(int64_t first_base, size_t count, const fs::path& cleaned, uint64_t epoch) {
  std::error_code ec;
  // Build the new segment (in-memory indexes) before taking the mutex.
  auto s = std::make_shared<Segment>();
  s->base_offset = first_base;
  s->next_offset = first_base;
  s->log_path = dir_ + "/" + offset_file_name(first_base, ".log");
  // Read through its own descriptor while it is still `cleaned`; the
  // segment's cached files name the final paths (attached after the renames).
  FileHandle built(open_file(cleaned, O_RDONLY));
  struct stat st;
  if (::fstat(built.fd, &st) != 0) fail("cannot stat", cleaned);
  s->size = st.st_size;
  s->allocated = st.st_size;
  s->flushed_size = st.st_size;
  s->created_ms = wall_clock_ms();
  int32_t interval = config_copy().index_interval_bytes;
  IndexPins no_pins;
  for (int64_t pos = 0; pos < s->size;) {
    BatchHeader h;
    if (!read_header(*s, built.fd, pos, h) || pos + h.total_size() > s->size) {
      fs::remove(cleaned, ec);
      throw StorageError("cleaned segment " + cleaned.string() + " is corrupt at position " + std::to_string(pos));
    }
    track_batch(*s, h, pos, interval, no_pins);  // in memory only: no index files attached yet
    pos += h.total_size();
  }
  std::lock_guard<std::mutex> g(mu_);
  size_t i = 0;
  while (i < segments_.size() && segments_[i]->base_offset != first_base) ++i;
  if (closed_ || epoch != change_epoch_.load() || i + count >= segments_.size() || count == 0) {
    fs::remove(cleaned, ec);
    return false;
  }
  // From here the replacement is committed: a crash completes it at start-up.
  fs::path swap = s->log_path;
  swap += ".swap";
  fs::rename(cleaned, swap);
  // The cleaned segment keeps every marker, so it keeps every aborted-txn
  // entry of the segments it replaces (they still describe its offsets).
  // Written before the old index files go and while the swap exists, so
  // complete_swaps can redo it.
  std::vector<AbortedTxn> merged;
  for (size_t k = i; k < i + count; ++k) {
    auto entries = segments_[k]->txn->entries();
    merged.insert(merged.end(), entries.begin(), entries.end());
  }
  s->txn = std::make_unique<TxnIndex>(s->path(".txnindex"));
  s->txn->reset(std::move(merged));  // replaces the old first segment's file atomically
  for (size_t k = i; k < i + count; ++k) {
    const auto& old = segments_[k];
    if (old->base_offset != first_base) {
      fs::remove(old->log_path, ec);
      fs::remove(old->path(".txnindex"), ec);
    }
    fs::remove(old->path(".index"), ec);
    fs::remove(old->path(".timeindex"), ec);
  }
  // The old segments' cached descriptors go: their paths are removed or replaced.
  for (size_t k = i; k < i + count; ++k) {
    segments_[k]->retired = true;
    segments_[k]->file->close_cached();
    segments_[k]->index_file->close_cached();
    segments_[k]->time_file->close_cached();
  }
  fs::rename(swap, s->log_path);  // replaces the first old segment's .log atomically
  s->attach_files();
  IndexPins pins{s->index_file->open_with(O_RDWR | O_CREAT | O_TRUNC), s->time_file->open_with(O_RDWR | O_CREAT | O_TRUNC)};
  std::vector<uint8_t> buf(s->index.size() * 8);
  for (size_t k = 0; k < s->index.size(); ++k) {
    store_be32(buf.data() + k * 8, static_cast<uint32_t>(s->index[k].first));
    store_be32(buf.data() + k * 8 + 4, static_cast<uint32_t>(s->index[k].second));
  }
  if (!buf.empty()) pwrite_all(pins.index->fd, buf.data(), buf.size(), 0, s->path(".index"));
  buf.assign(s->tindex.size() * 12, 0);
  for (size_t k = 0; k < s->tindex.size(); ++k) {
    store_be64(buf.data() + k * 12, static_cast<uint64_t>(s->tindex[k].first));
    store_be32(buf.data() + k * 12 + 8, static_cast<uint32_t>(s->tindex[k].second));
  }
  if (!buf.empty()) pwrite_all(pins.time->fd, buf.data(), buf.size(), 0, s->path(".timeindex"));
  // Keep the segment contiguous with the next one even if its tail records went.
  s->next_offset = std::max(s->next_offset, segments_[i + count - 1]->next_offset);
  segments_.erase(segments_.begin() + static_cast<long>(i), segments_.begin() + static_cast<long>(i + count));
  segments_.insert(segments_.begin() + static_cast<long>(i), std::move(s));
  publish_cleaned();
  return true;
}

}  // namespace flotilla::storage
