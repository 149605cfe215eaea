// `flotilla storage format` and `random-uuid` on temporary directories.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <unistd.h>

#include "metadata/bootstrap.h"
#include "raft/snapshot.h"
#include "server/config.h"
#include "storage/meta_properties.h"
#include "tools/commands.h"
#include "tools/storage_tool.h"

namespace flotilla::tools {
namespace {

namespace fs = std::filesystem;

class FormatTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("flotilla-format-" + std::to_string(::getpid()) + "-" +
                                        ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  std::string write_config(const std::string& body) {
    auto p = dir_ / "server.properties";
    std::ofstream(p) << body;
    return p.string();
  }
  std::string combined(const std::string& extra = "") {
    return write_config("process.roles=broker,controller\nnode.id=1\ncontroller.quorum.voters=1@127.0.0.1:29093\n"
                        "listeners=PLAINTEXT://127.0.0.1:29092,CONTROLLER://127.0.0.1:29093\ncontroller.listener.names=CONTROLLER\n"
                        "log.dirs=" + (dir_ / "data").string() + "\n" + extra);
  }
  int format(StorageFormatOptions o) { return run_storage_format(o, out_, err_); }
  static std::string read(const fs::path& p) {
    std::ifstream f(p);
    std::stringstream ss;
    ss << f.rdbuf();
    return ss.str();
  }

  fs::path dir_;
  std::ostringstream out_, err_;
  const std::string cluster_ = "MkU3OEVBNTcwNTJENDM2Qg";
};

TEST(RandomUuid, PrintsAValidBase64Uuid) {
  std::ostringstream a, b;
  EXPECT_EQ(run_storage_random_uuid(a), 0);
  EXPECT_EQ(run_storage_random_uuid(b), 0);
  std::string s = a.str();
  ASSERT_EQ(s.size(), 23u);
  EXPECT_EQ(s.back(), '\n');
  s.pop_back();
  auto u = Uuid::parse(s);
  ASSERT_TRUE(u);
  EXPECT_EQ(u->to_string(), s);
  EXPECT_NE(a.str(), b.str());
}

TEST_F(FormatTest, FormatsTheMetadataDirectory) {
  StorageFormatOptions o;
  o.config = combined();
  o.cluster_id = cluster_;
  ASSERT_EQ(format(o), 0) << err_.str();
  EXPECT_EQ(out_.str(), "Formatting metadata directory " + (dir_ / "data").string() + " with metadata.version 3.9-IV0.\n");
  std::string meta = read(dir_ / "data" / "meta.properties");
  EXPECT_NE(meta.find("version=1\n"), std::string::npos);
  EXPECT_NE(meta.find("cluster.id=" + cluster_ + "\n"), std::string::npos);
  EXPECT_NE(meta.find("node.id=1\n"), std::string::npos);
  EXPECT_NE(meta.find("directory.id="), std::string::npos);
  auto props = server::parse_properties(meta);
  ASSERT_TRUE(Uuid::parse(props["directory.id"]));
  auto mp = storage::read_meta_properties(dir_ / "data" / "meta.properties");
  EXPECT_EQ(mp.version, 1);
  EXPECT_EQ(mp.cluster_id, cluster_);
  EXPECT_EQ(mp.node_id, 1);
  EXPECT_EQ(mp.directory_id, props["directory.id"]);
  auto boot = metadata::read_bootstrap(dir_ / "data");
  EXPECT_EQ(boot.metadata_version, 21);
  EXPECT_FALSE(fs::exists(dir_ / "data" / "__cluster_metadata-0"));
}

TEST_F(FormatTest, AlreadyFormattedNeedsIgnoreFormatted) {
  StorageFormatOptions o;
  o.config = combined();
  o.cluster_id = cluster_;
  ASSERT_EQ(format(o), 0);
  std::string before = read(dir_ / "data" / "meta.properties");
  err_.str("");
  EXPECT_EQ(format(o), 1);
  EXPECT_EQ(err_.str(), "Log directory " + (dir_ / "data").string() +
                            " is already formatted. Use --ignore-formatted to ignore this directory and format the others.\n");
  o.ignore_formatted = true;
  out_.str("");
  EXPECT_EQ(format(o), 0);
  EXPECT_EQ(out_.str(), "All of the log directories are already formatted.\n");
  EXPECT_EQ(read(dir_ / "data" / "meta.properties"), before);
}

TEST_F(FormatTest, DataAndMetadataDirectoriesAndReleaseVersion) {
  StorageFormatOptions o;
  auto d1 = (dir_ / "d1").string(), d2 = (dir_ / "d2").string(), md = (dir_ / "meta").string();
  o.config = write_config("process.roles=broker\nnode.id=3\ncontroller.quorum.voters=1@127.0.0.1:29093\nlisteners=PLAINTEXT://:29092\n"
                          "log.dirs=" + d1 + "," + d2 + "\nmetadata.log.dir=" + md + "\n");
  o.cluster_id = cluster_;
  o.release_version = "3.8";
  ASSERT_EQ(format(o), 0) << err_.str();
  EXPECT_EQ(out_.str(), "Formatting data directory " + d1 + " with metadata.version 3.8-IV0.\n" +
                            "Formatting data directory " + d2 + " with metadata.version 3.8-IV0.\n" +
                            "Formatting metadata directory " + md + " with metadata.version 3.8-IV0.\n");
  std::set<std::string> ids;
  for (const auto& d : {d1, d2, md}) {
    auto props = server::parse_properties(read(fs::path(d) / "meta.properties"));
    EXPECT_EQ(props["node.id"], "3");
    EXPECT_EQ(props["cluster.id"], cluster_);
    ids.insert(props["directory.id"]);
  }
  EXPECT_EQ(ids.size(), 3u);
  EXPECT_EQ(metadata::read_bootstrap(md).metadata_version, 20);
  EXPECT_FALSE(fs::exists(fs::path(d1) / "bootstrap.checkpoint"));
}

TEST_F(FormatTest, IgnoreFormattedFormatsTheOthers) {
  auto d1 = (dir_ / "d1").string(), d2 = (dir_ / "d2").string();
  StorageFormatOptions o;
  o.config = write_config("process.roles=broker,controller\nnode.id=1\ncontroller.quorum.voters=1@127.0.0.1:29093\n"
                          "listeners=PLAINTEXT://:29092,CONTROLLER://:29093\ncontroller.listener.names=CONTROLLER\nlog.dirs=" + d1 + "\n");
  o.cluster_id = cluster_;
  ASSERT_EQ(format(o), 0);
  o.config = write_config("process.roles=broker,controller\nnode.id=1\ncontroller.quorum.voters=1@127.0.0.1:29093\n"
                          "listeners=PLAINTEXT://:29092,CONTROLLER://:29093\ncontroller.listener.names=CONTROLLER\nlog.dirs=" + d1 + "," +
                          d2 + "\n");
  EXPECT_EQ(format(o), 1);
  EXPECT_FALSE(fs::exists(fs::path(d2) / "meta.properties"));
  o.ignore_formatted = true;
  out_.str("");
  ASSERT_EQ(format(o), 0);
  EXPECT_EQ(out_.str(), "Formatting data directory " + d2 + " with metadata.version 3.9-IV0.\n");
  EXPECT_TRUE(fs::exists(fs::path(d2) / "meta.properties"));
}

TEST_F(FormatTest, InvalidClusterIdIsRefused) {
  StorageFormatOptions o;
  o.config = combined();
  o.cluster_id = "not-a-uuid";
  EXPECT_EQ(format(o), 1);
  EXPECT_NE(err_.str().find("Cluster ID string not-a-uuid does not appear to be a valid UUID"), std::string::npos);
  EXPECT_FALSE(fs::exists(dir_ / "data" / "meta.properties"));
}

TEST_F(FormatTest, MissingPropertiesAreNamed) {
  StorageFormatOptions o;
  o.cluster_id = cluster_;
  o.config = write_config("process.roles=broker\ncontroller.quorum.voters=1@127.0.0.1:29093\nlog.dirs=" + (dir_ / "x").string() + "\n");
  EXPECT_EQ(format(o), 1);
  EXPECT_NE(err_.str().find("node.id"), std::string::npos);
  err_.str("");
  o.config = write_config("node.id=1\nlog.dirs=" + (dir_ / "x").string() + "\n");
  EXPECT_EQ(format(o), 1);
  EXPECT_NE(err_.str().find("process.roles"), std::string::npos);
  err_.str("");
  o.config = (dir_ / "missing.properties").string();
  EXPECT_EQ(format(o), 1);
  EXPECT_NE(err_.str().find("missing.properties"), std::string::npos);
}

TEST_F(FormatTest, UnknownReleaseVersion) {
  StorageFormatOptions o;
  o.config = combined();
  o.cluster_id = cluster_;
  o.release_version = "9.9";
  EXPECT_EQ(format(o), 1);
  EXPECT_NE(err_.str().find("9.9"), std::string::npos);
}

TEST_F(FormatTest, StandaloneWritesTheBootstrapSnapshotWithThisVoter) {
  StorageFormatOptions o;
  o.config = write_config("process.roles=broker,controller\nnode.id=4\ncontroller.quorum.bootstrap.servers=127.0.0.1:29093\n"
                          "listeners=PLAINTEXT://127.0.0.1:29092,CONTROLLER://127.0.0.1:29093\ncontroller.listener.names=CONTROLLER\n"
                          "log.dirs=" + (dir_ / "data").string() + "\n");
  o.cluster_id = cluster_;
  // A dynamic quorum needs one of the three modes.
  EXPECT_EQ(format(o), 1);
  EXPECT_NE(err_.str().find("--standalone"), std::string::npos);
  o.standalone = true;
  ASSERT_EQ(format(o), 0) << err_.str();
  auto voters = raft::read_bootstrap_voters(dir_ / "data" / "__cluster_metadata-0");
  ASSERT_TRUE(voters);
  ASSERT_EQ(voters->size(), 1u);
  EXPECT_EQ((*voters)[0].id, 4);
  auto props = server::parse_properties(read(dir_ / "data" / "meta.properties"));
  EXPECT_EQ((*voters)[0].directory_id.to_string(), props["directory.id"]);
  ASSERT_EQ((*voters)[0].endpoints.size(), 1u);
  EXPECT_EQ((*voters)[0].endpoints[0].name, "CONTROLLER");
  EXPECT_EQ((*voters)[0].endpoints[0].host, "127.0.0.1");
  EXPECT_EQ((*voters)[0].endpoints[0].port, 29093);
}

TEST_F(FormatTest, StandaloneWithStaticVotersIsRefused) {
  StorageFormatOptions o;
  o.config = combined();
  o.cluster_id = cluster_;
  o.standalone = true;
  EXPECT_EQ(format(o), 1);
  EXPECT_NE(err_.str().find("controller.quorum.voters"), std::string::npos);
}

TEST(StorageHelpers, FormatDirectories) {
  EXPECT_EQ(format_directories({"a", "b", "a"}, "a"), (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(format_directories({"a"}, "m"), (std::vector<std::string>{"a", "m"}));
}

TEST(StorageHelpers, InitialControllers) {
  auto v = parse_initial_controllers("1@localhost:9093:AAAAAAAAAAAAAAAAAAAAAQ,2@[::1]:9094:AAAAAAAAAAAAAAAAAAAAAg");
  ASSERT_EQ(v.size(), 2u);
  EXPECT_EQ(v[0].id, 1);
  EXPECT_EQ(v[0].host, "localhost");
  EXPECT_EQ(v[0].port, 9093);
  EXPECT_EQ(v[1].host, "::1");
  EXPECT_EQ(v[1].directory_id.to_string(), "AAAAAAAAAAAAAAAAAAAAAg");
  EXPECT_THROW(parse_initial_controllers("1@localhost:9093"), std::invalid_argument);
  EXPECT_THROW(parse_initial_controllers("x@localhost:9093:AAAAAAAAAAAAAAAAAAAAAQ"), std::invalid_argument);
}

}  // namespace
}  // namespace flotilla::tools
