#include "tools/stop_signal.h"

#include <atomic>
#include <csignal>

namespace flotilla::tools {

namespace {
// Lock-free, so setting it is async-signal-safe.
std::atomic<bool> g_stop{false};
void on_signal(int) { g_stop.store(true); }
}  // namespace

void stop_on_signals() {
  std::signal(SIGINT, on_signal);
  std::signal(SIGTERM, on_signal);
}

bool stop_requested() { return g_stop.load(); }

}  // namespace flotilla::tools
