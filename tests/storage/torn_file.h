// Tearing a file as a crash in the middle of its last write leaves it: cut at
// a byte, or the size kept with zeros from that byte on (a partly written,
// preallocated page). Shared by the storage and raft torn-write tests.
#pragma once

#include <gtest/gtest.h>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

namespace flotilla::testing {

enum class Tear { kCut, kZeroTail };
inline const char* name_of(Tear t) { return t == Tear::kCut ? "cut" : "zeroed tail"; }

inline std::vector<uint8_t> file_bytes(const std::filesystem::path& p) {
  std::ifstream f(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>()};
}

inline void tear(const std::filesystem::path& p, int64_t at, Tear how) {
  const auto size = static_cast<int64_t>(std::filesystem::file_size(p));
  ASSERT_LT(at, size);
  if (how == Tear::kCut) {
    std::filesystem::resize_file(p, static_cast<uintmax_t>(at));
    return;
  }
  std::fstream f(p, std::ios::in | std::ios::out | std::ios::binary);
  f.seekp(at);
  const std::string zeros(static_cast<size_t>(size - at), '\0');
  f.write(zeros.data(), static_cast<std::streamsize>(zeros.size()));
  ASSERT_TRUE(f.good());
}

}  // namespace flotilla::testing
