// Running what Cli parsed: apart from cli.cc so that the parser links on its
// own (the fuzz target of the tools' arguments) without every tool.
#include <iostream>

#include "tools/cli.h"

namespace flotilla::tools {

int Cli::run() {
  std::string s = selected();
  if (s == "storage random-uuid") return run_storage_random_uuid(std::cout);
  if (s == "storage format") return run_storage_format(format, std::cout, std::cerr);
  if (s == "topics") return run_topics(topics, std::cout, std::cerr);
  if (s == "console-producer") return run_console_producer(producer);
  if (s == "console-consumer") return run_console_consumer(consumer);
  if (s == "consumer-groups") return run_consumer_groups(consumer_groups, std::cout, std::cerr);
  if (s == "transactions") {
    transactions.command = txn_list_->parsed() ? "list" : txn_describe_->parsed() ? "describe" : "describe-producers";
    return run_transactions(transactions, std::cout, std::cerr);
  }
  if (s == "perf produce") return run_perf_produce(perf_produce);
  if (s == "perf consume") return run_perf_consume(perf_consume);
  if (s == "metadata-quorum describe") return run_metadata_quorum(quorum, std::cout, std::cerr);
  if (s == "features") {
    features.command = features_describe_->parsed()  ? "describe"
                       : features_upgrade_->parsed() ? "upgrade"
                       : features_downgrade_->parsed() ? "downgrade"
                                                       : "disable";
    return run_features(features, std::cout, std::cerr);
  }
  if (s == "dump-log") return run_dump_log(dump_log, std::cout, std::cerr);
  if (s == "leader-election") return run_leader_election(leader_election, std::cout, std::cerr);
  if (s == "log-dirs") return run_log_dirs(log_dirs, std::cout, std::cerr);
  if (s == "configs") return run_configs(configs, std::cout, std::cerr);
  if (s == "metadata-shell") return run_metadata_shell(metadata_shell, std::cin, std::cout, std::cerr);
  if (s == "metadata-diff") return run_metadata_diff(metadata_diff, std::cout, std::cerr);
  if (s == "acls") return run_acls(acls, std::cin, std::cout, std::cerr);
  if (s == "client-metrics") return run_client_metrics(client_metrics, std::cout, std::cerr);
  if (s == "delegation-tokens") return run_delegation_tokens(tokens, std::cout, std::cerr);
  if (s == "metadata-quorum add-controller") {
    quorum.add_controller = true;
    return run_metadata_quorum(quorum, std::cout, std::cerr);
  }
  if (s == "metadata-quorum remove-controller") {
    quorum.remove_controller = true;
    return run_metadata_quorum(quorum, std::cout, std::cerr);
  }
  std::cerr << "The server sub-command is not available in this build\n";
  return 1;
}

int run_cli(int argc, char** argv) {
  std::ios::sync_with_stdio(true);
  Cli cli;
  if (auto rc = cli.parse(argc, argv)) return *rc;
  return cli.run();
}

}  // namespace flotilla::tools
