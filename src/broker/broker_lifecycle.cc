#include "broker/broker_lifecycle.h"

#include <spdlog/spdlog.h>

#include <string_view>

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
      timer_(io),
      shutdown_timer_(io) {}

BrokerLifecycle::~BrokerLifecycle() {
  stop();
  *alive_ = false;
}

void BrokerLifecycle::start() {
  if (running_) return;
  running_ = true;
  schedule(0);
}

void BrokerLifecycle::set_ready_to_unfence(bool ready) {
  const bool now_ready = ready && !ready_to_unfence_;
  ready_to_unfence_ = ready;
  if (now_ready && !in_flight_ && running_) schedule(0);  // no need to wait for the next heartbeat
}

void BrokerLifecycle::stop() {
  running_ = false;
  timer_.cancel();
  shutdown_timer_.cancel();
}

void BrokerLifecycle::begin_controlled_shutdown(int64_t timeout_ms, std::function<void()> done) {
  if (shutting_down_) {
    // Already under way: the later caller is told when it ends too.
    if (done) {
      auto prev = std::move(shutdown_done_);
      shutdown_done_ = [prev = std::move(prev), done = std::move(done)] {
        if (prev) prev();
        done();
      };
    }
    return;
  }
  if (!running_ || broker_epoch_ < 0) {
    // Never registered (or stopped): nothing to hand over.
    if (done) asio::post(io_, std::move(done));
    return;
  }
  spdlog::info("[BrokerLifecycle id={}] Beginning controlled shutdown (at most {} ms)", registration_.broker_id, timeout_ms);
  shutting_down_ = true;
  shutdown_started_ = std::chrono::steady_clock::now();
  shutdown_done_ = std::move(done);
  if (!shutdown_done_) shutdown_done_ = [] {};
  auto alive = alive_;
  shutdown_timer_.expires_after(std::chrono::milliseconds(timeout_ms));
  shutdown_timer_.async_wait([this, alive](const asio::error_code& ec) {
    if (ec || !*alive) return;
    finish_controlled_shutdown("timed out waiting for the controller");
  });
  schedule(0);
}

void BrokerLifecycle::finish_controlled_shutdown(const char* why) {
  if (!shutdown_done_) return;
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - shutdown_started_).count();
  if (std::string_view(why).rfind("timed out", 0) == 0)
    spdlog::warn("[BrokerLifecycle id={}] Controlled shutdown {} after {} ms", registration_.broker_id, why, ms);
  else
    spdlog::info("[BrokerLifecycle id={}] Controlled shutdown completed in {} ms: {}", registration_.broker_id, ms, why);
  shutdown_timer_.cancel();
  auto fn = std::move(shutdown_done_);
  shutdown_done_ = nullptr;
  asio::post(io_, std::move(fn));
}

void BrokerLifecycle::log_dirs_changed(std::vector<Uuid> online) {
  registration_.log_dirs = std::move(online);
  if (!in_flight_) schedule(0);
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
  if (offline_dirs_) h.offline_log_dirs = offline_dirs_();
  h.want_fence = !ready_to_unfence_;
  h.want_shut_down = shutting_down_;
  controller_.broker_heartbeat(h, 1, [this, alive, asked = h.want_shut_down](msg::BrokerHeartbeatResponse r) {
    if (!*alive) return;
    in_flight_ = false;
    auto ec = static_cast<ErrorCode>(r.error_code);
    if (ec == ErrorCode::STALE_BROKER_EPOCH || ec == ErrorCode::BROKER_ID_NOT_REGISTERED) {
      broker_epoch_ = -1;  // register again
      if (shutting_down_) {
        // Our registration is gone, and with it every leadership under it.
        finish_controlled_shutdown("the controller no longer knows this registration");
        return;
      }
      schedule(0);
      return;
    }
    if (ec != ErrorCode::NONE) {
      schedule(shutting_down_ ? kControlledShutdownHeartbeatMs : retry_ms_);
      return;
    }
    if (fenced_ != r.is_fenced) {
      spdlog::info("[BrokerLifecycle id={}] The broker is now {}", registration_.broker_id, r.is_fenced ? "fenced" : "unfenced");
    }
    fenced_ = r.is_fenced;
    if (shutting_down_ && r.should_shut_down) {
      // Fenced, with nothing left to lead: no more heartbeats.
      finish_controlled_shutdown("the controller granted it");
      return;
    }
    // A shutdown begun while this heartbeat was out asks at once.
    schedule(shutting_down_ ? (asked ? kControlledShutdownHeartbeatMs : 0) : fenced_ ? retry_ms_ : heartbeat_interval_ms_);
  });
}

}  // namespace flotilla::broker
