// BrokerLifecycle: the broker side of KIP-631 registration, through the
// ControllerChannel (the local QuorumController when it is active, else the
// active controller over the controller listener): registers once a
// controller is known, then heartbeats (every `retry_ms` while fenced or
// shutting down, every broker.heartbeat.interval.ms once unfenced) with the
// broker's current metadata offset, re-registering if the controller forgot
// it (STALE_BROKER_EPOCH, BROKER_ID_NOT_REGISTERED).
//
// Threading: the node's io_context thread.
#pragma once

#include <asio.hpp>
#include <functional>
#include <memory>

#include "broker/controller_channel.h"

namespace flotilla::broker {

class BrokerLifecycle {
 public:
  BrokerLifecycle(asio::io_context& io, ControllerChannel& controller, msg::BrokerRegistrationRequest registration,
                  int32_t heartbeat_interval_ms, int32_t retry_ms, std::function<int64_t()> current_metadata_offset);
  ~BrokerLifecycle();

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
  ControllerChannel& controller_;
  int32_t retry_ms_;
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

}  // namespace flotilla::broker
