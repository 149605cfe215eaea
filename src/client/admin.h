// The admin requests the tools send (kafka-topics, kafka-configs,
// kafka-leader-election, kafka-transactions, kafka-consumer-groups --list):
// each builds its request from plain values, picks the connection (or takes
// the one the caller chose), negotiates the version and returns the decoded
// response. Reading the error codes is the caller's: each tool prints them as
// its Kafka counterpart does.
//
// Invariants: CreateTopics and DeleteTopics go to any broker first and, when
// answered NOT_CONTROLLER, to the controller after a metadata refresh (up to
// five more tries); the APIs without a cap in client_max_version are capped
// at what the generated code knows (admin_version), and a version the broker
// does not share is a KafkaError(UNSUPPORTED_VERSION) before anything is sent.
// Threading: as KafkaClient (one thread at a time).
#pragma once

#include <cstdint>
#include <limits>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "client/group_client.h"
#include "client/kafka_client.h"
#include "security/scram.h"

namespace flotilla::client {

// The highest version of `Req` both the generated code and the broker speak;
// throws KafkaError(UNSUPPORTED_VERSION) ("... this tool supports") if there is none.
template <class Req>
int16_t admin_version(const Connection& c) {
  return c.version_for(Req::kApiKey, Req::kMaxVersion, std::numeric_limits<int16_t>::min(), "tool");
}

// ---- topics

struct NewTopic {
  std::string name;
  int32_t partitions = -1;                      // -1: the broker's num.partitions
  int16_t replication_factor = -1;              // -1: the broker's default.replication.factor
  std::vector<std::vector<int32_t>> assignment;  // replicas of partition 0, 1, ... (with -1, -1 above)
  std::map<std::string, std::string> configs;
};
msg::CreateTopicsResponse create_topic(KafkaClient& client, const NewTopic& topic, int32_t timeout_ms);
msg::DeleteTopicsResponse delete_topics(KafkaClient& client, const std::vector<std::string>& names, int32_t timeout_ms);

struct NewPartitions {
  std::string topic;
  int32_t count = 0;                                               // the new total
  std::optional<std::vector<std::vector<int32_t>>> assignment;  // replicas of each added partition
};
msg::CreatePartitionsResponse create_partitions(KafkaClient& client, const std::vector<NewPartitions>& topics, int32_t timeout_ms);

// Every config of each topic, and the version that answered, which decides
// how a default value is told.
struct TopicConfigs {
  msg::DescribeConfigsResponse response;
  int16_t version = 0;
  // A config left at its default: v0 flags it, later versions name its source (5: DEFAULT_CONFIG).
  bool is_default(const msg::DescribeConfigsResponse::DescribeConfigsResourceResult& c) const;
};
TopicConfigs describe_topic_configs(KafkaClient& client, const std::vector<std::string>& names);

// DescribeTopicPartitions (API 75, KIP-966) of `names` (every topic the caller
// may describe when empty), following NextCursor until the broker has
// answered every partition, `partition_limit` partitions per request (Kafka's
// partitionSizeLimitPerResponse). The topics in the order answered (by
// name), each with its partitions of every page. Throws
// KafkaError(UNSUPPORTED_VERSION) if the broker lacks the API.
std::vector<msg::DescribeTopicPartitionsResponse::DescribeTopicPartitionsResponseTopic> describe_topic_partitions(
    Connection& c, const std::vector<std::string>& names, int32_t partition_limit = 2000);

// ---- configs

// A config resource: type 2 a topic, 4 a broker (name "": the brokers' cluster default).
struct ConfigResource {
  int8_t type = 0;
  std::string name;
};
constexpr int8_t kTopicResource = 2, kBrokerResource = 4, kClientMetricsResource = 16;
// Where a resource's config requests go: a broker's own configs to that broker
// (a broker describes and screens only its own), the rest to any.
Connection& config_connection(KafkaClient& client, const ConfigResource& r);
// DescribeConfigs of one resource, every config with its synonyms.
msg::DescribeConfigsResponse describe_configs(Connection& c, const ConfigResource& r);
// One IncrementalAlterConfigs operation: op 0 SET (value), 1 DELETE.
struct ConfigOp {
  std::string name;
  int8_t op = 0;
  std::string value;
};
constexpr int8_t kSetConfig = 0, kDeleteConfig = 1;
msg::IncrementalAlterConfigsResponse incremental_alter_configs(Connection& c, const ConfigResource& r, const std::vector<ConfigOp>& ops);
// ListClientMetricsResources (KIP-714): the names of the client-metrics subscriptions.
msg::ListClientMetricsResourcesResponse list_client_metrics_resources(Connection& c);

// ---- SCRAM credentials (KIP-554)

// DescribeUserScramCredentials: every user with credentials when `users` is nullopt.
msg::DescribeUserScramCredentialsResponse describe_user_scram_credentials(Connection& c,
                                                                          const std::optional<std::vector<std::string>>& users);
struct ScramDeletion {
  std::string user;
  security::ScramMechanism mechanism = security::ScramMechanism::UNKNOWN;
};
struct ScramUpsertion {
  std::string user;
  security::ScramMechanism mechanism = security::ScramMechanism::UNKNOWN;
  int32_t iterations = security::kScramMinIterations;
  std::string password;  // salted here (a fresh random salt) and never sent
};
// AlterUserScramCredentials, as Kafka's admin client builds it: each
// upsertion carries a new random salt and the salted password (PBKDF2 with
// the upsertion's iterations), not the password.
msg::AlterUserScramCredentialsResponse alter_user_scram_credentials(Connection& c, const std::vector<ScramDeletion>& deletions,
                                                                    const std::vector<ScramUpsertion>& upsertions);

// ---- client quotas (KIP-546)

// One DescribeClientQuotas filter component: entity type ("user", "client-id",
// "ip") and match type 0 exact (with `match`), 1 default, 2 any.
struct QuotaFilterComponent {
  std::string entity_type;
  int8_t match_type = 0;
  std::optional<std::string> match;
};
msg::DescribeClientQuotasResponse describe_client_quotas(Connection& c, const std::vector<QuotaFilterComponent>& components, bool strict);
// One AlterClientQuotas entry: the entity (type -> name, nullopt = default)
// and its ops (key -> value, nullopt = remove).
struct QuotaAlteration {
  std::vector<std::pair<std::string, std::optional<std::string>>> entity;
  std::vector<std::pair<std::string, std::optional<double>>> ops;
};
msg::AlterClientQuotasResponse alter_client_quotas(Connection& c, const std::vector<QuotaAlteration>& entries, bool validate_only);

// ---- leader election

// ElectLeaders: election_type 0 PREFERRED, 1 UNCLEAN; partitions nullopt means
// every partition. An unclean election needs v1: a broker with v0 only throws
// KafkaError(UNSUPPORTED_VERSION, "The broker only supports preferred leader
// election") before anything is sent.
msg::ElectLeadersResponse elect_leaders(Connection& c, int8_t election_type, const std::optional<std::set<TopicPartition>>& partitions,
                                        int32_t timeout_ms);

// ---- transactions

msg::ListTransactionsResponse list_transactions(Connection& c);
// DescribeTransactions of one transactional id, sent to its coordinator
// (a GroupClient with key type 1).
msg::DescribeTransactionsResponse describe_transactions(GroupClient& coordinator, const std::string& transactional_id);
msg::DescribeProducersResponse describe_producers(Connection& c, const std::string& topic, int32_t partition);

// ---- consumer groups

// ListGroups on every broker (each coordinates some groups): the consumer
// groups (protocol type "consumer", or none yet), each once, in the order
// found. Throws KafkaError on a broker's error.
std::vector<msg::ListGroupsResponse::ListedGroup> list_consumer_groups(KafkaClient& client);

}  // namespace flotilla::client
