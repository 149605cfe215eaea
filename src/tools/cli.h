// The `flotilla` command line (CLI11) for every sub-command but `server`,
// with Kafka's flag names. Parsing is separate from running so tests can
// check the flags.
#pragma once

#include <CLI/CLI.hpp>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "tools/commands.h"

namespace flotilla::tools {

class Cli {
 public:
  Cli();
  // Parses argv (argv[0] is the program). Returns an exit code when parsing
  // ends the run (--help: 0, bad flags: 1, message printed), else nullopt.
  std::optional<int> parse(int argc, const char* const* argv);
  // The same for a list of arguments without the program name.
  std::optional<int> parse(const std::vector<std::string>& args);
  // Runs the parsed sub-command.
  int run();

  // Which sub-command was parsed: "storage random-uuid", "storage format",
  // "topics", "console-producer", "console-consumer", "perf produce", "perf consume".
  std::string selected() const;

  StorageFormatOptions format;
  TopicsOptions topics;
  ConsoleProducerOptions producer;
  ConsoleConsumerOptions consumer;
  ConsumerGroupsOptions consumer_groups;
  TransactionsOptions transactions;
  PerfProduceOptions perf_produce;
  PerfConsumeOptions perf_consume;
  MetadataQuorumOptions quorum;
  FeaturesOptions features;
  DumpLogOptions dump_log;
  LeaderElectionOptions leader_election;
  LogDirsOptions log_dirs;
  ConfigsOptions configs;
  MetadataShellOptions metadata_shell;
  MetadataDiffOptions metadata_diff;
  AclsOptions acls;
  ClientMetricsOptions client_metrics;
  DelegationTokensOptions tokens;

 private:
  CLI::App app_;
  CLI::App* storage_ = nullptr;
  CLI::App* random_uuid_ = nullptr;
  CLI::App* format_ = nullptr;
  CLI::App* topics_ = nullptr;
  CLI::App* producer_ = nullptr;
  CLI::App* consumer_ = nullptr;
  CLI::App* consumer_groups_ = nullptr;
  CLI::App* transactions_ = nullptr;
  CLI::App* txn_list_ = nullptr;
  CLI::App* txn_describe_ = nullptr;
  CLI::App* txn_describe_producers_ = nullptr;
  std::string cg_state_;
  CLI::Option* cg_state_opt_ = nullptr;
  CLI::App* perf_ = nullptr;
  CLI::App* perf_produce_ = nullptr;
  CLI::App* perf_consume_ = nullptr;
  CLI::App* server_ = nullptr;
  CLI::App* quorum_ = nullptr;
  CLI::App* features_ = nullptr;
  CLI::App* features_describe_ = nullptr;
  CLI::App* features_upgrade_ = nullptr;
  CLI::App* features_downgrade_ = nullptr;
  CLI::App* features_disable_ = nullptr;
  CLI::App* quorum_describe_ = nullptr;
  CLI::App* quorum_add_ = nullptr;
  CLI::App* quorum_remove_ = nullptr;
  CLI::App* dump_log_ = nullptr;
  CLI::App* leader_election_ = nullptr;
  CLI::App* log_dirs_ = nullptr;
  CLI::App* configs_ = nullptr;
  CLI::App* metadata_shell_ = nullptr;
  CLI::App* metadata_diff_ = nullptr;
  CLI::App* acls_ = nullptr;
  CLI::App* client_metrics_ = nullptr;
  CLI::App* tokens_ = nullptr;
  // Optional-valued flags read after parsing.
  std::string compression_codec_;
  CLI::Option* compression_opt_ = nullptr;
  std::string key_decoder_, value_decoder_;
  CLI::Option* key_decoder_opt_ = nullptr;
  CLI::Option* value_decoder_opt_ = nullptr;
};

// main() for everything but `server`.
int run_cli(int argc, char** argv);

}  // namespace flotilla::tools
