// A read-only, mmap'd view of a whole file (segments can be a GiB), shared by
// the tools that read log segments and snapshots (dump-log, metadata-shell,
// metadata-diff). Throws std::runtime_error("<path> (<strerror>)").
#pragma once

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <span>
#include <stdexcept>
#include <string>

namespace flotilla::metadata {

class MappedFile {
 public:
  explicit MappedFile(const std::string& path) {
    fd_ = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd_ < 0) throw std::runtime_error(path + " (" + std::strerror(errno) + ")");
    struct stat st{};
    if (::fstat(fd_, &st) != 0) {
      int e = errno;
      ::close(fd_);
      throw std::runtime_error(path + " (" + std::strerror(e) + ")");
    }
    size_ = static_cast<size_t>(st.st_size);
    if (size_ > 0) {
      void* p = ::mmap(nullptr, size_, PROT_READ, MAP_PRIVATE, fd_, 0);
      if (p == MAP_FAILED) {
        int e = errno;
        ::close(fd_);
        throw std::runtime_error(path + " (" + std::strerror(e) + ")");
      }
      data_ = static_cast<const uint8_t*>(p);
    }
  }
  ~MappedFile() {
    if (data_) ::munmap(const_cast<uint8_t*>(data_), size_);
    if (fd_ >= 0) ::close(fd_);
  }
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;
  std::span<const uint8_t> bytes() const { return {data_, size_}; }

 private:
  int fd_ = -1;
  const uint8_t* data_ = nullptr;
  size_t size_ = 0;
};

}  // namespace flotilla::metadata
