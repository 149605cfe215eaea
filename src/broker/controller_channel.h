// How the broker reaches the active controller. In a combined node this calls
// the local QuorumController; a broker-only node forwards over the controller
// listener (later). Callbacks run on the broker's io_context thread.
#pragma once

#include <functional>

#include "protocol/messages.h"

namespace flotilla::broker {

class ControllerChannel {
 public:
  virtual ~ControllerChannel() = default;
  virtual void create_topics(msg::CreateTopicsRequest req, int16_t version, std::function<void(msg::CreateTopicsResponse)> done) = 0;
  virtual void delete_topics(msg::DeleteTopicsRequest req, int16_t version, std::function<void(msg::DeleteTopicsResponse)> done) = 0;
  virtual void create_partitions(msg::CreatePartitionsRequest req, int16_t version,
                                 std::function<void(msg::CreatePartitionsResponse)> done) = 0;
  // The id of the active controller, -1 if none is known.
  virtual int32_t active_controller_id() const = 0;
};

}  // namespace flotilla::broker
