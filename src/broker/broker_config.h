// The part of the node's configuration the broker uses, filled in by server/.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "common/uuid.h"
#include "net/client_security.h"
#include "storage/log.h"

namespace flotilla::broker {

struct BrokerConfig {
  int32_t node_id = -1;
  std::string cluster_id;
  std::vector<std::string> log_dirs;
  int32_t num_partitions = 1;
  int16_t default_replication_factor = 1;
  bool auto_create_topics_enable = true;
  int32_t max_request_partition_size_limit = 2000;  // max.request.partition.size.limit: DescribeTopicPartitions answers at most this many
  bool delete_topic_enable = true;
  // authorizer.class.name is set: DescribeAcls is answered (else SECURITY_DISABLED).
  bool authorizer_configured = false;
  // delegation.token.secret.key (empty: tokens disabled): DescribeDelegationToken
  // answers each token's HMAC, computed with it.
  std::string delegation_token_secret_key;
  int32_t message_max_bytes = 1048588;
  int32_t fetch_max_bytes = 57671680;
  std::string log_message_timestamp_type = "CreateTime";
  storage::LogConfig log;  // broker-wide log.* defaults for topics
  int64_t log_retention_check_interval_ms = 300000;
  // Replication (Kafka's names and defaults).
  std::string inter_broker_listener_name = "PLAINTEXT";  // inter.broker.listener.name
  // How replica fetchers authenticate to the leaders' inter-broker listener (null: PLAINTEXT).
  std::shared_ptr<const net::ClientSecurity> inter_broker_client_security;
  int32_t min_insync_replicas = 1;                       // min.insync.replicas
  // replica.selector.class = org.apache.kafka.common.replica.RackAwareReplicaSelector:
  // a leader points consumers that send a rack id to an in-sync replica in that rack (KIP-392).
  bool rack_aware_replica_selector = false;
  int64_t replica_lag_time_max_ms = 30000;               // replica.lag.time.max.ms
  int32_t replica_fetch_wait_max_ms = 500;               // replica.fetch.wait.max.ms
  int32_t replica_fetch_min_bytes = 1;                   // replica.fetch.min.bytes
  int32_t replica_fetch_max_bytes = 1048576;             // replica.fetch.max.bytes
  int32_t replica_fetch_response_max_bytes = 10485760;   // replica.fetch.response.max.bytes
  int64_t replica_fetch_backoff_ms = 1000;               // replica.fetch.backoff.ms
  int64_t replica_socket_timeout_ms = 30000;             // replica.socket.timeout.ms
  int64_t replica_high_watermark_checkpoint_interval_ms = 5000;  // replica.high.watermark.checkpoint.interval.ms
  int64_t producer_id_expiration_ms = 86400000;                  // producer.id.expiration.ms
  int64_t producer_id_expiration_check_interval_ms = 600000;     // producer.id.expiration.check.interval.ms
  // Broker properties as written in server.properties (DescribeConfigs source
  // STATIC_BROKER_CONFIG) and the defaults of those the file leaves out.
  std::map<std::string, std::string> static_configs;
  // Checks a change of this node's dynamic broker configs that reconfigures
  // something server/ owns (the TLS listeners' key stores) before it is
  // forwarded: `dynamic` is the resulting per-broker-over-default map; returns
  // "" when it applies, else the message. Empty function: nothing to check.
  std::function<std::string(const std::map<std::string, std::string>& dynamic)> validate_reconfiguration;
};

}  // namespace flotilla::broker
