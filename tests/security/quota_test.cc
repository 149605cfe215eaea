// Client quota arithmetic on a virtual clock: Kafka's sampled Rate (window
// size, purge, burst allowance), QuotaUtils' throttle time, the token bucket
// of controller mutations, the precedence of quota overrides and the sensor
// sharing they imply, and the Java HashMap order Kafka's quota texts use.
#include <gtest/gtest.h>

#include <cfloat>

#include "security/quota_entity.h"
#include "security/quota_manager.h"
#include "security/quota_stats.h"

using namespace flotilla::security;

namespace {

ClientQuotaEntity entity(std::optional<std::optional<std::string>> user, std::optional<std::optional<std::string>> client) {
  ClientQuotaEntity e;
  if (user) e.entries[kQuotaEntityUser] = *user;
  if (client) e.entries[kQuotaEntityClientId] = *client;
  return e;
}
const std::optional<std::optional<std::string>> kDef = std::optional<std::string>(std::nullopt);
std::optional<std::optional<std::string>> n(const std::string& s) { return std::optional<std::string>(s); }

constexpr int64_t kT0 = 1'000'000;  // any start: only differences matter

}  // namespace

TEST(QuotaRate, WindowSizeCountsMissingFullWindows) {
  QuotaWindowConfig c;  // 11 samples of 1 s
  SampledRate r;
  r.record(c, 100, kT0);
  // No full window yet: 10 windows are assumed, plus the elapsed part.
  EXPECT_EQ(r.window_size(c, kT0), 10'000);
  EXPECT_EQ(r.window_size(c, kT0 + 250), 10'250);
  EXPECT_DOUBLE_EQ(r.measure(c, kT0 + 250), 100 / 10.25);
  // After one full window: 9 assumed + 1 full + the part.
  EXPECT_EQ(r.window_size(c, kT0 + 1'300), 10'300);
  // Past 10 windows the window is the time since the oldest sample started.
  for (int i = 1; i <= 10; ++i) r.record(c, 100, kT0 + i * 1'000);
  EXPECT_EQ(r.window_size(c, kT0 + 10'400), 10'400);
  EXPECT_DOUBLE_EQ(r.total(c, kT0 + 10'400), 1'100);
}

TEST(QuotaRate, SamplesExpireAfterTheWholeWindow) {
  QuotaWindowConfig c;
  SampledRate r;
  r.record(c, 5'000, kT0);
  EXPECT_DOUBLE_EQ(r.total(c, kT0 + 10'999), 5'000);
  // A sample whose last event is samples x window old is reset.
  EXPECT_DOUBLE_EQ(r.total(c, kT0 + 11'000), 0);
  EXPECT_DOUBLE_EQ(r.measure(c, kT0 + 11'000), 0);
}

TEST(QuotaRate, RingKeepsSamplesPlusOneSlots) {
  QuotaWindowConfig c{3, 1'000};
  SampledRate r;
  // One event per window: the ring holds 4 slots, the 5th reuses the first.
  for (int i = 0; i < 5; ++i) r.record(c, 1, kT0 + i * 1'000);
  // Samples from kT0+1000 .. kT0+4000 remain; the one of kT0+1000 expires at kT0+4000 (3 s after its event).
  EXPECT_DOUBLE_EQ(r.total(c, kT0 + 4'000), 3);
}

TEST(QuotaThrottle, MatchesKafkasSpikeExample) {
  // Kafka's testQuotaViolation: 500 B/s; 400 B each second for 10 s, then
  // 2,300 B half a second into the 11th window: 6,300 B over 10.5 s = 600 B/s,
  // so (600 - 500) / 500 x 10.5 s = 2,100 ms.
  ClientQuotaManager m(ClientQuotaType::PRODUCE, QuotaWindowConfig{});
  m.update_quota(entity(std::nullopt, kDef), 500);
  int64_t now = kT0;
  for (int i = 0; i < 10; ++i) {
    EXPECT_EQ(m.record_and_get_throttle_ms("ANONYMOUS", "unknown", 400, now), 0);
    now += 1'000;
  }
  now += 500;
  EXPECT_EQ(m.record_and_get_throttle_ms("ANONYMOUS", "unknown", 2'300, now), 2'100);
  now += 2'100;
  // Still above until the spike's sample expires.
  for (int i = 0; i < 10; ++i) {
    m.record_and_get_throttle_ms("ANONYMOUS", "unknown", 400, now);
    now += 1'000;
  }
  EXPECT_EQ(m.record_and_get_throttle_ms("ANONYMOUS", "unknown", 0, now), 0);
}

TEST(QuotaThrottle, BurstAllowanceOfANewClient) {
  // 1 MB/s: a new client may send about 10 s worth before it is throttled.
  ClientQuotaManager m(ClientQuotaType::PRODUCE, QuotaWindowConfig{});
  m.update_quota(entity(n("alice"), std::nullopt), 1'048'576);
  int64_t sent = 0;
  int throttled_at = -1;
  for (int i = 0; i < 20; ++i) {
    sent += 1'048'576;
    if (m.record_and_get_throttle_ms("alice", "app", 1'048'576, kT0 + i) > 0) {
      throttled_at = i;
      break;
    }
  }
  EXPECT_EQ(throttled_at, 10);  // the 11th MiB within the same 20 ms
  EXPECT_EQ(sent, 11 * 1'048'576);
  // Its throttle: (11/10.01 - 1) x 10,010 ms ~ 1 s.
  ClientQuotaManager m2(ClientQuotaType::PRODUCE, QuotaWindowConfig{});
  m2.update_quota(entity(n("alice"), std::nullopt), 1'000);
  EXPECT_EQ(m2.record_and_get_throttle_ms("alice", "x", 11'000, kT0), 1'000);
}

TEST(QuotaThrottle, RequestQuotaIsCappedAtOneWindow) {
  ClientQuotaManager m(ClientQuotaType::REQUEST, QuotaWindowConfig{});
  m.update_quota(entity(n("alice"), std::nullopt), 1);  // 1 % of one thread
  // 500 % over a 10 s window is 50x the quota: uncapped it would be 490 s.
  EXPECT_EQ(m.record_and_get_throttle_ms("alice", "c", 5'000, kT0), 1'000);
}

TEST(QuotaThrottle, UnrecordTakesBackAThrottledFetch) {
  ClientQuotaManager m(ClientQuotaType::FETCH, QuotaWindowConfig{});
  m.update_quota(entity(std::nullopt, n("c")), 100);
  EXPECT_GT(m.record_and_get_throttle_ms("u", "c", 5'000, kT0), 0);
  m.unrecord("u", "c", 5'000, kT0);
  EXPECT_EQ(m.record_and_get_throttle_ms("u", "c", 900, kT0 + 1), 0);
  // The most one fetch may carry: 100 B/s x 10 windows x 1 s.
  EXPECT_DOUBLE_EQ(m.max_value_in_quota_window("u", "c", kT0 + 2), 1'000);
  EXPECT_DOUBLE_EQ(m.max_value_in_quota_window("u", "other", kT0 + 2), DBL_MAX);
}

TEST(QuotaThrottle, DisabledManagerRecordsNothing) {
  ClientQuotaManager m(ClientQuotaType::PRODUCE, QuotaWindowConfig{});
  EXPECT_FALSE(m.quotas_enabled());
  EXPECT_EQ(m.record_and_get_throttle_ms("u", "c", 1e12, kT0), 0);
  EXPECT_EQ(m.sensor_count(), 0u);
  // Once enabled it stays so, even when the override goes again (Kafka's quotasEnabled).
  m.update_quota(entity(n("u"), std::nullopt), 10);
  m.update_quota(entity(n("u"), std::nullopt), std::nullopt);
  EXPECT_TRUE(m.quotas_enabled());
  EXPECT_EQ(m.record_and_get_throttle_ms("u", "c", 1e12, kT0), 0);  // no limit: never throttled
}

TEST(QuotaPrecedence, MostSpecificOverrideWins) {
  ClientQuotaManager m(ClientQuotaType::PRODUCE, QuotaWindowConfig{});
  // One override per level, each with its own value.
  const std::vector<std::pair<ClientQuotaEntity, double>> levels = {
      {entity(n("alice"), n("app")), 1},  // /config/users/alice/clients/app
      {entity(n("alice"), kDef), 2},      // /config/users/alice/clients/<default>
      {entity(n("alice"), std::nullopt), 3},  // /config/users/alice
      {entity(kDef, n("app")), 4},        // /config/users/<default>/clients/app
      {entity(kDef, kDef), 5},            // /config/users/<default>/clients/<default>
      {entity(kDef, std::nullopt), 6},    // /config/users/<default>
      {entity(std::nullopt, n("app")), 7},  // /config/clients/app
      {entity(std::nullopt, kDef), 8},    // /config/clients/<default>
  };
  for (const auto& [e, q] : levels) m.update_quota(e, q);
  for (const auto& [e, q] : levels) {
    ASSERT_EQ(m.quota("alice", "app"), q);
    m.update_quota(e, std::nullopt);  // the next level takes over
  }
  EXPECT_EQ(m.quota("alice", "app"), std::nullopt);
}

TEST(QuotaPrecedence, OtherClientsOnlySeeTheirLevels) {
  ClientQuotaManager m(ClientQuotaType::PRODUCE, QuotaWindowConfig{});
  m.update_quota(entity(n("alice"), n("app")), 1);
  m.update_quota(entity(n("alice"), std::nullopt), 3);
  m.update_quota(entity(std::nullopt, kDef), 8);
  EXPECT_EQ(m.quota("alice", "app"), 1);
  EXPECT_EQ(m.quota("alice", "other"), 3);
  EXPECT_EQ(m.quota("bob", "app"), 8);
  // Sensor keys: alice's clients share the user-level sensor, app has its own.
  EXPECT_EQ(m.metric_tags("alice", "other"), (std::pair<std::string, std::string>{"alice", ""}));
  EXPECT_EQ(m.metric_tags("alice", "app"), (std::pair<std::string, std::string>{"alice", "app"}));
  EXPECT_EQ(m.metric_tags("bob", "x"), (std::pair<std::string, std::string>{"", "x"}));
}

TEST(QuotaPrecedence, SingleLevelTagsShareSensorsAcrossConnections) {
  ClientQuotaManager m(ClientQuotaType::PRODUCE, QuotaWindowConfig{});
  m.update_quota(entity(n("alice"), std::nullopt), 1'000);
  // Two client ids of one user draw on one sensor.
  EXPECT_EQ(m.record_and_get_throttle_ms("alice", "a", 6'000, kT0), 0);
  EXPECT_GT(m.record_and_get_throttle_ms("alice", "b", 6'000, kT0), 0);
  EXPECT_EQ(m.sensor_count(), 1u);
  EXPECT_EQ(m.record_and_get_throttle_ms("bob", "b", 6'000, kT0), 0);  // no limit for bob
}

TEST(QuotaPrecedence, ChangedOverrideAppliesToExistingSensor) {
  ClientQuotaManager m(ClientQuotaType::PRODUCE, QuotaWindowConfig{});
  m.update_quota(entity(std::nullopt, n("c")), 10'000);
  EXPECT_EQ(m.record_and_get_throttle_ms("u", "c", 50'000, kT0), 0);
  m.update_quota(entity(std::nullopt, n("c")), 1'000);
  // 50,001 B over 10 s against 1,000 B/s: (5,000.1 - 1,000) / 1,000 x 10,000 ms.
  EXPECT_EQ(m.record_and_get_throttle_ms("u", "c", 1, kT0), 40'001);
}

TEST(QuotaMutation, StrictRefusesWhileTheBucketIsBelowZero) {
  ClientQuotaManager m(ClientQuotaType::CONTROLLER_MUTATION, QuotaWindowConfig{});
  m.update_quota(entity(n("u"), std::nullopt), 10);  // 10 partitions/s, burst 110
  auto a = m.record_strict_mutation("u", "c", 100, kT0);
  EXPECT_TRUE(a.accepted);
  // 10 tokens left: a mutation larger than that is still accepted (strict
  // only refuses once the bucket is below zero), leaving -20.
  auto b = m.record_strict_mutation("u", "c", 30, kT0);
  EXPECT_TRUE(b.accepted);
  auto c = m.record_strict_mutation("u", "c", 1, kT0);
  EXPECT_FALSE(c.accepted);
  EXPECT_EQ(c.throttle_ms, 2'000);  // 20 tokens at 10/s
  // One second later 10 tokens came back: still -10, 1 s to go.
  auto d = m.record_strict_mutation("u", "c", 1, kT0 + 1'000);
  EXPECT_FALSE(d.accepted);
  EXPECT_EQ(d.throttle_ms, 1'000);
  EXPECT_TRUE(m.record_strict_mutation("u", "c", 1, kT0 + 2'000).accepted);
}

TEST(QuotaMutation, PermissiveAcceptsAndThrottles) {
  ClientQuotaManager m(ClientQuotaType::CONTROLLER_MUTATION, QuotaWindowConfig{});
  m.update_quota(entity(n("u"), std::nullopt), 10);
  auto a = m.record_permissive_mutation("u", "c", 130, kT0);
  EXPECT_TRUE(a.accepted);
  EXPECT_EQ(a.throttle_ms, 2'000);
  EXPECT_EQ(m.record_permissive_mutation("u", "c", 0, kT0 + 2'000).throttle_ms, 0);
}

TEST(QuotaManagers, ApplyRoutesKeysAndSkipsIps) {
  ClientQuotaManagers q(QuotaWindowConfig{}, QuotaWindowConfig{});
  ClientQuotaMap before;
  ClientQuotaMap after;
  after[entity(n("alice"), std::nullopt)] = {{kProducerByteRate, 100}, {kConsumerByteRate, 200}};
  ClientQuotaEntity ip;
  ip.entries[kQuotaEntityIp] = std::string("1.2.3.4");
  after[ip] = {{kConnectionCreationRate, 5}};
  q.apply(before, after);
  EXPECT_EQ(q.produce.quota("alice", "x"), 100);
  EXPECT_EQ(q.fetch.quota("alice", "x"), 200);
  EXPECT_FALSE(q.request.quotas_enabled());
  EXPECT_FALSE(q.controller_mutation.quotas_enabled());
  ClientQuotaMap later;
  later[entity(n("alice"), std::nullopt)] = {{kConsumerByteRate, 300}};
  q.apply(after, later);
  EXPECT_EQ(q.produce.quota("alice", "x"), std::nullopt);
  EXPECT_EQ(q.fetch.quota("alice", "x"), 300);
}

TEST(QuotaJavaText, HashMapOrderAndEntityString) {
  EXPECT_EQ(java_string_hash(""), 0);
  EXPECT_EQ(java_string_hash("user"), 3599307);
  EXPECT_EQ(java_string_hash("client-id"), -1904137635);
  // The values below were printed by a JVM (jshell) for the same maps.
  ClientQuotaEntity e = entity(n("alice"), kDef);
  EXPECT_EQ(quota_entity_to_string(e), "ClientQuotaEntity(entries={client-id=null, user=alice})");
  EXPECT_EQ(java_entity_hash(e), -1807702073);
  // The four quota keys in a HashMap of 4 (capacity 4, then 8 after the 4th put).
  std::vector<std::string> keys = {kProducerByteRate, kConsumerByteRate, kRequestPercentage, kControllerMutationRate};
  std::vector<int32_t> hashes;
  for (const auto& k : keys) hashes.push_back(java_string_hash(k));
  auto order = java_hash_map_order(hashes, static_cast<int64_t>(keys.size()));
  ASSERT_EQ(order.size(), 4u);
  std::vector<std::string> ordered;
  for (size_t i : order) ordered.push_back(keys[i]);
  // new HashMap<>(4) with these puts iterates so (capacity 8 after the 4th put).
  EXPECT_EQ(ordered, (std::vector<std::string>{"producer_byte_rate", "consumer_byte_rate", "controller_mutation_rate", "request_percentage"}));
  // Two keys in a HashMap of 1 or 2: consumer first.
  EXPECT_EQ(java_hash_map_order({hashes[0], hashes[1]}, 1), (std::vector<size_t>{1, 0}));
  EXPECT_EQ(java_hash_map_order({hashes[0], hashes[1]}, 2), (std::vector<size_t>{1, 0}));
}
