// A controller's registration with the active controller (KIP-919, Kafka's
// ControllerRegistrationManager): once this node's image has
// metadata.version 3.7-IV0 or later and does not hold this incarnation's
// RegisterControllerRecord, it sends ControllerRegistration (API 70) with
// its controller listeners and supported feature ranges; an error or a lost
// connection is retried after `retry_ms`. The active controller refuses a
// feature level some registered controller does not support, and any level
// change before every voter has registered (controller/features.cc).
//
// Threading: publish() runs on the loader's thread, which is the node's
// io_context thread; the channel answers there too. Nothing blocks.
#pragma once

#include <asio.hpp>
#include <chrono>
#include <memory>
#include <spdlog/spdlog.h>

#include "broker/controller_channel.h"
#include "metadata/publisher.h"

namespace flotilla::server {

class ControllerRegistrationManager : public metadata::Publisher {
 public:
  ControllerRegistrationManager(asio::io_context& io, broker::ControllerChannel& channel, msg::ControllerRegistrationRequest request,
                                int64_t retry_ms)
      : timer_(io), channel_(channel), request_(std::move(request)), retry_ms_(retry_ms),
        alive_(std::make_shared<bool>(true)) {}
  ~ControllerRegistrationManager() override {
    *alive_ = false;
    timer_.cancel();
  }

  void publish(const metadata::MetadataDelta&, std::shared_ptr<const metadata::MetadataImage> image) override {
    image_ = std::move(image);
    maybe_send();
  }

  // The image shows this incarnation's registration.
  bool registered() const {
    if (!image_) return false;
    auto it = image_->controllers().find(request_.controller_id);
    return it != image_->controllers().end() && it->second.incarnation_id == request_.incarnation_id;
  }

 private:
  static constexpr int16_t kMetadataVersion_3_7_IV0 = 15;

  void maybe_send() {
    if (in_flight_ || waiting_ || !image_ || image_->metadata_version() < kMetadataVersion_3_7_IV0 || registered()) return;
    if (sent_ok_) return;  // committed: the image will show it
    in_flight_ = true;
    channel_.register_controller(request_, 0, [this, alive = alive_](msg::ControllerRegistrationResponse r) {
      if (!*alive) return;
      in_flight_ = false;
      if (r.error_code == 0) {
        sent_ok_ = true;
        spdlog::info("[ControllerRegistrationManager id={}] Our registration has been persisted to the metadata log.", request_.controller_id);
        return;
      }
      spdlog::info("[ControllerRegistrationManager id={}] RegistrationResponse: error code {}{}; retrying in {} ms", request_.controller_id,
                   r.error_code, r.error_message ? ": " + *r.error_message : std::string(), retry_ms_);
      waiting_ = true;
      timer_.expires_after(std::chrono::milliseconds(retry_ms_));
      timer_.async_wait([this, alive](const asio::error_code& ec) {
        if (ec || !*alive) return;
        waiting_ = false;
        maybe_send();
      });
    });
  }

  asio::steady_timer timer_;
  broker::ControllerChannel& channel_;
  msg::ControllerRegistrationRequest request_;
  int64_t retry_ms_;
  std::shared_ptr<bool> alive_;
  std::shared_ptr<const metadata::MetadataImage> image_;
  bool in_flight_ = false;
  bool waiting_ = false;
  bool sent_ok_ = false;
};

}  // namespace flotilla::server
