// The broker's partitions: which logs this node hosts (from the metadata
// image), their roles (leader or follower), produce appends, reads for
// fetches, and data replication between brokers:
//
//  - a leader tracks each follower's log end offset (the FetchOffset of its
//    Fetch requests) and moves the high watermark to the smallest log end
//    offset of the ISR; it grows and shrinks the ISR through AlterPartition
//    to the controller (replica.lag.time.max.ms);
//  - a follower fetches from its leader (ReplicaFetcherManager), truncating
//    first to where its log and the leader's agree (OffsetForLeaderEpoch);
//  - produce requests with acks=all and fetches wait in the purgatory until
//    the high watermark (or the data) gets there, or their deadline passes.
//
// Threading: every method runs on the broker's io_context thread.
// Invariants: a Partition exists exactly while the current image lists this
// node among the replicas of that topic-partition; its log is open while it
// exists. A leader's high watermark never goes back and never passes the log
// end offset of an ISR member (as far as the leader knows it); a follower's
// never passes its own log end offset. The leader epoch cache holds the
// epoch of every batch in the log.
//
// The implementation: replica_manager.cc (construction, images and role
// changes, housekeeping, shutdown), replica_append.cc (appends, leader and
// follower, and truncation), replica_isr.cc (high watermark, ISR,
// AlterPartition), purgatory.cc (delayed operations).
#pragma once

#include <spdlog/common.h>

#include <algorithm>
#include <asio.hpp>
#include <atomic>
#include <functional>
#include <list>
#include <map>
#include <memory>
#include <set>
#include <span>
#include <string>
#include <tuple>
#include <unordered_map>

#include "broker/broker_config.h"
#include "broker/controller_channel.h"
#include "common/error.h"
#include "common/uuid.h"
#include "metadata/image.h"
#include "metadata/publisher.h"
#include "protocol/record_batch.h"
#include "storage/background_file_writer.h"
#include "storage/leader_epoch_cache.h"
#include "storage/log.h"
#include "storage/log_manager.h"

namespace flotilla::broker {

class ReplicaFetcherManager;
class ReplicationQuota;  // broker/replication_quota.h
class TopicMetrics;      // broker/broker_metrics.h

// What a leader knows of one follower.
struct FollowerState {
  int64_t log_end_offset = -1;     // its last FetchOffset; -1: not heard since this node became leader
  int64_t last_caught_up_ms = 0;   // the last time it had everything the leader had
  int64_t last_fetch_leader_leo = -1;
  int64_t last_fetch_ms = 0;
  int64_t broker_epoch = -1;       // from its Fetch (v15+), for AlterPartition v3
  int64_t log_start_offset = -1;   // its last reported LogStartOffset (DeleteRecords' low watermark)
};

// What the metrics scrape reads of a partition on an HTTP thread: its role as
// relaxed atomics, republished by ReplicaManager whenever the role, replicas,
// ISR, min.insync.replicas or log change (Partition::publish_gauges), and its
// log's own gauges. Shared, so the scrape never touches a Partition (the
// event loop's) nor runs on the loop, and outlives a deleted partition.
struct PartitionGauges {
  storage::LogGauges log;  // the partition's log publishes here (Log::share_gauges)
  std::atomic<bool> leader{false}, offline{false};
  std::atomic<int32_t> replicas{0}, isr{0}, min_isr{1};
};

struct Partition {
  std::string topic;
  int32_t index = 0;
  Uuid topic_id;
  storage::Log* log = nullptr;
  std::unique_ptr<storage::LeaderEpochCache> epochs;
  int32_t leader_id = -1;
  int32_t leader_epoch = -1;
  int32_t partition_epoch = -1;
  std::vector<int32_t> replicas;
  std::vector<int32_t> isr;  // as committed (image or AlterPartition response, whichever is newer)
  // Its log dir failed (KIP-858): answered KAFKA_STORAGE_ERROR, no role,
  // its log never touched again (until a restart).
  bool offline = false;
  int32_t max_message_bytes = 1048588;
  int32_t min_insync_replicas = 1;
  bool log_append_time = false;
  // Its topic's BrokerTopicMetrics (set at creation): the produce and fetch
  // paths count with relaxed atomic adds, no lookup.
  std::shared_ptr<const TopicMetrics> metrics;

  int64_t hw = 0;  // the high watermark
  // Leader only.
  std::map<int32_t, FollowerState> followers;
  int64_t leader_epoch_start_offset = 0;
  bool alter_in_flight = false;
  std::vector<int32_t> pending_isr;  // the ISR asked for while alter_in_flight

  // The scrape's view (above); publish_gauges() after changing what it shows.
  std::shared_ptr<PartitionGauges> gauges = std::make_shared<PartitionGauges>();
  void publish_gauges(int32_t self) {
    constexpr auto r = std::memory_order_relaxed;
    gauges->leader.store(is_leader(self), r);
    gauges->offline.store(offline, r);
    gauges->replicas.store(static_cast<int32_t>(replicas.size()), r);
    gauges->isr.store(static_cast<int32_t>(isr.size()), r);
    gauges->min_isr.store(min_insync_replicas, r);
    if (log && !log->publishes_to(&gauges->log)) log->share_gauges(std::shared_ptr<storage::LogGauges>(gauges, &gauges->log));
  }

  bool is_leader(int32_t self) const { return leader_id == self; }
  int64_t high_watermark() const { return hw; }
  // min.insync.replicas, capped at the replication factor (Kafka's effectiveMinIsr).
  int32_t effective_min_isr() const {
    return std::min<int32_t>(min_insync_replicas, std::max<int32_t>(1, static_cast<int32_t>(replicas.size())));
  }
  // The committed ISR is below it: acks=all appends are refused and the high
  // watermark stands still (Kafka >= 3.7, KAFKA-15583).
  bool under_min_isr() const { return static_cast<int32_t>(isr.size()) < effective_min_isr(); }
  // The ISR as far as the high watermark goes: while an expansion is in flight
  // the new member counts already (it has caught up), while a shrink is in
  // flight the leaving member still counts (Kafka's "maximal ISR").
  std::vector<int32_t> maximal_isr() const;
};

// KIP-467: one record a produce was refused for, by its index in its batch.
// ReplicaManager::partition_keys(): the partitions held, by key.
struct PartitionListing {
  std::vector<std::string> keys;
  std::vector<Partition*> partitions;                       // by index of keys
  // By index of keys, for an HTTP thread (which must not touch a Partition):
  std::vector<std::shared_ptr<const PartitionGauges>> gauges;
  std::vector<int32_t> indexes;  // the partition numbers
  std::vector<std::shared_ptr<const std::string>> topics;  // one shared name per topic
};

struct RecordError {
  int32_t batch_index = 0;
  std::string message;
  bool operator==(const RecordError&) const = default;
};

// The partition's error message when records were refused (Kafka's
// LogValidator: "One or more records have been rejected due to N record
// errors in total, and only showing the first three errors at most:
// [RecordError(batchIndex=0, message='...')]").
std::string record_errors_message(const std::vector<RecordError>& errors);

struct AppendResult {
  ErrorCode error = ErrorCode::NONE;
  std::string message;
  std::vector<RecordError> record_errors;  // INVALID_RECORD: the records refused (the batch is refused whole)
  int64_t base_offset = -1;
  int64_t last_offset = -1;
  int64_t log_append_time = -1;
  int64_t log_start_offset = -1;
};

// Who appends: a producer (its sequences are checked), or a coordinator
// writing on a transactional producer's behalf (TxnOffsetCommit: epoch
// checked, no sequences), as Kafka's AppendOrigin.
enum class AppendOrigin { Client, Coordinator };

class ReplicaManager : public metadata::Publisher {
 public:
  ReplicaManager(asio::io_context& io, const BrokerConfig& config, storage::LogManager& logs);
  ~ReplicaManager() override;

  // The way to the controller (AlterPartition) and this broker's epoch (from
  // its registration); set before the first image is published.
  void set_controller(ControllerChannel* channel, std::function<int64_t()> broker_epoch);

  void publish(const metadata::MetadataDelta& delta, std::shared_ptr<const metadata::MetadataImage> image) override;
  // Start-up with the LogManager still opening its logs (defer_opening):
  // images are taken and their changes queued, but nothing is applied until
  // logs_opened() (after LogManager::finish_opening()), which first removes
  // the logs of topics deleted meanwhile (as their deletion would have), then
  // applies the queue. No high-watermark checkpoint is written before.
  void set_logs_opening() { logs_opening_ = true; }
  void logs_opened();
  std::shared_ptr<const metadata::MetadataImage> image() const { return image_; }
  // The follower side of the replication throttles (broker/replication_quota.h),
  // used by the replica fetchers; null: none.
  void set_follower_quota(ReplicationQuota* q) { follower_quota_ = q; }
  ReplicationQuota* follower_quota() const { return follower_quota_; }

  Partition* find(const std::string& topic, int32_t index);
  Partition* find(const Uuid& topic_id, int32_t index);
  std::vector<Partition*> partitions();
  // The partitions held here (keys, and per partition its gauges, number and
  // topic name for other threads), shared and kept until the set of
  // partitions changes: a metrics scrape every second must not list 10,000
  // partitions on the loop each time (3.7 ms in one piece). Its Partition
  // pointers are valid on the loop only while it is the current listing
  // (no partition added or removed since): read them right after the call.
  std::shared_ptr<const PartitionListing> partition_keys() const;
  // The writer of elections' leader-epoch-checkpoint files (tests hold it busy).
  storage::BackgroundFileWriter& epoch_file_writer() { return epoch_files_; }

  // Validates and appends a produced payload (mutable: offsets are assigned in place).
  // `deferred`: the write is left in it for the AppendWriter (see
  // Log::append); once it is written, call after_written for the partition.
  AppendResult append(Partition& p, std::span<uint8_t> payload, AppendOrigin origin = AppendOrigin::Client,
                      storage::WriteBatch* deferred = nullptr);
  // The AppendWriter finished writes to the partition's log: makes them
  // visible and moves the high watermark / wakes waiters as an append does.
  void after_written(Partition& p);
  // Hands the deferred writes to the AppendWriter; `done` runs on the
  // io_context thread once they are written (not at all after shutdown).
  void submit_writes(std::shared_ptr<storage::WriteBatch> batch, std::function<void()> done);
  // WriteTxnMarkers on the leader: one END_TXN control batch of the
  // producer (commit or abort) at the log end.
  AppendResult append_marker(Partition& p, int64_t producer_id, int16_t producer_epoch, int32_t coordinator_epoch, bool commit);
  // The last stable offset: the high watermark, or the first offset of the
  // oldest transaction still open (or whose marker is not committed yet).
  int64_t last_stable_offset(Partition& p);

  // Leader: a follower fetched from `fetch_offset` (its log end offset).
  void on_follower_fetch(Partition& p, int32_t replica_id, int64_t replica_epoch, int64_t fetch_offset, int64_t log_start_offset = -1);
  // Follower: fetched batches from the leader, and the leader's high
  // watermark and log start offset. Throws storage errors.
  void append_as_follower(Partition& p, std::span<const uint8_t> batches, int64_t leader_hw, int64_t leader_log_start);
  // Follower: truncates the log (and the epoch cache) to end at `offset`.
  void truncate_to(Partition& p, int64_t offset);
  // Follower: the leader's log starts past our end: start over there.
  void truncate_fully_and_start_at(Partition& p, int64_t offset);
  // DeleteRecords on the leader: the log now starts at `offset` (<= the high watermark).
  void delete_records_before(Partition& p, int64_t offset);
  // The smallest log start offset of the leader and its in-sync followers:
  // DeleteRecords is done once this passes the requested offset.
  int64_t low_watermark(const Partition& p) const;
  // OffsetForLeaderEpoch on this replica: (epoch, end offset).
  std::pair<int32_t, int64_t> end_offset_for_epoch(Partition& p, int32_t epoch) const;

  // Purgatory: `try_complete` is called now-ish and whenever one of `keys`
  // (topic-partition keys, see key()) changes — data appended, high watermark
  // moved, leadership changed — until it returns true or the deadline
  // passes; then `expire` runs. Both run on the io_context thread.
  void delay(int64_t deadline_ms, std::vector<std::string> keys, std::function<bool()> try_complete, std::function<void()> expire);
  static std::string key(const std::string& topic, int32_t index) { return topic + "-" + std::to_string(index); }

  // Called periodically: retention, recovery-point and high-watermark checkpoints.
  void housekeeping();
  void shutdown();  // stop fetchers, flush all logs, write checkpoints

  // Invoked (once) for every callback waiting on the image to reach an offset.
  void when_image_reaches(int64_t offset, std::function<void()> fn);

  // Coordinators' hook: called when this node becomes leader of a
  // partition (leader=true, at `leader_epoch`) or stops leading it (a new
  // leader or epoch, or the partition is deleted here). Listeners stay for
  // the replica manager's life: one that may be destroyed earlier checks
  // its own liveness.
  using LeadershipListener = std::function<void(const std::string& topic, int32_t index, int32_t leader_epoch, bool leader)>;
  void add_leadership_listener(LeadershipListener fn) { leadership_listeners_.push_back(std::move(fn)); }
  // Called when a replica's log appears here (created or loaded), moves to
  // another log dir (AlterReplicaLogDirs) or stops because its own files
  // cannot be opened: what the AssignmentsManager reports to the controller.
  // Same lifetime rule as leadership listeners.
  using ReplicaListener = std::function<void(const Uuid& topic_id, int32_t index)>;
  void add_replica_listener(ReplicaListener fn) { replica_listeners_.push_back(std::move(fn)); }

  // JBOD (KIP-858), Kafka's ReplicaManager.handleLogDirFailure: the log dir
  // goes offline (storage::LogManager::mark_offline), every replica in it
  // stops (no fetcher, no role, KAFKA_STORAGE_ERROR to clients), the others
  // keep serving; the listener then hears of it (the node tells the
  // controller, or halts when no dir is left). Once per dir.
  void handle_log_dir_failure(const std::string& dir, const std::string& why);
  // After a storage exception on `p` (or its log failed a deferred write):
  // an I/O error takes its dir offline. True if the partition is offline.
  bool fail_dir_if_io_error(Partition& p, const std::exception* e);
  // AlterReplicaLogDirs (replica_alter_dirs.cc): starts moving the replica to
  // `dir` (an absolute log dir path), or cancels a move when it is already
  // there. NONE, LOG_DIR_NOT_FOUND, KAFKA_STORAGE_ERROR or REPLICA_NOT_AVAILABLE.
  ErrorCode alter_replica_log_dir(const std::string& topic, int32_t partition, const std::string& dir);
  void set_log_dir_failure_listener(std::function<void(const std::string& dir)> fn) { dir_failure_listener_ = std::move(fn); }
  storage::LogManager& logs() { return logs_; }

  int32_t node_id() const { return config_.node_id; }
  int64_t broker_epoch() const { return broker_epoch_ ? broker_epoch_() : -1; }
  const BrokerConfig& config() const { return config_; }

 private:
  struct Delayed {
    int64_t deadline_ms;
    std::function<bool()> try_complete;
    std::function<void()> expire;
    bool done = false;
  };
  void wake(const std::string& key);
  void arm_delay_timer();
  void on_delay_timer();

  // The settings a topic's partitions take from the image (see topic_settings()).
  struct TopicSettings {
    storage::LogConfig log;
    int32_t max_message_bytes = 0;
    int32_t min_insync_replicas = 1;
    bool log_append_time = false;
  };
  TopicSettings topic_settings(const std::string& topic) const;
  void apply_image();
  // Drops the local replica (its log too) if it belongs to `topic_id`.
  void drop_partition(const std::string& topic, int32_t index, const Uuid& topic_id, bool topic_gone);
  void arm_mover();
  void move_step();
  // The image records this broker's replica of the partition in one of our offline dirs.
  bool in_offline_dir(const metadata::PartitionRegistration& reg) const;
  void become_leader(Partition& p);
  void become_follower(Partition& p);
  // True if the high watermark moved (waiters on the partition were woken).
  bool maybe_advance_hw(Partition& p);
  void maybe_expand_isr(Partition& p, int32_t replica_id);
  void check_isr_shrink();
  void arm_isr_timer();
  void alter_isr(Partition& p, std::vector<int32_t> new_isr);
  void send_isr_changes();
  void adopt_partition_state(Partition& p, const std::vector<int32_t>& isr, int32_t partition_epoch);
  void write_hw_checkpoints(bool wait);

  asio::io_context& io_;
  BrokerConfig config_;
  storage::LogManager& logs_;
  ControllerChannel* controller_ = nullptr;
  std::function<int64_t()> broker_epoch_;
  std::shared_ptr<const metadata::MetadataImage> image_;
  ReplicationQuota* follower_quota_ = nullptr;
  // The leader-epoch-checkpoint writes of elections (become_leader); declared
  // before partitions_, whose caches may still queue on it until destroyed.
  storage::BackgroundFileWriter epoch_files_;
  std::unordered_map<std::string, std::unique_ptr<Partition>> partitions_;
  mutable std::shared_ptr<const PartitionListing> keys_cache_;  // partition_keys(); reset when partitions_ gains or loses one
  std::unordered_map<Uuid, std::string> topic_names_;
  std::unique_ptr<ReplicaFetcherManager> fetchers_;
  // High watermarks read from replication-offset-checkpoint at start.
  std::map<std::pair<std::string, int32_t>, int64_t> initial_hw_;

  std::multimap<int64_t, std::shared_ptr<Delayed>> delayed_;  // by deadline
  std::unordered_map<std::string, std::vector<std::weak_ptr<Delayed>>> watchers_;
  asio::steady_timer delay_timer_;
  int64_t delay_timer_at_ = INT64_MAX;
  asio::steady_timer isr_timer_;
  asio::steady_timer hw_checkpoint_timer_;
  asio::steady_timer mover_timer_;  // AlterReplicaLogDirs copies
  bool mover_armed_ = false;
  void arm_hw_checkpoint_timer();
  std::multimap<int64_t, std::function<void()>> image_waiters_;
  std::vector<std::pair<std::string, int32_t>> isr_queue_;  // ISR changes not sent yet
  bool isr_request_in_flight_ = false;
  bool stopped_ = false;
  bool logs_opening_ = false;  // set_logs_opening()
  // Topics deleted while the logs were opening: id, name, its partitions.
  std::vector<std::tuple<Uuid, std::string, std::vector<int32_t>>> deleted_while_opening_;
  bool apply_posted_ = false;
  // Partitions (topic id, index) the last images changed and apply_image has
  // not brought in line yet; ordered by topic id so that a topic's partitions
  // come together.
  std::set<std::pair<Uuid, int32_t>> to_apply_;
  // The current run of apply_image slices (to_apply_ non-empty until it ends):
  // when it started and how many partitions it visited, logged when large.
  int64_t apply_run_start_ms_ = -1;
  size_t apply_run_visited_ = 0;
  size_t apply_run_lines_ = 0;  // partition_line_level()
  static constexpr size_t kPartitionLinesPerRun = 1000;
  spdlog::level::level_enum partition_line_level();
  int64_t last_producer_expiry_check_ms_ = 0;  // producer.id.expiration.check.interval.ms
  std::vector<LeadershipListener> leadership_listeners_;  // the coordinators' hooks
  std::function<void(const std::string& dir)> dir_failure_listener_;
  void notify_leadership(const std::string& topic, int32_t index, int32_t leader_epoch, bool leader);
  std::vector<ReplicaListener> replica_listeners_;
  void notify_replica(const Uuid& topic_id, int32_t index) {
    for (const auto& fn : replica_listeners_) fn(topic_id, index);
  }
  // replication-offset-checkpoint writes (write_hw_checkpoints), off the event loop.
  asio::thread_pool checkpoint_pool_{1};
  std::shared_ptr<std::atomic<bool>> checkpoint_in_flight_ = std::make_shared<std::atomic<bool>>(false);
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace flotilla::broker
