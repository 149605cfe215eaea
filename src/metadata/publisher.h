// Publisher: receives each new metadata image together with the delta that
// produced it (Kafka's MetadataPublisher). Called on the io_context thread
// that runs the MetadataLoader, in offset order, at batch boundaries.
#pragma once

#include <memory>

#include "metadata/delta.h"
#include "metadata/image.h"
#include "raft/types.h"

namespace flotilla::metadata {

class Publisher {
 public:
  virtual void publish(const MetadataDelta& delta, std::shared_ptr<const MetadataImage> image) = 0;
  // The Raft leader changed (optional).
  virtual void handle_leader_change(raft::LeaderAndEpoch) {}
  virtual ~Publisher() = default;
};

}  // namespace flotilla::metadata
