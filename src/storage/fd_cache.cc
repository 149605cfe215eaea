// The bounded LRU of open log descriptors (storage/fd_cache.h): an intrusive
// list of the CachedFiles' nodes, most recently used first.
#include "storage/fd_cache.h"

#include <fcntl.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "storage/log_files.h"

namespace flotilla::storage {

namespace fs = std::filesystem;

FileHandle::~FileHandle() {
  if (fd >= 0) ::close(fd);
}

FdCache::FdCache(size_t capacity) : capacity_(std::max<size_t>(capacity, 1)) { head_.prev = head_.next = &head_; }

FdCache::~FdCache() {
  // CachedFiles outliving the cache (the global one lives until exit) are not expected.
  std::lock_guard<std::mutex> g(mu_);
  while (head_.next != &head_) {
    Node* n = head_.next;
    unlink_locked(n);
    n->handle.reset();
  }
}

FdCache& FdCache::global() {
  static FdCache* cache = new FdCache(default_capacity());  // never destroyed: segments may close after static destructors
  return *cache;
}

size_t FdCache::default_capacity() {
  struct rlimit rl;
  if (::getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur == RLIM_INFINITY) return 4096;
  return std::max<size_t>(64, static_cast<size_t>(rl.rlim_cur) / 2);
}

void FdCache::link_front_locked(Node* n) {
  n->prev = &head_;
  n->next = head_.next;
  head_.next->prev = n;
  head_.next = n;
}

void FdCache::unlink_locked(Node* n) {
  n->prev->next = n->next;
  n->next->prev = n->prev;
  n->prev = n->next = nullptr;
}

void FdCache::evict_locked(std::vector<std::shared_ptr<FileHandle>>& out, size_t extra) {
  while (count_ > 0 && count_ + extra > capacity_) {
    Node* victim = head_.prev;
    unlink_locked(victim);
    out.push_back(std::move(victim->handle));
    --count_;
    ++stats_.evictions;
  }
}

void FdCache::set_capacity(size_t n) {
  std::vector<std::shared_ptr<FileHandle>> closing;
  {
    std::lock_guard<std::mutex> g(mu_);
    capacity_ = std::max<size_t>(n, 1);
    evict_locked(closing);
  }
}  // closing's descriptors close here, outside the lock

void FdCache::shed() {
  std::vector<std::shared_ptr<FileHandle>> closing;
  {
    std::lock_guard<std::mutex> g(mu_);
    size_t drop = std::max<size_t>(count_ / 4, 1);
    while (drop-- > 0 && count_ > 0) {
      Node* victim = head_.prev;
      unlink_locked(victim);
      closing.push_back(std::move(victim->handle));
      --count_;
      ++stats_.evictions;
    }
  }
}

size_t FdCache::capacity() const {
  std::lock_guard<std::mutex> g(mu_);
  return capacity_;
}

size_t FdCache::cached() const {
  std::lock_guard<std::mutex> g(mu_);
  return count_;
}

FdCache::Stats FdCache::stats() const {
  std::lock_guard<std::mutex> g(mu_);
  return stats_;
}

int open_log_file(const std::string& p, int flags, int dir_fd) {
  const size_t slash = p.rfind('/');
  const char* name = dir_fd == AT_FDCWD || slash == std::string::npos ? p.c_str() : p.c_str() + slash + 1;
  for (int attempt = 0;; ++attempt) {
    int fd = ::openat(dir_fd, name, flags | O_CLOEXEC, 0644);
    if (fd >= 0) return fd;
    const int err = errno;
    if (err == EINTR) continue;
    if ((err == EMFILE || err == ENFILE) && attempt == 0) {
      FdCache::global().shed();  // descriptors ran out: give some of the cache's back, once
      continue;
    }
    std::string what = "cannot open " + p + ": " + std::strerror(err);
    if (is_log_dir_errno(err)) throw LogDirIoError(what, err);
    throw PartitionIoError(what, err);
  }
}

CachedFile::CachedFile(std::string path, int flags, FdCache& cache) : cache_(cache), path_(std::move(path)), flags_(flags & ~O_TRUNC) {}

CachedFile::~CachedFile() { close_cached(); }

std::shared_ptr<FileHandle> CachedFile::acquire(int dir_fd) {
  {
    std::lock_guard<std::mutex> g(cache_.mu_);
    if (node_.handle) {
      if (cache_.head_.next != &node_) {  // move to the front: pointer swaps, no allocation
        cache_.unlink_locked(&node_);
        cache_.link_front_locked(&node_);
      }
      ++cache_.stats_.hits;
      return node_.handle;
    }
  }
  return install(std::make_shared<FileHandle>(open_log_file(path_, flags_, dir_fd)));
}

std::shared_ptr<FileHandle> CachedFile::open_with(int flags) {
  close_cached();
  return install(std::make_shared<FileHandle>(open_log_file(path_, flags)));
}

std::shared_ptr<FileHandle> CachedFile::install(std::shared_ptr<FileHandle> h) {
  std::vector<std::shared_ptr<FileHandle>> closing;
  std::shared_ptr<FileHandle> out;
  {
    std::lock_guard<std::mutex> g(cache_.mu_);
    ++cache_.stats_.opens;
    if (node_.handle) {
      // Another thread opened it meanwhile: use that one (ours closes below).
      closing.push_back(std::move(h));
      out = node_.handle;
    } else {
      cache_.evict_locked(closing, 1);
      node_.handle = std::move(h);
      cache_.link_front_locked(&node_);
      ++cache_.count_;
      out = node_.handle;
    }
  }
  return out;
}

void CachedFile::close_cached() {
  std::shared_ptr<FileHandle> closing;
  {
    std::lock_guard<std::mutex> g(cache_.mu_);
    if (!node_.handle) return;
    cache_.unlink_locked(&node_);
    closing = std::move(node_.handle);
    --cache_.count_;
  }
}

bool CachedFile::is_cached() const {
  std::lock_guard<std::mutex> g(cache_.mu_);
  return node_.handle != nullptr;
}

}  // namespace flotilla::storage
