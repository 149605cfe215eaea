#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>

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

void format(const fs::path& dir, const std::string& cluster, int node = 1) {
  fs::create_directories(dir);
  storage::write_meta_properties(dir / "meta.properties", {1, cluster, node, "AAAAAAAAAAAAAAAAAAAAAQ"});
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
