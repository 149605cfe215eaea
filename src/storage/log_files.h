// The files of a log directory other than segments: Kafka's offset-named
// file names, partition.metadata, and the two ways a small file is rewritten
// without readers ever seeing it torn (atomically by rename, or in place for
// formats whose reader stops at a count given up front). Every storage file
// writer (checkpoints, snapshots, indexes, meta.properties) uses these.
//
// Threading: stateless; safe on any thread, as long as one file has one
// writer at a time.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "common/uuid.h"

namespace flotilla::storage {

// A storage operation failed: a file could not be read or written (the
// message names it and the system error), or a log refused a write it cannot take.
class StorageError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// A system call on a log's files failed (Kafka's KafkaStorageException from
// an IOException): the log dir under it is taken offline (KIP-112/858).
// `err`: the errno (EIO, ENOSPC, EROFS, ...).
class LogDirIoError : public StorageError {
 public:
  LogDirIoError(const std::string& what, int err) : StorageError(what), err(err) {}
  int err;
  std::string dir;  // the log dir, when the thrower knows it (LogManager)
};

// One partition's files cannot be opened for a reason of their own, not of
// the file system under the dir (EMFILE/ENFILE: out of descriptors; EACCES,
// ENOENT, ...): that partition alone goes offline, not its log dir.
class PartitionIoError : public StorageError {
 public:
  PartitionIoError(const std::string& what, int err) : StorageError(what), err(err) {}
  int err;
};

// Whether an errno means the file system under a log dir failed (EIO, EROFS,
// ENOSPC, EDQUOT, ENODEV, ENXIO, EUCLEAN): Kafka's log dir failure.
bool is_log_dir_errno(int err);

// `<20-digit zero-padded offset><suffix>`, Kafka's file names.
std::string offset_file_name(int64_t offset, const std::string& suffix);

// partition.metadata: "version: 0\ntopic_id: <base64>\n".
void write_partition_metadata(const std::filesystem::path& dir, const Uuid& topic_id);
std::optional<Uuid> read_partition_metadata(const std::filesystem::path& dir);

// Writes a file atomically: a temporary file, fsync, rename, fsync of the
// directory. RenameOnly skips both fsyncs: readers still never see a torn
// file, and a process crash (kill -9) loses nothing; only a machine crash can
// leave the older version.
enum class Durability { Synced, RenameOnly };
void write_file_atomically(const std::filesystem::path& path, const std::string& content, Durability durability = Durability::Synced);

// Rewrites a small file in place (write from 0, then cut to length; no fsync)
// for files rewritten very often, one per partition: a temporary file and a
// rename cost a new inode and free the old one each time, and ext4's inode
// allocator then skips over every recently freed inode (on a `discard` mount
// each free also waits for a discard), so rewriting thousands of them at once
// grows quadratically (a restart with 1,000 partitions: ~0.7 s). Only for
// formats whose reader stops at a count given up front: between the write and
// the cut, the new content is followed by a stale tail of the old, which such a
// reader never looks at; a machine crash may leave a torn file, which the
// reader must reject (and fall back safely).
// `known_size`: the file's current size when the caller knows it (>= 0): the
// cut is skipped when the new content is not shorter (a truncate is a metadata
// change ext4 journals even when the size stays).
void rewrite_file_in_place(const std::filesystem::path& path, const std::string& content, int64_t known_size = -1);

// The names in the directory open as `dir_fd` ("." and ".." left out; read
// from its start, the descriptor left open), with getdents64: a start-up lists
// every partition's directory, and opendir's extra fstat and fcntl calls were
// a sixth of the system calls of opening a log. `dir` names it in errors
// (std::filesystem::filesystem_error, as directory_iterator throws).
// `dirs_only`: the subdirectories only (and symbolic links to directories).
std::vector<std::string> list_dir_names(int dir_fd, const std::filesystem::path& dir, bool dirs_only = false);
// partition.metadata of the directory open as `dir_fd`.
std::optional<Uuid> read_partition_metadata(int dir_fd);
// A small file's bytes, relative to `dir_fd`; nullopt if it cannot be read.
// At most kMaxSmallFileBytes are read: a file grown past any valid content
// (corrupt, or not ours) costs bounded memory and fails its parser.
constexpr size_t kMaxSmallFileBytes = 1 << 20;
std::optional<std::string> read_small_file(int dir_fd, const char* name);

}  // namespace flotilla::storage
