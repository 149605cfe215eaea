#include "storage/checkpoints.h"

#include <fstream>
#include <sstream>
#include <stdexcept>

#include "storage/log_files.h"

namespace flotilla::storage {

void write_offset_checkpoint(const std::filesystem::path& path, const TopicPartitionOffsets& offsets) {
  std::ostringstream out;
  out << "0\n" << offsets.size() << "\n";
  for (const auto& [tp, off] : offsets) out << tp.first << " " << tp.second << " " << off << "\n";
  write_file_atomically(path, out.str());
}

TopicPartitionOffsets read_offset_checkpoint(const std::filesystem::path& path) {
  TopicPartitionOffsets out;
  std::ifstream in(path);
  if (!in) return out;
  auto bad = [&](const std::string& why) { return std::runtime_error("Malformed checkpoint file " + path.string() + ": " + why); };
  std::string line;
  if (!std::getline(in, line) || line != "0") throw bad("unknown version");
  if (!std::getline(in, line)) throw bad("missing count");
  size_t n = std::stoul(line);
  for (size_t i = 0; i < n; ++i) {
    if (!std::getline(in, line)) throw bad("fewer entries than the count");
    std::istringstream ls(line);
    std::string topic;
    int32_t partition;
    int64_t offset;
    if (!(ls >> topic >> partition >> offset)) throw bad("bad entry '" + line + "'");
    out[{topic, partition}] = offset;
  }
  return out;
}

}  // namespace flotilla::storage
