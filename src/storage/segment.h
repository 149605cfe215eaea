// One segment of a partition's log, as the Log's implementation files
// (log*.cc) share it; not an interface for other code, which sees segments
// through Log (and SegmentView for the cleaner).
//
// A segment is the .log file and its in-memory sparse indexes, mirrored to
// .index (int32 relative offset, int32 position) and .timeindex (int64
// timestamp, int32 relative offset), plus its `.txnindex`. Positions and
// sizes are in bytes of the .log file.
//
// Invariants: every batch in the segment has base offset >= base_offset, and
// next_offset is one past the last one's last offset; index entries are in
// increasing offset and position order (time entries in increasing
// timestamp); `size` counts only bytes readers may see (pending deferred
// writes excluded), `allocated` >= size is how far the file reaches (zeros of
// a preallocated tail beyond size).
//
// Threading: as the Log's (storage/log.h): segments are changed on the
// log's owning thread; the list of them is guarded by the log's mutex against
// flush() and the cleaner, which work on the segments they copied out of it.
#pragma once

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <filesystem>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "protocol/record_batch.h"
#include "storage/fd_cache.h"
#include "storage/file_io.h"
#include "storage/log.h"
#include "storage/txn_index.h"

namespace flotilla::storage {

struct Segment {
  int64_t base_offset = 0;
  std::string log_path;
  // The files, reached through the fd cache (storage/fd_cache.h): no
  // descriptor is held while idle; an operation pins what it uses.
  std::shared_ptr<CachedFile> file;        // .log (shared with the cleaner's views)
  std::unique_ptr<CachedFile> index_file;  // .index
  std::unique_ptr<CachedFile> time_file;   // .timeindex
  int64_t size = 0;
  int64_t next_offset = 0;  // last offset + 1
  std::vector<std::pair<int32_t, int32_t>> index;   // (relative offset, position)
  std::vector<std::pair<int64_t, int32_t>> tindex;  // (timestamp, relative offset)
  int64_t bytes_since_index = 0;
  int64_t max_timestamp = -1;
  int64_t max_timestamp_offset = -1;
  int64_t first_timestamp = -1;
  int64_t created_ms = 0;
  int64_t flushed_size = 0;
  int64_t allocated = 0;  // the file's size when preallocated beyond `size` (zeros), else `size`
  std::unique_ptr<TxnIndex> txn;  // `.txnindex`: the ABORT markers in this segment (never null once listed)
  // Taken out of the log's list (deleted, truncated away, replaced by the
  // cleaner): its paths may name nothing or another file now, so nothing may
  // reopen them. Set and read under the log's mutex.
  bool retired = false;

  // log_path with `suffix` for its extension. Paths are held as strings: a
  // std::filesystem::path costs ~600 bytes (its parsed components), and a
  // node holds several per partition (100,000 partitions: hundreds of MB).
  std::string path(const char* suffix) const {
    const size_t slash = log_path.rfind('/');
    const size_t dot = log_path.rfind('.');
    const bool has_ext = dot != std::string::npos && (slash == std::string::npos ? dot > 0 : dot > slash + 1);
    return log_path.substr(0, has_ext ? dot : log_path.size()) + suffix;
  }
  // Sets the files up for log_path: the .log reopened read-write (never
  // created on a reopen: a deleted segment stays deleted), the indexes likewise.
  void attach_files() {
    file = std::make_shared<CachedFile>(log_path, O_RDWR);
    index_file = std::make_unique<CachedFile>(path(".index"), O_RDWR);
    time_file = std::make_unique<CachedFile>(path(".timeindex"), O_RDWR);
  }
};

// The index files an operation writes through, acquired on first use and
// held until it ends (one acquire per operation, not per batch).
struct IndexPins {
  std::shared_ptr<FileHandle> index, time;
};

// Throws StorageError "<what> <path>: <strerror(errno)>".
[[noreturn]] void fail(const std::string& what, const std::filesystem::path& p);

// pwrite_fully, throwing StorageError on failure. Inline: the produce path
// writes through it.
inline void pwrite_all(int fd, const uint8_t* p, size_t n, int64_t off, const std::string& path) {
  if (int e = pwrite_fully(fd, p, n, off); e != 0) {
    errno = e;
    fail("write to", path);
  }
}

// open(2) with O_CLOEXEC and mode 0644; throws StorageError on failure
// (LogDirIoError, or PartitionIoError for EMFILE, EACCES, ... — open_log_file).
int open_file(const std::filesystem::path& p, int flags);

// The batch header at `pos` of s, read through `fd` (s's .log, pinned by the
// caller); false if it does not fit in s or does not parse.
inline bool read_header(const Segment& s, int fd, int64_t pos, records::BatchHeader& h) {
  uint8_t buf[records::kHeaderSize];
  if (pos + static_cast<int64_t>(records::kHeaderSize) > s.size) return false;
  if (!pread_fully(fd, buf, records::kHeaderSize, pos)) return false;
  return records::parse_header(std::span<const uint8_t>(buf, records::kHeaderSize), h);
}

// Records a batch that now sits at `pos` in segment s (indexes, timestamps);
// index entries are written through `pins` (acquired when first needed).
void track_batch(Segment& s, const records::BatchHeader& h, int64_t pos, int32_t interval, IndexPins& pins);

// Position of the batch containing `offset` in s (or s.size if past its end),
// with its header; `fd`: s's .log, pinned by the caller.
int64_t locate(const Segment& s, int fd, int64_t offset, records::BatchHeader* out);

// Cuts a preallocated segment's file back to its data.
void trim(Segment& s);

}  // namespace flotilla::storage
