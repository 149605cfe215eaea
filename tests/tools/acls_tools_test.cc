// ACLs in the tools that read files and in `flotilla acls`' option checks:
// dump-log prints AccessControlEntryRecord / RemoveAccessControlEntryRecord
// as Kafka's JSON converter does, metadata-shell shows /image/acls/byId/<uuid>
// as Kafka's StandardAcl text, metadata-diff lists ACLs added and removed,
// and `acls` refuses bad options with kafka-acls.sh's messages before it
// connects to anything.
#include <gtest/gtest.h>

#include <sstream>

#include "metadata_test_util.h"
#include "tools/cli.h"
#include "tools/commands.h"

using namespace flotilla;
using namespace flotilla::tools;
using namespace flotilla::tools::testing;
using nlohmann::ordered_json;

namespace {

const Uuid kAclA{0x0102030405060708ULL, 0x1112131415161718ULL};
const Uuid kAclB{0x2122232425262728ULL, 0x3132333435363738ULL};

Value acl_record(Uuid id, int8_t type, const std::string& name, int8_t pattern, const std::string& principal, int8_t op,
                 int8_t perm) {
  msg::AccessControlEntryRecord r;
  r.id = id;
  r.resource_type = type;
  r.resource_name = name;
  r.pattern_type = pattern;
  r.principal = principal;
  r.host = "*";
  r.operation = op;
  r.permission_type = perm;
  return protocol::frame_metadata_record(r, 0);
}

Value acl_removal(Uuid id) {
  msg::RemoveAccessControlEntryRecord r;
  r.id = id;
  return protocol::frame_metadata_record(r, 0);
}

// Offsets 0..2: metadata.version, ACL A (TOPIC orders LITERAL, alice READ
// ALLOW), ACL B (GROUP g PREFIXED, bob DESCRIBE DENY); offset 3 removes A.
void build_log(const fs::path& dir) {
  write_segment(dir, 0, 1,
                {{feature("metadata.version", 21)},
                 {acl_record(kAclA, 2, "orders", 3, "User:alice", 3, 3), acl_record(kAclB, 3, "g", 4, "User:bob", 8, 2)},
                 {acl_removal(kAclA)}});
}

struct Run {
  int rc;
  std::string out, err;
};

template <class F>
Run run(const std::vector<std::string>& args, F f, const std::string& input = "") {
  Cli cli;
  auto rc = cli.parse(args);
  EXPECT_FALSE(rc.has_value());
  std::istringstream in(input);
  std::ostringstream out, err;
  int code = f(cli, in, out, err);
  return {code, out.str(), err.str()};
}

Run acls(std::vector<std::string> args) {
  args.insert(args.begin(), "acls");
  return run(args, [](Cli& c, std::istream& in, std::ostream& out, std::ostream& err) { return run_acls(c.acls, in, out, err); });
}

}  // namespace

TEST(AclTools, DumpLogPrintsTheRecordsAsKafka) {
  TempDir d;
  build_log(d.path());
  auto r = run({"dump-log", "--cluster-metadata-decoder", "--files", (d.path() / "00000000000000000000.log").string()},
               [](Cli& c, std::istream&, std::ostream& out, std::ostream& err) { return run_dump_log(c.dump_log, out, err); });
  ASSERT_EQ(r.rc, 0) << r.err;
  EXPECT_NE(r.out.find("payload: {\"type\":\"ACCESS_CONTROL_ENTRY_RECORD\",\"version\":0,\"data\":{\"id\":\"" + kAclA.to_string() +
                       "\",\"resourceType\":2,\"resourceName\":\"orders\",\"patternType\":3,\"principal\":\"User:alice\","
                       "\"host\":\"*\",\"operation\":3,\"permissionType\":3}}\n"),
            std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find("payload: {\"type\":\"REMOVE_ACCESS_CONTROL_ENTRY_RECORD\",\"version\":0,\"data\":{\"id\":\"" +
                       kAclA.to_string() + "\"}}\n"),
            std::string::npos)
      << r.out;
}

TEST(AclTools, MetadataShellShowsAclsById) {
  TempDir d;
  build_log(d.path());
  auto shell = [&](std::vector<std::string> cmd) {
    std::vector<std::string> a = {"metadata-shell", "--directory", d.path().string()};
    a.insert(a.end(), cmd.begin(), cmd.end());
    return run(a, [](Cli& c, std::istream& in, std::ostream& out, std::ostream& err) {
      return run_metadata_shell(c.metadata_shell, in, out, err);
    });
  };
  EXPECT_EQ(shell({"ls", "/image/acls"}).out, "byId\n");
  EXPECT_EQ(shell({"ls", "/image/acls/byId"}).out, kAclB.to_string() + "\n");  // A was removed
  auto r = shell({"cat", "/image/acls/byId/" + kAclB.to_string()});
  EXPECT_EQ(r.rc, 0) << r.err;
  EXPECT_EQ(r.out,
            "StandardAcl(resourceType=GROUP, resourceName=g, patternType=PREFIXED, principal=User:bob, host=*, "
            "operation=DESCRIBE, permissionType=DENY)\n");
}

TEST(AclTools, MetadataDiffListsAclsAddedAndRemoved) {
  TempDir d;
  build_log(d.path());
  std::string dir = d.path().string();
  auto diff = [&](std::vector<std::string> args) {
    args.insert(args.begin(), "metadata-diff");
    return run(args, [](Cli& c, std::istream&, std::ostream& out, std::ostream& err) {
      return run_metadata_diff(c.metadata_diff, out, err);
    });
  };
  auto r = diff({dir + "@0", dir + "@2"});
  ASSERT_EQ(r.rc, 0) << r.err;
  std::string a_text = kAclA.to_string() +
                       " StandardAcl(resourceType=TOPIC, resourceName=orders, patternType=LITERAL, principal=User:alice, host=*, "
                       "operation=READ, permissionType=ALLOW)";
  EXPECT_NE(r.out.find("+ ACL " + a_text + "\n"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("+ ACL " + kAclB.to_string() + " StandardAcl(resourceType=GROUP"), std::string::npos) << r.out;
  r = diff({dir + "@2", dir + "@3"});
  EXPECT_NE(r.out.find("- ACL " + a_text + "\n"), std::string::npos) << r.out;
  EXPECT_EQ(r.out.find("+ ACL"), std::string::npos) << r.out;

  r = diff({dir + "@2", dir + "@3", "--json"});
  auto j = ordered_json::parse(r.out);
  EXPECT_EQ(j["acls"]["added"], ordered_json::array());
  EXPECT_EQ(j["acls"]["removed"], ordered_json::parse(R"([{"id":")" + kAclA.to_string() +
                                                      R"(","resourceType":"TOPIC","resourceName":"orders","patternType":"LITERAL",)"
                                                      R"("principal":"User:alice","host":"*","operation":"READ","permissionType":"ALLOW"}])"));
}

// Every check happens before a connection is made: the bootstrap server
// below does not exist.
TEST(AclTools, OptionChecksAsKafkaAcls) {
  const std::string bs = "127.0.0.1:1";
  struct Case {
    std::vector<std::string> args;
    std::string err;
  };
  std::vector<Case> cases = {
      {{"--add", "--topic", "t"}, "One of --bootstrap-server or --bootstrap-controller must be specified\n"},
      {{"--bootstrap-server", bs, "--bootstrap-controller", bs, "--list"},
       "Only one of --bootstrap-server or --bootstrap-controller must be specified\n"},
      {{"--bootstrap-server", bs}, "Command must include exactly one action: --list, --add, --remove. \n"},
      {{"--bootstrap-server", bs, "--list", "--producer"}, "Option \"[list]\" can't be used with option \"[producer]\"\n"},
      {{"--bootstrap-server", bs, "--add", "--consumer", "--deny-principal", "User:a", "--topic", "t", "--group", "g"},
       "Option \"[consumer]\" can't be used with option \"[deny-principal]\"\n"},
      {{"--bootstrap-server", bs, "--add", "--topic", "t"},
       "You must specify one of: --allow-principal, --deny-principal when trying to add ACLs.\n"},
      {{"--bootstrap-server", bs, "--add", "--allow-principal", "User:a"},
       "You must provide at least one resource: --topic <topic> or --cluster or --group <group> or --delegation-token "
       "<Delegation Token ID>\n"},
      {{"--bootstrap-server", bs, "--add", "--allow-principal", "User:a", "--topic", "t", "--resource-pattern-type", "any"},
       "A '--resource-pattern-type' value of 'ANY' is not valid when adding acls.\n"},
      {{"--bootstrap-server", bs, "--list", "--resource-pattern-type", "wild"},
       "Cannot parse argument 'wild' of option resource-pattern-type\n"},
      {{"--bootstrap-server", bs, "--add", "--allow-principal", "User:a", "--operation", "Read", "--cluster"},
       "ResourceType CLUSTER only supports operations Create, ClusterAction, DescribeConfigs, AlterConfigs, IdempotentWrite, "
       "Alter, Describe, All\n"},
      {{"--bootstrap-server", bs, "--add", "--allow-principal", "User:a", "--consumer", "--topic", "t", "--group", "g",
        "--cluster"},
       "With --consumer you must specify a --topic and a --group and no --cluster or --transactional-id option should be "
       "specified.\n"},
  };
  for (const auto& c : cases) {
    auto r = acls(c.args);
    EXPECT_EQ(r.rc, 1) << c.err;
    EXPECT_EQ(r.err, c.err);
    EXPECT_EQ(r.out, "");
  }
  // An exception in the command goes to stdout, as AclCommand's main prints it.
  auto r = acls({"--bootstrap-server", bs, "--add", "--allow-principal", "User:a", "--operation", "Nope", "--topic", "t"});
  EXPECT_EQ(r.rc, 1);
  EXPECT_EQ(r.out, "Error while executing ACL command: Invalid operation: Nope\njava.lang.IllegalArgumentException: Invalid operation: Nope\n");
}

TEST(AclTools, CliParsesRepeatedFlags) {
  Cli cli;
  ASSERT_FALSE(cli.parse({"acls", "--bootstrap-server", "h:1", "--add", "--allow-principal", "User:a", "--allow-principal", "User:b",
                          "--allow-host", "10.0.0.1", "--operation", "Read", "--operation", "Write", "--topic", "t1", "--topic",
                          "t2", "--group", "g", "--transactional-id", "x", "--resource-pattern-type", "PREFIXED", "--force"})
                   .has_value());
  EXPECT_EQ(cli.selected(), "acls");
  EXPECT_EQ(cli.acls.allow_principals, (std::vector<std::string>{"User:a", "User:b"}));
  EXPECT_EQ(cli.acls.operations, (std::vector<std::string>{"Read", "Write"}));
  EXPECT_EQ(cli.acls.topics, (std::vector<std::string>{"t1", "t2"}));
  EXPECT_EQ(cli.acls.groups, (std::vector<std::string>{"g"}));
  EXPECT_EQ(cli.acls.transactional_ids, (std::vector<std::string>{"x"}));
  EXPECT_EQ(cli.acls.resource_pattern_type, "PREFIXED");
  EXPECT_TRUE(cli.acls.add);
  EXPECT_TRUE(cli.acls.force);
  EXPECT_FALSE(cli.acls.remove);
}
