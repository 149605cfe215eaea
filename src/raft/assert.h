// Always-on invariant checks for the raft module: a violated invariant prints
// the values involved and aborts (a bug never limps on).
#pragma once

#include <spdlog/spdlog.h>

#include <cstdlib>

#define RAFT_ASSERT(cond, ...)                                                                        \
  do {                                                                                                \
    if (!(cond)) {                                                                                    \
      spdlog::critical("raft invariant violated: {} at {}:{}: {}", #cond, __FILE__, __LINE__,         \
                       fmt::format(__VA_ARGS__));                                                     \
      spdlog::default_logger()->flush();                                                              \
      std::abort();                                                                                   \
    }                                                                                                 \
  } while (0)
