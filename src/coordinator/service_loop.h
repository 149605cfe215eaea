// What each coordinator service (group_service.h, txn_service.h) runs on a
// broker besides its state machine: the leadership notifications of its
// internal topic, handed on while the service runs, and a periodic tick for
// the state machine's timeouts.
//
// Why liveness is checked: the host keeps a leadership listener for its own
// life (PartitionHost::add_leadership_listener), which may be longer than the
// service's; after shutdown() (or destruction) notifications and ticks are
// ignored.
//
// Threading: the broker's io_context thread; nothing runs inside the constructor.
#pragma once

#include <asio.hpp>
#include <chrono>
#include <functional>
#include <memory>
#include <string>

#include "coordinator/partition_host.h"

namespace flotilla::coordinator {

class ServiceLoop {
 public:
  using OnLeadership = std::function<void(int32_t partition, int32_t leader_epoch, bool leader)>;
  // Registers the listener for `topic`'s partitions and arms the first tick.
  ServiceLoop(asio::io_context& io, PartitionHost& host, std::string topic, std::chrono::milliseconds tick_interval,
              OnLeadership on_leadership, std::function<void()> tick);
  ~ServiceLoop();
  void shutdown();

 private:
  void arm();

  asio::steady_timer timer_;
  std::chrono::milliseconds interval_;
  std::function<void()> tick_;
  bool stopped_ = false;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace flotilla::coordinator
