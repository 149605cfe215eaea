// The `flotilla` sub-commands (other than `server`): their options, as parsed
// from Kafka's flags, and the functions that run them. Each returns the
// process exit code (0 success, 1 error with a message).
#pragma once

#include <cstdint>
#include <iosfwd>
#include <optional>
#include <string>
#include <vector>

namespace flotilla::tools {

// `flotilla storage format`
struct StorageFormatOptions {
  std::string config;
  std::string cluster_id;
  bool ignore_formatted = false;
  std::optional<std::string> release_version;
  bool standalone = false;
  bool no_initial_controllers = false;
  std::optional<std::string> initial_controllers;  // "id@host:port:directoryId,..."
  std::vector<std::string> add_scram;              // --add-scram, repeatable (tools/storage_scram.h)
  std::vector<std::string> features;               // --feature name=level, repeatable
};
int run_storage_random_uuid(std::ostream& out);
int run_storage_format(const StorageFormatOptions& o, std::ostream& out, std::ostream& err);

// `flotilla topics`
struct TopicsOptions {
  std::string bootstrap_server;
  std::optional<std::string> command_config;
  bool create = false, list = false, describe = false, delete_ = false, alter = false;
  std::optional<std::string> topic;
  std::optional<int32_t> partitions;
  std::optional<int32_t> replication_factor;
  std::optional<std::string> replica_assignment;
  std::vector<std::string> configs;  // k=v
  bool if_not_exists = false;
  bool if_exists = false;
  bool exclude_internal = false;
  bool topics_with_overrides = false;
  bool under_replicated_partitions = false;
  bool unavailable_partitions = false;
  std::optional<int32_t> partition_size_limit_per_response;  // --partition-size-limit-per-response (DescribeTopicPartitions)
};
int run_topics(const TopicsOptions& o, std::ostream& out, std::ostream& err);

// `flotilla console-producer`
struct ConsoleProducerOptions {
  std::string bootstrap_server;
  std::string topic;
  std::vector<std::string> properties;           // --property (line reader)
  std::vector<std::string> producer_properties;  // --producer-property
  std::optional<std::string> producer_config;    // --producer.config
  std::optional<std::string> reader_config;      // --reader-config
  std::optional<std::string> compression_codec;  // --compression-codec
  std::optional<int32_t> batch_size;             // --batch-size (bytes)
  std::optional<std::string> request_required_acks;
  std::optional<int32_t> request_timeout_ms;
  std::optional<int64_t> linger_ms;  // --timeout
  std::optional<int32_t> message_send_max_retries;
  std::optional<int64_t> retry_backoff_ms;
  std::optional<int64_t> max_block_ms;
  bool sync = false;
};
int run_console_producer(const ConsoleProducerOptions& o);

// `flotilla console-consumer`
struct ConsoleConsumerOptions {
  std::string bootstrap_server;
  std::string topic;
  bool from_beginning = false;
  std::optional<int32_t> partition;
  std::optional<std::string> offset;  // earliest | latest | N
  std::optional<int64_t> max_messages;
  std::optional<int64_t> timeout_ms;
  std::vector<std::string> properties;           // formatter
  std::vector<std::string> consumer_properties;  // --consumer-property
  std::optional<std::string> consumer_config;
  std::optional<std::string> group;  // join this consumer group (else group.id from the properties)
  bool skip_message_on_error = false;
};
int run_console_consumer(const ConsoleConsumerOptions& o);

// `flotilla consumer-groups` (kafka-consumer-groups.sh)
struct ConsumerGroupsOptions {
  std::string bootstrap_server;
  std::optional<std::string> command_config;
  bool list = false, describe = false, delete_ = false, reset_offsets = false, delete_offsets = false;
  std::vector<std::string> groups;  // --group (repeatable)
  bool all_groups = false;
  std::vector<std::string> topics;  // --topic T or T:P,P (repeatable)
  bool all_topics = false;
  bool members = false, offsets = false, verbose = false;
  bool state = false;                      // --state given
  std::optional<std::string> state_value;  // its value (--list only)
  bool dry_run = false, execute = false, export_ = false;
  bool to_earliest = false, to_latest = false, to_current = false;
  std::optional<int64_t> to_offset, shift_by;
  std::optional<std::string> to_datetime, by_duration, from_file;
  int64_t timeout_ms = 5000;
};
int run_consumer_groups(const ConsumerGroupsOptions& o, std::ostream& out, std::ostream& err);

// `flotilla transactions` (kafka-transactions.sh): list, describe, describe-producers
struct TransactionsOptions {
  std::string bootstrap_server;
  std::optional<std::string> command_config;
  std::string command;  // "list", "describe", "describe-producers"
  std::string transactional_id;
  std::string topic;
  int32_t partition = -1;
  std::optional<int32_t> broker_id;  // describe-producers: ask this broker instead of the leader
};
int run_transactions(const TransactionsOptions& o, std::ostream& out, std::ostream& err);

// `flotilla perf produce` (kafka-producer-perf-test)
struct PerfProduceOptions {
  std::string bootstrap_server;
  std::string topic;
  int64_t num_records = 0;
  int32_t record_size = 0;
  double throughput = -1;
  std::vector<std::string> producer_props;
  std::optional<std::string> producer_config;
  std::optional<std::string> payload_file;
  std::string payload_delimiter = "\\n";
  bool print_metrics = false;
  bool json = false;
  int64_t reporting_interval_ms = 5000;
};
int run_perf_produce(const PerfProduceOptions& o);

// `flotilla perf consume` (kafka-consumer-perf-test)
struct PerfConsumeOptions {
  std::string bootstrap_server;
  std::string topic;
  int64_t messages = 0;
  int32_t fetch_size = 1048576;
  int64_t timeout_ms = 10000;
  bool from_latest = false;
  bool hide_header = false;
  bool show_detailed_stats = false;
  int64_t reporting_interval_ms = 5000;
  std::string date_format = "yyyy-MM-dd HH:mm:ss:SSS";
  std::optional<std::string> group;
  std::optional<std::string> consumer_config;
  bool print_metrics = false;
  bool json = false;
};
int run_perf_consume(const PerfConsumeOptions& o);

// `flotilla features` (kafka-features.sh): describe | upgrade | downgrade | disable.
struct FeaturesOptions {
  std::optional<std::string> bootstrap_server;
  std::optional<std::string> bootstrap_controller;
  std::optional<std::string> command_config;
  std::string command;                          // describe, upgrade, downgrade, disable
  std::optional<std::string> metadata;          // --metadata 3.9 (metadata.version)
  std::optional<std::string> release_version;   // --release-version 4.0
  std::vector<std::string> features;            // --feature name=level (disable: --feature name)
  bool unsafe = false;                          // downgrade --unsafe
  bool dry_run = false;
};
int run_features(const FeaturesOptions& o, std::ostream& out, std::ostream& err);

// `flotilla metadata-quorum` (kafka-metadata-quorum.sh)
struct MetadataQuorumOptions {
  std::optional<std::string> bootstrap_server;
  std::optional<std::string> bootstrap_controller;
  std::optional<std::string> command_config;
  bool status = false;
  bool replication = false;
  bool human_readable = false;
  // add-controller (the new controller's properties in --command-config) /
  // remove-controller --controller-id N --controller-directory-id D
  bool add_controller = false;
  bool remove_controller = false;
  int32_t controller_id = -1;
  std::string controller_directory_id;
};
int run_metadata_quorum(const MetadataQuorumOptions& o, std::ostream& out, std::ostream& err);

// `flotilla dump-log` (kafka-dump-log.sh), see tools/dump_log.h
struct DumpLogOptions {
  std::string files;  // --files: comma-separated .log / .checkpoint / .index / .timeindex files
  bool print_data_log = false;            // --print-data-log
  bool deep_iteration = false;            // --deep-iteration
  bool cluster_metadata_decoder = false;  // --cluster-metadata-decoder
  bool skip_record_metadata = false;      // --skip-record-metadata
  bool verify_index_only = false;         // --verify-index-only
  bool index_sanity_check = false;        // --index-sanity-check
  int32_t max_message_size = 5 * 1024 * 1024;  // --max-message-size
  int32_t max_bytes = INT32_MAX;               // --max-bytes
  // --key-decoder-class / --value-decoder-class (String, Integer, Long decoders).
  std::optional<std::string> key_decoder_class;
  std::optional<std::string> value_decoder_class;
  // Kafka's decoders for other internal topics: accepted, reported as unsupported.
  bool offsets_decoder = false, transaction_log_decoder = false, remote_log_metadata_decoder = false;
};
int run_dump_log(const DumpLogOptions& o, std::ostream& out, std::ostream& err);

// `flotilla leader-election` (kafka-leader-election.sh)
struct LeaderElectionOptions {
  std::optional<std::string> bootstrap_server;
  std::optional<std::string> admin_config;
  std::optional<std::string> election_type;  // PREFERRED | UNCLEAN (any case)
  std::optional<std::string> topic;
  std::optional<int32_t> partition;
  bool all_topic_partitions = false;
  std::optional<std::string> path_to_json_file;
};
int run_leader_election(const LeaderElectionOptions& o, std::ostream& out, std::ostream& err);

// `flotilla log-dirs` (kafka-log-dirs.sh)
struct LogDirsOptions {
  std::optional<std::string> bootstrap_server;
  std::optional<std::string> command_config;
  bool describe = false;
  std::string topic_list;   // "t1,t2"; empty: every topic
  std::string broker_list;  // "1,2"; empty: every broker
};
int run_log_dirs(const LogDirsOptions& o, std::ostream& out, std::ostream& err);

// `flotilla configs` (kafka-configs.sh), topics and brokers
struct ConfigsOptions {
  std::optional<std::string> bootstrap_server;
  std::optional<std::string> command_config;
  std::vector<std::string> entity_types;  // --entity-type
  std::vector<std::string> entity_names;  // --entity-name
  bool entity_default = false;
  std::optional<std::string> topic;   // --topic: --entity-type topics --entity-name T
  std::optional<std::string> broker;  // --broker: --entity-type brokers --entity-name B
  bool broker_defaults = false;       // --broker-defaults: --entity-type brokers --entity-default
  std::optional<std::string> user;    // --user: --entity-type users --entity-name U
  std::optional<std::string> client;  // --client: --entity-type clients --entity-name C
  bool user_defaults = false;         // --user-defaults: --entity-type users --entity-default
  bool client_defaults = false;       // --client-defaults: --entity-type clients --entity-default
  std::optional<std::string> client_metrics;  // --client-metrics: --entity-type client-metrics --entity-name N
  bool alter = false, describe = false, all = false;
  std::optional<std::string> add_config;
  std::optional<std::string> add_config_file;
  std::vector<std::string> delete_config;  // each comma-separated
  std::vector<std::string> raw_args;       // the command line after `configs`, for Kafka's error line
};
int run_configs(const ConfigsOptions& o, std::ostream& out, std::ostream& err);

// `flotilla client-metrics` (kafka-client-metrics.sh, KIP-714), see tools/client_metrics_tool.cc
struct ClientMetricsOptions {
  std::optional<std::string> bootstrap_server;
  std::optional<std::string> command_config;
  bool alter = false, remove = false, describe = false, list = false;  // remove: --delete
  std::optional<std::string> name;
  bool generate_name = false;
  std::optional<int32_t> interval;
  std::optional<std::vector<std::string>> metrics;  // --metrics m1,m2 (repeatable)
  std::optional<std::vector<std::string>> match;    // --match k1=v1,k2=v2 (repeatable)
};
int run_client_metrics(const ClientMetricsOptions& o, std::ostream& out, std::ostream& err);

// `flotilla acls` (kafka-acls.sh), see tools/acls_tool.cc
struct AclsOptions {
  std::optional<std::string> bootstrap_server;
  std::optional<std::string> bootstrap_controller;
  std::optional<std::string> command_config;
  bool add = false, remove = false, list = false;
  std::vector<std::string> topics, groups, transactional_ids, delegation_tokens, user_principals;
  bool cluster = false;
  std::optional<std::string> resource_pattern_type;  // LITERAL (default), PREFIXED, ANY, MATCH (any case)
  std::vector<std::string> allow_principals, deny_principals, allow_hosts, deny_hosts;
  std::vector<std::string> operations;        // default All
  std::vector<std::string> list_principals;  // --principal (with --list)
  bool producer = false, consumer = false, idempotent = false;
  bool force = false;
};
// --remove without --force reads its confirmation from `in`.
int run_acls(const AclsOptions& o, std::istream& in, std::ostream& out, std::ostream& err);

// `flotilla delegation-tokens` (kafka-delegation-tokens.sh), see tools/delegation_tokens_tool.cc
struct DelegationTokensOptions {
  std::optional<std::string> bootstrap_server;
  std::optional<std::string> command_config;
  bool create = false, renew = false, expire = false, describe = false;
  std::optional<int64_t> max_life_time_period;
  std::vector<std::string> renewer_principals, owner_principals;
  std::optional<std::string> hmac;
  std::optional<int64_t> renew_time_period;
  std::optional<int64_t> expiry_time_period;
};
int run_delegation_tokens(const DelegationTokensOptions& o, std::ostream& out, std::ostream& err);

// `flotilla metadata-shell` (kafka-metadata-shell.sh), see tools/metadata_shell.h
struct MetadataShellOptions {
  std::optional<std::string> snapshot;   // --snapshot: a .checkpoint file
  std::optional<std::string> directory;  // --directory: a __cluster_metadata-0 directory
  std::vector<std::string> command;      // one command to run instead of the interactive loop
};
int run_metadata_shell(const MetadataShellOptions& o, std::istream& in, std::ostream& out, std::ostream& err);

// `flotilla metadata-diff A B [--json]`, see tools/metadata_diff.h
struct MetadataDiffOptions {
  std::string from;  // a .checkpoint file, or a metadata directory with an optional @OFFSET
  std::string to;
  bool json = false;
};
int run_metadata_diff(const MetadataDiffOptions& o, std::ostream& out, std::ostream& err);

}  // namespace flotilla::tools
