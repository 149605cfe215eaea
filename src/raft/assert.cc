#include "raft/assert.h"

namespace flotilla::raft {

namespace {
InvariantHandler g_handler = nullptr;
}

void set_invariant_handler(InvariantHandler handler) { g_handler = handler; }

void invariant_failed(const std::string& what) {
  if (g_handler) g_handler(what);  // may throw (the simulator)
  spdlog::critical("{}", what);
  spdlog::default_logger()->flush();
  std::abort();
}

}  // namespace flotilla::raft
