// The produce path's write thread. A client append (Log::append with a
// WriteBatch) does everything on the owning thread — checks, offsets, indexes,
// producer state — except the write(2) of the batches into the page cache,
// which it leaves here as a PendingWrite. The AppendWriter thread performs the
// writes of a whole request and then calls its completion, which the broker
// posts back to its event loop; there the log makes the writes visible
// (Log::apply_written) and the request is answered. So the event loop reads,
// checks and answers the next requests while the kernel copies this one's
// bytes, and an answer (acks=1) still never goes out before its records are in
// the page cache: a kill -9 loses nothing acknowledged.
//
// Invariants:
//  - A log's pending writes are a suffix of its active segment, in offset
//    order; readers see only what was written (the segment's size and the log
//    end offset advance when a write is applied, never before).
//  - Anything else that changes a log's tail or files first waits for its
//    pending writes (Log::drain), so it never races the writer thread.
//  - A log never outlives its pending writes: close and remove drain them.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "storage/file_io.h"  // pwrite_fully, which performs every write

namespace flotilla::storage {

struct FileHandle;

// One deferred write of an append: `size` bytes at `data` to `position` of
// the active segment's file. Whoever claims it (state 0 -> 1: the writer
// thread, or a draining log that cannot wait for a batch not yet submitted)
// performs it, sets `error` (0: written) and then state 2 (done).
struct PendingWrite {
  std::shared_ptr<FileHandle> file;
  int64_t position = 0;
  const uint8_t* data = nullptr;
  size_t size = 0;
  int64_t end_offset = 0;  // the log end offset once this write is applied
  int error = 0;           // errno of a failed write
  std::atomic<int> state{0};

  bool done() const { return state.load(std::memory_order_acquire) == 2; }
};

// The deferred writes of one request, and what keeps the bytes they point to alive.
struct WriteBatch {
  std::vector<std::shared_ptr<PendingWrite>> writes;
  std::shared_ptr<const void> keepalive;
};

class AppendWriter {
 public:
  // `threads` writer threads take whole batches from one queue: writes to one
  // log may then finish out of order, which is why a log applies only the
  // done prefix of its pending writes.
  explicit AppendWriter(int threads = 1);
  ~AppendWriter();  // finishes the queued batches, then stops
  AppendWriter(const AppendWriter&) = delete;
  AppendWriter& operator=(const AppendWriter&) = delete;

  // Queues the batch; `on_written` runs on the writer thread once every
  // write of it is done or failed (the caller posts it to its own thread).
  void submit(std::shared_ptr<WriteBatch> batch, std::function<void()> on_written);

  // Performs `w` here unless another thread claimed it, then waits until it
  // is done (owning thread). So draining a log never waits for a batch its
  // own caller has not submitted yet, and each write happens exactly once.
  static void write_or_wait(PendingWrite& w);

 private:
  void run();

  struct Job {
    std::shared_ptr<WriteBatch> batch;
    std::function<void()> on_written;
  };
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Job> queue_;
  bool stopping_ = false;
  std::vector<std::thread> threads_;
};

}  // namespace flotilla::storage
