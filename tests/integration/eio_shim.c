/* A write-fault shim for the disk-fault tests (LD_PRELOAD): while the file
 * named by FLOTILLA_EIO_TRIGGER exists, every write or sync of a file under
 * the directory FLOTILLA_EIO_DIR fails with EIO, as a failing disk's would.
 * Other files, and everything before the trigger appears, are untouched.
 * Built by the test (cc -shared -fPIC); test-only: a readlink per call. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <unistd.h>

static int faulty(int fd) {
  const char *dir = getenv("FLOTILLA_EIO_DIR"), *trigger = getenv("FLOTILLA_EIO_TRIGGER");
  if (!dir || !trigger || access(trigger, F_OK) != 0) return 0;
  char link[64], path[PATH_MAX];
  snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
  ssize_t n = readlink(link, path, sizeof path - 1);
  if (n <= 0) return 0;
  path[n] = 0;
  size_t len = strlen(dir);
  return strncmp(path, dir, len) == 0 && (path[len] == '/' || path[len] == 0);
}

#define REAL(name, ret, ...)                                   \
  static ret (*real_##name)(__VA_ARGS__);                       \
  if (!real_##name) real_##name = (ret(*)(__VA_ARGS__))dlsym(RTLD_NEXT, #name)

ssize_t write(int fd, const void *buf, size_t n) {
  REAL(write, ssize_t, int, const void *, size_t);
  if (faulty(fd)) return errno = EIO, -1;
  return real_write(fd, buf, n);
}

ssize_t pwrite(int fd, const void *buf, size_t n, off_t off) {
  REAL(pwrite, ssize_t, int, const void *, size_t, off_t);
  if (faulty(fd)) return errno = EIO, -1;
  return real_pwrite(fd, buf, n, off);
}

ssize_t pwrite64(int fd, const void *buf, size_t n, off_t off) {
  REAL(pwrite64, ssize_t, int, const void *, size_t, off_t);
  if (faulty(fd)) return errno = EIO, -1;
  return real_pwrite64(fd, buf, n, off);
}

ssize_t writev(int fd, const struct iovec *iov, int cnt) {
  REAL(writev, ssize_t, int, const struct iovec *, int);
  if (faulty(fd)) return errno = EIO, -1;
  return real_writev(fd, iov, cnt);
}

ssize_t pwritev(int fd, const struct iovec *iov, int cnt, off_t off) {
  REAL(pwritev, ssize_t, int, const struct iovec *, int, off_t);
  if (faulty(fd)) return errno = EIO, -1;
  return real_pwritev(fd, iov, cnt, off);
}

int fsync(int fd) {
  REAL(fsync, int, int);
  if (faulty(fd)) return errno = EIO, -1;
  return real_fsync(fd);
}

int fdatasync(int fd) {
  REAL(fdatasync, int, int);
  if (faulty(fd)) return errno = EIO, -1;
  return real_fdatasync(fd);
}
