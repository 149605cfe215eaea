// Kafka's offset checkpoint files at the root of a log directory
// (recovery-point-offset-checkpoint, log-start-offset-checkpoint,
// replication-offset-checkpoint): "0\n<count>\n<topic> <partition> <offset>\n...".
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <string>
#include <utility>

namespace flotilla::storage {

using TopicPartitionOffsets = std::map<std::pair<std::string, int32_t>, int64_t>;

void write_offset_checkpoint(const std::filesystem::path& path, const TopicPartitionOffsets& offsets);
// Missing file → empty; a malformed one → std::runtime_error naming it.
TopicPartitionOffsets read_offset_checkpoint(const std::filesystem::path& path);

}  // namespace flotilla::storage
