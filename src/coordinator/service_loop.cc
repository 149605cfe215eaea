#include "coordinator/service_loop.h"

namespace flotilla::coordinator {

ServiceLoop::ServiceLoop(asio::io_context& io, PartitionHost& host, std::string topic, std::chrono::milliseconds tick_interval,
                         OnLeadership on_leadership, std::function<void()> tick)
    : timer_(io), interval_(tick_interval), tick_(std::move(tick)) {
  host.add_leadership_listener([this, alive = alive_, topic = std::move(topic), on_leadership = std::move(on_leadership)](
                                   const std::string& t, int32_t index, int32_t epoch, bool leader) {
    if (*alive && !stopped_ && t == topic) on_leadership(index, epoch, leader);
  });
  arm();
}

ServiceLoop::~ServiceLoop() {
  *alive_ = false;
  shutdown();
}

void ServiceLoop::shutdown() {
  if (stopped_) return;
  stopped_ = true;
  timer_.cancel();
}

void ServiceLoop::arm() {
  timer_.expires_after(interval_);
  auto alive = alive_;
  timer_.async_wait([this, alive](const asio::error_code& ec) {
    if (ec || !*alive || stopped_) return;
    tick_();
    arm();
  });
}

}  // namespace flotilla::coordinator
