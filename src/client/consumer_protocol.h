// Kafka's ConsumerProtocol, the bytes a classic consumer group's members
// exchange through the coordinator (JoinGroup metadata, SyncGroup
// assignments), and the range assignor the group leader runs on them.
//
// Invariant: each encoding is an int16 version, then the generated struct at
// that version, as Kafka's ConsumerProtocol writes them; a newer version than
// the generated code knows is read as the newest known (versions only add
// fields at the end). Pure functions: no I/O, no state.
#pragma once

#include <cstdint>
#include <map>
#include <span>
#include <string>
#include <vector>

#include "protocol/messages.h"

namespace flotilla::client {

// topic -> sorted partitions
using Assignment = std::map<std::string, std::vector<int32_t>>;

// ConsumerProtocol encodings (version prefix + struct).
std::vector<uint8_t> encode_subscription(const std::vector<std::string>& topics, const Assignment& owned = {}, int16_t version = 1);
msg::ConsumerProtocolSubscription decode_subscription(std::span<const uint8_t> bytes);
std::vector<uint8_t> encode_assignment(const Assignment& a, int16_t version = 1);
// Empty bytes decode to an empty assignment; throws std::runtime_error on garbage.
Assignment decode_assignment(std::span<const uint8_t> bytes);

// Kafka's RangeAssignor: for each topic, the members subscribed to it sorted by
// member id, each getting a contiguous range (the first n % m members one more).
// subscriptions: member id -> topics; partitions: topic -> partition count
// (topics missing there are skipped). Every member appears in the result.
std::map<std::string, Assignment> range_assign(const std::map<std::string, std::vector<std::string>>& subscriptions,
                                               const std::map<std::string, int32_t>& partitions);

}  // namespace flotilla::client
