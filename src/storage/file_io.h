// Whole positioned reads and writes of log files: a short transfer or EINTR
// is retried, so a caller sees all n bytes moved or a failure. Every data
// write of a log (the AppendWriter thread's and the owning thread's) and every
// read of segment bytes outside a fetch's sendfile goes through these.
//
// Threading: plain system calls on a descriptor the caller keeps open; safe
// on any thread.
#pragma once

#include <unistd.h>

#include <cerrno>
#include <cstddef>
#include <cstdint>

namespace flotilla::storage {

// Writes all n bytes at p to fd at offset off; 0, or the errno of the failure.
// Defined in append_writer.cc, beside its main user, the writer thread's loop.
int pwrite_fully(int fd, const uint8_t* p, size_t n, int64_t off);

// Reads n bytes at offset off of fd into p; false on an error or at end of file.
inline bool pread_fully(int fd, uint8_t* p, size_t n, int64_t off) {
  while (n > 0) {
    ssize_t r = ::pread(fd, p, n, off);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) return false;
    p += r;
    n -= static_cast<size_t>(r);
    off += r;
  }
  return true;
}

}  // namespace flotilla::storage
