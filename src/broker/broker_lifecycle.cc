#include "broker/broker_lifecycle.h"

#include <spdlog/spdlog.h>

#include "common/error.h"

namespace flotilla::broker {

BrokerLifecycle::BrokerLifecycle(asio::io_context& io, ControllerChannel& controller, msg::BrokerRegistrationRequest registration,
                                 int32_t heartbeat_interval_ms, int32_t retry_ms, std::function<int64_t()> current_metadata_offset)
    : io_(io),
      controller_(controller),
      retry_ms_(retry_ms),
      registration_(std::move(registration)),
      heartbeat_interval_ms_(heartbeat_interval_ms),
      metadata_offset_(std::move(current_metadata_offset)),
      timer_(io) {}

BrokerLifecycle::~BrokerLifecycle() {
  stop();
  *alive_ = false;
}

void BrokerLifecycle::start() {
  if (running_) return;
  running_ = true;
  schedule(0);
}

void BrokerLifecycle::stop() {
  running_ = false;
  timer_.cancel();
}

void BrokerLifecycle::begin_controlled_shutdown(int64_t timeout_ms, std::function<void()> done) {
  if (!running_ || broker_epoch_ < 0) {
    if (done) asio::post(io_, std::move(done));
    return;
  }
  shutting_down_ = true;
  shutdown_done_ = std::move(done);
  auto alive = alive_;
  auto t = std::make_shared<asio::steady_timer>(io_, std::chrono::milliseconds(timeout_ms));
  t->async_wait([this, alive, t](const asio::error_code&) {
    if (!*alive || !shutdown_done_) return;
    spdlog::warn("[BrokerLifecycle id={}] Controlled shutdown timed out", registration_.broker_id);
    auto fn = std::move(shutdown_done_);
    shutdown_done_ = nullptr;
    fn();
  });
  schedule(0);
}

void BrokerLifecycle::schedule(int64_t delay_ms) {
  if (!running_) return;
  timer_.expires_after(std::chrono::milliseconds(delay_ms));
  auto alive = alive_;
  timer_.async_wait([this, alive](const asio::error_code& ec) {
    if (ec || !*alive || !running_) return;
    tick();
  });
}

void BrokerLifecycle::tick() {
  if (in_flight_) return;
  auto alive = alive_;
  if (controller_.active_controller_id() < 0) {
    schedule(retry_ms_);
    return;
  }
  in_flight_ = true;
  if (broker_epoch_ < 0) {
    controller_.register_broker(registration_, 4, [this, alive](msg::BrokerRegistrationResponse r) {
      if (!*alive) return;
      in_flight_ = false;
      if (r.error_code == 0) {
        broker_epoch_ = r.broker_epoch;
        spdlog::info("[BrokerLifecycle id={}] Registered with broker epoch {}", registration_.broker_id, broker_epoch_);
        schedule(0);
      } else {
        spdlog::warn("[BrokerLifecycle id={}] Registration failed: {}", registration_.broker_id, error_name(r.error_code));
        schedule(retry_ms_);
      }
    });
    return;
  }
  msg::BrokerHeartbeatRequest h;
  h.broker_id = registration_.broker_id;
  h.broker_epoch = broker_epoch_;
  h.current_metadata_offset = metadata_offset_ ? metadata_offset_() : 0;
  h.want_fence = false;
  h.want_shut_down = shutting_down_;
  controller_.broker_heartbeat(h, 1, [this, alive](msg::BrokerHeartbeatResponse r) {
    if (!*alive) return;
    in_flight_ = false;
    auto ec = static_cast<ErrorCode>(r.error_code);
    if (ec == ErrorCode::STALE_BROKER_EPOCH || ec == ErrorCode::BROKER_ID_NOT_REGISTERED) {
      broker_epoch_ = -1;  // register again
      schedule(0);
      return;
    }
    if (ec != ErrorCode::NONE) {
      schedule(retry_ms_);
      return;
    }
    if (fenced_ != r.is_fenced) {
      spdlog::info("[BrokerLifecycle id={}] The broker is now {}", registration_.broker_id, r.is_fenced ? "fenced" : "unfenced");
    }
    fenced_ = r.is_fenced;
    if (shutting_down_ && r.should_shut_down && shutdown_done_) {
      auto fn = std::move(shutdown_done_);
      shutdown_done_ = nullptr;
      fn();
    }
    schedule(fenced_ || shutting_down_ ? retry_ms_ : heartbeat_interval_ms_);
  });
}

}  // namespace flotilla::broker
