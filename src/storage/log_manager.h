// The partition logs of a node's log.dirs: opened (and recovered) at start,
// created when the metadata image assigns a partition here, removed when its
// topic is deleted; checkpoint files written periodically and at shutdown.
// `__cluster_metadata-0` is skipped: the Raft layer owns it.
//
// JBOD (KIP-858): each log dir has a directory id (its meta.properties'); a
// new partition goes to the online dir holding the fewest partitions (Kafka's
// LogManager.nextLogDirs); at start a partition is found in whichever dir
// holds it. A dir marked offline (an I/O error) takes no new partitions and
// gets no checkpoints or clean-shutdown marker; its logs stay registered (the
// broker answers KAFKA_STORAGE_ERROR for them) and are never touched again.
//
// A partition whose files cannot be opened for a reason of its own (out of
// descriptors: EMFILE/ENFILE; EACCES, ENOENT, ...: a PartitionIoError, or a
// filesystem_error with such an errno) is failed alone: at start-up it is
// left unloaded and listed in failed_partitions() (one error line names it),
// the rest of its dir loads; it is never created afresh elsewhere (that would
// hide its data), and its checkpoint entries are carried over. An I/O error
// of the dir itself (EIO, EROFS, ENOSPC) still takes the dir offline.
//
// Threading: the broker's io_context thread.
#pragma once

#include <atomic>
#include <exception>
#include <filesystem>
#include <functional>
#include <map>
#include <set>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "storage/append_writer.h"
#include "storage/log.h"
#include "storage/log_cleaner.h"

namespace flotilla::storage {

class LogManager {
 public:
  // `writer_threads`: the AppendWriter's threads.
  // `dir_ids`: the directory id of each of `log_dirs` (same order), or empty.
  // `recovery_threads`: threads opening a dir's logs at start-up
  // (num.recovery.threads.per.data.dir; Kafka 4's default is 2).
  // `defer_opening`: the logs open on those threads while the caller goes on;
  // nothing else may be called until finish_opening() (a broker replays its
  // metadata log meanwhile: start-up takes the longer of the two, not the sum).
  LogManager(std::vector<std::string> log_dirs, LogConfig default_config, int writer_threads = 1, std::vector<Uuid> dir_ids = {},
             int recovery_threads = 2, bool defer_opening = false);
  ~LogManager();
  // Whether the deferred opening has finished (finish_opening() then returns at once).
  bool opening_done() const;
  // Waits for the logs being opened and registers them (failed partitions and
  // dirs as the constructor would); throws if no dir is left. Idempotent.
  void finish_opening();

  Log* get(const std::string& topic, int32_t partition) const;
  // Opens the partition's log (creating its directory in the log dir holding
  // the fewest partitions), applying `config`.
  Log* get_or_create(const std::string& topic, int32_t partition, const Uuid& topic_id, const LogConfig& config);
  void remove(const std::string& topic, int32_t partition);

  // Log dirs (as configured) and their ids (zero when not given).
  const std::vector<std::string>& dirs() const { return dirs_; }
  Uuid dir_id(const std::string& dir) const;
  // The dir holding the partition ("" if none) and its id.
  std::string dir_of(const std::string& topic, int32_t partition) const;
  Uuid dir_id_of(const std::string& topic, int32_t partition) const;
  // The dir whose id is `id` ("" if none).
  std::string dir_with_id(const Uuid& id) const;
  // Offline dirs (Kafka's LogDirFailureChannel): marked once, never online again.
  // Returns false if it already was offline.
  bool mark_offline(const std::string& dir);
  bool is_offline(const std::string& dir) const { return offline_.count(dir) > 0; }
  std::vector<std::string> offline_dirs() const { return {offline_.begin(), offline_.end()}; }
  std::vector<Uuid> online_dir_ids() const;
  std::vector<Uuid> offline_dir_ids() const;
  // Told of an I/O error on a dir's own files (checkpoints), Kafka's
  // LogDirFailureChannel: the owner takes the dir offline (ReplicaManager).
  void set_dir_failure_handler(std::function<void(const std::string& dir, const std::string& why)> fn) {
    dir_failure_handler_ = std::move(fn);
  }
  std::vector<std::pair<std::pair<std::string, int32_t>, Log*>> all() const;

  // Partitions whose log could not be opened (never served until a restart
  // opens them): topic-partition -> why.
  bool is_failed(const std::string& topic, int32_t partition) const { return failed_.count({topic, partition}) > 0; }
  std::map<std::pair<std::string, int32_t>, std::string> failed_partitions() const;
  // Records that the partition's files failed (at runtime: its log stays
  // registered but is never touched again). Returns false if it already was.
  bool mark_failed(const std::string& topic, int32_t partition, const std::string& why);
  // Whether an exception opening one partition's log is that partition's
  // alone (PartitionIoError, or a filesystem_error whose errno is not a
  // failure of the dir's file system).
  static bool is_partition_error(const std::exception& e);

  void checkpoint_recovery_points();
  // Starts the log cleaner (compaction) over every log, present and future.
  void start_cleaner(const CleanerConfig& config);
  LogCleaner* cleaner() const { return cleaner_.get(); }
  // The thread that performs the deferred writes of client appends.
  AppendWriter& writer() { return writer_; }
  void close_all();
  // KIP-966's clean-shutdown record (Kafka's CleanShutdownFileHandler): the
  // broker epoch the marker of every log dir recorded at the last clean
  // shutdown (-1: a dir had no marker, or one without an epoch), and the epoch
  // close_all() records next ({"version":0,"brokerEpoch":N}).
  int64_t previous_broker_epoch() const { return previous_broker_epoch_; }
  void set_broker_epoch(int64_t epoch) { broker_epoch_ = epoch; }

  // AlterReplicaLogDirs (KIP-113): a future log `<topic>-<partition>.<id>-future`
  // in `dir` (another online dir), filled by the broker while the current log
  // serves, then promoted in its place. One per partition.
  Log* create_future(const std::string& topic, int32_t partition, const std::string& dir);
  Log* future(const std::string& topic, int32_t partition) const;
  std::string future_dir_of(const std::string& topic, int32_t partition) const;
  void remove_future(const std::string& topic, int32_t partition);
  // The future log becomes the partition's log (renamed `<topic>-<partition>`
  // in its dir); the current one is closed, renamed `.<id>-delete` and
  // deleted. Returns the new log (the old pointer is dangling afterwards).
  Log* promote_future(const std::string& topic, int32_t partition);

  static std::string dir_name(const std::string& topic, int32_t partition) { return topic + "-" + std::to_string(partition); }

 private:
  std::string next_dir() const;  // "" when every dir is offline

  std::vector<std::string> dirs_;
  std::vector<Uuid> dir_ids_;  // parallel to dirs_ (zeros when not given)
  std::set<std::string> offline_;
  std::function<void(const std::string&, const std::string&)> dir_failure_handler_;
  LogConfig default_config_;
  AppendWriter writer_;  // declared before logs_: outlives every log, whose close waits for its writes
  std::map<std::pair<std::string, int32_t>, std::unique_ptr<Log>> logs_;
  std::map<std::pair<std::string, int32_t>, std::string> home_;  // which log dir holds it
  std::map<std::string, size_t> load_;  // partitions per dir (home_ counted), for next_dir()
  using TopicPartition = std::pair<std::string, int32_t>;
  void set_home(const TopicPartition& key, const std::string& dir);
  void drop_home(const TopicPartition& key);
  struct Future {
    std::unique_ptr<Log> log;
    std::string dir;
  };
  std::map<std::pair<std::string, int32_t>, Future> futures_;
  struct Failed {
    std::string dir;  // where its files are ("" if it failed before one was chosen)
    std::string why;
    std::optional<int64_t> recovery_point, log_start;  // its checkpoint entries, written back unchanged
  };
  std::map<std::pair<std::string, int32_t>, Failed> failed_;
  std::unique_ptr<LogCleaner> cleaner_;
  int64_t previous_broker_epoch_ = -1;
  int64_t broker_epoch_ = -1;
  bool closed_ = false;  // close_all() ran: a second call (the destructor's) must not checkpoint an empty map

  // Start-up: the partitions found in each dir, opened by openers_ (each
  // Pending written by the one thread that took its index, read after the join).
  struct Pending {
    std::string path;  // <log dir>/<topic>-<partition>
    TopicPartition key;
    std::unique_ptr<Log> log;
    std::exception_ptr error;
    LogSummary* summary = nullptr;  // its entry in the dir's clean-shutdown summary, if any
    bool restored = false;          // from that entry (Log::restore), not from its files
  };
  struct DirLoad {
    std::string dir;
    int fd = -1;  // the dir, open while its logs open (closed by finish_opening)
    bool clean = false;  // the clean-shutdown marker was there
    std::map<TopicPartition, int64_t> recovery, starts;
    std::vector<Pending> pending;
    std::exception_ptr error;  // the dir itself could not be read
    // The clean-shutdown summary (storage/clean_shutdown_summary.h) by
    // partition directory name: only while the marker vouches for it.
    std::unordered_map<std::string, LogSummary> summaries;
  };
  void open_pending();
  std::vector<DirLoad> loads_;
  std::vector<std::thread> openers_;
  std::atomic<size_t> next_pending_{0};
  std::atomic<int> openers_running_{0};
  bool opening_ = false;
};

}  // namespace flotilla::storage
