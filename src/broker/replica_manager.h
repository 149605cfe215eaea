// The broker's partitions: which logs this node hosts (from the metadata
// image), appends of produced batches, reads for fetches, and the purgatory
// where fetches wait for data (min.bytes / max.wait.ms).
//
// Threading: every method runs on the broker's io_context thread.
// Invariant: a Partition exists exactly while the current image lists this node
// among the replicas of that topic-partition; its log is open while it exists.
#pragma once

#include <asio.hpp>
#include <functional>
#include <list>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <unordered_map>

#include "broker/broker_config.h"
#include "common/error.h"
#include "common/uuid.h"
#include "metadata/image.h"
#include "metadata/publisher.h"
#include "protocol/record_batch.h"
#include "storage/log.h"
#include "storage/log_manager.h"

namespace flotilla::broker {

struct Partition {
  std::string topic;
  int32_t index = 0;
  Uuid topic_id;
  storage::Log* log = nullptr;
  int32_t leader_id = -1;
  int32_t leader_epoch = -1;
  std::vector<int32_t> replicas;
  std::vector<int32_t> isr;
  int32_t max_message_bytes = 1048588;
  bool log_append_time = false;

  bool is_leader(int32_t self) const { return leader_id == self; }
  // With this node as the only in-sync replica the high watermark is the log end;
  // follower replication (a later issue) moves it by the ISR's fetch positions.
  int64_t high_watermark() const { return log->log_end_offset(); }
};

struct AppendResult {
  ErrorCode error = ErrorCode::NONE;
  std::string message;
  int64_t base_offset = -1;
  int64_t log_append_time = -1;
  int64_t log_start_offset = -1;
};

class ReplicaManager : public metadata::Publisher {
 public:
  ReplicaManager(asio::io_context& io, const BrokerConfig& config, storage::LogManager& logs);

  void publish(const metadata::MetadataDelta& delta, std::shared_ptr<const metadata::MetadataImage> image) override;
  std::shared_ptr<const metadata::MetadataImage> image() const { return image_; }

  Partition* find(const std::string& topic, int32_t index);
  Partition* find(const Uuid& topic_id, int32_t index);

  // Validates and appends a produced payload (mutable: offsets are assigned in place).
  AppendResult append(Partition& p, std::span<uint8_t> payload);

  // Fetch purgatory: `try_complete` is called now and after every append to any
  // partition until it returns true or the deadline passes; then `expire` runs.
  void delay_fetch(int64_t deadline_ms, std::function<bool()> try_complete, std::function<void()> expire);

  // Called periodically: retention, recovery-point checkpoints.
  void housekeeping();
  void shutdown();  // flush all logs, write checkpoints

  // Invoked (once) for every callback waiting on the image to reach an offset.
  void when_image_reaches(int64_t offset, std::function<void()> fn);

 private:
  struct DelayedFetch {
    int64_t deadline_ms;
    std::function<bool()> try_complete;
    std::function<void()> expire;
  };
  static std::string key(const std::string& topic, int32_t index) { return topic + "-" + std::to_string(index); }
  void wake_fetches();
  void arm_fetch_timer();

  asio::io_context& io_;
  BrokerConfig config_;
  storage::LogManager& logs_;
  std::shared_ptr<const metadata::MetadataImage> image_;
  std::unordered_map<std::string, std::unique_ptr<Partition>> partitions_;
  std::unordered_map<Uuid, std::string> topic_names_;
  std::list<DelayedFetch> delayed_;
  asio::steady_timer fetch_timer_;
  std::multimap<int64_t, std::function<void()>> image_waiters_;
};

}  // namespace flotilla::broker
