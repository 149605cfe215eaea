// AllocateProducerIds (KIP-730), as Kafka's ProducerIdControlManager: the
// active controller hands out blocks of 1,000 producer ids; each block is a
// ProducerIdsRecord naming the next free id, so a new controller continues
// after the last committed block.
#include <spdlog/spdlog.h>

#include "controller/quorum_controller.h"
#include "metadata/image.h"
#include "protocol/metadata_record.h"

namespace flotilla::controller {

namespace {
constexpr int32_t kProducerIdBlockSize = 1000;
}

void QuorumController::allocate_producer_ids(msg::AllocateProducerIdsRequest request, int16_t,
                                             std::function<void(msg::AllocateProducerIdsResponse)> done) {
  auto reply_now = [this, &done](ErrorCode ec) {
    msg::AllocateProducerIdsResponse r;
    r.error_code = code(ec);
    r.producer_id_start = -1;
    r.producer_id_len = -1;
    answer_now(done, std::move(r));
  };
  if (!active_) return reply_now(ErrorCode::NOT_CONTROLLER);
  const auto* b = latest_->broker(request.broker_id);
  if (!b) return reply_now(ErrorCode::BROKER_ID_NOT_REGISTERED);
  if (b->epoch != request.broker_epoch) return reply_now(ErrorCode::STALE_BROKER_EPOCH);
  // latest_ holds the blocks handed out but not committed yet: never twice.
  const int64_t first = std::max<int64_t>(latest_->next_producer_id(), 0);
  if (first > INT64_MAX - kProducerIdBlockSize) return reply_now(ErrorCode::UNKNOWN_SERVER_ERROR);
  msg::ProducerIdsRecord rec;
  rec.broker_id = request.broker_id;
  rec.broker_epoch = request.broker_epoch;
  rec.next_producer_id = first + kProducerIdBlockSize;
  std::vector<std::vector<uint8_t>> records;
  records.push_back(protocol::frame_metadata_record(rec, 0));
  spdlog::info("[QuorumController id={}] Allocating producer ids [{}, {}) to broker {}", config_.node_id, first, rec.next_producer_id,
               request.broker_id);
  auto off = write(std::move(records));
  after_commit_of(off, [done = std::move(done), first](ErrorCode ec) mutable {
    msg::AllocateProducerIdsResponse r;
    r.error_code = code(ec);
    r.producer_id_start = ec == ErrorCode::NONE ? first : -1;
    r.producer_id_len = ec == ErrorCode::NONE ? kProducerIdBlockSize : -1;
    done(std::move(r));
  });
}

}  // namespace flotilla::controller
