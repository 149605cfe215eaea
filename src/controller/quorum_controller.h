// QuorumController: the active controller of KIP-631. It runs on the Raft
// leader, on the io_context thread. It turns CreateTopics, DeleteTopics,
// CreatePartitions, BrokerRegistration and BrokerHeartbeat into metadata
// records, appends them (each request's records atomically, in one batch) and
// completes a request only once its records are committed and applied.
// It also fences brokers whose session expired (moving their partition
// leadership away) and writes a NoOpRecord when the log has been idle for
// metadata.max.idle.interval.ms.
//
// State: `committed_` is built from committed batches (on every node);
// `latest_` is committed_ plus the records this controller appended and that
// are not committed yet (only while active). Validation reads latest_, so
// two requests in flight cannot both create the same topic.
//
// Activation: when Raft reports this node as leader — which it does only
// after this listener has consumed the log up to the epoch's
// LeaderChangeMessage — the controller becomes active; if the log has no
// metadata.version yet it first appends the bootstrap records
// (bootstrap.checkpoint). Losing leadership fails every pending request with
// NOT_CONTROLLER and resets latest_ to committed_.
//
// Threading: everything (API calls, callbacks, Raft listener calls, timers)
// on the one io_context thread. Callbacks are always invoked asynchronously
// (posted), never from inside the API call.
#pragma once

#include <asio.hpp>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "common/error.h"
#include "metadata/bootstrap.h"
#include "metadata/delta.h"
#include "metadata/image.h"
#include "protocol/messages.h"
#include "raft/client.h"

namespace flotilla::controller {

// One entry of a topic's effective configuration (CreateTopics v5+ response).
struct TopicConfigEntry {
  std::string name;
  std::optional<std::string> value;
  bool read_only = false;
  int8_t source = 1;  // Kafka's DescribeConfigs source id: 1 DYNAMIC_TOPIC_CONFIG, 4 STATIC_BROKER_CONFIG, 5 DEFAULT_CONFIG
  bool is_sensitive = false;
};

struct ControllerConfig {
  int32_t node_id = -1;
  std::string cluster_id;
  int32_t num_partitions = 1;               // num.partitions
  int16_t default_replication_factor = 1;   // default.replication.factor
  bool delete_topic_enable = true;          // delete.topic.enable
  int64_t broker_session_timeout_ms = 9000;       // broker.session.timeout.ms
  int64_t metadata_max_idle_interval_ms = 500;    // metadata.max.idle.interval.ms (0: no NoOpRecords)
  // Where bootstrap.checkpoint lives (metadata.log.dir). Ignored if `bootstrap` is set.
  std::string metadata_log_dir;
  std::optional<metadata::BootstrapMetadata> bootstrap;
  // The effective configuration of a new topic from its overrides, sorted by
  // name (the server knows the broker defaults). Default: the overrides only.
  std::function<std::vector<TopicConfigEntry>(const metadata::ConfigMap& overrides)> describe_topic_configs;
  uint64_t random_seed = 0;  // replica placement; 0 = random
};

class QuorumController : public raft::RaftListener {
 public:
  QuorumController(asio::io_context& io, raft::RaftClient& raft, ControllerConfig config);
  ~QuorumController() override;
  QuorumController(const QuorumController&) = delete;
  QuorumController& operator=(const QuorumController&) = delete;

  // Registers with Raft (which replays the committed log into this controller)
  // and starts the timers. Call on (or before running) the io_context thread.
  void start();
  // Stops timers, unregisters, fails pending requests with NOT_CONTROLLER.
  void shutdown();

  void create_topics(msg::CreateTopicsRequest request, int16_t version, std::function<void(msg::CreateTopicsResponse)> done);
  void delete_topics(msg::DeleteTopicsRequest request, int16_t version, std::function<void(msg::DeleteTopicsResponse)> done);
  void create_partitions(msg::CreatePartitionsRequest request, int16_t version,
                         std::function<void(msg::CreatePartitionsResponse)> done);
  void register_broker(msg::BrokerRegistrationRequest request, int16_t version,
                       std::function<void(msg::BrokerRegistrationResponse)> done);
  void broker_heartbeat(msg::BrokerHeartbeatRequest request, int16_t version,
                        std::function<void(msg::BrokerHeartbeatResponse)> done);

  // AlterPartition (KIP-497, KIP-841): a partition leader's ISR change.
  void alter_partition(msg::AlterPartitionRequest request, int16_t version, std::function<void(msg::AlterPartitionResponse)> done);

  bool is_active() const { return active_; }
  // The Raft leader as this node knows it (-1 if none).
  int32_t active_controller_id() const { return leader_.leader_id; }
  // The controller's view of committed metadata.
  std::shared_ptr<const metadata::MetadataImage> committed_image() const { return committed_; }

  // raft::RaftListener
  void handle_commit(const raft::CommittedBatch& batch) override;
  void handle_leader_change(raft::LeaderAndEpoch leader) override;

 private:
  using Completion = std::function<void(ErrorCode)>;  // NONE once committed, NOT_CONTROLLER if leadership was lost
  struct Session {
    int64_t last_contact_ms = 0;
    // Heard from the registered incarnation since this controller activated.
    // Sessions granted at activation only protect brokers from being fenced at
    // once; they don't block a restarted broker from re-registering.
    bool heard = false;
  };
  struct Placement {
    ErrorCode error = ErrorCode::NONE;
    std::string message;
    std::vector<std::vector<int32_t>> replicas;
  };

  // Write path.
  std::optional<int64_t> write(std::vector<std::vector<uint8_t>> records);
  // `done` runs once everything appended so far is committed (or leadership is lost).
  void after_commit_of(std::optional<int64_t> offset, Completion done);
  void post(std::function<void()> fn);
  void activate(int32_t epoch);
  void deactivate();
  void fail_pending();
  void arm_tick();
  void tick();

  // Helpers.
  int16_t mv() const { return latest_->metadata_version(); }
  int16_t partition_record_version() const;
  int16_t register_broker_record_version() const;
  std::vector<int32_t> usable_brokers() const;
  Placement place(int32_t num_partitions, int16_t replication_factor, int32_t first_partition);
  std::vector<Uuid> directories_for(const std::vector<int32_t>& replicas) const;
  std::vector<uint8_t> partition_record(const Uuid& topic_id, int32_t index, const std::vector<int32_t>& replicas);
  // PartitionChangeRecords that take `broker` out of every ISR and leadership.
  std::vector<std::vector<uint8_t>> fence_broker_records(int32_t broker_id, int64_t broker_epoch);
  std::vector<std::vector<uint8_t>> unfence_broker_records(int32_t broker_id, int64_t broker_epoch);
  void maybe_fence_stale_brokers(int64_t now_ms);
  void maybe_write_noop(int64_t now_ms);
  int64_t now_ms() const;

  asio::io_context& io_;
  raft::RaftClient& raft_;
  ControllerConfig config_;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
  asio::steady_timer tick_timer_;
  bool started_ = false;

  std::shared_ptr<const metadata::MetadataImage> committed_;
  std::shared_ptr<const metadata::MetadataImage> latest_;
  raft::LeaderAndEpoch leader_;
  bool active_ = false;
  int32_t epoch_ = -1;
  int64_t last_appended_offset_ = -1;
  int64_t last_write_ms_ = 0;
  std::multimap<int64_t, Completion> pending_;  // by the offset that must commit
  std::map<int32_t, Session> sessions_;
  std::mt19937_64 rng_;
  uint64_t placement_offset_ = 0;
};

// Kafka's Topic.validate: "" if legal, else the error message (INVALID_TOPIC_EXCEPTION).
std::string validate_topic_name(const std::string& name);
// True for the topic-level configuration names Kafka knows.
bool is_known_topic_config(const std::string& name);

}  // namespace flotilla::controller
