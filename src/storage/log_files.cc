// The files of a log directory besides its segments (storage/log_files.h).
#include "storage/log_files.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <fstream>

#include "storage/segment.h"

namespace flotilla::storage {

namespace fs = std::filesystem;

bool is_log_dir_errno(int err) {
  switch (err) {
    case EIO:
    case EROFS:
    case ENOSPC:
    case EDQUOT:
    case ENODEV:
    case ENXIO:
    case EUCLEAN:
      return true;
    default:
      return false;
  }
}

std::string offset_file_name(int64_t offset, const std::string& suffix) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%020lld", static_cast<long long>(offset));
  return buf + suffix;
}

void write_file_atomically(const fs::path& path, const std::string& content, Durability durability) {
  fs::path tmp = path;
  tmp += ".tmp";
  int fd = open_file(tmp, O_WRONLY | O_CREAT | O_TRUNC);
  pwrite_all(fd, reinterpret_cast<const uint8_t*>(content.data()), content.size(), 0, tmp);
  if (durability == Durability::Synced && ::fsync(fd) != 0) {
    ::close(fd);
    fail("fsync of", tmp);
  }
  ::close(fd);
  fs::rename(tmp, path);
  if (durability != Durability::Synced) return;
  int dfd = ::open(path.parent_path().empty() ? "." : path.parent_path().c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd >= 0) {
    ::fsync(dfd);
    ::close(dfd);
  }
}

void rewrite_file_in_place(const fs::path& path, const std::string& content) {
  int fd = open_file(path, O_WRONLY | O_CREAT);
  try {
    pwrite_all(fd, reinterpret_cast<const uint8_t*>(content.data()), content.size(), 0, path);
    if (::ftruncate(fd, static_cast<off_t>(content.size())) != 0) fail("cannot truncate", path);
  } catch (...) {
    ::close(fd);
    throw;
  }
  ::close(fd);
}

void write_partition_metadata(const fs::path& dir, const Uuid& topic_id) {
  // Not synced: written on the event loop for every partition a broker gets
  // (thousands at a time, 3 fsyncs each would stall it for seconds); the
  // rename keeps it whole, and a process crash loses nothing.
  write_file_atomically(dir / "partition.metadata", "version: 0\ntopic_id: " + topic_id.to_string() + "\n", Durability::RenameOnly);
}

std::optional<Uuid> read_partition_metadata(const fs::path& dir) {
  std::ifstream f(dir / "partition.metadata");
  if (!f) return std::nullopt;
  std::string line;
  while (std::getline(f, line)) {
    if (line.rfind("topic_id:", 0) == 0) {
      std::string v = line.substr(9);
      v.erase(0, v.find_first_not_of(' '));
      return Uuid::parse(v);
    }
  }
  return std::nullopt;
}

}  // namespace flotilla::storage
