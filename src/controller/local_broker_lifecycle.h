// LocalBrokerLifecycle: a combined (broker,controller) node's broker side of
// KIP-631 registration, talking to the local QuorumController directly:
// registers once the controller is active, then heartbeats (every 100 ms
// while fenced, every broker.heartbeat.interval.ms once unfenced) with the
// broker's current metadata offset, re-registering if the controller forgot
// it. A broker-only node will do the same over the controller listener.
//
// Threading: the io_context thread of the controller.
#pragma once

#include <asio.hpp>
#include <functional>
#include <memory>

#include "controller/quorum_controller.h"

namespace flotilla::controller {

class LocalBrokerLifecycle {
 public:
  LocalBrokerLifecycle(asio::io_context& io, QuorumController& controller, msg::BrokerRegistrationRequest registration,
                       int32_t heartbeat_interval_ms, std::function<int64_t()> current_metadata_offset);
  ~LocalBrokerLifecycle();

  void start();
  // Controlled shutdown: asks to be fenced and shut down; `done` runs once the
  // controller agreed (or after `timeout_ms`).
  void begin_controlled_shutdown(int64_t timeout_ms, std::function<void()> done);
  void stop();

  bool registered() const { return broker_epoch_ >= 0; }
  bool fenced() const { return fenced_; }
  int64_t broker_epoch() const { return broker_epoch_; }

 private:
  void schedule(int64_t delay_ms);
  void tick();

  asio::io_context& io_;
  QuorumController& controller_;
  msg::BrokerRegistrationRequest registration_;
  int32_t heartbeat_interval_ms_;
  std::function<int64_t()> metadata_offset_;
  asio::steady_timer timer_;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
  bool running_ = false;
  bool in_flight_ = false;
  bool fenced_ = true;
  bool shutting_down_ = false;
  int64_t broker_epoch_ = -1;
  std::function<void()> shutdown_done_;
};

}  // namespace flotilla::controller
