// QuorumController: the active controller of KIP-631. It runs on the Raft
// leader, on the io_context thread. It turns CreateTopics, DeleteTopics,
// CreatePartitions, BrokerRegistration and BrokerHeartbeat (and the admin
// writes: configs, SCRAM credentials, ACLs, ...) into metadata
// records, appends them (each request's records atomically, in one batch) and
// completes a request only once its records are committed and applied.
// It also fences brokers whose session expired (moving their partition
// leadership away) and writes a NoOpRecord when the log has been idle for
// metadata.max.idle.interval.ms.
//
// Leadership (Kafka's ReplicationControlManager): a partition's leader is
// always a member of its ISR and always a live broker (registered, unfenced,
// not in controlled shutdown); the ISR is a subset of the replicas and never
// empty. A broker that is fenced, re-registers or shuts down leaves every ISR
// it is in (except as the last member) and every leadership; a leaderless
// partition elects the first live ISR member in replica order as soon as one
// is unfenced, or — with unclean.leader.election.enable — any live replica
// (ISR reset to it, LeaderRecoveryState RECOVERING). Every leader change bumps
// the leader epoch; every PartitionChangeRecord bumps the partition epoch.
//
// Controlled shutdown (KIP-631): a heartbeat with WantShutDown from an
// unfenced broker that leads partitions moves them away (with
// BrokerRegistrationChangeRecord InControlledShutdown=1 where metadata.version
// has it) and answers ShouldShutDown=false until the broker's metadata offset
// has reached those records; then the broker is fenced and told to shut down.
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
#include <set>
#include <string>
#include <vector>

#include "common/error.h"
#include "controller/capacity.h"
#include "controller/partition_change.h"
#include "metadata/bootstrap.h"
#include "metadata/delta.h"
#include "metadata/image.h"
#include "protocol/messages.h"
#include "raft/client.h"
#include "security/acl.h"
#include "security/delegation_token.h"

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
  // unclean.leader.election.enable of this node's server.properties; a topic's
  // override and the dynamic broker configs (ConfigRecords) take precedence.
  bool unclean_leader_election_enable = false;
  // min.insync.replicas of this node's server.properties (the ELR's bound when
  // neither the topic nor the dynamic broker configs override it).
  int32_t min_insync_replicas = 1;
  // Milliseconds on a monotonic clock (sessions, idle NoOps). Default:
  // monotonic_ms(). Tests inject virtual time.
  std::function<int64_t()> clock;
  // How often tick() runs on the io_context (at most metadata.max.idle.interval.ms).
  // 0: never — the owner calls tick() itself (deterministic simulation).
  int64_t tick_interval_ms = 100;
  // Preferred-leader balancing (elections.cc). Kafka's KRaft controller reads
  // only the first two; leader.imbalance.per.broker.percentage is carried for
  // the config's sake.
  bool auto_leader_rebalance_enable = true;            // auto.leader.rebalance.enable
  int64_t leader_imbalance_check_interval_ms = 300000;  // leader.imbalance.check.interval.seconds * 1000
  int32_t leader_imbalance_per_broker_percentage = 10;  // leader.imbalance.per.broker.percentage
  // The controller node ids (static voters): BROKER config resources may name them.
  std::vector<int32_t> controller_ids;
  // authorizer.class.name is set on this node: CreateAcls/DeleteAcls are
  // served (else SECURITY_DISABLED, as Kafka answers without an authorizer).
  bool authorizer_configured = false;
  // Delegation tokens (delegation_tokens.cc): delegation.token.secret.key (or
  // the older delegation.token.master.key; empty: tokens disabled),
  // delegation.token.max.lifetime.ms, delegation.token.expiry.time.ms,
  // delegation.token.expiry.check.interval.ms.
  std::string delegation_token_secret_key;
  int64_t delegation_token_max_lifetime_ms = 604800000;
  int64_t delegation_token_expiry_time_ms = 86400000;
  int64_t delegation_token_expiry_check_interval_ms = 3600000;
  // Wall-clock milliseconds since the epoch (token timestamps). Default: the
  // system clock. Tests inject.
  std::function<int64_t()> wall_clock;
  // max.partitions (KIP-578): the most partitions the cluster may have; -1:
  // unlimited. Each broker's own budget comes with its registration.
  int32_t max_partitions = -1;
};

// What the delegation token plans need of the configuration.
struct DelegationTokenSettings {
  std::string secret_key;
  int64_t max_lifetime_ms = 604800000;
  int64_t renew_lifetime_ms = 86400000;  // delegation.token.expiry.time.ms
};
// Kafka's MetadataVersion.isDelegationTokenSupported: 3.6-IV2 and later.
inline constexpr int16_t kDelegationTokenMetadataVersion = 14;
template <class Response>
struct DelegationTokenPlan {
  Response response;
  std::vector<std::vector<uint8_t>> records;  // empty when refused
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
  // ControllerRegistration (KIP-919, API 70): a controller's listeners and
  // supported feature ranges as a RegisterControllerRecord (metadata.version
  // 3.7-IV0 and later), answered once committed (cluster.cc).
  void register_controller(msg::ControllerRegistrationRequest request, int16_t version,
                           std::function<void(msg::ControllerRegistrationResponse)> done);

  // AlterPartition (KIP-497, KIP-841): a partition leader's ISR change.
  void alter_partition(msg::AlterPartitionRequest request, int16_t version, std::function<void(msg::AlterPartitionResponse)> done);

  // AssignReplicasToDirs (KIP-858, directories.cc): a broker reports the log
  // dirs its replicas live in; PartitionChangeRecords set their Directories,
  // and a replica assigned to an offline dir leaves the ISR / leadership.
  void assign_replicas_to_dirs(msg::AssignReplicasToDirsRequest request, int16_t version,
                               std::function<void(msg::AssignReplicasToDirsResponse)> done);

  // ElectLeaders (KIP-460): PREFERRED or UNCLEAN elections (elections.cc).
  void elect_leaders(msg::ElectLeadersRequest request, int16_t version, std::function<void(msg::ElectLeadersResponse)> done);
  // UnregisterBroker (KIP-631): drops a broker's registration (elections.cc).
  void unregister_broker(msg::UnregisterBrokerRequest request, int16_t version, std::function<void(msg::UnregisterBrokerResponse)> done);
  // AllocateProducerIds (KIP-730): the next block of 1,000 producer ids for
  // a broker, as a ProducerIdsRecord (producer_ids.cc).
  void allocate_producer_ids(msg::AllocateProducerIdsRequest request, int16_t version,
                             std::function<void(msg::AllocateProducerIdsResponse)> done);
  // IncrementalAlterConfigs / AlterConfigs for TOPIC and BROKER resources: ConfigRecords (configs.cc).
  void incremental_alter_configs(msg::IncrementalAlterConfigsRequest request, int16_t version,
                                 std::function<void(msg::IncrementalAlterConfigsResponse)> done);
  void alter_configs(msg::AlterConfigsRequest request, int16_t version, std::function<void(msg::AlterConfigsResponse)> done);
  // AlterUserScramCredentials (KIP-554): SCRAM credential records (scram.cc).
  void alter_user_scram_credentials(msg::AlterUserScramCredentialsRequest request, int16_t version,
                                    std::function<void(msg::AlterUserScramCredentialsResponse)> done);
  // CreateAcls / DeleteAcls (v0-3): AccessControlEntryRecord /
  // RemoveAccessControlEntryRecord as Kafka's AclControlManager (acls.cc).
  void create_acls(msg::CreateAclsRequest request, int16_t version, std::function<void(msg::CreateAclsResponse)> done);
  void delete_acls(msg::DeleteAclsRequest request, int16_t version, std::function<void(msg::DeleteAclsResponse)> done);
  // DescribeAcls from the committed image (the controller listener's).
  void describe_acls(msg::DescribeAclsRequest request, int16_t version, std::function<void(msg::DescribeAclsResponse)> done);
  // AlterClientQuotas (KIP-546): ClientQuotaRecords, validated as Kafka's
  // ClientQuotaControlManager (client_quotas.cc).
  void alter_client_quotas(msg::AlterClientQuotasRequest request, int16_t version,
                           std::function<void(msg::AlterClientQuotasResponse)> done);
  // UpdateFeatures (KIP-584/778): FeatureLevelRecords, validated as Kafka's
  // FeatureControlManager (features.cc).
  void update_features(msg::UpdateFeaturesRequest request, int16_t version, std::function<void(msg::UpdateFeaturesResponse)> done);
  // Create/Renew/ExpireDelegationToken (KIP-48, KIP-900) as Kafka's
  // DelegationTokenControlManager (delegation_tokens.cc). `caller` is the
  // request's principal (a forwarding broker's client's).
  void create_delegation_token(msg::CreateDelegationTokenRequest request, int16_t version, security::KafkaPrincipal caller,
                               std::function<void(msg::CreateDelegationTokenResponse)> done);
  void renew_delegation_token(msg::RenewDelegationTokenRequest request, int16_t version, security::KafkaPrincipal caller,
                              std::function<void(msg::RenewDelegationTokenResponse)> done);
  void expire_delegation_token(msg::ExpireDelegationTokenRequest request, int16_t version, security::KafkaPrincipal caller,
                               std::function<void(msg::ExpireDelegationTokenResponse)> done);
  // KIP-455 reassignments (reassignment.cc).
  void alter_partition_reassignments(msg::AlterPartitionReassignmentsRequest request, int16_t version,
                                     std::function<void(msg::AlterPartitionReassignmentsResponse)> done);
  void list_partition_reassignments(msg::ListPartitionReassignmentsRequest request, int16_t version,
                                    std::function<void(msg::ListPartitionReassignmentsResponse)> done);

  // Fences brokers whose session expired and writes idle NoOps; the timer calls
  // it every tick_interval_ms (or the owner, with tick_interval_ms = 0).
  void tick();

  bool is_active() const { return active_; }
  // The Raft leader as this node knows it (-1 if none).
  int32_t active_controller_id() const { return leader_.leader_id; }
  // The controller's view of committed metadata.
  std::shared_ptr<const metadata::MetadataImage> committed_image() const { return committed_; }

  // raft::RaftListener
  void handle_commit(const raft::CommittedBatch& batch) override;
  void handle_leader_change(raft::LeaderAndEpoch leader) override;
  // committed_ (and latest_) become the snapshot's image, built on an empty
  // one; sessions follow the brokers it registers. Raft gives snapshots to
  // standbys only: an active controller's own writes above the snapshot would
  // be lost from latest_.
  void handle_load_snapshot(const raft::SnapshotId& id, const raft::SnapshotContents& contents) override;

 private:
  using Completion = std::function<void(ErrorCode)>;  // NONE once committed, NOT_CONTROLLER if leadership was lost
  struct Session {
    int64_t last_contact_ms = 0;
    // Heard from the registered incarnation since this controller activated.
    // Sessions granted at activation only protect brokers from being fenced at
    // once; they don't block a restarted broker from re-registering.
    bool heard = false;
    // In controlled shutdown as this controller knows it (also before
    // metadata.version 3.3-IV3, which has no record for it).
    bool shutting_down = false;
    // The offset the broker's metadata must reach before it may shut down
    // (the records that moved its leadership); -1 if not known yet.
    int64_t shutdown_offset = -1;
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
  // Answers a caller at once, yet never inside its call (posted).
  template <class Response>
  void answer_now(std::function<void(Response)>& done, Response r) {
    post([done = std::move(done), r = std::move(r)]() mutable { done(std::move(r)); });
  }
  // ... with a response that carries only the error `ec`.
  template <class Response>
  void answer_error_now(std::function<void(Response)>& done, ErrorCode ec) {
    Response r;
    r.error_code = code(ec);
    answer_now(done, std::move(r));
  }
  void activate(int32_t epoch);
  void deactivate();
  void fail_pending();
  void arm_tick();

  // Helpers.
  int16_t mv() const { return latest_->metadata_version(); }
  int16_t partition_record_version() const;
  int16_t register_broker_record_version() const;
  // Live brokers (placement targets, leader and ISR candidates): registered,
  // unfenced, not in controlled shutdown. Sorted by id.
  std::vector<int32_t> usable_brokers() const;
  bool is_live(int32_t broker_id) const;
  // Replica placement over the usable brokers: round-robin from a rotating
  // start; with broker.rack set, over Kafka's rack-alternated broker list so
  // that each partition's replicas span as many racks as possible.
  // `excluded`: brokers not to use (full ones, capacity.cc).
  Placement place(int32_t num_partitions, int16_t replication_factor, int32_t first_partition,
                  const std::set<int32_t>& excluded = {});
  // Capacity (capacity.cc). What a request adds on top of latest_ so far
  // (its earlier topics), so that its later topics are checked with them.
  struct CapacityPlan {
    std::map<int32_t, int64_t> replicas;  // broker -> new replicas
    int64_t partitions = 0;
    void add(const std::vector<std::vector<int32_t>>& assignment);
  };
  // "" if `assignment` fits every broker's budget and max.partitions on top
  // of latest_ and `plan`; else the POLICY_VIOLATION message. `verb`:
  // "Creating" / "Adding".
  std::string capacity_error(const CapacityPlan& plan, const std::vector<std::vector<int32_t>>& assignment, const char* verb) const;
  // The per-broker part alone: `adding` new replicas per broker (a
  // reassignment's targets, which add no partition).
  std::string broker_capacity_error(const CapacityPlan& plan, const std::map<int32_t, int64_t>& adding, const char* verb) const;
  // place(), avoiding brokers the placement would take past their budget
  // while the others can take the replicas; POLICY_VIOLATION when they
  // cannot (or max.partitions would be exceeded).
  Placement place_within_capacity(const CapacityPlan& plan, int32_t num_partitions, int16_t replication_factor, int32_t first_partition);
  std::vector<Uuid> directories_for(const std::vector<int32_t>& replicas) const;
  // KIP-858 (directories.cc). Kafka's ClusterControlManager.defaultDir: the
  // dir of a new replica on `broker` (its only dir, else UNASSIGNED; MIGRATING
  // when it registered none or before 3.7-IV2).
  Uuid default_dir(int32_t broker) const;
  // Whether `replica`'s dir of the partition is online on its broker (Kafka's
  // LeaderAcceptor): a replica in an offline dir may not lead.
  bool replica_dir_online(const metadata::PartitionRegistration& p, int32_t replica) const;
  // The registration's LogDirs as Kafka's ClusterControlManager checks them
  // (3.7-IV2+): an error message, or empty when valid.
  std::string invalid_registration_dirs(const msg::BrokerRegistrationRequest& request) const;
  // Kafka's handleDirectoriesOffline: the broker's replicas in newly offline
  // dirs leave ISRs and leaderships, and its registration keeps the remaining
  // dirs (BrokerRegistrationChangeRecord v2).
  void directories_offline_records(int32_t broker, int64_t broker_epoch, const std::vector<Uuid>& offline,
                                   std::vector<std::vector<uint8_t>>& out) const;
  std::vector<uint8_t> partition_record(const Uuid& topic_id, int32_t index, const std::vector<int32_t>& replicas);
  // Leader/ISR maintenance (Kafka's generateLeaderAndIsrUpdates) for one
  // partition of latest_: `remove` (or -1) leaves the ISR (unless it is the last
  // member) and may not lead; `add` (or -1) may lead although latest_ does not
  // show it live yet (it is being unfenced in the same batch). Keeps a live
  // leader; else elects the first live ISR member in replica order; else, if
  // unclean election is enabled for the topic, the first live replica (ISR =
  // [it], RECOVERING); else none. nullopt when nothing changes.
  // With ELR enabled the change is PartitionChange's (the ISR may empty into
  // the ELR); `unclean_shutdown` (or -1) is a broker that restarted after an
  // unclean shutdown: out of the ISR and the ELR, not a leader.
  std::optional<msg::PartitionChangeRecord> leader_and_isr_change(const metadata::TopicImage& topic, int32_t index,
                                                                  const metadata::PartitionRegistration& p, int32_t remove,
                                                                  int32_t add, int32_t unclean_shutdown = -1) const;
  // The changes for every partition that has `remove` in its ISR or as leader
  // (remove >= 0), or that has no leader (add >= 0), or that has
  // `unclean_shutdown` in its ISR or ELR, framed.
  void leader_and_isr_updates(int32_t remove, int32_t add, std::vector<std::vector<uint8_t>>& out, int32_t unclean_shutdown = -1) const;
  // KIP-966: whether the ELR is maintained (metadata/features.h), and a
  // topic's effective min.insync.replicas (override, dynamic broker default,
  // server.properties; at most the replication factor).
  bool elr_enabled() const;
  int32_t effective_min_isr(const metadata::TopicImage& topic) const;
  // Sets ELR maintenance on a change of `topic`'s partition.
  void configure_elr(PartitionChange& change, const metadata::TopicImage& topic) const;
  std::vector<uint8_t> partition_change(const msg::PartitionChangeRecord& r) const;
  bool unclean_election_enabled(const std::string& topic) const;
  bool leads_partitions(int32_t broker_id) const;
  // The record that fences or unfences a broker: FenceBrokerRecord /
  // UnfenceBrokerRecord, or BrokerRegistrationChangeRecord from 3.3-IV2 on.
  std::vector<uint8_t> fencing_record(int32_t broker_id, int64_t broker_epoch, bool fence) const;
  // Fencing after taking `broker` out of every ISR and leadership.
  std::vector<std::vector<uint8_t>> fence_broker_records(int32_t broker_id, int64_t broker_epoch);
  std::vector<std::vector<uint8_t>> unfence_broker_records(int32_t broker_id, int64_t broker_epoch);
  // Entering controlled shutdown: BrokerRegistrationChangeRecord
  // InControlledShutdown=1 (from 3.3-IV3 on) and the leadership moves.
  std::vector<std::vector<uint8_t>> controlled_shutdown_records(int32_t broker_id, int64_t broker_epoch);
  void maybe_fence_stale_brokers(int64_t now_ms);
  void maybe_write_noop(int64_t now_ms);
  int64_t now_ms() const;

  // Elections, configs, reassignments (elections.cc, configs.cc, reassignment.cc).
  // A preferred or unclean election on one partition of latest_: the record, or the error.
  ErrorCode elect_leader(const metadata::TopicImage& topic, int32_t partition, bool unclean, std::vector<std::vector<uint8_t>>& records);
  // Every tick: preferred-leader balancing once the imbalance check interval passed.
  void maybe_balance_partition_leaders(int64_t now_ms);
  // After a committed batch changed partitions: completes reassignments whose
  // target replicas are all in the ISR now.
  void maybe_complete_reassignments(std::vector<std::pair<Uuid, int32_t>> partitions);
  // Once per term: completes reassignments a previous controller left
  // completable (their ISR change committed, the completion did not).
  void maybe_resume_reassignments();
  int32_t reassignments_resumed_epoch_ = -1;
  // Delegation tokens (delegation_tokens.cc).
  DelegationTokenSettings token_settings() const;
  int64_t wall_ms() const;
  template <class Response>
  void write_token_plan(DelegationTokenPlan<Response> plan, const char* what, std::function<void(Response)> done);
  // Every tick: RemoveDelegationTokenRecords for expired tokens once the check interval passed.
  void maybe_sweep_expired_tokens(int64_t now_ms);
  int64_t token_sweep_due_ms_ = -1;
  // One config resource's new values (nullopt: delete the key), validated as
  // Kafka's ConfigurationControlManager does; appends its ConfigRecords.
  ErrorCode prepare_config_change(int8_t type, const std::string& name, const std::map<std::string, std::optional<std::string>>& changes,
                                  std::string& message, std::vector<std::vector<uint8_t>>& records) const;
  // What IncrementalAlterConfigs and AlterConfigs (`api`, for the log) share
  // (configs.cc): every resource screened, its changes (computed per API)
  // validated and turned into records, all of them written in one batch; the
  // resources it carried fail together if it does not commit.
  template <class Response, class Request, class ChangesOf>
  void alter_config_resources(const Request& request, const char* api, ChangesOf changes_of, std::function<void(Response)> done);

  // Leader balancing schedule (Kafka's ImbalanceSchedule): due time or -1, per epoch.
  int32_t balance_epoch_ = -1;
  int64_t balance_due_ms_ = -1;
  bool balance_immediately_ = false;
  int64_t imbalance_scanned_offset_ = -2;

  asio::io_context& io_;
  raft::RaftClient& raft_;
  ControllerConfig config_;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
  asio::steady_timer tick_timer_;
  bool started_ = false;

  std::shared_ptr<const metadata::MetadataImage> committed_;
  std::shared_ptr<const metadata::MetadataImage> latest_;
  // Replicas per broker of committed_ and of latest_ (capacity.h).
  ReplicaCounts committed_counts_;
  ReplicaCounts latest_counts_;
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

// An AlterUserScramCredentials request checked against `image` (scram.cc):
// one result per user named, in the order first named, and the records of
// the users whose every alteration is valid (StoredKey/ServerKey computed from
// the salted passwords).
struct ScramAlteration {
  msg::AlterUserScramCredentialsResponse response;
  std::vector<std::vector<uint8_t>> records;
};
ScramAlteration plan_scram_alteration(const metadata::MetadataImage& image, const msg::AlterUserScramCredentialsRequest& request);

// CreateAcls / DeleteAcls checked against `image` (acls.cc): one result per
// binding (filter) in request order, and the records to write — the ACLs
// created (ids from `new_id`, never one in use) or the ids removed.
struct AclCreation {
  msg::CreateAclsResponse response;
  std::vector<std::vector<uint8_t>> records;
  std::vector<security::StandardAcl> acls;  // what the records create
};
AclCreation plan_acl_creation(const metadata::MetadataImage& image, const msg::CreateAclsRequest& request,
                              const std::function<Uuid()>& new_id);
struct AclDeletion {
  msg::DeleteAclsResponse response;
  std::vector<std::vector<uint8_t>> records;
  std::vector<Uuid> removed;  // what the records remove
};
AclDeletion plan_acl_deletion(const metadata::MetadataImage& image, const msg::DeleteAclsRequest& request, int16_t version);
// The request forms as security's model (codes Kafka does not define become
// UNKNOWN; a v0 filter's ANY pattern type is LITERAL, as Kafka reads it).
security::AclBinding acl_binding(const msg::CreateAclsRequest::AclCreation& c);
security::AclBindingFilter acl_binding_filter(const msg::DeleteAclsRequest::DeleteAclsFilter& f, int16_t version);
// An AlterClientQuotas request checked against `image` (client_quotas.cc):
// one result per entity named (in Kafka's answer order), and the records of
// the entities that passed.
struct ClientQuotaAlteration {
  msg::AlterClientQuotasResponse response;
  std::vector<std::vector<uint8_t>> records;
};
ClientQuotaAlteration plan_client_quota_alteration(const metadata::MetadataImage& image, const msg::AlterClientQuotasRequest& request);

// An UpdateFeatures request checked against `image` (features.cc) on
// controller `node_id` (whose supported ranges are metadata/features.h's):
// the answer for request version `version` and the FeatureLevelRecords to
// write (none when refused or ValidateOnly).
struct FeatureUpdate {
  msg::UpdateFeaturesResponse response;
  std::vector<std::vector<uint8_t>> records;
};
// `quorum_ids`: the voters, each of which must have registered (KIP-919)
// before a level changes at metadata.version 3.7-IV0 or later.
FeatureUpdate plan_feature_update(const metadata::MetadataImage& image, int32_t node_id, const msg::UpdateFeaturesRequest& request,
                                  int16_t version, const std::vector<int32_t>& quorum_ids = {});

// Delegation token requests checked against `image` (delegation_tokens.cc):
// the answer and the records (none when refused). `now_ms` is wall-clock;
// `token_id` the new token's id.
DelegationTokenPlan<msg::CreateDelegationTokenResponse> plan_delegation_token_creation(
    const metadata::MetadataImage& image, const DelegationTokenSettings& s, const security::KafkaPrincipal& caller,
    const msg::CreateDelegationTokenRequest& request, int64_t now_ms, const std::string& token_id);
DelegationTokenPlan<msg::RenewDelegationTokenResponse> plan_delegation_token_renewal(
    const metadata::MetadataImage& image, const DelegationTokenSettings& s, const security::KafkaPrincipal& caller,
    const msg::RenewDelegationTokenRequest& request, int64_t now_ms);
DelegationTokenPlan<msg::ExpireDelegationTokenResponse> plan_delegation_token_expiry(
    const metadata::MetadataImage& image, const DelegationTokenSettings& s, const security::KafkaPrincipal& caller,
    const msg::ExpireDelegationTokenRequest& request, int64_t now_ms);
// RemoveDelegationTokenRecords for the tokens of `image` expired at `now_ms`
// (their ids appended to `removed`).
std::vector<std::vector<uint8_t>> expired_delegation_token_records(const metadata::MetadataImage& image, int64_t now_ms,
                                                                   std::vector<std::string>* removed = nullptr);

// Kafka's Topic.validate: "" if legal, else the error message (INVALID_TOPIC_EXCEPTION).
std::string validate_topic_name(const std::string& name);
// True for the topic-level configuration names Kafka knows.
bool is_known_topic_config(const std::string& name);
// Kafka's LogConfig.validate over a topic's whole set of overrides: "" if
// valid, else the INVALID_CONFIG message (unknown name, bad value, conflict).
std::string validate_topic_configs(const metadata::ConfigMap& configs);

}  // namespace flotilla::controller
