// The consumer-group client, over client/kafka_client.h: FindCoordinator and
// a connection to the group's coordinator, the admin calls
// kafka-consumer-groups.sh needs (DescribeGroups, OffsetFetch, OffsetCommit,
// DeleteGroups, OffsetDelete) and the classic consumer membership protocol
// (JoinGroup/SyncGroup/Heartbeat/LeaveGroup with protocol type "consumer" and
// the range assignor, client/consumer_protocol.h) for `console-consumer --group`.
//
// Invariants: coordinator errors (COORDINATOR_LOAD_IN_PROGRESS,
// COORDINATOR_NOT_AVAILABLE, NOT_COORDINATOR) are retried within the timeout,
// the coordinator rediscovered for all but the first; the member id and
// generation are those of the last completed JoinGroup (reset_generation
// forgets them as a consumer does before rejoining).
// Threading: one thread at a time; it uses its KafkaClient's connections.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "client/consumer_protocol.h"
#include "client/kafka_client.h"

namespace flotilla::client {

// The highest version of each group API this client speaks.
int16_t group_client_max_version(int16_t api_key);
// min(broker max, client max) for a group API; throws KafkaError(UNSUPPORTED_VERSION).
int16_t group_api_version(const Connection& c, int16_t api_key);

// Coordinator-level errors a client rediscovers the coordinator for and retries.
bool is_coordinator_error(int16_t code);

class GroupClient {
 public:
  // timeout_ms bounds the retries of coordinator errors (and each request).
  // key_type 1: the coordinator of a transactional id (FindCoordinator key type 1).
  GroupClient(KafkaClient& client, std::string group_id, int timeout_ms = 30000, int8_t key_type = 0);
  ~GroupClient();

  const std::string& group_id() const { return group_id_; }
  KafkaClient& client() { return client_; }

  // FindCoordinator (retried while the coordinator is unavailable) and a
  // connection to it; cached until coordinator_dead().
  Connection& coordinator();
  const BrokerInfo& coordinator_info();
  void coordinator_dead();
  // Per-request socket timeout on the coordinator connection.
  void set_request_timeout_ms(int ms);

  // Sends req to the coordinator, reconnecting once after a network error.
  template <class Req>
  typename ResponseOf<Req>::type call(Req req);

  // --- admin ---
  // DescribeGroups for this group (retries coordinator errors). A group the
  // classic protocol does not know (Dead) that is a KIP-848 consumer group is
  // described with ConsumerGroupDescribe, in the same shape.
  msg::DescribeGroupsResponse::DescribedGroup describe();
  // OffsetFetch: committed offsets (>= 0 only); nullopt = every committed partition.
  // Throws KafkaError on a group-level error.
  std::map<TopicPartition, int64_t> fetch_offsets(const std::optional<std::vector<TopicPartition>>& partitions = std::nullopt);
  // OffsetCommit; returns the per-partition error codes (retries coordinator errors).
  std::map<TopicPartition, int16_t> commit_offsets(const std::map<TopicPartition, int64_t>& offsets, int32_t generation = -1,
                                                   const std::string& member_id = "");
  // DeleteGroups for this group: the error code.
  int16_t delete_group();
  // OffsetDelete: {top-level error, per-partition errors}.
  std::pair<int16_t, std::map<TopicPartition, int16_t>> delete_offsets(const std::vector<TopicPartition>& partitions);

  // --- membership (classic consumer protocol) ---
  struct MemberConfig {
    std::vector<std::string> topics;
    int32_t session_timeout_ms = 45000;
    int32_t rebalance_timeout_ms = 300000;
    std::optional<std::string> group_instance_id;
    std::string assignor = "range";
  };
  // JoinGroup (+ the MEMBER_ID_REQUIRED round trip) and SyncGroup, the leader
  // computing the range assignment from current metadata; loops until the
  // group is stable or the deadline passes. Returns this member's assignment.
  Assignment join(const MemberConfig& cfg, int64_t deadline_ms);
  // Heartbeat: the error code (0, REBALANCE_IN_PROGRESS, UNKNOWN_MEMBER_ID, ILLEGAL_GENERATION, ...).
  int16_t heartbeat();
  // What a member does after a heartbeat, as Kafka's consumer coordinator
  // decides: nothing; commit its positions and rejoin (a rebalance began);
  // rejoin (its generation, or also its member id, was forgotten here).
  // Coordinator errors are nothing (the coordinator is rediscovered next
  // time); any other error throws KafkaError("Heartbeat failed: ...").
  enum class HeartbeatAction { kNone, kCommitAndRejoin, kRejoin };
  HeartbeatAction member_heartbeat();
  // OffsetCommit as this generation's member. 0, or the first error that asks
  // for a rejoin (REBALANCE_IN_PROGRESS, ILLEGAL_GENERATION, UNKNOWN_MEMBER_ID,
  // FENCED_INSTANCE_ID); any other error throws KafkaError("Offset commit failed: ...").
  int16_t commit_as_member(const std::map<TopicPartition, int64_t>& offsets);
  // LeaveGroup (best effort); forgets the member id.
  void leave(const std::string& reason = "the consumer is being closed");
  const std::string& member_id() const { return member_id_; }
  int32_t generation() const { return generation_; }
  // Forget the generation (and member id after UNKNOWN_MEMBER_ID), as a
  // consumer does before rejoining.
  void reset_generation(bool forget_member_id);

 private:
  // ConsumerGroupDescribe as a DescribedGroup; nullopt if the broker does not
  // serve it or the group is not a consumer group.
  std::optional<msg::DescribeGroupsResponse::DescribedGroup> describe_consumer_group();
  // Sleeps a little and forgets the coordinator when `code` is a coordinator error
  // and the deadline allows another try; returns whether to retry.
  bool retry_after(int16_t code, int64_t deadline_ms);

  KafkaClient& client_;
  std::string group_id_;
  int timeout_ms_;
  int8_t key_type_;
  int request_timeout_ms_;
  std::unique_ptr<Connection> coord_;
  BrokerInfo coord_info_;
  std::string member_id_;
  int32_t generation_ = -1;
  std::optional<std::string> group_instance_id_;
  std::string protocol_name_;
};

template <class Req>
typename ResponseOf<Req>::type GroupClient::call(Req req) {
  for (int attempt = 0;; ++attempt) {
    Connection& c = coordinator();
    try {
      int16_t v = group_api_version(c, Req::kApiKey);
      return c.call(req, v).first;
    } catch (const NetworkError&) {
      coordinator_dead();
      if (attempt >= 1) throw;
    }
  }
}

}  // namespace flotilla::client
