// Replication throttles (KIP-73), as Kafka's ReplicationQuotaManager: one
// quota for the leader side (bytes this broker sends to followers) and one
// for the follower side (bytes it fetches), each a byte rate
// (leader.replication.throttled.rate / follower.replication.throttled.rate,
// the broker's own dynamic config, else the cluster default, else unlimited)
// over the replicas the topics list for this broker
// (leader.replication.throttled.replicas / follower.replication.throttled.replicas:
// "partition:broker,..." entries naming this broker, or "*" for every replica).
//
// Use (Kafka's): a throttled partition whose replica is not in sync gets no
// data while the quota is exceeded — the leader answers it empty, the
// follower leaves it out of its fetch; the bytes of every throttled
// partition, in sync or not, are recorded. The rate is Kafka's SimpleRate
// over replication.quota.window.num x replication.quota.window.size.seconds.
//
// Threading: the broker's event loop only.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>

#include "metadata/image.h"
#include "security/quota_stats.h"

namespace flotilla::broker {

class ReplicationQuota {
 public:
  ReplicationQuota(std::string rate_config, std::string replicas_config, security::QuotaWindowConfig window)
      : rate_config_(std::move(rate_config)), replicas_config_(std::move(replicas_config)), window_(window) {}

  // Re-reads the rate and the throttled replicas of broker `node_id` from the image's configs.
  void update(const metadata::MetadataImage& image, int32_t node_id);

  bool is_throttled(const std::string& topic, int32_t partition) const;
  bool is_quota_exceeded(int64_t now_ms);
  void record(int64_t bytes, int64_t now_ms);

  std::optional<int64_t> rate() const { return rate_; }  // nullopt: unlimited
  bool any_throttled() const { return !throttled_.empty(); }

  // Kafka's parseThrottledPartitions: the partitions of `value` on `broker`
  // ("*": every partition, as nullopt). Entries that do not parse are skipped
  // (the controller validated the value when it was written).
  static std::optional<std::set<int32_t>> parse_throttled_replicas(const std::string& value, int32_t broker);

 private:
  std::string rate_config_;
  std::string replicas_config_;
  security::QuotaWindowConfig window_;
  std::optional<int64_t> rate_;
  // topic -> throttled partitions on this broker (nullopt: all of them)
  std::map<std::string, std::optional<std::set<int32_t>>> throttled_;
  security::SampledRate sensor_;
};

}  // namespace flotilla::broker
