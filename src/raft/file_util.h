// Durable small-file writes for the raft module (quorum-state, snapshots):
// write `<path>.tmp`, fsync it, rename over `path`, fsync the directory.
// Blocking; call from an I/O thread or at start-up, never from an event loop.
#pragma once

#include <cstdint>
#include <filesystem>
#include <span>
#include <string>
#include <vector>

namespace flotilla::raft {

// Throws std::system_error naming the path on failure; the .tmp file is removed.
// `tmp_suffix`: the name of the file while it is written (snapshots use ".part").
void write_file_atomically(const std::filesystem::path& path, std::span<const uint8_t> data, const char* tmp_suffix = ".tmp");
// Whole file; throws std::system_error if it cannot be read.
std::vector<uint8_t> read_whole_file(const std::filesystem::path& path);
// fsync of a directory (after creating/renaming entries in it).
void fsync_directory(const std::filesystem::path& dir);

}  // namespace flotilla::raft
