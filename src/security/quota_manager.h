// Kafka's ClientQuotaManager (and its ControllerMutationQuotaManager and
// ClientRequestQuotaManager variants) for one quota type: the overrides set
// by ClientQuotaRecords, the per-client sensors, and the throttle time a
// recorded value earns.
//
// Resolution (Kafka's DefaultQuotaCallback): a client is (user principal
// name, client-id). Its sensor — shared by every connection of that client —
// is keyed by metric tags that depend on which entity levels ever had a quota
// of this type (Kafka's quotaTypesEnabled): only client-id levels → ("",
// client-id); only user → (user, ""); only user+client-id → (user,
// client-id); several → the tags of the most specific level that has an
// override. The limit of a sensor is the first override found in Kafka's
// precedence order:
//   /config/users/<user>/clients/<client-id>
//   /config/users/<user>/clients/<default>
//   /config/users/<user>
//   /config/users/<default>/clients/<client-id>
//   /config/users/<default>/clients/<default>
//   /config/users/<default>
//   /config/clients/<client-id>
//   /config/clients/<default>
// (restricted, as Kafka's, to the levels the tags name). No override: no
// limit. An override changed later applies to existing sensors at their next
// use (their samples are kept, as Kafka keeps a metric's stat when its
// MetricConfig changes).
//
// Rates: byte and request-time quotas use SampledRate over `quota.window.num`
// x `quota.window.size.seconds`; a recorded value that puts the rate above
// the bound earns throttle_time_ms(rate, bound, window size) (the request
// quota's capped at one window, as ClientRequestQuotaManager caps it).
// Controller mutations use a TokenBucket and are strict or permissive (KIP-599).
//
// Threading: one owner thread (the broker's event loop serves every request,
// so the sensors need no lock). Sensors idle for an hour are dropped (Kafka's
// InactiveSensorExpirationTimeSeconds), checked at most once a minute.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <unordered_map>
#include <utility>

#include "security/quota_entity.h"
#include "security/quota_stats.h"

namespace flotilla::security {

enum class ClientQuotaType { PRODUCE, FETCH, REQUEST, CONTROLLER_MUTATION };

class ClientQuotaManager {
 public:
  ClientQuotaManager(ClientQuotaType type, QuotaWindowConfig window) : type_(type), window_(window) {}

  ClientQuotaType type() const { return type_; }
  const QuotaWindowConfig& window() const { return window_; }

  // Sets (or, with nullopt, removes) the override of a user and/or client-id
  // entity (entries "user" and/or "client-id"; a nullopt name is the
  // default). Entities with other types are ignored.
  void update_quota(const ClientQuotaEntity& entity, std::optional<double> quota);
  // Whether any override of this type was ever set (Kafka's quotasEnabled:
  // stays true after the overrides are removed again). False: nothing is
  // recorded and nothing throttled (the fast path).
  bool quotas_enabled() const { return enabled_ != 0; }
  // The limit that applies to (user, client-id) now; nullopt: unlimited.
  std::optional<double> quota(const std::string& user, const std::string& client_id) const;
  // The sensor key (user tag, client-id tag) of a client.
  std::pair<std::string, std::string> metric_tags(const std::string& user, const std::string& client_id) const;

  // Records `value` for the client at `now_ms` and returns the throttle time
  // it earned (0 within the quota). Does nothing (0) unless quotas_enabled().
  int32_t record_and_get_throttle_ms(const std::string& user, const std::string& client_id, double value, int64_t now_ms);
  // Records without checking (Kafka's recordNoThrottle) and takes back a
  // recorded value (unrecordQuotaSensor: a throttled fetch sends no data).
  void record_no_throttle(const std::string& user, const std::string& client_id, double value, int64_t now_ms);
  void unrecord(const std::string& user, const std::string& client_id, double value, int64_t now_ms);
  // The most that one request may carry without being throttled for sure
  // (limit x (samples - 1) x window): caps a consumer's fetch size.
  double max_value_in_quota_window(const std::string& user, const std::string& client_id, int64_t now_ms);

  // Controller mutations (token bucket). Strict (clients that can take
  // THROTTLING_QUOTA_EXCEEDED): refused, with the throttle time, while the
  // bucket is below zero, else recorded (0). Permissive: always recorded;
  // the throttle time once it is below zero.
  struct MutationOutcome {
    bool accepted = true;
    int32_t throttle_ms = 0;
  };
  MutationOutcome record_strict_mutation(const std::string& user, const std::string& client_id, double permits, int64_t now_ms);
  MutationOutcome record_permissive_mutation(const std::string& user, const std::string& client_id, double permits, int64_t now_ms);
  // Gives back permits recorded for a mutation that did not happen.
  void refund_mutation(const std::string& user, const std::string& client_id, double permits, int64_t now_ms);

  size_t sensor_count() const { return sensors_.size(); }

 private:
  struct Sensor {
    SampledRate rate;
    TokenBucket bucket;
    std::optional<double> limit;
    uint64_t generation = 0;  // of overrides_ when `limit` was resolved
    int64_t last_record_ms = 0;
  };
  enum : uint8_t { kClientIdEnabled = 1, kUserEnabled = 2, kUserClientIdEnabled = 4 };

  Sensor& sensor(const std::string& user, const std::string& client_id, int64_t now_ms);
  std::optional<double> limit_for_tags(const std::string& user_tag, const std::string& client_tag) const;
  std::optional<double> find(std::optional<std::optional<std::string>> user, std::optional<std::optional<std::string>> client) const;
  bool has(std::optional<std::optional<std::string>> user, std::optional<std::optional<std::string>> client) const;
  void expire_idle(int64_t now_ms);

  ClientQuotaType type_;
  QuotaWindowConfig window_;
  uint8_t enabled_ = 0;
  std::map<ClientQuotaEntity, double> overrides_;
  uint64_t generation_ = 1;
  std::unordered_map<std::string, Sensor> sensors_;  // by user tag + '\0' + client-id tag
  int64_t last_expiry_check_ms_ = 0;
};

// The four managers a broker keeps, and where ClientQuotaRecord keys go
// (Kafka's ClientQuotaMetadataManager).
struct ClientQuotaManagers {
  ClientQuotaManager produce;
  ClientQuotaManager fetch;
  ClientQuotaManager request;
  ClientQuotaManager controller_mutation;

  ClientQuotaManagers(QuotaWindowConfig client_window, QuotaWindowConfig controller_window)
      : produce(ClientQuotaType::PRODUCE, client_window),
        fetch(ClientQuotaType::FETCH, client_window),
        request(ClientQuotaType::REQUEST, client_window),
        controller_mutation(ClientQuotaType::CONTROLLER_MUTATION, controller_window) {}

  // The manager of a quota key; nullptr for other keys (connection_creation_rate, unknown ones).
  ClientQuotaManager* for_key(const std::string& key);
  // Brings every manager to `quotas` (an image's client quotas), given the
  // ones it was last brought to: only entities whose values changed are touched.
  void apply(const ClientQuotaMap& previous, const ClientQuotaMap& quotas);
};

}  // namespace flotilla::security
