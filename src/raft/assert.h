// Always-on invariant checks for the raft module: a violated invariant prints
// the values involved and aborts (a bug never limps on). The deterministic
// simulation installs a handler that throws instead, so that it can report
// the seed that broke the invariant.
#pragma once

#include <spdlog/spdlog.h>

#include <cstdlib>
#include <string>

namespace flotilla::raft {
// Called with the description of a violated invariant; if it returns, the process aborts.
using InvariantHandler = void (*)(const std::string& what);
void set_invariant_handler(InvariantHandler handler);
[[noreturn]] void invariant_failed(const std::string& what);
}  // namespace flotilla::raft

#define RAFT_ASSERT(cond, ...)                                                                                        \
  do {                                                                                                                \
    if (!(cond)) {                                                                                                    \
      ::flotilla::raft::invariant_failed(fmt::format("raft invariant violated: {} at {}:{}: {}", #cond, __FILE__, __LINE__, \
                                                     fmt::format(__VA_ARGS__)));                                      \
    }                                                                                                                 \
  } while (0)
