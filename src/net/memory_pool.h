// The node's request memory pool: queued.max.request.bytes (Kafka's
// SocketServer MemoryPool), one per node, shared by every listener. It counts
// the bytes of request frames from the moment their first chunk is allocated
// until the frame is released after handling (the last Request holding it
// is gone). Frames grow as their bytes arrive (FrameLease::next_capacity):
// no frame is allocated to its announced size up front.
//
// Rules (checked by FrameLease::grow; a refused step makes the connection
// stop reading until a release wakes it, it never allocates):
//  * every charge must fit in the capacity Q (used + n <= Q), except
//  * the per-connection allowance: a connection that holds no other pool
//    bytes may always take a frame of at most kChunk (64 KiB) — Metadata,
//    Fetch, heartbeats, small produces go on even with the pool exhausted;
//  * large frames (announced > kSmallFrame = 1 MiB) that are still being
//    read together hold at most Q/2 (the partial share), so slow senders of
//    huge frames that never complete cannot take the pool from small ones;
//  * one partial large frame at a time (the token) may grow beyond that
//    share, within Q, so a frame larger than Q/2 can still complete.
//  * a frame larger than Q is refused (the connection is closed).
// Hence bytes in frames <= Q + N x 64 KiB for N connections (plus, during a
// buffer's growth, one copy of the old buffer on the loop thread).
//
// Threading: grow() is called on the loop thread(s); release may come from
// any thread (a frame freed by a storage thread), so the counters are atomics
// and the waiters' list has its own mutex (taken only when someone waits).
// Wake-ups run the waiter's callback on the releasing thread: callbacks post.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <vector>

namespace flotilla::net {

class MemoryPool {
 public:
  static constexpr int64_t kChunk = 64 * 1024;
  static constexpr int64_t kSmallFrame = 1024 * 1024;

  // capacity < 0: unbounded (Kafka's queued.max.request.bytes=-1): only counted.
  explicit MemoryPool(int64_t capacity) : capacity_(capacity) {}
  // The pool of listeners built without one: unbounded.
  static std::shared_ptr<MemoryPool> unbounded() { return std::make_shared<MemoryPool>(-1); }

  bool bounded() const { return capacity_ >= 0; }
  int64_t capacity() const { return capacity_; }
  int64_t used() const { return used_.load(std::memory_order_relaxed); }
  int64_t available() const { return bounded() ? capacity_ - used() : INT64_MAX; }
  int64_t large_partial() const { return large_partial_.load(std::memory_order_relaxed); }
  int64_t partial_share() const { return capacity_ / 2; }
  // The largest frame the pool can ever hold.
  int64_t max_frame() const { return bounded() ? capacity_ : INT64_MAX; }
  size_t waiters() const { return waiter_count_.load(std::memory_order_relaxed); }

  // `wake` runs once, on whatever thread releases memory next (it should post).
  void add_waiter(std::function<void()> wake);
  // Wakes every waiter (memory was released or a partial frame completed).
  void notify() {
    if (waiter_count_.load(std::memory_order_acquire) > 0) notify_slow();
  }

 private:
  friend class FrameLease;
  void notify_slow();

  const int64_t capacity_;
  std::atomic<int64_t> used_{0};
  std::atomic<int64_t> large_partial_{0};  // charged to partial large frames without the token
  std::atomic<bool> token_{false};         // a partial large frame grows beyond the share
  std::atomic<size_t> waiter_count_{0};
  std::mutex mu_;
  std::vector<std::function<void()>> waiters_;
};

// The pool bytes of one frame; released when the frame is (destructor or
// release()). `held` is the connection's count of pool bytes over all its
// frames (the allowance rule); it is shared because frames outlive reads.
class FrameLease {
 public:
  FrameLease(std::shared_ptr<MemoryPool> pool, std::shared_ptr<std::atomic<int64_t>> held, int64_t frame_size)
      : pool_(std::move(pool)), held_(std::move(held)), size_(frame_size), large_(frame_size > MemoryPool::kSmallFrame) {}
  FrameLease(const FrameLease&) = delete;
  FrameLease& operator=(const FrameLease&) = delete;
  ~FrameLease() { release(); }

  // The buffer's next capacity after `current` bytes (all filled): the first
  // chunk, then a small frame's whole size, a large frame's double.
  int64_t next_capacity(int64_t current) const;
  // Charges `n` more bytes if the rules allow it now.
  bool grow(int64_t n);
  // The frame is complete: it leaves the partial share (wakes waiters).
  void complete();
  void release();
  int64_t charged() const { return charged_; }
  bool has_token() const { return token_; }

 private:
  std::shared_ptr<MemoryPool> pool_;
  std::shared_ptr<std::atomic<int64_t>> held_;
  int64_t size_;
  bool large_;
  bool partial_ = true;
  bool token_ = false;
  bool released_ = false;
  int64_t charged_ = 0;
};

}  // namespace flotilla::net
