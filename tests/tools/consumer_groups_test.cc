// `flotilla consumer-groups`: Kafka's column layout and the command line
// (flags, and the usage errors answered before any connection).
#include <gtest/gtest.h>

#include <sstream>

#include "tools/cli.h"
#include "tools/kafka_output.h"

namespace flotilla::tools {
namespace {

TEST(KafkaColumns, PadsLikePercentMinusNs) {
  EXPECT_EQ(kafka_columns({{"GROUP", 7}, {"TOPIC", 0}}), "GROUP   TOPIC");
  EXPECT_EQ(kafka_columns({{"longer-than-width", 5}, {"x", 3}}), "longer-than-width x  ");
}

TEST(ConsumerGroupsCli, ParsesKafkaFlags) {
  {
    Cli cli;
    ASSERT_FALSE(cli.parse({"consumer-groups", "--bootstrap-server", "h:1", "--list", "--state"}));
    EXPECT_EQ(cli.selected(), "consumer-groups");
    EXPECT_TRUE(cli.consumer_groups.list);
    EXPECT_TRUE(cli.consumer_groups.state);
    EXPECT_FALSE(cli.consumer_groups.state_value);
  }
  {
    Cli cli;
    ASSERT_FALSE(cli.parse({"consumer-groups", "--bootstrap-server", "h:1", "--list", "--state", "Stable,Empty"}));
    EXPECT_EQ(cli.consumer_groups.state_value.value_or(""), "Stable,Empty");
  }
  {
    Cli cli;
    ASSERT_FALSE(cli.parse({"consumer-groups", "--bootstrap-server", "h:1", "--reset-offsets", "--group", "g", "--topic", "t:0,1",
                            "--topic", "u", "--shift-by", "-2", "--execute"}));
    const auto& c = cli.consumer_groups;
    EXPECT_TRUE(c.reset_offsets);
    EXPECT_EQ(c.groups, (std::vector<std::string>{"g"}));
    EXPECT_EQ(c.topics, (std::vector<std::string>{"t:0,1", "u"}));
    EXPECT_EQ(c.shift_by.value_or(0), -2);
    EXPECT_TRUE(c.execute);
  }
}

TEST(ConsumerGroupsCli, KafkaUsageErrors) {
  auto run = [](std::vector<std::string> args, std::string& out, std::string& err) {
    Cli cli;
    args.insert(args.begin(), "consumer-groups");
    EXPECT_FALSE(cli.parse(args));
    std::ostringstream o, e;
    int rc = run_consumer_groups(cli.consumer_groups, o, e);
    out = o.str();
    err = e.str();
    return rc;
  };
  std::string out, err;
  EXPECT_EQ(run({"--bootstrap-server", "127.0.0.1:1"}, out, err), 1);
  EXPECT_EQ(err, "Command must include exactly one action: --list, --describe, --delete, --reset-offsets, --delete-offsets\n");
  EXPECT_EQ(run({"--bootstrap-server", "127.0.0.1:1", "--describe"}, out, err), 1);
  EXPECT_EQ(err, "Option [describe] takes one of these options: [all-groups], [group]\n");
  EXPECT_EQ(run({"--bootstrap-server", "127.0.0.1:1", "--reset-offsets", "--group", "g", "--to-earliest", "--to-latest", "--dry-run"},
                out, err),
            1);
  EXPECT_EQ(err, "Option \"[to-earliest]\" can't be used with option \"[to-latest]\"\n");
  EXPECT_EQ(run({"--bootstrap-server", "127.0.0.1:1", "--delete-offsets", "--group", "g"}, out, err), 1);
  EXPECT_EQ(err, "Option [delete-offsets] takes the following options: [topic], [group]\n");
}

}  // namespace
}  // namespace flotilla::tools
