// QuorumController: AlterPartition (placeholder until implemented).
#include "controller/quorum_controller.h"

namespace flotilla::controller {

void QuorumController::alter_partition(msg::AlterPartitionRequest request, int16_t version,
                                       std::function<void(msg::AlterPartitionResponse)> done) {
  msg::AlterPartitionResponse r;
  r.error_code = code(active_ ? ErrorCode::UNSUPPORTED_VERSION : ErrorCode::NOT_CONTROLLER);
  post([done = std::move(done), r]() mutable { done(std::move(r)); });
}

}  // namespace flotilla::controller
