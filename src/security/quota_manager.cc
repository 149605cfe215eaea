#include "security/quota_manager.h"

#include <algorithm>
#include <cfloat>
#include <set>

namespace flotilla::security {

namespace {

constexpr int64_t kInactiveSensorExpirationMs = 3600 * 1000;  // ClientQuotaManager.InactiveSensorExpirationTimeSeconds
constexpr int64_t kExpiryCheckIntervalMs = 60 * 1000;

int32_t clamp_ms(int64_t ms) { return static_cast<int32_t>(std::clamp<int64_t>(ms, 0, INT32_MAX)); }

// An entity of the user/client-id hierarchy: each part absent (nullopt),
// the default (an engaged optional holding nullopt) or named.
using Part = std::optional<std::optional<std::string>>;

ClientQuotaEntity entity_of(const Part& user, const Part& client) {
  ClientQuotaEntity e;
  if (user) e.entries[kQuotaEntityUser] = *user;
  if (client) e.entries[kQuotaEntityClientId] = *client;
  return e;
}

Part named(const std::string& n) { return std::optional<std::string>(n); }
const Part kDefault = std::optional<std::string>(std::nullopt);
const Part kAbsent = std::nullopt;

}  // namespace

void ClientQuotaManager::update_quota(const ClientQuotaEntity& entity, std::optional<double> quota) {
  const bool user = entity.has(kQuotaEntityUser), client = entity.has(kQuotaEntityClientId);
  if (!user && !client) return;
  for (const auto& [type, name] : entity.entries)
    if (type != kQuotaEntityUser && type != kQuotaEntityClientId) return;
  if (user)
    enabled_ |= client ? kUserClientIdEnabled : kUserEnabled;
  else
    enabled_ |= kClientIdEnabled;
  if (quota)
    overrides_[entity] = *quota;
  else
    overrides_.erase(entity);
  ++generation_;
}

std::optional<double> ClientQuotaManager::find(Part user, Part client) const {
  auto it = overrides_.find(entity_of(user, client));
  if (it == overrides_.end()) return std::nullopt;
  return it->second;
}

bool ClientQuotaManager::has(Part user, Part client) const { return overrides_.count(entity_of(user, client)) != 0; }

std::pair<std::string, std::string> ClientQuotaManager::metric_tags(const std::string& user, const std::string& client_id) const {
  switch (enabled_) {
    case 0:
    case kClientIdEnabled: return {"", client_id};
    case kUserEnabled: return {user, ""};
    case kUserClientIdEnabled: return {user, client_id};
    default: break;
  }
  // Several levels: the tags of the most specific level with an override.
  if (has(named(user), named(client_id)) || has(named(user), kDefault)) return {user, client_id};
  if (has(named(user), kAbsent)) return {user, ""};
  if (has(kDefault, named(client_id)) || has(kDefault, kDefault)) return {user, client_id};
  if (has(kDefault, kAbsent)) return {user, ""};
  return {"", client_id};
}

std::optional<double> ClientQuotaManager::limit_for_tags(const std::string& user, const std::string& client) const {
  std::optional<double> q;
  if (!user.empty() && !client.empty()) {
    if (!(q = find(named(user), named(client))))
      if (!(q = find(named(user), kDefault)))
        if (!(q = find(kDefault, named(client)))) q = find(kDefault, kDefault);
  } else if (!user.empty()) {
    if (!(q = find(named(user), kAbsent))) q = find(kDefault, kAbsent);
  } else if (!client.empty()) {
    if (!(q = find(kAbsent, named(client)))) q = find(kAbsent, kDefault);
  }
  return q;
}

std::optional<double> ClientQuotaManager::quota(const std::string& user, const std::string& client_id) const {
  auto [u, c] = metric_tags(user, client_id);
  return limit_for_tags(u, c);
}

void ClientQuotaManager::expire_idle(int64_t now_ms) {
  if (now_ms - last_expiry_check_ms_ < kExpiryCheckIntervalMs) return;
  last_expiry_check_ms_ = now_ms;
  std::erase_if(sensors_, [now_ms](const auto& kv) { return now_ms - kv.second.last_record_ms > kInactiveSensorExpirationMs; });
}

ClientQuotaManager::Sensor& ClientQuotaManager::sensor(const std::string& user, const std::string& client_id, int64_t now_ms) {
  expire_idle(now_ms);
  auto [u, c] = metric_tags(user, client_id);
  std::string key;
  key.reserve(u.size() + c.size() + 1);
  key.append(u).push_back('\0');
  key.append(c);
  Sensor& s = sensors_[key];
  if (s.generation != generation_) {
    s.limit = limit_for_tags(u, c);
    s.generation = generation_;
  }
  s.last_record_ms = now_ms;
  return s;
}

int32_t ClientQuotaManager::record_and_get_throttle_ms(const std::string& user, const std::string& client_id, double value, int64_t now_ms) {
  if (!quotas_enabled()) return 0;
  Sensor& s = sensor(user, client_id, now_ms);
  s.rate.record(window_, value, now_ms);
  if (!s.limit) return 0;
  const double rate = s.rate.measure(window_, now_ms);
  if (rate <= *s.limit) return 0;
  int64_t t = throttle_time_ms(rate, *s.limit, s.rate.window_size(window_, now_ms));
  if (type_ == ClientQuotaType::REQUEST) t = std::min<int64_t>(t, window_.window_ms);  // one window at most
  return clamp_ms(t);
}

void ClientQuotaManager::record_no_throttle(const std::string& user, const std::string& client_id, double value, int64_t now_ms) {
  if (!quotas_enabled()) return;
  sensor(user, client_id, now_ms).rate.record(window_, value, now_ms);
}

void ClientQuotaManager::unrecord(const std::string& user, const std::string& client_id, double value, int64_t now_ms) {
  record_no_throttle(user, client_id, -value, now_ms);
}

double ClientQuotaManager::max_value_in_quota_window(const std::string& user, const std::string& client_id, int64_t now_ms) {
  if (!quotas_enabled()) return DBL_MAX;
  Sensor& s = sensor(user, client_id, now_ms);
  if (!s.limit) return DBL_MAX;
  return *s.limit * static_cast<double>(window_.samples - 1) * (static_cast<double>(window_.window_ms) / 1000.0);
}

ClientQuotaManager::MutationOutcome ClientQuotaManager::record_strict_mutation(const std::string& user, const std::string& client_id,
                                                                              double permits, int64_t now_ms) {
  if (!quotas_enabled()) return {};
  Sensor& s = sensor(user, client_id, now_ms);
  if (!s.limit) return {};
  // Kafka's StrictControllerMutationQuota: check first, record only if not exhausted.
  const double tokens = s.bucket.measure(window_, *s.limit, now_ms);
  if (tokens < 0) return {false, clamp_ms(token_bucket_throttle_ms(tokens, *s.limit))};
  s.bucket.record(window_, *s.limit, permits, now_ms);
  return {};
}

ClientQuotaManager::MutationOutcome ClientQuotaManager::record_permissive_mutation(const std::string& user, const std::string& client_id,
                                                                                  double permits, int64_t now_ms) {
  if (!quotas_enabled()) return {};
  Sensor& s = sensor(user, client_id, now_ms);
  if (!s.limit) return {};
  // PermissiveControllerMutationQuota: always recorded, throttled once exhausted.
  s.bucket.record(window_, *s.limit, permits, now_ms);
  const double tokens = s.bucket.measure(window_, *s.limit, now_ms);
  if (tokens >= 0) return {};
  return {true, clamp_ms(token_bucket_throttle_ms(tokens, *s.limit))};
}

void ClientQuotaManager::refund_mutation(const std::string& user, const std::string& client_id, double permits, int64_t now_ms) {
  if (!quotas_enabled() || permits <= 0) return;
  Sensor& s = sensor(user, client_id, now_ms);
  if (s.limit) s.bucket.record(window_, *s.limit, -permits, now_ms);
}

ClientQuotaManager* ClientQuotaManagers::for_key(const std::string& key) {
  if (key == kProducerByteRate) return &produce;
  if (key == kConsumerByteRate) return &fetch;
  if (key == kRequestPercentage) return &request;
  if (key == kControllerMutationRate) return &controller_mutation;
  return nullptr;
}

void ClientQuotaManagers::apply(const ClientQuotaMap& previous, const ClientQuotaMap& quotas) {
  static const ClientQuotaValues kNone;
  std::set<ClientQuotaEntity> entities;
  for (const auto& [e, v] : previous) entities.insert(e);
  for (const auto& [e, v] : quotas) entities.insert(e);
  for (const auto& e : entities) {
    if (e.has(kQuotaEntityIp)) continue;  // connection quotas: not enforced here
    auto pit = previous.find(e);
    auto nit = quotas.find(e);
    const ClientQuotaValues& before = pit == previous.end() ? kNone : pit->second;
    const ClientQuotaValues& after = nit == quotas.end() ? kNone : nit->second;
    if (before == after) continue;
    std::set<std::string> keys;
    for (const auto& [k, v] : before) keys.insert(k);
    for (const auto& [k, v] : after) keys.insert(k);
    for (const auto& k : keys) {
      auto b = before.find(k);
      auto a = after.find(k);
      if (b != before.end() && a != after.end() && b->second == a->second) continue;
      ClientQuotaManager* m = for_key(k);
      if (!m) continue;
      m->update_quota(e, a == after.end() ? std::nullopt : std::optional<double>(a->second));
    }
  }
}

}  // namespace flotilla::security
