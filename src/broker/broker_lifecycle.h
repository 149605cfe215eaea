// BrokerLifecycle: the broker side of KIP-631 registration, through the
// ControllerChannel (the local QuorumController when it is active, else the
// active controller over the controller listener): registers once a
// controller is known, then heartbeats (every `retry_ms` while fenced or
// shutting down, every broker.heartbeat.interval.ms once unfenced) with the
// broker's current metadata offset, re-registering if the controller forgot
// it (STALE_BROKER_EPOCH, BROKER_ID_NOT_REGISTERED).
//
// Controlled shutdown (KIP-631): heartbeats carry WantShutDown, every
// kControlledShutdownHeartbeatMs, until the controller answers ShouldShutDown
// — it first moves this broker's leaderships to other in-sync replicas and
// waits until this broker's metadata offset has reached those records, so the
// broker has stepped down everywhere before it stops — or until the caller's
// bound. The broker keeps serving clients and replica fetchers meanwhile.
//
// Threading: the node's io_context thread.
#pragma once

#include <asio.hpp>
#include <chrono>
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
  // KIP-858: the ids of the log dirs that went offline, sent with every
  // heartbeat (OfflineLogDirs, v1); the registration holds the online ones.
  void set_offline_dirs(std::function<std::vector<Uuid>()> fn) { offline_dirs_ = std::move(fn); }
  // Kafka's readyToUnfence: until set, heartbeats ask to stay fenced
  // (want_fence) — the broker registers and catches up while its logs open.
  void set_ready_to_unfence(bool ready);
  // A log dir went offline: the next registration lists only `online`, and a
  // heartbeat goes out now (Kafka's propagateDirectoryFailure).
  void log_dirs_changed(std::vector<Uuid> online);
  static constexpr int32_t kControlledShutdownHeartbeatMs = 50;
  // Controlled shutdown: asks to be fenced and shut down; `done` runs once (on
  // the io_context, never inside this call) when the controller agreed, when
  // the controller no longer knows this registration, or after `timeout_ms`.
  // Without a registration it runs at once.
  void begin_controlled_shutdown(int64_t timeout_ms, std::function<void()> done);
  bool in_controlled_shutdown() const { return shutting_down_; }
  void stop();

  bool registered() const { return broker_epoch_ >= 0; }
  bool fenced() const { return fenced_; }
  int64_t broker_epoch() const { return broker_epoch_; }

 private:
  bool ready_to_unfence_ = true;
  void schedule(int64_t delay_ms);
  void tick();
  void finish_controlled_shutdown(const char* why);

  asio::io_context& io_;
  ControllerChannel& controller_;
  int32_t retry_ms_;
  msg::BrokerRegistrationRequest registration_;
  int32_t heartbeat_interval_ms_;
  std::function<int64_t()> metadata_offset_;
  std::function<std::vector<Uuid>()> offline_dirs_;
  asio::steady_timer timer_;
  asio::steady_timer shutdown_timer_;  // the controlled shutdown's bound
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
  bool running_ = false;
  bool in_flight_ = false;
  bool fenced_ = true;
  bool shutting_down_ = false;
  int64_t broker_epoch_ = -1;
  std::function<void()> shutdown_done_;  // set while a controlled shutdown waits
  std::chrono::steady_clock::time_point shutdown_started_;
};

}  // namespace flotilla::broker
