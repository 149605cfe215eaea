// The files of a log directory besides its segments (storage/log_files.h).
#include "storage/log_files.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

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

void rewrite_file_in_place(const fs::path& path, const std::string& content, int64_t known_size) {
  int fd = open_file(path, O_WRONLY | O_CREAT);
  try {
    pwrite_all(fd, reinterpret_cast<const uint8_t*>(content.data()), content.size(), 0, path);
    if ((known_size < 0 || known_size > static_cast<int64_t>(content.size())) && ::ftruncate(fd, static_cast<off_t>(content.size())) != 0)
      fail("cannot truncate", path);
  } catch (...) {
    ::close(fd);
    throw;
  }
  ::close(fd);
}

std::vector<std::string> list_dir_names(int fd, const fs::path& dir, bool dirs_only) {
  if (::lseek(fd, 0, SEEK_SET) != 0) throw fs::filesystem_error("cannot list", dir, std::error_code(errno, std::generic_category()));
  std::vector<std::string> names;
  alignas(8) char buf[8192];
  for (;;) {
    const long n = ::syscall(SYS_getdents64, fd, buf, sizeof buf);
    if (n < 0) {
      if (errno == EINTR) continue;
      throw fs::filesystem_error("cannot list", dir, std::error_code(errno, std::generic_category()));
    }
    if (n == 0) break;
    for (long pos = 0; pos < n;) {
      // struct linux_dirent64: ino (8), off (8), reclen (2), type (1), name (NUL-terminated).
      unsigned short reclen;
      std::memcpy(&reclen, buf + pos + 16, sizeof reclen);
      const unsigned char type = static_cast<unsigned char>(buf[pos + 18]);
      const char* name = buf + pos + 19;
      pos += reclen;
      if (std::strcmp(name, ".") == 0 || std::strcmp(name, "..") == 0) continue;
      if (dirs_only && type != DT_DIR) {
        // A symbolic link (followed, as std::filesystem's is_directory does),
        // or DT_UNKNOWN (a file system without d_type): asked of the inode.
        struct stat st;
        if ((type != DT_UNKNOWN && type != DT_LNK) || ::fstatat(fd, name, &st, 0) != 0 || !S_ISDIR(st.st_mode)) continue;
      }
      names.emplace_back(name);
    }
  }
  return names;
}

std::optional<std::string> read_small_file(int dir_fd, const char* name) {
  const int fd = ::openat(dir_fd, name, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return std::nullopt;
  std::string out;
  char buf[4096];
  for (;;) {
    const ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      ::close(fd);
      return std::nullopt;
    }
    if (n == 0) break;
    out.append(buf, static_cast<size_t>(n));
    if (static_cast<size_t>(n) < sizeof buf || out.size() >= kMaxSmallFileBytes) break;  // a regular file's short read is its end
  }
  ::close(fd);
  return out;
}

void write_partition_metadata(const fs::path& dir, const Uuid& topic_id) {
  // Not synced: written on the event loop for every partition a broker gets
  // (thousands at a time, 3 fsyncs each would stall it for seconds); the
  // rename keeps it whole, and a process crash loses nothing.
  write_file_atomically(dir / "partition.metadata", "version: 0\ntopic_id: " + topic_id.to_string() + "\n", Durability::RenameOnly);
}

namespace {
std::optional<Uuid> parse_partition_metadata(std::istream& f) {
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
}  // namespace

std::optional<Uuid> read_partition_metadata(const fs::path& dir) {
  std::ifstream f(dir / "partition.metadata");
  if (!f) return std::nullopt;
  return parse_partition_metadata(f);
}

std::optional<Uuid> read_partition_metadata(int dir_fd) {
  auto content = read_small_file(dir_fd, "partition.metadata");
  if (!content) return std::nullopt;
  std::istringstream f(*content);
  return parse_partition_metadata(f);
}

}  // namespace flotilla::storage
