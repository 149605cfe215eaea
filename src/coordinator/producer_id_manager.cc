#include "coordinator/producer_id_manager.h"

#include <spdlog/spdlog.h>

namespace flotilla::coordinator {

ProducerIdManager::ProducerIdManager(PartitionHost& host) : host_(host) {}

ProducerIdManager::~ProducerIdManager() { *alive_ = false; }

void ProducerIdManager::generate(Done done) {
  if (next_ >= end_ && next_block_start_ >= 0) {
    next_ = next_block_start_;
    end_ = next_block_end_;
    next_block_start_ = next_block_end_ = -1;
  }
  if (next_ < end_) {
    int64_t id = next_++;
    maybe_request_block();
    done(ErrorCode::NONE, id);
    return;
  }
  waiting_.push_back(std::move(done));
  maybe_request_block();
}

void ProducerIdManager::maybe_request_block() {
  if (in_flight_ || next_block_start_ >= 0) return;
  // Prefetch once 90% of the current block is used (or there is none).
  bool low = next_ >= end_ || (block_size_ > 0 && (end_ - next_) * 10 < block_size_);
  if (!low) return;
  in_flight_ = true;
  msg::AllocateProducerIdsRequest req;
  req.broker_id = host_.node_id();
  req.broker_epoch = host_.broker_epoch();
  auto alive = alive_;
  host_.allocate_producer_ids(std::move(req), [this, alive](msg::AllocateProducerIdsResponse r) {
    if (!*alive) return;
    in_flight_ = false;
    auto ec = static_cast<ErrorCode>(r.error_code);
    if (ec != ErrorCode::NONE || r.producer_id_len <= 0 || r.producer_id_start < 0) {
      spdlog::warn("[ProducerIdManager broker={}] AllocateProducerIds failed: {}", host_.node_id(),
                   ec != ErrorCode::NONE ? error_name(ec) : std::string_view("empty block"));
      auto waiting = std::move(waiting_);
      waiting_.clear();
      for (auto& w : waiting) w(ErrorCode::COORDINATOR_LOAD_IN_PROGRESS, -1);
      return;
    }
    spdlog::info("[ProducerIdManager broker={}] Got producer ids [{}, {})", host_.node_id(), r.producer_id_start,
                 r.producer_id_start + r.producer_id_len);
    block_size_ = r.producer_id_len;
    if (next_ < end_) {
      next_block_start_ = r.producer_id_start;
      next_block_end_ = r.producer_id_start + r.producer_id_len;
    } else {
      next_ = r.producer_id_start;
      end_ = r.producer_id_start + r.producer_id_len;
    }
    // Serve the waiters (each may use up the block and queue again).
    auto waiting = std::move(waiting_);
    waiting_.clear();
    for (auto& w : waiting) generate(std::move(w));
  });
}

}  // namespace flotilla::coordinator
