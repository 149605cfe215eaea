// The process-wide bounded cache of open log file descriptors (as Redpanda's
// fd cache; Kafka keeps every segment open and needs a huge RLIMIT_NOFILE).
// A segment's files (.log, .index, .timeindex, .txnindex) are reached through
// a CachedFile: its path and reopen flags, plus its node in the cache's LRU
// list. acquire() returns a pinned handle (shared_ptr<FileHandle>), reopening
// the file if the cache evicted it.
//
// Invariants:
//  - The cache holds at most capacity() descriptors of its own (the most
//    recently acquired files). Eviction drops only the cache's reference: a
//    pinned handle (a fetch response being sent with sendfile, a deferred
//    write on the AppendWriter thread, a cleaner reading a segment) keeps its
//    descriptor until released. Open log fds = cached (<= capacity) + pinned.
//  - A file evicted and reopened is the same file as long as its path names
//    it: whoever replaces or removes the file at a path first calls
//    CachedFile::close_cached() (or destroys the CachedFile), so no later
//    acquire() returns a descriptor of the old file by way of the cache.
//  - Reopening uses the CachedFile's flags, which never include O_TRUNC
//    (creation with truncation is done once, by the caller, via adopt()).
//  - Writes through an fd closed by eviction are not lost (they are in the
//    page cache); flush() reopens and fdatasyncs, which on Linux flushes the
//    file's dirty pages whichever descriptor wrote them.
//
// Threading: any thread (the event loop, the AppendWriter thread, the log
// cleaner, flush). One mutex guards the LRU list; it is held only for list
// operations (no allocation on a hit), never across open(2) or close(2):
// evicted descriptors are closed after it is released.
#pragma once

#include <fcntl.h>

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <mutex>
#include <vector>

namespace flotilla::storage {

// An open file descriptor, closed when the last reference goes.
struct FileHandle {
  int fd = -1;
  explicit FileHandle(int f) : fd(f) {}
  ~FileHandle();
  FileHandle(const FileHandle&) = delete;
  FileHandle& operator=(const FileHandle&) = delete;
};

class CachedFile;

class FdCache {
 public:
  explicit FdCache(size_t capacity);
  ~FdCache();
  FdCache(const FdCache&) = delete;
  FdCache& operator=(const FdCache&) = delete;

  // The cache every log uses (flotilla.log.fd.cache.size; set_capacity at start-up).
  static FdCache& global();
  // The default bound: half of the soft RLIMIT_NOFILE (at least 64).
  static size_t default_capacity();

  // Changes the bound (at least 1), evicting down to it.
  void set_capacity(size_t n);
  size_t capacity() const;
  size_t cached() const;  // descriptors the cache holds now
  struct Stats {
    uint64_t hits = 0, opens = 0, evictions = 0;
  };
  Stats stats() const;
  // Evicts a quarter of the cache (at least one entry): open(2) hit EMFILE/ENFILE.
  void shed();

 private:
  friend class CachedFile;
  struct Node {
    Node* prev = nullptr;
    Node* next = nullptr;
    std::shared_ptr<FileHandle> handle;  // the cache's reference; null when not cached
  };
  void link_front_locked(Node* n);
  void unlink_locked(Node* n);
  // Unlinks LRU entries while over the bound (or `extra` more), moving their handles to `out`.
  void evict_locked(std::vector<std::shared_ptr<FileHandle>>& out, size_t extra = 0);

  mutable std::mutex mu_;
  Node head_;  // sentinel: head_.next is the most recently used
  size_t count_ = 0;
  size_t capacity_;
  Stats stats_;
};

// One file reached through the cache. Not copyable; owned by its segment
// (shared, so that a cleaner's view of the segment may outlive it).
class CachedFile {
 public:
  // `flags`: open(2) flags of every (re)open (O_CLOEXEC is added; never O_TRUNC).
  CachedFile(std::string path, int flags, FdCache& cache = FdCache::global());
  ~CachedFile();  // drops the cache's entry (its fd closes once no pin holds it)
  CachedFile(const CachedFile&) = delete;
  CachedFile& operator=(const CachedFile&) = delete;

  // A pinned handle: the cached descriptor, or a new one (the file reopened).
  // Throws (storage::fail: LogDirIoError or PartitionIoError) if it cannot be opened.
  // `dir_fd`: its directory, open: a reopen is relative to it (a start-up
  // opening 100,000 logs spent a quarter of its time looking up full paths).
  std::shared_ptr<FileHandle> acquire(int dir_fd = AT_FDCWD);
  // Opens with `flags` (e.g. O_CREAT | O_TRUNC: a new file) and caches that descriptor.
  std::shared_ptr<FileHandle> open_with(int flags);
  // Closes the cached descriptor (pins keep theirs): before the path is
  // removed or replaced, so that the next acquire() opens what the path names.
  void close_cached();
  // Whether the cache holds a descriptor of it now (tests).
  bool is_cached() const;

  const std::string& path() const { return path_; }

 private:
  std::shared_ptr<FileHandle> install(std::shared_ptr<FileHandle> h);

  FdCache& cache_;
  std::string path_;  // a string, not a path: see Segment::path
  int flags_;
  FdCache::Node node_;
};

// open(2) of a log file with O_CLOEXEC and mode 0644; on EMFILE/ENFILE the
// global cache sheds entries and it retries once. Throws via storage::fail.
// `dir_fd` (not AT_FDCWD): p's directory, open; p's file name is opened in it.
int open_log_file(const std::string& p, int flags, int dir_fd = AT_FDCWD);

}  // namespace flotilla::storage
