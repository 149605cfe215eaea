// Shared pieces of the admin tools (leader-election, configs,
// reassign-partitions): version choice for the admin APIs, the request ->
// response types Connection::call needs for them, and the Java exception
// names Kafka's tools print for an error code.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "tools/kafka_client.h"

namespace flotilla::tools {

template <> struct ResponseOf<msg::ElectLeadersRequest> { using type = msg::ElectLeadersResponse; };
template <> struct ResponseOf<msg::IncrementalAlterConfigsRequest> { using type = msg::IncrementalAlterConfigsResponse; };
template <> struct ResponseOf<msg::AlterPartitionReassignmentsRequest> { using type = msg::AlterPartitionReassignmentsResponse; };
template <> struct ResponseOf<msg::ListPartitionReassignmentsRequest> { using type = msg::ListPartitionReassignmentsResponse; };

// The highest version of `Req` both this tool and the broker speak; throws
// KafkaError(UNSUPPORTED_VERSION) if there is none.
int16_t admin_version(const Connection& c, int16_t api_key, int16_t client_max);
template <class Req>
int16_t admin_version(const Connection& c) {
  return admin_version(c, Req::kApiKey, Req::kMaxVersion);
}

// "org.apache.kafka.common.errors.PreferredLeaderNotAvailableException: <message>",
// as a Java tool prints the exception of an error code (the server's message,
// else Kafka's default one).
std::string kafka_exception(int16_t code, const std::optional<std::string>& message);

}  // namespace flotilla::tools
