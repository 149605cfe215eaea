// server.properties: Kafka's property names, defaults and meanings.
// An invalid value stops start-up with a message naming the property; an
// unknown property is logged and otherwise ignored (rule 7 of the design).
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

namespace flotilla::server {

class ConfigError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Java-properties text: `key=value` or `key: value`, `#`/`!` comments,
// backslash line continuation and escapes.
std::map<std::string, std::string> parse_properties(const std::string& text);
std::map<std::string, std::string> load_properties_file(const std::string& path);

struct Endpoint {
  std::string listener;  // name, e.g. PLAINTEXT, CONTROLLER
  std::string host;
  int port = 0;
  std::string security_protocol = "PLAINTEXT";  // from listener.security.protocol.map, canonical upper case
};

struct QuorumVoter {
  int32_t id = -1;
  std::string host;
  int port = 0;
};

struct KafkaConfig {
  // Roles and identity.
  bool broker_role = false;
  bool controller_role = false;
  int32_t node_id = -1;
  std::vector<QuorumVoter> quorum_voters;            // controller.quorum.voters
  std::vector<std::string> quorum_bootstrap_servers;  // controller.quorum.bootstrap.servers

  // Listeners.
  std::vector<Endpoint> listeners;
  std::vector<Endpoint> advertised_listeners;
  std::vector<std::string> controller_listener_names;
  std::map<std::string, std::string> security_protocol_map;
  std::string inter_broker_listener_name = "PLAINTEXT";  // inter.broker.listener.name, else security.inter.broker.protocol

  // SASL (Kafka's names; the per-listener and JAAS settings are read from
  // `originals` by server/listener_security.h).
  std::vector<std::string> sasl_enabled_mechanisms = {"GSSAPI"};        // sasl.enabled.mechanisms
  std::string sasl_mechanism_inter_broker_protocol = "GSSAPI";          // sasl.mechanism.inter.broker.protocol
  std::string sasl_mechanism_controller_protocol = "GSSAPI";            // sasl.mechanism.controller.protocol
  // Client quotas: rates over quota.window.num samples of quota.window.size.seconds
  // (controller mutations and replication throttles: their own pairs).
  int32_t quota_window_num = 11;
  int32_t quota_window_size_seconds = 1;
  int32_t controller_quota_window_num = 11;
  int32_t controller_quota_window_size_seconds = 1;
  int32_t replication_quota_window_num = 11;
  int32_t replication_quota_window_size_seconds = 1;
  int32_t telemetry_max_bytes = 1048576;                                // telemetry.max.bytes (KIP-714)
  // The HTTP listener (issue 18): http.listeners, or Confluent Server's
  // confluent.http.server.listeners when that is the one set; empty: off.
  std::string http_listeners;
  int32_t http_server_threads = 16;                // flotilla.http.server.threads
  int32_t http_server_thread_nice = 10;            // flotilla.http.server.thread.nice (0-19)
  bool metrics_partition_series = true;            // flotilla.metrics.partition.series: per-partition log series in /metrics
  // flotilla.log.fd.cache.size: how many log file descriptors (segments'
  // .log/.index/.timeindex/.txnindex) stay open in the fd cache
  // (storage/fd_cache.h); 0: half of the soft RLIMIT_NOFILE, which start-up
  // raises to the hard limit.
  int32_t log_fd_cache_size = 0;
  int64_t connections_max_reauth_ms = 0;                                // connections.max.reauth.ms (0: off)
  // Delegation tokens (KIP-48): delegation.token.secret.key, or the deprecated
  // delegation.token.master.key when it is absent (a secret: never logged);
  // empty disables tokens.
  std::string delegation_token_secret_key;
  int64_t delegation_token_max_lifetime_ms = 604800000;        // delegation.token.max.lifetime.ms
  int64_t delegation_token_expiry_time_ms = 86400000;          // delegation.token.expiry.time.ms
  int64_t delegation_token_expiry_check_interval_ms = 3600000;  // delegation.token.expiry.check.interval.ms
  // flotilla.connections.authentication.timeout.ms (Flotilla's own): a
  // connection to a SASL listener that has not authenticated this long after
  // it was accepted is closed (<= 0: unbounded).
  int64_t connections_authentication_timeout_ms = 10000;

  // Request memory and connection limits (issue 21: net/memory_pool.h,
  // net/connection_quotas.h). Kafka's names; queued.max.request.bytes is
  // bounded by default here (Kafka's -1 = unbounded is accepted: <= 0).
  int64_t queued_max_request_bytes = 268435456;                   // queued.max.request.bytes (256 MiB)
  int32_t max_connections = INT32_MAX;                            // max.connections (KIP-402)
  int32_t max_connections_per_ip = INT32_MAX;                     // max.connections.per.ip
  std::map<std::string, int32_t> max_connections_per_ip_overrides;  // max.connections.per.ip.overrides (canonical IPs)
  int32_t max_connection_creation_rate = INT32_MAX;               // max.connection.creation.rate (KIP-612)
  std::map<std::string, int32_t> listener_max_connections;        // listener.name.<l>.max.connections (key: lower case)
  std::map<std::string, int32_t> listener_max_connection_creation_rate;  // listener.name.<l>.max.connection.creation.rate
  int64_t connections_max_idle_ms = 600000;                       // connections.max.idle.ms (<= 0: never)

  // Authorization (Kafka's names and defaults). authorizer.class.name empty:
  // no authorizer, everything is allowed; security::kStandardAuthorizerClass
  // (org.apache.kafka.metadata.authorizer.StandardAuthorizer): ACLs from the
  // metadata log; any other class refuses to start.
  std::string authorizer_class_name;                 // authorizer.class.name
  std::vector<std::string> super_users;              // super.users ("User:admin;User:broker"), parsed
  bool allow_everyone_if_no_acl_found = false;       // allow.everyone.if.no.acl.found
  // early.start.listeners: listeners that serve before the authorizer has
  // loaded the ACLs (default: the controller listeners); every other
  // listener opens only once it has.
  std::vector<std::string> early_start_listeners;
  bool authorizer_enabled() const { return !authorizer_class_name.empty(); }
  bool is_early_start_listener(const std::string& name) const;

  // Storage.
  std::vector<std::string> log_dirs;  // log.dirs (or log.dir)
  std::string metadata_log_dir;       // metadata.log.dir, default: first of log.dirs

  // Topics and logs.
  int32_t num_partitions = 1;
  int16_t default_replication_factor = 1;
  bool auto_create_topics_enable = true;
  int32_t max_request_partition_size_limit = 2000;  // max.request.partition.size.limit (DescribeTopicPartitions)
  bool delete_topic_enable = true;
  int64_t log_segment_bytes = 1073741824;
  int64_t log_roll_ms = 604800000;  // log.roll.ms, else log.roll.hours * 3600000 (168 h)
  int64_t log_retention_ms = 604800000;
  int64_t log_retention_bytes = -1;
  int64_t log_retention_check_interval_ms = 300000;
  int32_t log_index_interval_bytes = 4096;
  int32_t log_index_size_max_bytes = 10485760;
  int64_t log_flush_interval_messages = INT64_MAX;
  int64_t log_flush_interval_ms = -1;  // -1: unset (Kafka: null → log.flush.scheduler.interval.ms)
  int64_t log_segment_delete_delay_ms = 60000;
  std::string log_cleanup_policy = "delete";
  // The log cleaner (compaction): Kafka's CleanerConfig names and defaults.
  bool log_cleaner_enable = true;                        // log.cleaner.enable
  int32_t log_cleaner_threads = 1;                       // log.cleaner.threads
  int64_t log_cleaner_backoff_ms = 15000;                // log.cleaner.backoff.ms
  int64_t log_cleaner_dedupe_buffer_size = 134217728;    // log.cleaner.dedupe.buffer.size
  double log_cleaner_min_cleanable_ratio = 0.5;          // log.cleaner.min.cleanable.ratio
  int64_t log_cleaner_delete_retention_ms = 86400000;    // log.cleaner.delete.retention.ms
  int64_t log_cleaner_min_compaction_lag_ms = 0;         // log.cleaner.min.compaction.lag.ms
  int64_t log_cleaner_max_compaction_lag_ms = INT64_MAX; // log.cleaner.max.compaction.lag.ms
  int32_t message_max_bytes = 1048588;
  int32_t min_insync_replicas = 1;
  // The group coordinator (Kafka's names and defaults).
  int32_t group_min_session_timeout_ms = 6000;        // group.min.session.timeout.ms
  int32_t group_max_session_timeout_ms = 1800000;     // group.max.session.timeout.ms
  int32_t group_initial_rebalance_delay_ms = 3000;    // group.initial.rebalance.delay.ms
  int32_t group_max_size = 2147483647;                // group.max.size
  int32_t group_consumer_session_timeout_ms = 45000;  // group.consumer.session.timeout.ms (KIP-848)
  int32_t group_consumer_heartbeat_interval_ms = 5000;  // group.consumer.heartbeat.interval.ms (KIP-848)
  int32_t group_consumer_max_size = 2147483647;       // group.consumer.max.size (KIP-848)
  int32_t offsets_topic_num_partitions = 50;          // offsets.topic.num.partitions
  int16_t offsets_topic_replication_factor = 3;       // offsets.topic.replication.factor
  int32_t offsets_topic_segment_bytes = 104857600;    // offsets.topic.segment.bytes
  int32_t offset_metadata_max_bytes = 4096;           // offset.metadata.max.bytes
  int32_t offsets_commit_timeout_ms = 5000;           // offsets.commit.timeout.ms
  int64_t offsets_retention_minutes = 10080;          // offsets.retention.minutes
  int64_t offsets_retention_check_interval_ms = 600000;  // offsets.retention.check.interval.ms
  // The transaction coordinator.
  int32_t transaction_state_log_num_partitions = 50;          // transaction.state.log.num.partitions
  int16_t transaction_state_log_replication_factor = 3;       // transaction.state.log.replication.factor
  int32_t transaction_state_log_min_isr = 2;                  // transaction.state.log.min.isr
  int32_t transaction_state_log_segment_bytes = 104857600;    // transaction.state.log.segment.bytes
  int32_t transaction_max_timeout_ms = 900000;                // transaction.max.timeout.ms
  int32_t transaction_abort_timed_out_transaction_cleanup_interval_ms = 10000;  // transaction.abort.timed.out.transaction.cleanup.interval.ms
  int32_t transactional_id_expiration_ms = 604800000;                          // transactional.id.expiration.ms
  int32_t producer_id_expiration_ms = 86400000;                                // producer.id.expiration.ms
  int32_t producer_id_expiration_check_interval_ms = 600000;                   // producer.id.expiration.check.interval.ms
  int32_t transaction_remove_expired_transaction_cleanup_interval_ms = 3600000;  // transaction.remove.expired.transaction.cleanup.interval.ms
  std::string compression_type = "producer";
  std::string log_message_timestamp_type = "CreateTime";

  // Network.
  int32_t socket_request_max_bytes = 104857600;
  int32_t socket_send_buffer_bytes = 102400;
  int32_t socket_receive_buffer_bytes = 102400;
  int32_t num_network_threads = 3;
  int32_t num_io_threads = 8;
  int32_t num_recovery_threads_per_data_dir = 2;  // num.recovery.threads.per.data.dir (Kafka 4's default)
  int32_t replica_fetch_max_bytes = 1048576;
  int64_t replica_lag_time_max_ms = 30000;
  int32_t replica_fetch_wait_max_ms = 500;
  int32_t replica_fetch_min_bytes = 1;
  int32_t replica_fetch_response_max_bytes = 10485760;
  int32_t replica_fetch_backoff_ms = 1000;
  int32_t replica_socket_timeout_ms = 30000;
  int64_t replica_high_watermark_checkpoint_interval_ms = 5000;
  int32_t fetch_max_bytes = 57671680;

  // KRaft.
  int32_t quorum_election_timeout_ms = 1000;
  int32_t quorum_election_backoff_max_ms = 1000;
  int32_t quorum_fetch_timeout_ms = 2000;
  int32_t quorum_append_linger_ms = 25;
  int32_t quorum_request_timeout_ms = 2000;
  int32_t quorum_retry_backoff_ms = 20;  // controller.quorum.retry.backoff.ms
  int32_t request_timeout_ms = 30000;    // request.timeout.ms (forwarding to the controller)
  int64_t metadata_max_idle_interval_ms = 500;
  int32_t broker_session_timeout_ms = 9000;
  int32_t broker_heartbeat_interval_ms = 2000;
  // Preferred-leader balancing by the active controller (Kafka's KRaft
  // controller uses the first two; the percentage is parsed and shown only).
  bool auto_leader_rebalance_enable = true;                // auto.leader.rebalance.enable
  int64_t leader_imbalance_check_interval_seconds = 300;   // leader.imbalance.check.interval.seconds
  int32_t leader_imbalance_per_broker_percentage = 10;     // leader.imbalance.per.broker.percentage
  std::string replica_selector_class;            // replica.selector.class (KIP-392; empty: leader only)
  std::optional<std::string> broker_rack;        // broker.rack (replica placement spreads over racks)
  bool unclean_leader_election_enable = false;   // unclean.leader.election.enable (controller; topics may override)
  // controlled.shutdown.enable: on SIGTERM a broker first hands its partition
  // leaderships over (KIP-631 controlled shutdown, bounded by
  // kControlledShutdownMaxWaitMs in server/node.cc), then stops.
  bool controlled_shutdown_enable = true;
  // The metadata log (__cluster_metadata-0) and its snapshots (Kafka's
  // KRaftConfigs / MetadataLogConfig names, types, defaults and validators).
  int64_t metadata_log_segment_bytes = 1073741824;     // metadata.log.segment.bytes (INT, >= 12, >= min.bytes)
  int64_t metadata_log_segment_min_bytes = 8388608;    // metadata.log.segment.min.bytes (internal, testing only; INT, >= 12)
  int64_t metadata_log_segment_ms = 604800000;         // metadata.log.segment.ms
  int64_t metadata_max_retention_ms = 604800000;       // metadata.max.retention.ms (negative: no limit)
  int64_t metadata_max_retention_bytes = 104857600;    // metadata.max.retention.bytes (negative: no limit)
  int64_t metadata_snapshot_max_new_record_bytes = 20971520;  // metadata.log.max.record.bytes.between.snapshots (>= 1)
  int64_t metadata_snapshot_max_interval_ms = 3600000;        // metadata.log.max.snapshot.interval.ms (>= 0; 0: time never triggers)

  // Partition capacity (issue 21; KIP-578's names). max.broker.partitions:
  // the partition replicas this broker may host (-1: derived, see
  // broker/partition_budget.h, from the flotilla.* rows below);
  // max.partitions: the partitions the cluster may have, read by the
  // controllers (-1: unlimited).
  int32_t max_broker_partitions = -1;                 // max.broker.partitions
  int32_t max_partitions = -1;                        // max.partitions
  double partitions_per_fd = 5;                       // flotilla.partitions.per.fd (> 0)
  double partition_memory_fraction = 0.5;             // flotilla.partition.memory.fraction (0, 1]
  int64_t memory_per_partition_bytes = 16384;         // flotilla.memory.per.partition.bytes (>= 1)

  std::string log_level = "info";

  // Everything as given, for DescribeConfigs (source STATIC_BROKER_CONFIG).
  std::map<std::string, std::string> originals;

  bool is_controller_listener(const std::string& name) const;
  const Endpoint* find_listener(const std::string& name) const;
  // The endpoint clients are told about for `listener` (advertised, else bound).
  Endpoint advertised(const std::string& listener) const;

  // Parses and validates; throws ConfigError naming the property.
  static KafkaConfig from_properties(const std::map<std::string, std::string>& props,
                                     std::vector<std::string>* unknown_keys = nullptr);
};

}  // namespace flotilla::server
