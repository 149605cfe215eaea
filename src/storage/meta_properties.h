// meta.properties, written by `storage format` into every log directory:
// version=1, cluster.id, node.id, directory.id (Kafka's KRaft layout).
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>

namespace flotilla::storage {

struct MetaProperties {
  int version = 1;
  std::string cluster_id;
  int32_t node_id = -1;
  std::string directory_id;
};

// Throws std::runtime_error naming the file when it is missing or malformed.
MetaProperties read_meta_properties(const std::filesystem::path& path);
void write_meta_properties(const std::filesystem::path& path, const MetaProperties& mp);

}  // namespace flotilla::storage
