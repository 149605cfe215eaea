// `flotilla configs` and `flotilla leader-election`: the flags (CLI11) and the
// option checks that answer before any connection, with Kafka's messages.
#include <gtest/gtest.h>

#include <sstream>

#include "tools/cli.h"
#include "tools/commands.h"

using namespace flotilla::tools;

namespace {

// Parses `command args...`, runs the tool (which must fail) and returns its stderr.
template <class Options>
std::string tool_error(const char* command, const std::vector<std::string>& args, Options Cli::*options,
                       int (*run)(const Options&, std::ostream&, std::ostream&)) {
  Cli cli;
  std::vector<std::string> full = {command};
  full.insert(full.end(), args.begin(), args.end());
  EXPECT_FALSE(cli.parse(full).has_value());
  std::ostringstream out, err;
  EXPECT_EQ(run(cli.*options, out, err), 1);
  return err.str();
}

std::string configs_error(const std::vector<std::string>& args) { return tool_error("configs", args, &Cli::configs, run_configs); }

std::string election_error(const std::vector<std::string>& args) {
  return tool_error("leader-election", args, &Cli::leader_election, run_leader_election);
}

}  // namespace

TEST(ConfigsTool, ParsesKafkasFlags) {
  Cli cli;
  ASSERT_FALSE(cli.parse({"configs", "--bootstrap-server", "h:1", "--entity-type", "topics", "--entity-name", "t", "--alter",
                          "--add-config", "a=1,b=[x,y]", "--delete-config", "c,d"})
                   .has_value());
  EXPECT_EQ(cli.selected(), "configs");
  EXPECT_EQ(cli.configs.entity_types, std::vector<std::string>{"topics"});
  EXPECT_EQ(cli.configs.entity_names, std::vector<std::string>{"t"});
  EXPECT_TRUE(cli.configs.alter);
  EXPECT_EQ(cli.configs.add_config, std::optional<std::string>("a=1,b=[x,y]"));
  EXPECT_EQ(cli.configs.delete_config, std::vector<std::string>{"c,d"});
  EXPECT_EQ(cli.configs.raw_args.front(), "--bootstrap-server");
}

TEST(ConfigsTool, OptionChecks) {
  EXPECT_EQ(configs_error({"--bootstrap-server", "h:1", "--entity-type", "topics"}),
            "Command must include exactly one action: --describe, --alter\n");
  EXPECT_EQ(configs_error({"--bootstrap-server", "h:1", "--entity-type", "groups", "--describe"}).substr(0, 27),
            "Invalid entity type groups,");
  EXPECT_EQ(configs_error({"--bootstrap-server", "h:1", "--describe"}), "At least one entity type must be specified\n");
  EXPECT_EQ(configs_error({"--bootstrap-server", "h:1", "--entity-type", "topics", "--alter", "--add-config", "a=1"}),
            "an entity name must be specified with --alter of topics\n");
  EXPECT_EQ(configs_error({"--bootstrap-server", "h:1", "--entity-type", "brokers", "--alter", "--add-config", "a=1"}),
            "an entity-name or default entity must be specified with --alter of users, clients, brokers or ips\n");
  EXPECT_EQ(configs_error({"--bootstrap-server", "h:1", "--topic", "t", "--alter"}),
            "At least one of --add-config, --add-config-file, or --delete-config must be specified with --alter\n");
  EXPECT_EQ(configs_error({"--bootstrap-server", "h:1", "--broker", "x", "--describe"}),
            "The entity name for brokers must be a valid integer broker id, but it is: x\n");
  EXPECT_EQ(configs_error({"--bootstrap-server", "h:1", "--topic", "t", "--describe", "--delete-config", "a"}),
            "Option \"[describe]\" can't be used with option \"[delete-config]\"\n");
  EXPECT_EQ(configs_error({"--bootstrap-server", "h:1", "--topic", "t", "--entity-type", "topics", "--describe"}),
            "--entity-{type,name,default} should not be used in conjunction with specific entity flags\n");
}

TEST(LeaderElectionTool, OptionChecks) {
  EXPECT_EQ(election_error({"--topic", "t", "--partition", "0"}), "Missing required option(s): bootstrap-server, election-type\n");
  EXPECT_EQ(election_error({"--bootstrap-server", "h:1", "--election-type", "preferred"}),
            "One and only one of the following options is required: topic, all-topic-partitions, path-to-json-file\n");
  EXPECT_EQ(election_error({"--bootstrap-server", "h:1", "--election-type", "preferred", "--topic", "t", "--all-topic-partitions"}),
            "One and only one of the following options is required: topic, all-topic-partitions, path-to-json-file\n");
  EXPECT_EQ(election_error({"--bootstrap-server", "h:1", "--election-type", "preferred", "--topic", "t"}),
            "Missing required option(s): partition\n");
  EXPECT_EQ(election_error({"--bootstrap-server", "h:1", "--election-type", "preferred", "--all-topic-partitions", "--partition", "1"}),
            "Option partition is only allowed if topic is used\n");
  EXPECT_EQ(election_error({"--bootstrap-server", "h:1", "--election-type", "dirty", "--all-topic-partitions"}),
            "Value [dirty] is not one of [PREFERRED, UNCLEAN]\n");
}
