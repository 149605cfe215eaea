// Small files written off the event loop: the leader-epoch-checkpoint of every
// partition whose leadership changes. A start-up of 100,000 partitions elects
// as many leaders in one run of the replica manager, and writing each file
// there (open, write, close: ~10 µs) was a third of that run; here a thread
// writes them while the event loop goes on.
//
// Invariants: at most one queued content per path — a newer put replaces it,
// so the file ends with the newest content. take() hands a queued write back
// to its owner (who writes it now, or drops it because the file's directory
// goes away) after any write of that path under way has finished, so an older
// content can never land after a newer one written by the owner.
//
// Threading: put/take/flush from any thread; one writer thread.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <unordered_map>
#include <unordered_set>

namespace flotilla::storage {

class BackgroundFileWriter {
 public:
  struct Write {
    std::string content;
    int64_t known_size = -1;  // the file's size before it, as rewrite_file_in_place takes it
  };

  BackgroundFileWriter();
  ~BackgroundFileWriter();  // writes what is queued, then stops
  BackgroundFileWriter(const BackgroundFileWriter&) = delete;
  BackgroundFileWriter& operator=(const BackgroundFileWriter&) = delete;

  void put(const std::string& path, Write write);
  // The write queued for `path`, no longer queued (nullopt: none, or written).
  std::optional<Write> take(const std::string& path);
  // Returns once everything queued before the call is written; the caller
  // writes too (a shutdown has both cores).
  void flush();
  size_t queued() const;

  // Writes (rewrite_file_in_place) and logs a failure: a failed write leaves the
  // owner's cache right in memory, as a failed synchronous write did.
  static void write_now(const std::string& path, const Write& write);

 private:
  void run();
  bool write_one(std::unique_lock<std::mutex>& lock);

  mutable std::mutex mu_;
  std::condition_variable cv_;       // new work, or stop
  std::condition_variable done_cv_;  // a write finished
  std::unordered_map<std::string, Write> queued_;
  std::deque<std::string> order_;  // paths in put order; a taken path's entry is skipped
  std::unordered_set<std::string> writing_;  // paths being written now (one writer per path at a time)
  bool stop_ = false;
  std::thread thread_;
};

}  // namespace flotilla::storage
