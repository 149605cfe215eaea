// A fresh directory under the system temp dir for one test, removed after it.
#pragma once

#include <unistd.h>

#include <filesystem>
#include <string>

namespace flotilla::storage::testing {

struct TempDir {
  std::filesystem::path path;
  explicit TempDir(const std::string& prefix = "flotilla-storage") {
    static int n = 0;
    path = std::filesystem::temp_directory_path() / (prefix + "-" + std::to_string(::getpid()) + "-" + std::to_string(n++));
    std::filesystem::remove_all(path);
    std::filesystem::create_directories(path);
  }
  ~TempDir() { std::filesystem::remove_all(path); }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
};

}  // namespace flotilla::storage::testing
