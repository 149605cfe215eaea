// `flotilla metadata-shell`: the image loaded from a snapshot and the log
// segments after it (built here), the file-system view of it, and the commands.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <sstream>

#include "metadata_test_util.h"
#include "tools/cli.h"
#include "tools/commands.h"
#include "tools/metadata_shell.h"

using namespace flotilla;
using namespace flotilla::tools;
using namespace flotilla::tools::testing;

namespace {

const Uuid kFoo{0x1111, 0x2222};
const Uuid kBar{0x3333, 0x4444};
const Uuid kStale{0x5555, 0x6666};

// Snapshot 5-1 (offsets 0..4: broker 1, topic foo with two partitions, a topic
// config); segment 0 (offsets 0..4, covered by the snapshot: its "stale" topic
// must not show); segment 5: topic bar (5, 6), foo-0 moves to broker 2 (7, epoch 2).
void build_directory(const fs::path& dir) {
  write_snapshot(dir, 5, 1,
                 {feature("metadata.version", 21), register_broker(1, 0, false), register_broker(2, 1, false),
                  topic("foo", kFoo), partition(kFoo, 0, {1, 2}, 1), partition(kFoo, 1, {2, 1}, 2),
                  config(2, "foo", "retention.ms", "1000")});
  write_segment(dir, 0, 1, {{feature("metadata.version", 21), topic("stale", kStale)}, {register_broker(1, 2)}, {register_broker(2, 3)}, {register_broker(3, 4)}});
  write_segment(dir, 5, 1, {{topic("bar", kBar), partition(kBar, 0, {1}, 1)}}, 0);
  // Offset 7 in epoch 2, appended to segment 5 with its zero tail.
  auto b = batch(7, 2, {partition_change(kFoo, 0, 2, {2})});
  std::ofstream f(dir / "00000000000000000005.log", std::ios::binary | std::ios::app);
  f.write(reinterpret_cast<const char*>(b.data()), static_cast<std::streamsize>(b.size()));
  std::vector<char> zeros(1000, 0);
  f.write(zeros.data(), static_cast<std::streamsize>(zeros.size()));
}

struct Run {
  int rc;
  std::string out, err;
};

Run shell(const std::vector<std::string>& args, const std::string& input = "") {
  Cli cli;
  std::vector<std::string> a = {"metadata-shell"};
  a.insert(a.end(), args.begin(), args.end());
  auto rc = cli.parse(a);
  EXPECT_FALSE(rc.has_value());
  EXPECT_EQ(cli.selected(), "metadata-shell");
  std::istringstream in(input);
  std::ostringstream out, err;
  int code = run_metadata_shell(cli.metadata_shell, in, out, err);
  return {code, out.str(), err.str()};
}

}  // namespace

TEST(MetadataShellLoad, SnapshotThenLogAfterIt) {
  TempDir d;
  build_directory(d.path());
  auto image = load_metadata_image(d.path().string());
  EXPECT_EQ(image->offset(), 7);
  EXPECT_EQ(image->epoch(), 2);
  ASSERT_EQ(image->topics_by_name().size(), 2u);
  EXPECT_TRUE(image->topic("foo"));
  EXPECT_TRUE(image->topic("bar"));
  EXPECT_FALSE(image->topic("stale"));
  EXPECT_EQ(image->partition(kFoo, 0)->leader, 2);
  EXPECT_EQ(image->partition(kFoo, 0)->isr, (std::vector<int32_t>{2}));
  EXPECT_EQ(image->features().at("metadata.version"), 21);
  EXPECT_EQ(image->topic_configs("foo").at("retention.ms"), "1000");
  EXPECT_EQ(image->brokers().size(), 2u);
}

TEST(MetadataShellLoad, UpToAnOffset) {
  TempDir d;
  build_directory(d.path());
  auto at6 = load_metadata_image(d.path().string(), 6);
  EXPECT_EQ(at6->offset(), 6);
  EXPECT_EQ(at6->partition(kFoo, 0)->leader, 1);
  EXPECT_TRUE(at6->topic("bar"));
  // Before the snapshot's end: the snapshot is not used, the log is.
  auto at1 = load_metadata_image(d.path().string(), 1);
  EXPECT_EQ(at1->offset(), 1);
  EXPECT_TRUE(at1->topic("stale"));
  EXPECT_FALSE(at1->topic("foo"));
  auto spec = load_metadata_spec(d.path().string() + "@6");
  EXPECT_EQ(spec->offset(), 6);
}

TEST(MetadataShellLoad, SnapshotFileAlone) {
  TempDir d;
  build_directory(d.path());
  auto image = load_metadata_image((d.path() / "00000000000000000005-0000000001.checkpoint").string());
  EXPECT_EQ(image->offset(), 4);
  EXPECT_EQ(image->epoch(), 1);
  EXPECT_FALSE(image->topic("bar"));
  EXPECT_EQ(image->partition(kFoo, 0)->leader, 1);
}

TEST(MetadataShellLoad, Errors) {
  TempDir d;
  EXPECT_THROW(load_metadata_image(d.path().string()), std::runtime_error);
  EXPECT_THROW(load_metadata_image((d.path() / "missing.checkpoint").string()), std::runtime_error);
  auto r = shell({"--directory", d.path().string(), "ls"});
  EXPECT_EQ(r.rc, 1);
  EXPECT_NE(r.err.find("no snapshot"), std::string::npos);
  r = shell({"ls"});
  EXPECT_EQ(r.rc, 1);
  EXPECT_NE(r.err.find("exactly one of --snapshot"), std::string::npos);
}

TEST(MetadataShell, OneCommand) {
  TempDir d;
  build_directory(d.path());
  std::string dir = d.path().string();
  auto r = shell({"--directory", dir, "ls", "/image/topics/byName"});
  EXPECT_EQ(r.rc, 0) << r.err;
  EXPECT_EQ(r.out, "bar\nfoo\n");
  EXPECT_EQ(shell({"--directory", dir, "ls"}).out, "image\n");
  EXPECT_EQ(shell({"--directory", dir, "ls", "/image"}).out, "acls\nclientQuotas\ncluster\nconfigs\ndelegationToken\nfeatures\nprovenance\nscram\ntopics\n");

  r = shell({"--directory", dir, "cat", "/image/topics/byName/foo/0"});
  auto p = nlohmann::json::parse(r.out);
  EXPECT_EQ(p["leader"], 2);
  EXPECT_EQ(p["isr"], nlohmann::json::array({2}));
  EXPECT_EQ(p["replicas"], nlohmann::json::array({1, 2}));
  EXPECT_EQ(p["leaderEpoch"], 1);
  EXPECT_TRUE(p.contains("partitionEpoch"));

  EXPECT_EQ(shell({"--directory", dir, "cat", "/image/topics/byId/" + kBar.to_string() + "/name"}).out, "bar\n");
  EXPECT_EQ(shell({"--directory", dir, "cat", "/image/topics/byName/foo/id"}).out, kFoo.to_string() + "\n");
  EXPECT_EQ(shell({"--directory", dir, "cat", "/image/provenance"}).out, "{\"offset\":7,\"epoch\":2}\n");
  EXPECT_EQ(shell({"--directory", dir, "cat", "/image/features/metadata.version"}).out, "21\n");
  EXPECT_EQ(shell({"--directory", dir, "cat", "/image/configs/topic/foo/retention.ms"}).out, "1000\n");
  auto b = nlohmann::json::parse(shell({"--directory", dir, "cat", "/image/cluster/brokers/1"}).out);
  EXPECT_EQ(b["brokerId"], 1);
  EXPECT_EQ(b["fenced"], false);
  EXPECT_EQ(b["listeners"][0]["port"], 9091);

  // Globs, several files.
  EXPECT_EQ(shell({"--directory", dir, "cat", "/image/topics/byName/*/name"}).out, "bar\nfoo\n");
  // ls -l: type, size, name.
  r = shell({"--directory", dir, "ls", "-l", "/image/topics/byName/bar"});
  EXPECT_EQ(r.rc, 0);
  EXPECT_NE(r.out.find("-r--r--r--        3 name\n"), std::string::npos) << r.out;
  EXPECT_EQ(shell({"--directory", dir, "ls", "-l", "/image/topics"}).out,
            "dr-xr-xr-x        2 byId\ndr-xr-xr-x        2 byName\n");
  // Two directories: headed.
  EXPECT_EQ(shell({"--directory", dir, "ls", "/image/cluster", "/image/features"}).out,
            "/image/cluster:\nbrokers\ncontrollers\n\n/image/features:\nmetadata.version\n");

  EXPECT_EQ(shell({"--directory", dir, "find", "/image/topics/byName/bar"}).out,
            "/image/topics/byName/bar\n/image/topics/byName/bar/0\n/image/topics/byName/bar/id\n/image/topics/byName/bar/name\n");
  EXPECT_EQ(shell({"--directory", dir, "tree", "/image/features"}).out, "/image/features:\n  metadata.version: 21\n");

  r = shell({"--directory", dir, "cat", "/image/topics"});
  EXPECT_EQ(r.rc, 1);
  EXPECT_EQ(r.err, "cat: /image/topics: Is a directory\n");
  r = shell({"--directory", dir, "ls", "/nope"});
  EXPECT_EQ(r.rc, 1);
  EXPECT_EQ(r.err, "ls: /nope: no such file or directory\n");
  r = shell({"--directory", dir, "frobnicate"});
  EXPECT_EQ(r.rc, 1);
  EXPECT_NE(r.err.find("Unknown command frobnicate"), std::string::npos);
  EXPECT_NE(shell({"--directory", dir, "help"}).out.find("{cat,cd,exit,find,help,ls,pwd,tree}"), std::string::npos);
}

TEST(MetadataShell, CommandsFromInput) {
  TempDir d;
  build_directory(d.path());
  auto r = shell({"--directory", d.path().string()},
                 "pwd\ncd /image/topics/byName/foo\npwd\nls\ncd ..\npwd\ncd ../../cluster/brokers\nls\ncd nope\n"
                 "cd /image/provenance\ncd\npwd\nexit\nls\n");
  EXPECT_EQ(r.rc, 0);
  EXPECT_EQ(r.out, "/\n/image/topics/byName/foo\n0\n1\nid\nname\n/image/topics/byName\n1\n2\n/\n");
  EXPECT_EQ(r.err, "cd: nope: no such directory\ncd: /image/provenance: not a directory\n");
}

TEST(MetadataShell, Snapshot) {
  TempDir d;
  build_directory(d.path());
  auto r = shell({"--snapshot", (d.path() / "00000000000000000005-0000000001.checkpoint").string(), "ls", "/image/topics/byName"});
  EXPECT_EQ(r.rc, 0) << r.err;
  EXPECT_EQ(r.out, "foo\n");
}

TEST(MetadataShellLoad, OffsetBeforeTheLogStartWithoutSnapshot) {
  TempDir d;
  build_directory(d.path());
  fs::remove(d.path() / "00000000000000000000.log");
  // Offset 6 is after the snapshot: fine; offset 3 would need the deleted segment.
  EXPECT_EQ(load_metadata_image(d.path().string(), 6)->offset(), 6);
  try {
    load_metadata_image(d.path().string(), 3);
    FAIL() << "no error";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("the log starts at offset 5 and no snapshot covers offset 3"), std::string::npos);
  }
}
