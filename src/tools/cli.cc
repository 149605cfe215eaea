#include "tools/cli.h"

#include <iostream>

namespace flotilla::tools {

namespace {

template <class T>
CLI::Option* add_optional(CLI::App* app, const std::string& name, std::optional<T>& target, const std::string& desc) {
  return app->add_option_function<T>(name, [&target](const T& v) { target = v; }, desc);
}

// A repeatable option taking one value per occurrence (--property a=b --property c=d).
CLI::Option* add_repeated(CLI::App* app, const std::string& name, std::vector<std::string>& target, const std::string& desc) {
  return app->add_option(name, target, desc)->allow_extra_args(false)->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
}

// Kafka-style flags ignored by these tools (accepted for compatibility).
void add_ignored(CLI::App* app, const std::string& name, const std::string& desc = "Accepted for compatibility; ignored") {
  app->add_option(name, desc)->allow_extra_args(false);
}

// A repeatable option whose values are also comma-separated (Kafka's withValuesSeparatedBy(',')).
CLI::Option* add_list(CLI::App* app, const std::string& name, std::optional<std::vector<std::string>>& target, const std::string& desc) {
  return app
      ->add_option_function<std::vector<std::string>>(
          name,
          [&target](const std::vector<std::string>& values) {
            if (!target) target.emplace();
            for (const auto& v : values) {
              size_t start = 0;
              for (;;) {
                size_t comma = v.find(',', start);
                target->push_back(v.substr(start, comma == std::string::npos ? std::string::npos : comma - start));
                if (comma == std::string::npos) break;
                start = comma + 1;
              }
            }
          },
          desc)
      ->allow_extra_args(false)
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
}

}  // namespace

Cli::Cli() : app_("Flotilla: a Kafka-compatible streaming server and its tools", "flotilla") {
  app_.require_subcommand(1);
  app_.set_help_all_flag("--help-all", "Show the help of every sub-command");

  server_ = app_.add_subcommand("server", "Run a node: flotilla server <server.properties> [--override key=value ...]");
  server_->allow_extras()->prefix_command();

  // ---- storage
  storage_ = app_.add_subcommand("storage", "Format and inspect storage directories (kafka-storage.sh)");
  storage_->require_subcommand(1);
  random_uuid_ = storage_->add_subcommand("random-uuid", "Print a random UUID (a cluster id)");
  format_ = storage_->add_subcommand("format", "Format the log directories of a node");
  format_->add_option("-c,--config", format.config, "The server.properties file")->required();
  format_->add_option("-t,--cluster-id", format.cluster_id, "The cluster id (from `storage random-uuid`)")->required();
  format_->add_flag("-g,--ignore-formatted", format.ignore_formatted, "Skip directories that are already formatted");
  add_optional(format_, "-r,--release-version", format.release_version, "The release version to use for the initial feature settings (default 3.9-IV0)");
  format_->add_flag("-s,--standalone", format.standalone, "Bootstrap a dynamic quorum with this controller as its only voter");
  format_->add_flag("-N,--no-initial-controllers", format.no_initial_controllers, "Dynamic quorum: do not write initial voters");
  add_optional(format_, "-I,--initial-controllers", format.initial_controllers,
               "Dynamic quorum voters: id@host:port:directoryId,...");
  add_repeated(format_, "-f,--feature", format.features,
               "The setting to use for a specific feature, in feature=level format. For example: `kraft.version=1`.");
  add_repeated(format_, "-S,--add-scram", format.add_scram,
               "A SCRAM credential for the bootstrap metadata: SCRAM-SHA-256=[name=alice,password=alice-secret]");

  // ---- topics
  topics_ = app_.add_subcommand("topics", "Create, list, describe, alter and delete topics (kafka-topics.sh)");
  topics_->add_option("--bootstrap-server", topics.bootstrap_server, "host:port of a broker")->required();
  add_optional(topics_, "--command-config", topics.command_config, "Admin client properties file");
  topics_->add_flag("--create", topics.create, "Create a topic");
  topics_->add_flag("--list", topics.list, "List topics");
  topics_->add_flag("--describe", topics.describe, "Describe topics");
  topics_->add_flag("--delete", topics.delete_, "Delete topics");
  topics_->add_flag("--alter", topics.alter, "Increase the partition count of a topic");
  add_optional(topics_, "--topic", topics.topic, "The topic (a regular expression except for --create)");
  add_optional(topics_, "--partitions", topics.partitions, "Partition count");
  add_optional(topics_, "--replication-factor", topics.replication_factor, "Replication factor");
  add_optional(topics_, "--replica-assignment", topics.replica_assignment, "broker_id_for_part1_replica1:broker_id_for_part1_replica2,...");
  add_repeated(topics_, "--config", topics.configs, "A topic configuration override name=value");
  topics_->add_flag("--if-not-exists", topics.if_not_exists, "With --create: only if the topic does not exist");
  topics_->add_flag("--if-exists", topics.if_exists, "With --alter, --delete, --describe: only if the topic exists");
  topics_->add_flag("--exclude-internal", topics.exclude_internal, "Exclude internal topics");
  topics_->add_flag("--topics-with-overrides", topics.topics_with_overrides, "With --describe: only topics with overridden configs");
  topics_->add_flag("--under-replicated-partitions", topics.under_replicated_partitions, "With --describe: under-replicated partitions only");
  topics_->add_flag("--unavailable-partitions", topics.unavailable_partitions, "With --describe: partitions without a live leader only");
  add_optional(topics_, "--partition-size-limit-per-response", topics.partition_size_limit_per_response,
               "The maximum partition size to be included in one DescribeTopicPartitions response.");

  // ---- console-producer
  producer_ = app_.add_subcommand("console-producer", "Produce stdin lines to a topic (kafka-console-producer.sh)");
  producer_->add_option("--bootstrap-server,--broker-list", producer.bootstrap_server, "host:port of a broker");
  producer_->add_option("--topic", producer.topic, "The topic")->required();
  add_repeated(producer_, "--property", producer.properties, "Line reader property: parse.key, key.separator, parse.headers, null.marker ...");
  add_repeated(producer_, "--producer-property", producer.producer_properties, "Producer property name=value");
  add_optional(producer_, "--producer.config", producer.producer_config, "Producer properties file");
  add_optional(producer_, "--reader-config", producer.reader_config, "Line reader properties file");
  compression_opt_ = producer_->add_option("--compression-codec", compression_codec_, "none, gzip (if given without a value), snappy, lz4 or zstd")
                         ->expected(0, 1);
  add_optional(producer_, "--batch-size", producer.batch_size, "batch.size in bytes (default 16384)");
  add_optional(producer_, "--request-required-acks", producer.request_required_acks, "acks (default -1)");
  add_optional(producer_, "--request-timeout-ms", producer.request_timeout_ms, "request.timeout.ms (default 1500)");
  add_optional(producer_, "--timeout", producer.linger_ms, "linger.ms: how long a batch may wait for more lines (default 1000)");
  add_optional(producer_, "--message-send-max-retries", producer.message_send_max_retries, "retries (default 3)");
  add_optional(producer_, "--retry-backoff-ms", producer.retry_backoff_ms, "retry.backoff.ms (default 100)");
  add_optional(producer_, "--max-block-ms", producer.max_block_ms, "max.block.ms (default 60000)");
  producer_->add_flag("--sync", producer.sync, "Send each line and wait for its acknowledgement");
  add_ignored(producer_, "--line-reader");
  add_ignored(producer_, "--max-memory-bytes");
  add_ignored(producer_, "--max-partition-memory-bytes");
  add_ignored(producer_, "--metadata-expiry-ms");
  add_ignored(producer_, "--socket-buffer-size");

  // ---- console-consumer
  consumer_ = app_.add_subcommand("console-consumer", "Print the records of a topic (kafka-console-consumer.sh)");
  consumer_->add_option("--bootstrap-server", consumer.bootstrap_server, "host:port of a broker");
  consumer_->add_option("--topic", consumer.topic, "The topic")->required();
  consumer_->add_flag("--from-beginning", consumer.from_beginning, "Start at the earliest offset (default: the latest)");
  add_optional(consumer_, "--partition", consumer.partition, "Consume this partition only");
  add_optional(consumer_, "--offset", consumer.offset, "earliest, latest or an offset (needs --partition)");
  add_optional(consumer_, "--max-messages", consumer.max_messages, "Exit after this many records");
  add_optional(consumer_, "--timeout-ms", consumer.timeout_ms, "Exit after this long without a record");
  add_repeated(consumer_, "--property", consumer.properties,
               "Formatter property: print.key, print.value, print.offset, print.partition, print.timestamp, print.headers, key.separator, "
               "line.separator, null.literal ...");
  add_repeated(consumer_, "--consumer-property", consumer.consumer_properties, "Consumer property name=value");
  add_optional(consumer_, "--consumer.config", consumer.consumer_config, "Consumer properties file");
  add_optional(consumer_, "--group", consumer.group, "The consumer group to join (range assignor; offsets committed)");
  consumer_->add_flag("--skip-message-on-error", consumer.skip_message_on_error, "Skip batches that cannot be decoded");
  add_ignored(consumer_, "--formatter");
  add_ignored(consumer_, "--isolation-level");
  add_ignored(consumer_, "--key-deserializer");
  add_ignored(consumer_, "--value-deserializer");

  // ---- consumer-groups (options checked by the tool, with Kafka's messages)
  consumer_groups_ = app_.add_subcommand("consumer-groups",
                                         "List, describe, delete consumer groups and reset their offsets (kafka-consumer-groups.sh)");
  {
    auto* a = consumer_groups_;
    auto& c = consumer_groups;
    a->add_option("--bootstrap-server", c.bootstrap_server, "host:port of a broker. REQUIRED.");
    add_optional(a, "--command-config", c.command_config, "Admin client properties file");
    a->add_flag("--list", c.list, "List all consumer groups");
    a->add_flag("--describe", c.describe, "Describe consumer groups: offsets and lag (default), --members or --state");
    a->add_flag("--delete", c.delete_, "Delete consumer groups (they must have no active members)");
    a->add_flag("--reset-offsets", c.reset_offsets, "Reset the committed offsets of inactive groups (--dry-run by default, --execute)");
    a->add_flag("--delete-offsets", c.delete_offsets, "Delete the committed offsets of a group for --topic");
    add_repeated(a, "--group", c.groups, "The consumer group");
    a->add_flag("--all-groups", c.all_groups, "Every consumer group");
    add_repeated(a, "--topic", c.topics, "The topic, optionally with partitions: topic:0,1,2");
    a->add_flag("--all-topics", c.all_topics, "With --reset-offsets: every topic the group has offsets for");
    a->add_flag("--members", c.members, "With --describe: the members");
    a->add_flag("--offsets", c.offsets, "With --describe: the offsets (the default)");
    a->add_flag("--verbose", c.verbose, "Accepted; the default columns are printed");
    cg_state_opt_ = a->add_option("--state", cg_state_, "With --describe: the group state; with --list: the STATE column (optionally filtered: s1,s2)")
                        ->expected(0, 1);
    a->add_flag("--dry-run", c.dry_run, "Show the result of --reset-offsets without changing the offsets");
    a->add_flag("--execute", c.execute, "Execute --reset-offsets");
    a->add_flag("--export", c.export_, "Print the --reset-offsets plan as CSV");
    a->add_flag("--to-earliest", c.to_earliest, "Reset to the earliest offsets");
    a->add_flag("--to-latest", c.to_latest, "Reset to the latest offsets");
    a->add_flag("--to-current", c.to_current, "Reset to the current offsets");
    add_optional(a, "--to-offset", c.to_offset, "Reset to this offset");
    add_optional(a, "--shift-by", c.shift_by, "Shift the current offsets by n (may be negative)");
    add_optional(a, "--to-datetime", c.to_datetime, "Reset to the offsets at a time: YYYY-MM-DDTHH:mm:SS.sss[Z|+hh:mm]");
    add_optional(a, "--by-duration", c.by_duration, "Reset to the offsets this long ago: PnDTnHnMnS");
    add_optional(a, "--from-file", c.from_file, "Reset to the offsets of a CSV file (topic,partition,offset)");
    a->add_option("--timeout", c.timeout_ms, "Timeout in ms for the admin requests (default 5000)");
  }

  // ---- transactions (kafka-transactions.sh)
  transactions_ = app_.add_subcommand("transactions", "List and describe transactions and the producers of a partition (kafka-transactions.sh)");
  transactions_->add_option("--bootstrap-server", transactions.bootstrap_server, "host:port of a broker")->required();
  add_optional(transactions_, "--command-config", transactions.command_config, "Admin client properties file");
  transactions_->require_subcommand(1);
  txn_list_ = transactions_->add_subcommand("list", "List the transactions of every broker's coordinator");
  txn_describe_ = transactions_->add_subcommand("describe", "Describe a transaction (its coordinator's state)");
  txn_describe_->add_option("--transactional-id", transactions.transactional_id, "The transactional id")->required();
  txn_describe_producers_ = transactions_->add_subcommand("describe-producers", "The active producers of a partition (its leader's state)");
  txn_describe_producers_->add_option("--topic", transactions.topic, "The topic")->required();
  txn_describe_producers_->add_option("--partition", transactions.partition, "The partition")->required();
  add_optional(txn_describe_producers_, "--broker-id", transactions.broker_id, "Ask this broker instead of the leader");

  // ---- perf
  perf_ = app_.add_subcommand("perf", "Throughput tests (kafka-producer-perf-test, kafka-consumer-perf-test)");
  perf_->require_subcommand(1);
  perf_produce_ = perf_->add_subcommand("produce", "Producer throughput and latency");
  perf_produce_->add_option("--bootstrap-server", perf_produce.bootstrap_server, "host:port of a broker");
  perf_produce_->add_option("--topic", perf_produce.topic, "The topic")->required();
  perf_produce_->add_option("--num-records", perf_produce.num_records, "Records to send")->required();
  perf_produce_->add_option("--record-size", perf_produce.record_size, "Record size in bytes");
  perf_produce_->add_option("--throughput", perf_produce.throughput, "Records/sec cap; -1 for none")->default_val(-1);
  perf_produce_->add_option("--producer-props", perf_produce.producer_props, "Producer properties name=value ...");
  add_optional(perf_produce_, "--producer.config", perf_produce.producer_config, "Producer properties file");
  add_optional(perf_produce_, "--payload-file", perf_produce.payload_file, "Payloads, split by --payload-delimiter");
  perf_produce_->add_option("--payload-delimiter", perf_produce.payload_delimiter, "Payload delimiter (default \\n)");
  perf_produce_->add_flag("--print-metrics", perf_produce.print_metrics, "Accepted; no client metrics are kept");
  perf_produce_->add_option("--reporting-interval", perf_produce.reporting_interval_ms, "Progress line interval in ms (default 5000)");
  perf_produce_->add_flag("--json", perf_produce.json, "Print the result as one JSON object (progress goes to stderr)");

  perf_consume_ = perf_->add_subcommand("consume", "Consumer throughput");
  perf_consume_->add_option("--bootstrap-server,--broker-list", perf_consume.bootstrap_server, "host:port of a broker");
  perf_consume_->add_option("--topic", perf_consume.topic, "The topic")->required();
  perf_consume_->add_option("--messages", perf_consume.messages, "Records to consume")->required();
  perf_consume_->add_option("--fetch-size", perf_consume.fetch_size, "Bytes per partition per fetch (default 1048576)");
  perf_consume_->add_option("--timeout", perf_consume.timeout_ms, "Give up after this long without records (default 10000 ms)");
  perf_consume_->add_flag("--from-latest", perf_consume.from_latest, "Start at the latest offsets");
  perf_consume_->add_flag("--hide-header", perf_consume.hide_header, "No header line");
  perf_consume_->add_flag("--show-detailed-stats", perf_consume.show_detailed_stats, "A line per reporting interval");
  perf_consume_->add_option("--reporting-interval", perf_consume.reporting_interval_ms, "Detailed stats interval in ms (default 5000)");
  perf_consume_->add_option("--date-format", perf_consume.date_format, "Date format (default yyyy-MM-dd HH:mm:ss:SSS)");
  add_optional(perf_consume_, "--group", perf_consume.group, "Accepted; no group is joined");
  add_optional(perf_consume_, "--consumer.config", perf_consume.consumer_config, "Consumer properties file");
  perf_consume_->add_flag("--print-metrics", perf_consume.print_metrics, "Accepted; no client metrics are kept");
  perf_consume_->add_flag("--json", perf_consume.json, "Print the result as one JSON object (other lines go to stderr)");
  add_ignored(perf_consume_, "--threads");
  add_ignored(perf_consume_, "--num-fetch-threads");
  add_ignored(perf_consume_, "--socket-buffer-size");

  // ---- metadata-quorum
  quorum_ = app_.add_subcommand("metadata-quorum",
                                "Describe and change the KRaft metadata quorum (kafka-metadata-quorum.sh)");
  auto* quorum_server = add_optional(quorum_, "--bootstrap-server", quorum.bootstrap_server,
                                     "A comma-separated list of host:port of brokers (they forward to the controller quorum)");
  auto* quorum_controller = add_optional(quorum_, "--bootstrap-controller", quorum.bootstrap_controller,
                                         "A comma-separated list of host:port of controller listeners");
  quorum_server->excludes(quorum_controller);
  add_optional(quorum_, "--command-config", quorum.command_config,
               "Admin client properties file (accepted); for add-controller, the new controller's server.properties");
  quorum_->require_subcommand(1);
  quorum_->footer(
      "Usage:\n"
      "  flotilla metadata-quorum (--bootstrap-server H:P[,H:P] | --bootstrap-controller H:P[,H:P]) [--command-config F]\n"
      "      describe (--status | --replication [--human-readable])\n"
      "  flotilla metadata-quorum --bootstrap-controller H:P --command-config controller.properties add-controller\n"
      "  flotilla metadata-quorum --bootstrap-controller H:P remove-controller --controller-id N --controller-directory-id D\n"
      "Exactly one of --bootstrap-server and --bootstrap-controller. The tool sends DescribeQuorum for\n"
      "__cluster_metadata-0 to the first address that answers (a controller that is not the leader\n"
      "sends it on to the active controller); an error code in the answer is printed and the exit code is 1.");
  quorum_describe_ = quorum_->add_subcommand("describe", "Describe the metadata quorum info");
  quorum_describe_->add_flag("--status", quorum.status,
                             "A short summary: ClusterId, LeaderId, LeaderEpoch, HighWatermark, MaxFollowerLag, "
                             "MaxFollowerLagTimeMs, CurrentVoters, CurrentObservers");
  quorum_describe_->add_flag("--replication", quorum.replication,
                             "Detailed information about the status of replication: a row per voter (leader first) and observer "
                             "with NodeId, DirectoryId, LogEndOffset, Lag, LastFetchTimestamp, LastCaughtUpTimestamp, Status");
  quorum_describe_->add_flag("--human-readable", quorum.human_readable,
                             "Human-readable output: timestamps as \"N ms ago\" (with --replication only)");
  quorum_describe_->footer(
      "Exactly one of --status and --replication. MaxFollowerLag is the leader's log end offset minus the\n"
      "smallest voter log end offset; MaxFollowerLagTimeMs how long ago (by the leader's clock) that voter\n"
      "was last caught up (0 when it is the leader). Lag is the leader's log end offset minus the replica's.");
  quorum_add_ = quorum_->add_subcommand("add-controller",
                                        "Add the controller whose server.properties is --command-config to the voters (KIP-853)");
  quorum_remove_ = quorum_->add_subcommand("remove-controller", "Remove a controller from the voters (KIP-853)");
  quorum_remove_->add_option("--controller-id", quorum.controller_id, "The id of the controller to remove")->required();
  quorum_remove_->add_option("--controller-directory-id", quorum.controller_directory_id, "Its metadata directory id")->required();

  // ---- features (kafka-features.sh)
  features_ = app_.add_subcommand("features", "Describe and update the finalized feature levels (kafka-features.sh)");
  auto* features_server = add_optional(features_, "--bootstrap-server", features.bootstrap_server,
                                       "A comma-separated list of host:port of brokers (they forward updates to the controller)");
  auto* features_controller = add_optional(features_, "--bootstrap-controller", features.bootstrap_controller,
                                           "A comma-separated list of host:port of controller listeners");
  features_server->excludes(features_controller);
  add_optional(features_, "--command-config", features.command_config, "Admin client properties file");
  features_->require_subcommand(1);
  features_describe_ = features_->add_subcommand("describe", "Describes the current active feature flags.");
  features_upgrade_ = features_->add_subcommand("upgrade", "Upgrade one or more feature flags.");
  features_downgrade_ = features_->add_subcommand("downgrade", "Downgrade one or more feature flags.");
  features_disable_ = features_->add_subcommand("disable", "Disable one or more feature flags. This is the same as downgrading the version to zero.");
  for (CLI::App* sub : {features_upgrade_, features_downgrade_}) {
    add_optional(sub, "--metadata", features.metadata, "The level to which we should upgrade (downgrade) the metadata. For example 3.3-IV3.");
    add_optional(sub, "--release-version", features.release_version,
                 "The release version to upgrade (downgrade) to, e.g. 4.0: metadata.version and the other features at their defaults.");
    sub->add_option("--feature", features.features, "A feature upgrade (downgrade) we should perform, in feature=level format.");
    sub->add_flag("--dry-run", features.dry_run, "Validate this operation, but do not perform it.");
  }
  features_downgrade_->add_flag("--unsafe", features.unsafe, "Perform this downgrade even if it may irreversibly destroy metadata.");
  features_disable_->add_option("--feature", features.features, "A feature flag to disable.");
  features_disable_->add_flag("--dry-run", features.dry_run, "Validate this operation, but do not perform it.");

  // ---- dump-log
  dump_log_ = app_.add_subcommand("dump-log",
                                  "Print the record batches of log segments and snapshots (kafka-dump-log.sh)");
  dump_log_->add_option("--files", dump_log.files,
                        "REQUIRED: The comma separated list of data and index log files to be dumped")
      ->required();
  dump_log_->add_flag("--print-data-log", dump_log.print_data_log,
                      "Print the records' content (automatically set with any decoder option)");
  dump_log_->add_flag("--deep-iteration", dump_log.deep_iteration,
                      "Print every record, not only the batches (automatically set with --print-data-log)");
  dump_log_->add_flag("--cluster-metadata-decoder", dump_log.cluster_metadata_decoder,
                      "Parse the records as cluster metadata records (__cluster_metadata, snapshots)");
  dump_log_->add_flag("--skip-record-metadata", dump_log.skip_record_metadata, "Do not print each record's metadata");
  dump_log_->add_flag("--verify-index-only", dump_log.verify_index_only,
                      "Only verify the index against the log, without printing its content");
  dump_log_->add_flag("--index-sanity-check", dump_log.index_sanity_check,
                      "Only check the index's sanity (the check a broker runs on start-up)");
  dump_log_->add_option("--max-message-size", dump_log.max_message_size, "Size of the largest message (default 5242880)");
  dump_log_->add_option("--max-bytes", dump_log.max_bytes,
                        "Limit the amount of total batches read in bytes, avoiding reading the whole .log file(s)");
  key_decoder_opt_ = dump_log_->add_option("--key-decoder-class", key_decoder_,
                                           "Key decoder: org.apache.kafka.tools.api.StringDecoder (default), IntegerDecoder or LongDecoder")
                         ->expected(0, 1);
  value_decoder_opt_ = dump_log_->add_option("--value-decoder-class", value_decoder_,
                                             "Value decoder: org.apache.kafka.tools.api.StringDecoder (default), IntegerDecoder or LongDecoder")
                           ->expected(0, 1);
  dump_log_->add_flag("--offsets-decoder", dump_log.offsets_decoder, "Not supported (no __consumer_offsets yet)");
  dump_log_->add_flag("--transaction-log-decoder", dump_log.transaction_log_decoder, "Not supported (no __transaction_state yet)");
  dump_log_->add_flag("--remote-log-metadata-decoder", dump_log.remote_log_metadata_decoder, "Not supported (no tiered storage)");
  // ---- log-dirs (kafka-log-dirs.sh; options checked by the tool)
  log_dirs_ = app_.add_subcommand("log-dirs", "Query log directory usage on the specified brokers (kafka-log-dirs.sh)");
  add_optional(log_dirs_, "--bootstrap-server", log_dirs.bootstrap_server, "REQUIRED: the server(s) to use for bootstrapping");
  add_optional(log_dirs_, "--command-config", log_dirs.command_config, "Property file containing configs to be passed to Admin Client.");
  log_dirs_->add_flag("--describe", log_dirs.describe, "Describe the specified log directories on the specified brokers.");
  log_dirs_->add_option("--topic-list", log_dirs.topic_list, "The list of topics to be queried in the form \"topic1,topic2,topic3\"");
  log_dirs_->add_option("--broker-list", log_dirs.broker_list, "The list of brokers to be queried in the form \"0,1,2\"");

  // ---- leader-election (options checked by the tool, with Kafka's messages)
  leader_election_ = app_.add_subcommand("leader-election",
                                         "Elect preferred or unclean leaders for partitions (kafka-leader-election.sh)");
  add_optional(leader_election_, "--bootstrap-server", leader_election.bootstrap_server, "host:port of a broker. REQUIRED.");
  add_optional(leader_election_, "--admin.config", leader_election.admin_config, "Admin client properties file");
  add_optional(leader_election_, "--election-type", leader_election.election_type,
               "PREFERRED (only where the leader is not the preferred replica) or UNCLEAN (only where there is no leader). REQUIRED.");
  add_optional(leader_election_, "--topic", leader_election.topic, "The topic (with --partition)");
  add_optional(leader_election_, "--partition", leader_election.partition, "The partition of --topic");
  leader_election_->add_flag("--all-topic-partitions", leader_election.all_topic_partitions, "Every partition of every topic");
  add_optional(leader_election_, "--path-to-json-file", leader_election.path_to_json_file,
               "{\"partitions\": [{\"topic\": \"foo\", \"partition\": 1}, ...]}");

  // ---- configs
  configs_ = app_.add_subcommand("configs", "Describe and alter topic, broker, user and client configs (kafka-configs.sh)");
  add_optional(configs_, "--bootstrap-server", configs.bootstrap_server, "host:port of a broker");
  add_optional(configs_, "--command-config", configs.command_config, "Admin client properties file");
  add_repeated(configs_, "--entity-type", configs.entity_types, "topics, brokers, users, clients (users and clients together) or client-metrics");
  add_repeated(configs_, "--entity-name", configs.entity_names, "The topic name, broker id, user principal name or client id");
  configs_->add_flag("--entity-default", configs.entity_default, "The default entity (brokers, users, clients)");
  add_optional(configs_, "--topic", configs.topic, "Same as --entity-type topics --entity-name T");
  add_optional(configs_, "--broker", configs.broker, "Same as --entity-type brokers --entity-name B");
  configs_->add_flag("--broker-defaults", configs.broker_defaults, "Same as --entity-type brokers --entity-default");
  add_optional(configs_, "--user", configs.user, "Same as --entity-type users --entity-name U");
  add_optional(configs_, "--client", configs.client, "Same as --entity-type clients --entity-name C");
  configs_->add_flag("--user-defaults", configs.user_defaults, "Same as --entity-type users --entity-default");
  configs_->add_flag("--client-defaults", configs.client_defaults, "Same as --entity-type clients --entity-default");
  add_optional(configs_, "--client-metrics", configs.client_metrics, "Same as --entity-type client-metrics --entity-name N");
  configs_->add_flag("--alter", configs.alter, "Alter the configs of the entity");
  configs_->add_flag("--describe", configs.describe, "List the configs of the entity");
  configs_->add_flag("--all", configs.all, "With --describe: every config, not only the dynamic ones");
  add_optional(configs_, "--add-config", configs.add_config, "k1=v1,k2=[v1,v2,v2],k3=v3");
  add_optional(configs_, "--add-config-file", configs.add_config_file, "A properties file of configs to add");
  add_repeated(configs_, "--delete-config", configs.delete_config, "Config keys to remove: k1,k2");

  // ---- client-metrics
  client_metrics_ = app_.add_subcommand("client-metrics", "Manage client metrics subscriptions (kafka-client-metrics.sh, KIP-714)");
  add_optional(client_metrics_, "--bootstrap-server", client_metrics.bootstrap_server, "REQUIRED: The Kafka server to connect to.");
  add_optional(client_metrics_, "--command-config", client_metrics.command_config, "Property file containing configs to be passed to Admin Client.");
  client_metrics_->add_flag("--alter", client_metrics.alter, "Alter the configuration for the client metrics resource.");
  client_metrics_->add_flag("--delete", client_metrics.remove, "Delete the configuration for the client metrics resource.");
  client_metrics_->add_flag("--describe", client_metrics.describe, "List configurations for the client metrics resource.");
  client_metrics_->add_flag("--list", client_metrics.list, "List the client metrics resources.");
  add_optional(client_metrics_, "--name", client_metrics.name, "Name of client metrics configuration resource.");
  client_metrics_->add_flag("--generate-name", client_metrics.generate_name, "Generate a UUID to use as the name.");
  add_optional(client_metrics_, "--interval", client_metrics.interval, "The metrics push interval in milliseconds.");
  add_list(client_metrics_, "--match", client_metrics.match,
           "Matching selector 'k1=v1,k2=v2'. Selectors: client_id, client_instance_id, client_software_name, client_software_version, "
           "client_source_address, client_source_port");
  add_list(client_metrics_, "--metrics", client_metrics.metrics, "Telemetry metric name prefixes 'm1,m2'.");
  // ---- delegation-tokens
  tokens_ = app_.add_subcommand("delegation-tokens", "Create, renew, expire and describe delegation tokens (kafka-delegation-tokens.sh)");
  add_optional(tokens_, "--bootstrap-server", tokens.bootstrap_server, "REQUIRED: server(s) to use for bootstrapping.");
  add_optional(tokens_, "--command-config", tokens.command_config, "REQUIRED: A property file containing configs to be passed to Admin Client.");
  tokens_->add_flag("--create", tokens.create, "Create a new delegation token. Use --renewer-principal option to pass renewers principals.");
  tokens_->add_flag("--renew", tokens.renew, "Renew delegation token. Use --renew-time-period option to set renew time period.");
  tokens_->add_flag("--expire", tokens.expire, "Expire delegation token. Use --expiry-time-period option to expire the token.");
  tokens_->add_flag("--describe", tokens.describe, "Describe delegation tokens for the given principals. Use --owner-principal to pass owner/renewer principals.");
  add_optional(tokens_, "--max-life-time-period", tokens.max_life_time_period, "Max life period for the token in milliseconds.");
  add_repeated(tokens_, "--renewer-principal", tokens.renewer_principals, "renewer is a KafkaPrincipal in principalType:name format.");
  add_repeated(tokens_, "--owner-principal", tokens.owner_principals, "owner is a KafkaPrincipal in principalType:name format.");
  add_optional(tokens_, "--hmac", tokens.hmac, "HMAC of the delegation token");
  add_optional(tokens_, "--renew-time-period", tokens.renew_time_period, "Renew time period in milliseconds.");
  add_optional(tokens_, "--expiry-time-period", tokens.expiry_time_period, "Expiry time period in milliseconds.");

  // ---- acls
  acls_ = app_.add_subcommand("acls", "Add, remove and list ACLs (kafka-acls.sh)");
  add_optional(acls_, "--bootstrap-server", acls.bootstrap_server, "host:port of a broker");
  add_optional(acls_, "--bootstrap-controller", acls.bootstrap_controller, "host:port of a controller");
  add_optional(acls_, "--command-config", acls.command_config, "Admin client properties file");
  acls_->add_flag("--add", acls.add, "Indicates you are trying to add ACLs.");
  acls_->add_flag("--remove", acls.remove, "Indicates you are trying to remove ACLs.");
  acls_->add_flag("--list", acls.list, "List ACLs for the specified resource, use --topic <topic> or --group <group> or --cluster to specify a resource.");
  add_repeated(acls_, "--topic", acls.topics, "topic to which ACLs should be added or removed. A value of '*' indicates ACL should apply to all topics.");
  acls_->add_flag("--cluster", acls.cluster, "Add/Remove cluster ACLs.");
  add_repeated(acls_, "--group", acls.groups, "Consumer Group to which the ACLs should be added or removed. A value of '*' indicates the ACLs should apply to all groups.");
  add_repeated(acls_, "--transactional-id", acls.transactional_ids, "The transactionalId to which ACLs should be added or removed. A value of '*' indicates the ACLs should apply to all transactionalIds.");
  add_repeated(acls_, "--delegation-token", acls.delegation_tokens, "Delegation token to which ACLs should be added or removed. A value of '*' indicates ACL should apply to all tokens.");
  add_repeated(acls_, "--user-principal", acls.user_principals, "Specifies a user principal as a resource in relation with the operation.");
  add_optional(acls_, "--resource-pattern-type", acls.resource_pattern_type, "LITERAL (default), PREFIXED, ANY or MATCH");
  add_repeated(acls_, "--allow-principal", acls.allow_principals, "principal is in principalType:name format.");
  add_repeated(acls_, "--deny-principal", acls.deny_principals, "principal is in principalType:name format.");
  add_repeated(acls_, "--allow-host", acls.allow_hosts, "Host from which principals listed in --allow-principal will have access (default *).");
  add_repeated(acls_, "--deny-host", acls.deny_hosts, "Host from which principals listed in --deny-principal will be denied access (default *).");
  add_repeated(acls_, "--operation", acls.operations, "Operation that is being allowed or denied (default All).");
  add_repeated(acls_, "--principal", acls.list_principals, "List ACLs for the specified principal (with --list).");
  acls_->add_flag("--producer", acls.producer, "Convenience option to add/remove ACLs for producer role.");
  acls_->add_flag("--consumer", acls.consumer, "Convenience option to add/remove ACLs for consumer role.");
  acls_->add_flag("--idempotent", acls.idempotent, "Enable idempotence for the producer (with --producer).");
  acls_->add_flag("--force", acls.force, "Assume Yes to all queries and do not prompt.");

  // ---- metadata-shell: the options, then optionally one command (its words kept as given)
  metadata_shell_ = app_.add_subcommand("metadata-shell",
                                        "Browse the metadata image of a snapshot or metadata log directory (kafka-metadata-shell.sh)");
  add_optional(metadata_shell_, "--snapshot", metadata_shell.snapshot, "A KRaft snapshot (.checkpoint) file");
  add_optional(metadata_shell_, "--directory", metadata_shell.directory,
               "A __cluster_metadata-0 directory: its newest snapshot (or bootstrap.checkpoint) and the log after it");
  metadata_shell_->prefix_command();
  metadata_shell_->footer("Commands: ls [-l], cd, cat, tree, find, pwd, help, exit. Without a command, reads commands from stdin.");

  // ---- metadata-diff
  metadata_diff_ = app_.add_subcommand("metadata-diff", "Show what changed in the cluster metadata between two snapshots or offsets");
  metadata_diff_->add_option("from", metadata_diff.from, "A .checkpoint file, or a metadata directory[@OFFSET]")->required();
  metadata_diff_->add_option("to", metadata_diff.to, "A .checkpoint file, or a metadata directory[@OFFSET]")->required();
  metadata_diff_->add_flag("--json", metadata_diff.json, "Print the differences as one JSON object");
}

std::optional<int> Cli::parse(int argc, const char* const* argv) {
  try {
    app_.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    int rc = app_.exit(e);  // prints the help or the error
    return rc == 0 ? 0 : 1;
  }
  if (cg_state_opt_->count() > 0) {
    consumer_groups.state = true;
    if (!cg_state_.empty()) consumer_groups.state_value = cg_state_;
  }
  if (compression_opt_->count() > 0) producer.compression_codec = compression_codec_.empty() ? "gzip" : compression_codec_;
  if (configs_->parsed()) {
    // Kafka's error line quotes the command's own arguments.
    bool after = false;
    for (int i = 1; i < argc; ++i) {
      if (after) configs.raw_args.push_back(argv[i]);
      if (std::string(argv[i]) == "configs") after = true;
    }
  }
  // A decoder option given without a class means the default StringDecoder.
  if (key_decoder_opt_->count() > 0) dump_log.key_decoder_class = key_decoder_;
  if (value_decoder_opt_->count() > 0) dump_log.value_decoder_class = value_decoder_;
  if (metadata_shell_->parsed()) metadata_shell.command = metadata_shell_->remaining();
  return std::nullopt;
}

std::optional<int> Cli::parse(const std::vector<std::string>& args) {
  std::vector<const char*> argv;
  argv.push_back("flotilla");
  for (const auto& a : args) argv.push_back(a.c_str());
  return parse(static_cast<int>(argv.size()), argv.data());
}

std::string Cli::selected() const {
  if (random_uuid_->parsed()) return "storage random-uuid";
  if (format_->parsed()) return "storage format";
  if (topics_->parsed()) return "topics";
  if (producer_->parsed()) return "console-producer";
  if (consumer_->parsed()) return "console-consumer";
  if (consumer_groups_->parsed()) return "consumer-groups";
  if (transactions_->parsed()) return "transactions";
  if (perf_produce_->parsed()) return "perf produce";
  if (perf_consume_->parsed()) return "perf consume";
  if (server_->parsed()) return "server";
  if (quorum_describe_->parsed()) return "metadata-quorum describe";
  if (quorum_add_->parsed()) return "metadata-quorum add-controller";
  if (quorum_remove_->parsed()) return "metadata-quorum remove-controller";
  if (features_->parsed()) return "features";
  if (dump_log_->parsed()) return "dump-log";
  if (leader_election_->parsed()) return "leader-election";
  if (log_dirs_->parsed()) return "log-dirs";
  if (configs_->parsed()) return "configs";
  if (metadata_shell_->parsed()) return "metadata-shell";
  if (metadata_diff_->parsed()) return "metadata-diff";
  if (acls_->parsed()) return "acls";
  if (client_metrics_->parsed()) return "client-metrics";
  if (tokens_->parsed()) return "delegation-tokens";
  return "";
}

}  // namespace flotilla::tools
