// AlterClientQuotas on the active controller, as Kafka's
// ClientQuotaControlManager: every entry (an entity and its ops) is checked
// against latest_ (so that requests in flight see each other) and becomes
// ClientQuotaRecords — a set for each changed value, a removal (Remove=true)
// for each key that has a value — all of the request's records in one batch.
//
// Checks, with Kafka's texts, each INVALID_REQUEST for its entry only:
// entity types user / client-id / ip, non-empty names (a null name is the
// default entity), ip alone and a valid address, the keys of the entity's
// kind (producer_byte_rate, consumer_byte_rate — LONG —, request_percentage,
// controller_mutation_rate — DOUBLE —; connection_creation_rate — INT — for
// ip), values > 0 and integral where the key is integral. An entry repeated in
// one request, or naming a key twice, is refused ("Ignoring duplicate
// entity ..."). A refused entry writes nothing; ValidateOnly writes nothing.
//
// Differences from Kafka, both on the safe side: an entity named twice writes
// nothing for either occurrence (Kafka keeps the first one's records while
// answering an error), a NaN value is refused as not greater than 0, and an
// ip entity must be an IP address literal (Kafka also accepts a host name it
// can resolve; resolving would block the controller's event loop).
//
// Threading: the io_context thread, like the rest of QuorumController.
#include <arpa/inet.h>
#include <spdlog/spdlog.h>

#include <cmath>
#include <cstring>

#include "controller/quorum_controller.h"
#include "protocol/metadata_record.h"
#include "security/quota_entity.h"

namespace flotilla::controller {

namespace {

using security::ClientQuotaEntity;
using security::kQuotaEntityClientId;
using security::kQuotaEntityIp;
using security::kQuotaEntityUser;

enum class KeyType { LONG, DOUBLE, INT };

struct Outcome {
  ErrorCode error = ErrorCode::NONE;
  std::optional<std::string> message;
  std::vector<std::vector<uint8_t>> records;
};

Outcome invalid(std::string message) { return Outcome{ErrorCode::INVALID_REQUEST, std::move(message), {}}; }

bool valid_ip_literal(const std::string& ip) {
  in6_addr a6{};
  in_addr a4{};
  return inet_pton(AF_INET, ip.c_str(), &a4) == 1 || inet_pton(AF_INET6, ip.c_str(), &a6) == 1;
}

// QuotaConfig.userAndClientQuotaConfigs() / ipConfigs().
std::optional<KeyType> key_type(const std::string& key, bool ip) {
  if (ip) return key == security::kConnectionCreationRate ? std::optional(KeyType::INT) : std::nullopt;
  if (key == security::kProducerByteRate || key == security::kConsumerByteRate) return KeyType::LONG;
  if (key == security::kRequestPercentage || key == security::kControllerMutationRate) return KeyType::DOUBLE;
  return std::nullopt;
}

// validateQuotaKeyValue.
std::optional<std::string> check_value(const std::string& key, KeyType type, double value) {
  if (!(value > 0.0)) return "Quota " + key + " must be greater than 0";
  auto integral = [&]() -> std::optional<std::string> {
    if (std::fabs(std::fmod(value, 1.0)) > 1e-6) return key + " cannot be a fractional value.";
    return std::nullopt;
  };
  switch (type) {
    case KeyType::DOUBLE: return std::nullopt;
    case KeyType::INT:
      if (value > 2147483647.0) return "Proposed value for " + key + " is too large for an INT.";
      return integral();
    case KeyType::LONG:
      if (value > 9223372036854775807.0) return "Proposed value for " + key + " is too large for a LONG.";
      return integral();
  }
  return std::nullopt;
}

// alterClientQuotaEntity: one entity's checks and records.
Outcome alter_entity(const metadata::MetadataImage& image, const ClientQuotaEntity& entity,
                     const std::map<std::string, std::optional<double>>& ops) {
  // validateEntity
  if (entity.entries.empty()) return invalid("Invalid empty client quota entity");
  for (const auto& [type, name] : entity.entries) {
    if (type != kQuotaEntityUser && type != kQuotaEntityClientId && type != kQuotaEntityIp)
      return invalid("Unhandled client quota entity type: " + type);
    if (name && name->empty()) return invalid("Empty " + type + " not supported");
  }
  // configKeysForEntityType
  const bool ip = entity.has(kQuotaEntityIp);
  if (ip) {
    if (entity.has(kQuotaEntityUser) || entity.has(kQuotaEntityClientId))
      return invalid("Invalid quota entity combination, IP entity shouldnot be combined with User or ClientId");
    const auto& name = entity.entries.at(kQuotaEntityIp);
    if (name && !valid_ip_literal(*name)) return invalid(*name + " is not a valid IP or resolvable host.");
  }
  static const security::ClientQuotaValues kNone;
  auto cur_it = image.client_quotas().find(entity);
  const security::ClientQuotaValues& current = cur_it == image.client_quotas().end() ? kNone : cur_it->second;
  Outcome out;
  for (const auto& [key, value] : ops) {
    msg::ClientQuotaRecord r;
    for (const auto& [type, name] : entity.entries) r.entity.push_back({type, name});
    r.key = key;
    if (!value) {
      if (!current.count(key)) continue;  // nothing to remove
      r.remove = true;
    } else {
      auto type = key_type(key, ip);
      if (!type) return invalid("Invalid configuration key " + key);
      if (auto bad = check_value(key, *type, *value)) return invalid(*bad);
      auto it = current.find(key);
      if (it != current.end() && std::memcmp(&it->second, &*value, sizeof(double)) == 0) continue;  // unchanged (Double.equals)
      r.value = *value;
    }
    out.records.push_back(protocol::frame_metadata_record(r, 0));
  }
  return out;
}

}  // namespace

ClientQuotaAlteration plan_client_quota_alteration(const metadata::MetadataImage& image, const msg::AlterClientQuotasRequest& request) {
  std::vector<ClientQuotaEntity> order;  // entities in the order first named
  std::map<ClientQuotaEntity, Outcome> results;
  for (const auto& entry : request.entries) {
    ClientQuotaEntity entity;
    for (const auto& e : entry.entity) entity.entries[e.entity_type] = e.entity_name;  // a HashMap: the last name wins
    std::map<std::string, std::optional<double>> ops;
    bool duplicate_key = false;
    for (const auto& op : entry.ops) {
      if (!ops.emplace(op.key, op.remove ? std::nullopt : std::optional<double>(op.value)).second) duplicate_key = true;
    }
    bool seen = results.count(entity) != 0;
    if (!seen) order.push_back(entity);
    if (seen || duplicate_key) {
      // Kafka answers a duplicate key with this text too (its duplicate-key
      // result is overwritten by the duplicate-entity one).
      results[entity] = invalid("Ignoring duplicate entity " + security::quota_entity_to_string(entity));
      continue;
    }
    results[entity] = alter_entity(image, entity, ops);
  }

  ClientQuotaAlteration plan;
  // Kafka's answer iterates a HashMap<ClientQuotaEntity, ApiError>.
  std::vector<int32_t> hashes;
  for (const auto& e : order) hashes.push_back(security::java_entity_hash(e));
  for (size_t i : security::java_hash_map_order(hashes, -1)) {
    Outcome& o = results[order[i]];
    msg::AlterClientQuotasResponse::EntryData d;
    d.error_code = code(o.error);
    d.error_message = o.message;
    for (const auto& [type, name] : order[i].entries) d.entity.push_back({type, name});
    plan.response.entries.push_back(std::move(d));
  }
  for (const auto& e : order) {
    Outcome& o = results[e];
    if (o.error != ErrorCode::NONE) continue;
    for (auto& r : o.records) plan.records.push_back(std::move(r));
  }
  return plan;
}

void QuorumController::alter_client_quotas(msg::AlterClientQuotasRequest request, int16_t,
                                           std::function<void(msg::AlterClientQuotasResponse)> done) {
  if (!active_) {
    msg::AlterClientQuotasResponse r;
    for (const auto& entry : request.entries) {
      msg::AlterClientQuotasResponse::EntryData d;
      d.error_code = code(ErrorCode::NOT_CONTROLLER);
      d.error_message = std::nullopt;
      for (const auto& e : entry.entity) d.entity.push_back({e.entity_type, e.entity_name});
      r.entries.push_back(std::move(d));
    }
    return answer_now(done, std::move(r));
  }
  ClientQuotaAlteration plan = plan_client_quota_alteration(*latest_, request);
  if (request.validate_only || plan.records.empty()) return answer_now(done, std::move(plan.response));
  spdlog::info("[QuorumController id={}] Writing {} client quota record(s)", config_.node_id, plan.records.size());
  auto off = write(std::move(plan.records));
  after_commit_of(off, [done = std::move(done), response = std::move(plan.response)](ErrorCode ec) mutable {
    if (ec != ErrorCode::NONE) {
      for (auto& e : response.entries) {
        if (e.error_code != code(ErrorCode::NONE)) continue;
        e.error_code = code(ec);
        e.error_message = std::nullopt;
      }
    }
    done(std::move(response));
  });
}

}  // namespace flotilla::controller
