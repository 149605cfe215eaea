// `flotilla metadata-diff`: the changes between two offsets of a metadata log
// (and between snapshots) built here, as JSON and as text.
#include <gtest/gtest.h>

#include <sstream>

#include "metadata_test_util.h"
#include "tools/cli.h"
#include "tools/commands.h"
#include "tools/metadata_diff.h"
#include "tools/metadata_shell.h"

using namespace flotilla;
using namespace flotilla::tools;
using namespace flotilla::tools::testing;
using nlohmann::ordered_json;

namespace {

const Uuid kFoo{0x1111, 0x2222};
const Uuid kBar{0x3333, 0x4444};

// Offsets 0..8: the cluster (A = @8); 9..17: the changes.
void build_log(const fs::path& dir) {
  write_segment(dir, 0, 1,
                {{feature("metadata.version", 20), register_broker(1, 1), register_broker(2, 2)},
                 {broker_fencing(1, 1, false), broker_fencing(2, 2, false)},
                 {topic("foo", kFoo), partition(kFoo, 0, {1, 2}, 1), partition(kFoo, 1, {2, 1}, 2),
                  config(2, "foo", "retention.ms", "1000")},
                 {topic("bar", kBar), partition(kBar, 0, {1}, 1)},
                 {partition_change(kFoo, 0, 2, {2}), config(2, "foo", "cleanup.policy", "compact"),
                  config(2, "foo", "retention.ms", std::nullopt), config(4, "", "log.retention.ms", "5")},
                 {broker_fencing(1, 1, true), register_broker(3, 16), feature("metadata.version", 21)}});
}

struct Run {
  int rc;
  std::string out, err;
};

Run diff(const std::vector<std::string>& args) {
  Cli cli;
  std::vector<std::string> a = {"metadata-diff"};
  a.insert(a.end(), args.begin(), args.end());
  auto rc = cli.parse(a);
  EXPECT_FALSE(rc.has_value());
  EXPECT_EQ(cli.selected(), "metadata-diff");
  std::ostringstream out, err;
  int code = run_metadata_diff(cli.metadata_diff, out, err);
  return {code, out.str(), err.str()};
}

}  // namespace

TEST(MetadataDiff, Json) {
  TempDir d;
  build_log(d.path());
  std::string dir = d.path().string();
  auto r = diff({dir + "@8", dir, "--json"});
  ASSERT_EQ(r.rc, 0) << r.err;
  auto j = ordered_json::parse(r.out);
  EXPECT_EQ(j["from"]["offset"], 8);
  EXPECT_EQ(j["from"]["source"], dir + "@8");
  EXPECT_EQ(j["to"]["offset"], 17);
  EXPECT_EQ(j["topics"]["added"], ordered_json::parse(R"([{"name":"bar","id":")" + kBar.to_string() + R"(","partitions":1}])"));
  EXPECT_EQ(j["topics"]["removed"], ordered_json::array());
  ASSERT_EQ(j["partitions"]["changed"].size(), 1u);
  auto p = j["partitions"]["changed"][0];
  EXPECT_EQ(p["topic"], "foo");
  EXPECT_EQ(p["partition"], 0);
  EXPECT_EQ(p["leader"], ordered_json::parse(R"({"old":1,"new":2})"));
  EXPECT_EQ(p["isr"], ordered_json::parse(R"({"old":[1,2],"new":[2]})"));
  EXPECT_EQ(p["leaderEpoch"], ordered_json::parse(R"({"old":0,"new":1})"));
  EXPECT_FALSE(p.contains("replicas"));
  EXPECT_EQ(j["brokers"]["registered"], ordered_json::parse("[3]"));
  EXPECT_EQ(j["brokers"]["fenced"], ordered_json::parse("[1]"));
  EXPECT_EQ(j["brokers"]["unfenced"], ordered_json::array());
  EXPECT_EQ(j["brokers"]["unregistered"], ordered_json::array());
  EXPECT_EQ(j["configs"]["set"], ordered_json::parse(R"([
      {"type":"topic","name":"foo","key":"cleanup.policy","old":null,"new":"compact"},
      {"type":"broker","name":"","key":"log.retention.ms","old":null,"new":"5"}])"));
  EXPECT_EQ(j["configs"]["removed"], ordered_json::parse(R"([{"type":"topic","name":"foo","key":"retention.ms","old":"1000"}])"));
  EXPECT_EQ(j["features"]["changed"], ordered_json::parse(R"([{"name":"metadata.version","old":20,"new":21}])"));
}

TEST(MetadataDiff, Text) {
  TempDir d;
  build_log(d.path());
  std::string dir = d.path().string();
  auto r = diff({dir + "@8", dir});
  ASSERT_EQ(r.rc, 0) << r.err;
  EXPECT_EQ(r.out,
            "Comparing metadata at offset 8, epoch 1 with offset 17, epoch 1\n"
            "+ topic bar (id " + kBar.to_string() + ", 1 partition)\n"
            "~ partition foo-0: leader 1 -> 2, leaderEpoch 0 -> 1, isr [1,2] -> [2], partitionEpoch 0 -> 1\n"
            "+ broker 3 registered\n"
            "~ broker 1 fenced\n"
            "+ config topic foo cleanup.policy=compact\n"
            "+ config broker <default> log.retention.ms=5\n"
            "- config topic foo retention.ms (was 1000)\n"
            "~ feature metadata.version: 20 -> 21\n");
  // Backwards: the opposite changes.
  r = diff({dir, dir + "@8"});
  EXPECT_EQ(r.out,
            "Comparing metadata at offset 17, epoch 1 with offset 8, epoch 1\n"
            "- topic bar (id " + kBar.to_string() + ")\n"
            "~ partition foo-0: leader 2 -> 1, leaderEpoch 1 -> 0, isr [2] -> [1,2], partitionEpoch 1 -> 0\n"
            "- broker 3 unregistered\n"
            "~ broker 1 unfenced\n"
            "+ config topic foo retention.ms=1000\n"
            "- config topic foo cleanup.policy (was compact)\n"
            "- config broker <default> log.retention.ms (was 5)\n"
            "~ feature metadata.version: 21 -> 20\n");
  r = diff({dir, dir});
  EXPECT_EQ(r.out, "Comparing metadata at offset 17, epoch 1 with offset 17, epoch 1\nNo changes.\n");
  // Before the brokers were unfenced.
  r = diff({dir + "@2", dir + "@4"});
  EXPECT_EQ(r.out, "Comparing metadata at offset 2, epoch 1 with offset 4, epoch 1\n~ broker 1 unfenced\n~ broker 2 unfenced\n");
}

TEST(MetadataDiff, Snapshots) {
  TempDir d;
  auto a = write_snapshot(d.path(), 10, 3, {topic("foo", kFoo), partition(kFoo, 0, {1}, 1), register_broker(1, 1, false)});
  auto b = write_snapshot(d.path(), 20, 4,
                          {topic("foo", kFoo), partition(kFoo, 0, {1}, 1), partition(kFoo, 1, {1}, 1), register_broker(2, 12)});
  auto r = diff({a.string(), b.string()});
  ASSERT_EQ(r.rc, 0) << r.err;
  EXPECT_EQ(r.out,
            "Comparing metadata at offset 9, epoch 3 with offset 19, epoch 4\n"
            "+ partition foo-1 (replicas [1], leader 1)\n"
            "+ broker 2 registered\n"
            "- broker 1 unregistered\n");
  // A topic deleted and created again under its name is removed and added.
  const Uuid kFoo2{0x7777, 0x8888};
  auto c = write_snapshot(d.path(), 30, 4, {topic("foo", kFoo2), partition(kFoo2, 0, {1}, 1)});
  auto j = ordered_json::parse(diff({a.string(), c.string(), "--json"}).out);
  EXPECT_EQ(j["topics"]["added"][0]["id"], kFoo2.to_string());
  EXPECT_EQ(j["topics"]["removed"][0]["id"], kFoo.to_string());
}

TEST(MetadataDiff, Errors) {
  TempDir d;
  auto r = diff({(d.path() / "nope.checkpoint").string(), d.path().string()});
  EXPECT_EQ(r.rc, 1);
  EXPECT_NE(r.err.find("metadata-diff: "), std::string::npos);
  Cli cli;
  EXPECT_EQ(cli.parse(std::vector<std::string>{"metadata-diff", "only-one"}), std::optional<int>(1));
}
