// Client quota entities as Kafka's ClientQuotaEntity names them: a map from
// entity type ("user", "client-id", "ip") to a name, where a missing name
// (nullopt, Kafka's null) is that type's default entity. This is the key of
// ClientQuotaRecords, of MetadataImage::client_quotas(), of
// AlterClientQuotas/DescribeClientQuotas entries and of the quota managers'
// overrides.
//
// Also here: the few Java facts Kafka's quota texts depend on — how a Java
// HashMap orders its keys (kafka-configs prints quota values and entities in
// that order, and Kafka's ClientQuotaEntity.toString prints its map) — as
// pure functions.
//
// Threading: values and pure functions only.
#pragma once

#include <compare>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace flotilla::security {

inline constexpr const char* kQuotaEntityUser = "user";
inline constexpr const char* kQuotaEntityClientId = "client-id";
inline constexpr const char* kQuotaEntityIp = "ip";

// The quota keys (Kafka's QuotaConfig).
inline constexpr const char* kProducerByteRate = "producer_byte_rate";
inline constexpr const char* kConsumerByteRate = "consumer_byte_rate";
inline constexpr const char* kRequestPercentage = "request_percentage";
inline constexpr const char* kControllerMutationRate = "controller_mutation_rate";
inline constexpr const char* kConnectionCreationRate = "connection_creation_rate";

// True for the four user/client-id quota keys (QuotaConfig.isClientOrUserQuotaConfig).
bool is_client_or_user_quota_key(const std::string& key);

struct ClientQuotaEntity {
  // entity type -> name; nullopt = the default entity of that type.
  std::map<std::string, std::optional<std::string>> entries;

  bool has(const std::string& type) const { return entries.count(type) != 0; }
  auto operator<=>(const ClientQuotaEntity&) const = default;
  bool operator==(const ClientQuotaEntity&) const = default;
};

// Quota key -> value.
using ClientQuotaValues = std::map<std::string, double>;
using ClientQuotaMap = std::map<ClientQuotaEntity, ClientQuotaValues>;

// Java's String.hashCode over the UTF-16 code units of a UTF-8 string.
int32_t java_string_hash(const std::string& s);
// The order in which a `new HashMap<>(initial_capacity)` (-1: `new
// HashMap<>()`) filled with `hashes` (in that insertion order) iterates its
// keys: indexes into `hashes`. Follows HashMap's table sizing, resizing and
// bucket order (buckets never hold enough keys here to become trees).
std::vector<size_t> java_hash_map_order(const std::vector<int32_t>& hashes, int64_t initial_capacity);
// Java's Objects.hash(map) for a Map<String, String> (Kafka's
// ClientQuotaEntity.hashCode()).
int32_t java_entity_hash(const ClientQuotaEntity& e);
// Kafka's ClientQuotaEntity.toString(): "ClientQuotaEntity(entries={user=alice, client-id=app})"
// with the map in HashMap order and null for a default name.
std::string quota_entity_to_string(const ClientQuotaEntity& e);

}  // namespace flotilla::security
