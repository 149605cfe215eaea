// Log compaction (cleanup.policy=compact, or compact,delete), as Kafka's
// LogCleaner does it.
//
// Background threads (log.cleaner.threads; never the event loop) pick the
// compacted log with the highest dirty ratio — bytes after the cleaner
// checkpoint over all cleanable bytes — at or above min.cleanable.dirty.ratio
// (or whose first dirty segment is older than max.compaction.lag.ms). The dirty
// range is the non-active segments from the checkpoint on, below the log's
// cleanable limit (its high watermark) and the first segment newer than
// min.compaction.lag.ms, and below the first unstable offset (ongoing
// transactions, or completed ones whose marker is not yet below the high
// watermark: Kafka never cleans past the last stable offset). The cleaner maps
// key → last offset over the dirty
// range, then rewrites every segment from the log start to the end of that
// range, in groups that fit segment.bytes and segment.index.bytes: a record
// stays if its offset is the latest for its key (keyless records go); a
// tombstone (null value) goes once its segment was cleaned before and is older
// than delete.retention.ms; control batches stay; a batch keeps its offsets,
// lastOffsetDelta, timestamps, producer id/epoch/base sequence and codec (its
// surviving records are re-compressed, its CRC recomputed).
// Transactions (Kafka's rules): batches of ABORTED transactions (per the
// segments' .txnindex: the producer's batches in [first offset, marker]) are
// dropped and never enter the key map, so they shadow nothing; committed
// transactional batches compact like others; markers are always kept (so the
// .txnindex entries, merged into the cleaned segment's, stay valid); each
// producer's last data batch (per the log's producer state) stays, emptied
// to its header if all its records go (Kafka's RETAIN_EMPTY), so sequence
// dedup survives cleaning and reloading. Each group is
// written to `<base>.log.cleaned`, synced, and swapped in by
// Log::replace_segments (`.swap`, then `.log`; a crash leaves either the old
// segments or a swap that start-up completes). The end of the cleaned range
// goes to `cleaner-offset-checkpoint` in the log dir (Kafka's format:
// "0", count, "topic partition offset" lines).
//
// Produce and fetch never wait for the cleaner: it holds a log's mutex only to
// swap the segment list, and readers keep the old files open. A truncation,
// retention or deletion of the log meanwhile aborts that cleaning.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "storage/checkpoints.h"
#include "storage/log.h"

namespace flotilla::storage {

struct CleanerConfig {
  bool enable = true;                        // log.cleaner.enable
  int32_t threads = 1;                       // log.cleaner.threads
  int64_t backoff_ms = 15000;                // log.cleaner.backoff.ms
  int64_t dedupe_buffer_size = 134217728;    // log.cleaner.dedupe.buffer.size (shared by the threads)
  std::function<int64_t()> clock;            // wall clock (ms) unless set (tests)
};

struct CleanerStats {
  int64_t cleanings = 0;
  int64_t records_read = 0;
  int64_t records_removed = 0;
  int64_t bytes_read = 0;
  int64_t bytes_written = 0;
  int64_t aborted = 0;
};

// The data records without a key in a produce payload (whole v2 batches,
// validated), each as the index of the record within its batch (KIP-467's
// batch_index), in order: a compacted topic refuses them (Kafka: INVALID_RECORD,
// "Compacted topic cannot accept message without key"). Decompresses
// compressed batches; throws what decompressing or parsing throws.
std::vector<int32_t> records_without_key(std::span<const uint8_t> batches);

class LogCleaner {
 public:
  explicit LogCleaner(CleanerConfig config);
  ~LogCleaner();

  void start();  // the background threads (no-op unless enable)
  void stop();   // stops and joins them (an in-progress cleaning is aborted)

  // Logs it may clean; `log` must outlive its registration.
  void add_log(const std::string& topic, int32_t partition, Log* log);
  // Aborts any cleaning of `log` in progress, waits for it, and forgets it
  // (its checkpoint entry too).
  void remove_log(Log* log);

  // One round on the calling thread: cleans the dirtiest eligible log; false
  // if none was eligible (or it was aborted). Used by the threads and tests.
  bool clean_once();

  // The cleaner checkpoint of a log (-1 if none).
  int64_t checkpoint(const std::string& topic, int32_t partition) const;
  CleanerStats stats() const;

  static constexpr const char* kCheckpointFile = "cleaner-offset-checkpoint";

 private:
  struct Entry {
    std::string topic;
    int32_t partition = 0;
    Log* log = nullptr;
    std::string log_dir;  // the log.dirs entry holding it (a string: one per log, see Segment::path)
    bool in_progress = false;
    std::atomic<bool> abort{false};
  };
  struct Plan;

  int64_t now() const;
  void run();
  bool plan(Entry& e, Plan& p);
  bool clean(Entry& e, Plan& p);
  void write_checkpoint(const std::string& log_dir);

  CleanerConfig config_;
  mutable std::mutex mu_;  // guards everything below
  std::condition_variable cv_;
  std::map<Log*, std::unique_ptr<Entry>> logs_;
  std::map<std::string, TopicPartitionOffsets> checkpoints_;  // per log dir
  CleanerStats stats_;
  bool stopping_ = false;
  std::vector<std::thread> threads_;
};

}  // namespace flotilla::storage
