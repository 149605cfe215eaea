// Test helpers for the Raft driver over real files: a fresh temp directory,
// and running an io_context until a condition holds (bounded).
#pragma once

#include <unistd.h>

#include <asio.hpp>
#include <chrono>
#include <filesystem>
#include <string>

namespace flotilla::raft::testing {

inline std::filesystem::path temp_dir(const std::string& name) {
  auto p = std::filesystem::temp_directory_path() / ("flotilla-driver-" + name + "-" + std::to_string(::getpid()));
  std::filesystem::remove_all(p);
  std::filesystem::create_directories(p);
  return p;
}

// Runs `io` in 5 ms slices until pred() holds; false after timeout_ms.
template <class Pred>
bool run_until(asio::io_context& io, Pred pred, int timeout_ms = 5000) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  while (!pred()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    io.restart();
    io.run_for(std::chrono::milliseconds(5));
  }
  return true;
}

}  // namespace flotilla::raft::testing
