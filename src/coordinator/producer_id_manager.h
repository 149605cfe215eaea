// The broker's producer ids for InitProducerId (Kafka's RPCProducerIdManager):
// blocks of ids from the active controller (AllocateProducerIds, KIP-730),
// handed out one by one; the next block is asked for when 90% of the current
// one is used, so producers rarely wait. Requests that come while no id is
// left wait for the block (a failed allocation answers them
// COORDINATOR_LOAD_IN_PROGRESS, which clients retry).
//
// Threading: the broker's io_context thread (the host's controller answers run there).
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <memory>

#include "common/error.h"
#include "coordinator/partition_host.h"
#include "coordinator/txn_coordinator.h"

namespace flotilla::coordinator {

class ProducerIdManager : public ProducerIdSource {
 public:
  using Done = std::function<void(ErrorCode, int64_t producer_id)>;
  // Asks `host` for blocks, as its node and with its broker epoch.
  explicit ProducerIdManager(PartitionHost& host);
  ~ProducerIdManager() override;

  // A new producer id (done may run inside the call).
  void generate(Done done) override;

 private:
  void maybe_request_block();

  PartitionHost& host_;
  int64_t next_ = 0, end_ = 0;              // the current block [next_, end_)
  int64_t next_block_start_ = -1, next_block_end_ = -1;  // prefetched
  int64_t block_size_ = 0;
  bool in_flight_ = false;
  std::deque<Done> waiting_;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace flotilla::coordinator
