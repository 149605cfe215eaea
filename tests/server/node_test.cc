#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>

#include "common/directory_id.h"
#include "server/config.h"
#include "server/node.h"
#include "storage/meta_properties.h"
#include "test_props.h"

using namespace flotilla;
namespace fs = std::filesystem;

namespace {
struct Dirs {
  fs::path root = fs::temp_directory_path() / ("flotilla-node-" + std::to_string(::getpid()));
  Dirs() { fs::create_directories(root); }
  ~Dirs() { fs::remove_all(root); }
};

server::KafkaConfig config_for(const std::vector<std::string>& dirs) {
  std::string joined;
  for (const auto& d : dirs) joined += (joined.empty() ? "" : ",") + d;
  return server::KafkaConfig::from_properties(server::testing::props({{"log.dirs", joined}}));
}

void format(const fs::path& dir, const std::string& cluster, int node = 1, std::string dir_id = directory_id::random().to_string()) {
  fs::create_directories(dir);
  storage::write_meta_properties(dir / "meta.properties", {1, cluster, node, dir_id});
}

std::string error_of(const server::KafkaConfig& c) {
  try {
    server::verify_formatted_storage(c);
  } catch (const std::exception& e) {
    return e.what();
  }
  return "";
}
}  // namespace

TEST(VerifyStorage, AcceptsFormattedDirsAndReturnsTheClusterId) {
  Dirs d;
  format(d.root / "a", "MkU3OEVBNTcwNTJENDM2Qg");
  format(d.root / "b", "MkU3OEVBNTcwNTJENDM2Qg");
  EXPECT_EQ(server::verify_formatted_storage(config_for({(d.root / "a").string(), (d.root / "b").string()})), "MkU3OEVBNTcwNTJENDM2Qg");
}

TEST(VerifyStorage, RefusesUnformattedDirsWithAClearMessage) {
  Dirs d;
  fs::create_directories(d.root / "a");
  auto err = error_of(config_for({(d.root / "a").string()}));
  EXPECT_NE(err.find("No `meta.properties` found"), std::string::npos) << err;
  EXPECT_NE(err.find("storage format"), std::string::npos) << err;
}

TEST(VerifyStorage, RefusesClusterIdAndNodeIdMismatches) {
  Dirs d;
  format(d.root / "a", "MkU3OEVBNTcwNTJENDM2Qg");
  format(d.root / "b", "AAAAAAAAAAAAAAAAAAAAAQ");
  auto err = error_of(config_for({(d.root / "a").string(), (d.root / "b").string()}));
  EXPECT_NE(err.find("Invalid cluster.id"), std::string::npos) << err;
  format(d.root / "c", "MkU3OEVBNTcwNTJENDM2Qg", 7);
  err = error_of(config_for({(d.root / "c").string()}));
  EXPECT_NE(err.find("Stored node id 7"), std::string::npos) << err;
}

TEST(VerifyStorage, RefusesDuplicateAndReservedDirectoryIdsAndAssignsMissingOnes) {
  Dirs d;
  const std::string a = (d.root / "a").string(), b = (d.root / "b").string();
  const std::string id = directory_id::random().to_string();
  format(a, "MkU3OEVBNTcwNTJENDM2Qg", 1, id);
  format(b, "MkU3OEVBNTcwNTJENDM2Qg", 1, id);
  auto err = error_of(config_for({a, b}));
  EXPECT_NE(err.find("Duplicate directory ID " + id + " found. It was the ID of " + a + ", but also of " + b), std::string::npos) << err;

  format(b, "MkU3OEVBNTcwNTJENDM2Qg", 1, "AAAAAAAAAAAAAAAAAAAAAQ");  // DirectoryId.UNASSIGNED
  err = error_of(config_for({a, b}));
  EXPECT_NE(err.find("AAAAAAAAAAAAAAAAAAAAAQ found in " + b), std::string::npos) << err;

  // Formatted without a directory.id: start-up writes a fresh one.
  format(b, "MkU3OEVBNTcwNTJENDM2Qg", 1, "");
  std::map<std::string, Uuid> ids;
  EXPECT_EQ(server::verify_formatted_storage(config_for({a, b}), &ids), "MkU3OEVBNTcwNTJENDM2Qg");
  ASSERT_EQ(ids.size(), 2u);
  EXPECT_EQ(ids[a].to_string(), id);
  EXPECT_FALSE(directory_id::reserved(ids[b]));
  EXPECT_NE(ids[b], ids[a]);
  EXPECT_EQ(storage::read_meta_properties(fs::path(b) / "meta.properties").directory_id, ids[b].to_string());
}
