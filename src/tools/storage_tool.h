// Helpers of `flotilla storage format` (exposed for tests).
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "common/uuid.h"

namespace flotilla::tools {

// Writes <dir>/meta.properties (version=1, cluster.id, node.id, directory.id)
// with storage::write_meta_properties (atomic).
void write_meta_properties(const std::filesystem::path& dir, const std::string& cluster_id, int32_t node_id, const Uuid& directory_id);
// log.dirs plus metadata.log.dir, without duplicates, in order.
std::vector<std::string> format_directories(const std::vector<std::string>& log_dirs, const std::string& metadata_log_dir);

struct InitialController {
  int32_t id = -1;
  std::string host;
  int port = 0;
  Uuid directory_id;
};
// --initial-controllers: "id@host:port:directoryId,...". Throws std::invalid_argument.
std::vector<InitialController> parse_initial_controllers(const std::string& spec);

}  // namespace flotilla::tools
