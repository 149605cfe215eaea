// A partition's log in Kafka's on-disk layout: a directory of segments
// `<20-digit base offset>.log` with sparse `.index` (int32 relative offset,
// int32 position) and `.timeindex` (int64 timestamp, int32 relative offset)
// files, the aborted-transaction index `.txnindex` (storage/txn_index.h; only
// once the segment holds an ABORT marker), and `partition.metadata` (the
// topic id).
//
// Transactions (KIP-98): the producer state tracks ongoing transactions; every
// applied ABORT marker (leader, follower, recovery) adds an entry to the
// .txnindex of the segment holding the marker. Invariant: after open, append,
// truncation or cleaning, each segment's index holds exactly the ABORT
// markers of the segment's offsets whose transaction had data (a replay from
// offset X first drops the entries with last offset >= X, so recovery never
// duplicates entries).
//
// Threading: append/read/truncate/roll/retention run on the owning thread;
// flush() may run on any thread (the segment list is guarded by a mutex held
// only briefly; fdatasync runs outside it). A client append may leave its
// write(2) to the AppendWriter thread (storage/append_writer.h): until
// apply_written() sees it done, its batches are counted by the next append but
// invisible to readers (log_end_offset() and the segment size exclude them).
// Invariants: segments are sorted by base offset and contiguous; only the last
// (active) segment is appended to; log_start_offset <= log_end_offset; every
// batch in a segment has base offset >= the segment's base offset.
//
// The implementation is split along these seams: log.cc (the segment list:
// roll, retention, truncation, flush, close), log_load.cc (open and
// recovery), log_append.cc (appends and deferred writes), log_read.cc (reads
// and offset lookups), log_producers.cc (producer state and transactions),
// log_cleaning.cc (the cleaner's side); storage/segment.h is the segment they
// share, storage/log_files.h the directory's other files.
#pragma once

#include <fcntl.h>

#include <algorithm>
#include <atomic>
#include <deque>
#include <list>
#include <filesystem>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "common/bytes.h"
#include "common/uuid.h"
#include "protocol/record_batch.h"
#include "storage/append_writer.h"
#include "storage/clean_shutdown_summary.h"
#include "storage/fd_cache.h"
#include "storage/log_files.h"
#include "storage/producer_state.h"
#include "storage/txn_index.h"

namespace flotilla::storage {

struct LogConfig {
  int64_t segment_bytes = 1073741824;           // log.segment.bytes / segment.bytes
  int64_t segment_ms = 604800000;               // log.roll.ms / segment.ms
  int64_t retention_ms = 604800000;             // log.retention.ms / retention.ms (-1 = forever)
  int64_t retention_bytes = -1;                 // log.retention.bytes / retention.bytes
  int32_t index_interval_bytes = 4096;          // log.index.interval.bytes
  int32_t max_index_bytes = 10485760;           // log.index.size.max.bytes
  int64_t flush_interval_messages = INT64_MAX;  // log.flush.interval.messages
  int64_t file_delete_delay_ms = 60000;         // log.segment.delete.delay.ms
  // preallocate / log.preallocate: the active segment's file is zero-filled
  // ahead of the writes (in 4 MiB steps) and trimmed when it rolls or closes,
  // so fdatasync after an append flushes data only, not a file-size change
  // (about 130 instead of 180 us here, and a far shorter tail).
  bool preallocate = false;
  // cleanup.policy: "delete" (retention deletes old segments), "compact" (the
  // log cleaner keeps the latest record per key), or both.
  bool cleanup_delete = true;
  bool cleanup_compact = false;
  double min_cleanable_dirty_ratio = 0.5;       // min.cleanable.dirty.ratio / log.cleaner.min.cleanable.ratio
  int64_t min_compaction_lag_ms = 0;            // min.compaction.lag.ms
  int64_t max_compaction_lag_ms = INT64_MAX;    // max.compaction.lag.ms
  int64_t delete_retention_ms = 86400000;       // delete.retention.ms / log.cleaner.delete.retention.ms
};

// A segment as the log cleaner sees it (a snapshot taken under the log's mutex).
struct SegmentView {
  int64_t base_offset = 0;
  int64_t next_offset = 0;
  int64_t size = 0;
  int64_t first_timestamp = -1;
  int64_t max_timestamp = -1;
  int64_t last_modified_ms = 0;  // the .log file's mtime
  size_t index_entries = 0;
  std::shared_ptr<CachedFile> file;  // the .log (acquire() it while reading)
  std::vector<AbortedTxn> aborted_txns;  // the segment's .txnindex entries
};

struct AppendInfo {
  int64_t first_offset = -1;
  int64_t last_offset = -1;
  int64_t log_append_time = -1;
  int64_t max_timestamp = -1;
  // Idempotent producers (Log::append on the leader): a producer-state error
  // (nothing was written), or a retried batch already in the log (nothing was
  // written; first/last offset are the original batch's).
  ErrorCode error = ErrorCode::NONE;
  std::string error_message;
  bool duplicate = false;
};

struct ReadResult {
  Records records;
  int64_t log_start_offset = 0;
  int64_t log_end_offset = 0;
};

class OffsetOutOfRange : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct Segment;

// A log's sizes as the metrics scrape reads them on an HTTP thread: relaxed
// atomics the log republishes after each change (an append, a roll, a
// truncation, retention, cleaning), so a scrape neither runs on the event
// loop nor takes the log's mutex. Shared: a scrape holding it outlives a
// deleted log. Each value is exact when written; together they may be a
// change apart (as a JMX exporter reads one attribute after another).
struct LogGauges {
  std::atomic<int64_t> size_bytes{0}, log_start_offset{0}, log_end_offset{0};
  std::atomic<int32_t> segments{0};
};

class Log {
 public:
  ~Log();
  // Opens (creating if needed) the partition directory and recovers the tail:
  // batches after the recovery point, and every batch of the last segment, are
  // checked (size, magic, CRC); the log is truncated at the first bad one.
  // `clean_shutdown`: the log was flushed and closed by a clean shutdown
  // (LogManager's marker file), so no CRC is checked (sizes and offsets still are).
  // `parent_fd`: the log dir holding `dir`, open: the partition directory is
  // opened relative to it (a start-up opens 100,000; each full-path lookup
  // walks every component again).
  static std::unique_ptr<Log> open(const std::string& dir, const LogConfig& config, Uuid topic_id,
                                   int64_t recovery_point = 0, bool clean_shutdown = false, int parent_fd = AT_FDCWD);

  // Appends validated batches, assigning offsets in place from the end of
  // the log (pending writes included). `coordinator`: written by a
  // coordinator on a producer's behalf (no sequence checks). `deferred`: the
  // write itself is added to it as a PendingWrite instead of done here (the
  // caller submits it to the AppendWriter, keeps `batches` alive until it is
  // written and then calls apply_written()); ignored, and the write done here,
  // when log.flush.interval.messages is set.
  AppendInfo append(std::span<uint8_t> batches, const records::Validation& v, int32_t leader_epoch, bool coordinator = false,
                    WriteBatch* deferred = nullptr);
  // Makes the pending writes that are done visible, oldest first (owning
  // thread). A failed write fails the log: it is never made visible, nor is
  // anything after it, and every later append throws StorageError.
  void apply_written();
  // Finishes every pending write — waiting for the writer thread, or writing
  // here one it has not claimed (its batch may not even be submitted yet) —
  // and applies it (owning thread).
  void drain();
  bool failed() const { return failed_; }
  // Appends batches whose offsets are already set (the first must be log_end_offset()).
  // Transactional batches and markers update the producer state and the
  // aborted-transaction index without checks (Kafka's REPLICATION origin).
  AppendInfo append_as_follower(std::span<const uint8_t> batches);
  // Leader (WriteTxnMarkers): writes one END_TXN control batch at the log end
  // — magic 2, attributes transactional|control, the producer id and epoch,
  // base sequence -1, one record (key: version 0 + type COMMIT(1)/ABORT(0),
  // value: version 0 + coordinator epoch) with timestamp now_ms, partition
  // leader epoch `leader_epoch` — after ProducerStateManager::check_marker
  // (INVALID_PRODUCER_EPOCH, TRANSACTION_COORDINATOR_FENCED in
  // AppendInfo.error; nothing written then). An ABORT of a non-empty
  // transaction adds an entry to the active segment's .txnindex.
  AppendInfo append_marker(int64_t producer_id, int16_t producer_epoch, int32_t coordinator_epoch, bool commit, int32_t leader_epoch,
                           int64_t now_ms);

  // The last stable offset: min(high_watermark, the first offset of the
  // oldest transaction that is ongoing or whose marker is not below the high
  // watermark), never below the log start offset (Kafka's). Also forgets the
  // completed transactions whose marker is below high_watermark, so call it
  // whenever the high watermark moves (owning thread).
  int64_t last_stable_offset(int64_t high_watermark);
  // Aborted transactions a read_committed fetch from start_offset needs
  // (Kafka's collectAbortedTransactions): entries with last_offset >=
  // start_offset and first_offset < upper_bound_offset, from the segment
  // holding start_offset and the later ones, in log order; stops after the
  // first segment with an entry whose last_stable_offset >= upper_bound_offset.
  std::vector<AbortedTxn> collect_aborted_transactions(int64_t start_offset, int64_t upper_bound_offset) const;

  ReadResult read(int64_t offset, int32_t max_bytes, int64_t max_offset, bool min_one) const;

  int64_t log_start_offset() const { return log_start_offset_; }
  int64_t log_end_offset() const { return log_end_offset_.load(); }
  int64_t size_bytes() const;
  int segment_count() const;
  std::shared_ptr<const LogGauges> gauges() const { return gauges_; }
  // From now on publishes into `g` (its owner's: a partition embeds its log's
  // gauges, so a scrape reads one object per partition), republished at once.
  // Owning thread.
  void share_gauges(std::shared_ptr<LogGauges> g);
  bool publishes_to(const LogGauges* g) const { return gauges_.get() == g; }

  // First batch whose max timestamp >= ts: (its base offset, its max timestamp).
  std::optional<std::pair<int64_t, int64_t>> offset_for_timestamp(int64_t ts) const;
  // (largest timestamp, last offset of the batch holding it).
  std::optional<std::pair<int64_t, int64_t>> max_timestamp_and_offset() const;

  int64_t flushed_offset() const { return flushed_offset_.load(); }
  void flush(int64_t up_to);
  void truncate_to(int64_t offset);
  void truncate_fully_and_start_at(int64_t offset);
  void set_log_start_offset(int64_t offset);
  int apply_retention(int64_t now_ms);
  void roll_if_needed(int64_t now_ms);
  void roll();
  void close();
  void remove();
  // After close(): what the dir's clean-shutdown summary keeps of this log
  // (storage/clean_shutdown_summary.h), or nullopt when the next start-up
  // must load it from its files (a failed log, a producer snapshot that could
  // not be written). `epoch_checkpoint`: the leader-epoch-checkpoint's bytes
  // as the broker left them ("" when there is none).
  std::optional<LogSummary> summarize(std::string epoch_checkpoint) const;
  // The log a summary describes, without opening a file (a dir whose
  // clean-shutdown marker vouches for its summary): the segments, indexes and
  // epoch checkpoint as the summary holds them; the producer state from the
  // snapshot it names (rebuilt from the log, as a load would, if that cannot
  // be read). Each segment's .log is checked by size (one stat, relative to
  // `parent_fd`, the log dir open): a file changed since the shutdown (a torn
  // or cut tail) returns nullptr, and the log must be opened from its files.
  static std::unique_ptr<Log> restore(const std::string& dir, const LogConfig& config, LogSummary&& summary, int parent_fd = AT_FDCWD);

  std::filesystem::path dir() const { return dir_; }
  const std::string& dir_string() const { return dir_; }
  // The leader-epoch-checkpoint as the load read it ("" when there was none),
  // handed over once: the broker's LeaderEpochCache then need not read it on
  // the event loop (a start-up's load threads read 100,000 of them). nullopt
  // once taken, or for a log created rather than loaded.
  std::optional<std::string> take_loaded_epoch_checkpoint() { return std::exchange(loaded_epoch_checkpoint_, std::nullopt); }
  const Uuid& topic_id() const { return topic_id_; }
  const LogConfig& config() const { return config_; }
  void set_config(const LogConfig& c) {
    std::lock_guard<std::mutex> g(mu_);
    config_ = c;
  }

  // Idempotent and transactional producers' state (storage/producer_state.h):
  // checked by append() and append_marker(), updated by every append, written
  // as `<offset>.snapshot` when a segment rolls and at close, rebuilt on open
  // and on truncation. Owning thread only.
  const ProducerStateManager& producer_state() const { return producers_; }
  // producer.id.expiration.ms: forgets idle producers (see ProducerStateManager::remove_expired).
  size_t remove_expired_producers(int64_t now_ms, int64_t expiration_ms);

  // ---- For the log cleaner (storage/log_cleaner.h), from its own thread.
  LogConfig config_copy() const {
    std::lock_guard<std::mutex> g(mu_);
    return config_;
  }
  // Every segment, oldest first; the last is the active one.
  std::vector<SegmentView> segment_views() const;
  // Bumped whenever segments are deleted or truncated by anything but the cleaner.
  uint64_t change_epoch() const { return change_epoch_.load(); }
  // The cleaner never cleans at or past this offset (the high watermark; 0 until set).
  // Owning thread: as the high watermark, it also forgets the completed
  // transactions whose marker lies below it (as last_stable_offset does).
  void set_cleanable_limit(int64_t offset);
  int64_t cleanable_limit() const { return cleanable_limit_.load(); }
  // What the cleaner may clean below (any thread): min(cleanable_limit(), the
  // producer state's first unstable offset) — Kafka never cleans at or past
  // the last stable offset, so undecided transactions stay as written.
  int64_t first_uncleanable_offset() const { return std::min(cleanable_limit_.load(), first_unstable_offset_.load()); }
  // Producer id -> last offset of its last data batch (any thread; a copy).
  // The cleaner keeps these batches so that sequence dedup survives cleaning.
  std::unordered_map<int64_t, int64_t> producer_last_batch_offsets() const;
  // Replaces the `count` contiguous non-active segments starting at base offset
  // `first_base` by the cleaned segment file `cleaned` (batches with offsets
  // in that range, already synced): renames it to `<first_base>.log.swap`,
  // deletes the old segments' files, writes the old segments' .txnindex
  // entries (all kept: the cleaner keeps every marker) merged into
  // `<first_base>.txnindex`, renames the swap to `<first_base>.log`
  // and rebuilds its indexes — under the mutex, so readers see the old list or
  // the new one. False (and `cleaned` deleted) if the log changed since
  // `epoch` (truncation, retention, deletion) or is closed.
  bool replace_segments(int64_t first_base, size_t count, const std::filesystem::path& cleaned, uint64_t epoch);

 private:
  Log(std::string dir, LogConfig config, Uuid topic_id);
  // `dir_fd`: dir_ opened (O_DIRECTORY): the partition's small files are
  // reached relative to it (a path of one component, not six: path lookups
  // were a quarter of a start-up's time spent opening logs).
  void load(int64_t recovery_point, bool clean_shutdown, int dir_fd);
  std::shared_ptr<Segment> new_segment(int64_t base_offset);
  void write_to_active(std::span<const uint8_t> data, int64_t first_offset, int64_t last_offset, const std::vector<records::BatchHeader>& headers,
                       const std::vector<size_t>& positions, WriteBatch* deferred = nullptr);
  // The offset the next append gets: the log end offset plus the pending writes.
  int64_t append_offset() const { return pending_.empty() ? log_end_offset_.load() : pending_.back()->end_offset; }
  void apply_front_pending();
  void throw_if_failed() const;  // StorageError once a deferred write failed
  void delete_segment(const std::shared_ptr<Segment>& s);
  size_t segment_index_for(int64_t offset) const;  // index into segments_ of the segment holding offset
  // s's .log pinned, unless s left the list (null then): under mu_, so a
  // segment deleted or replaced since it was copied out is never reopened by path.
  std::shared_ptr<FileHandle> pin_listed(Segment& s) const;
  // Producer state: replays the batch headers in [from, log end) into producers_.
  void replay_producer_state_from(int64_t from);
  // Loads the newest snapshot at or below the log end (dropping later ones) and replays the rest.
  void rebuild_producer_state();
  // Writes the producer snapshot at the log end (if there is state or were
  // snapshots) and prunes old ones: the snapshot's offset, kNoProducerSnapshot
  // if there was nothing to write, kProducerSnapshotFailed.
  static constexpr int64_t kNoProducerSnapshot = -1;
  static constexpr int64_t kProducerSnapshotFailed = -2;
  int64_t take_producer_snapshot(bool sync);
  // Applies one written batch (`batch`: its bytes, read for control batches)
  // to the producer state, queueing the transaction it completes. Under pstate_mu_.
  void apply_to_producers(const records::BatchHeader& h, std::span<const uint8_t> batch, std::vector<CompletedTxn>& completed);
  // Completes the queued transactions in order: each ABORT gets an entry (with
  // Kafka's LSO at that point) in `seg`'s txn index. Under pstate_mu_.
  void complete_txns(std::vector<CompletedTxn>& completed, Segment& seg);
  // Applies an append just written to the active segment (all batches, then
  // the completed transactions). Takes pstate_mu_.
  void apply_appended(std::span<const uint8_t> batches, const std::vector<records::BatchHeader>& headers, const std::vector<size_t>& positions);
  // Republishes first_unstable_offset_ from producers_. Under pstate_mu_.
  void publish_first_unstable();
  // Republishes gauges_ after the segment list or the log start offset
  // changed (owning thread, under mu_): O(segments), never per append.
  void publish_gauges();
  // replace_segments, on the cleaner's thread (under mu_): only the closed
  // segments changed, and the active one's size is the owning thread's to read.
  void publish_cleaned();
  // After an append to `active` (the closed segments' bytes unchanged): O(1).
  void publish_appended(const Segment& active) {
    gauges_->size_bytes.store(closed_bytes_.load(std::memory_order_relaxed) + segment_size(active), std::memory_order_relaxed);
    gauges_->log_end_offset.store(log_end_offset_.load(std::memory_order_relaxed), std::memory_order_relaxed);
  }
  static int64_t segment_size(const Segment& s);

  std::string dir_;  // not a std::filesystem::path: see Segment::path
  std::string name() const { return dir_.substr(dir_.rfind('/') + 1); }  // "<topic>-<partition>", for log lines
  LogConfig config_;
  Uuid topic_id_;
  mutable std::mutex mu_;  // guards segments_ (the vector) against flush() from other threads
  std::vector<std::shared_ptr<Segment>> segments_;
  int64_t log_start_offset_ = 0;
  std::atomic<int64_t> log_end_offset_{0};
  std::atomic<int64_t> flushed_offset_{0};
  std::shared_ptr<LogGauges> gauges_ = std::make_shared<LogGauges>();
  // The bytes of every segment but the active one (publish_gauges): atomic
  // because the cleaner's replace_segments republishes from its thread.
  std::atomic<int64_t> closed_bytes_{0};
  int64_t unflushed_messages_ = 0;
  bool closed_ = false;
  ProducerStateManager producers_;  // idempotent producers (owning thread)
  std::optional<std::string> loaded_epoch_checkpoint_;  // take_loaded_epoch_checkpoint()
  // Guards producers_ against the cleaner's producer_last_batch_offsets();
  // the owning thread holds it while mutating producers_. Lock order: mu_ before pstate_mu_.
  mutable std::mutex pstate_mu_;
  // producers_.first_unstable_offset() (INT64_MAX if none), for the cleaner's thread.
  std::atomic<int64_t> first_unstable_offset_{INT64_MAX};
  std::atomic<uint64_t> change_epoch_{0};
  std::atomic<int64_t> cleanable_limit_{0};
  // Deferred writes to the active segment not yet applied, oldest first
  // (owning thread). A list, not a deque: an empty deque still holds a
  // 576-byte block, a tenth of an idle log's memory at 100,000 partitions.
  std::list<std::shared_ptr<PendingWrite>> pending_;
  bool failed_ = false;  // a deferred write failed: nothing more is appended or made visible
  int64_t close_snapshot_ = kProducerSnapshotFailed;  // take_producer_snapshot's result at close()
};

// Start-up half of the cleaner's crash safety (Kafka's rules): each
// `<base>.log.swap` left in dir replaces every segment whose base offset lies
// in [base, the swap's next offset), then becomes `<base>.log`. The
// .txnindex files of those segments are merged (union by last offset, so
// redoing it after a crash gives the same file) into `<base>.txnindex`.
void complete_swaps(const std::filesystem::path& dir);

}  // namespace flotilla::storage
