// The broker's quota plumbing: replication throttles read from an image's
// configs (Kafka's parseThrottledPartitions, the broker's own rate over the
// cluster default, SimpleRate), and ClientQuotas following the image's
// client quotas and throttling a request's response.
#include <gtest/gtest.h>

#include "broker/client_quotas.h"
#include "broker/replication_quota.h"
#include "metadata/delta.h"

using namespace flotilla;
using namespace flotilla::broker;

namespace quotas_test {

std::shared_ptr<const metadata::MetadataImage> with_configs(std::vector<msg::ConfigRecord> records,
                                                            std::vector<msg::ClientQuotaRecord> quotas = {}) {
  metadata::MetadataDelta d(std::make_shared<const metadata::MetadataImage>());
  for (const auto& r : records) d.replay(r);
  for (const auto& q : quotas) d.replay(q);
  d.set_offset(1, 1);
  return d.apply();
}

msg::ConfigRecord config_record(metadata::ConfigResourceType type, const std::string& name, const std::string& key, const std::string& value) {
  msg::ConfigRecord r;
  r.resource_type = static_cast<int8_t>(type);
  r.resource_name = name;
  r.name = key;
  r.value = value;
  return r;
}

}  // namespace quotas_test

using namespace quotas_test;

TEST(ReplicationQuota, ParsesThrottledReplicasForThisBroker) {
  auto p = ReplicationQuota::parse_throttled_replicas("0:1, 1:2,2:1 ,x:1,3", 1);
  ASSERT_TRUE(p.has_value());
  EXPECT_EQ(*p, (std::set<int32_t>{0, 2}));
  EXPECT_FALSE(ReplicationQuota::parse_throttled_replicas(" * ", 7).has_value());  // every replica
  EXPECT_TRUE(ReplicationQuota::parse_throttled_replicas("", 1)->empty());
}

TEST(ReplicationQuota, RateAndReplicasFromTheImage) {
  using T = metadata::ConfigResourceType;
  ReplicationQuota q("leader.replication.throttled.rate", "leader.replication.throttled.replicas", security::QuotaWindowConfig{});
  auto img = with_configs({config_record(T::BROKER, "", "leader.replication.throttled.rate", "5000"),
                           config_record(T::BROKER, "1", "leader.replication.throttled.rate", "1000"),
                           config_record(T::TOPIC, "a", "leader.replication.throttled.replicas", "0:1,1:2"),
                           config_record(T::TOPIC, "b", "leader.replication.throttled.replicas", "*"),
                           config_record(T::TOPIC, "c", "leader.replication.throttled.replicas", "0:2")});
  q.update(*img, 1);
  EXPECT_EQ(q.rate(), 1000);  // the broker's own value beats the default
  EXPECT_TRUE(q.is_throttled("a", 0));
  EXPECT_FALSE(q.is_throttled("a", 1));
  EXPECT_TRUE(q.is_throttled("b", 42));
  EXPECT_FALSE(q.is_throttled("c", 0));
  q.update(*img, 3);
  EXPECT_EQ(q.rate(), 5000);  // the cluster default
  EXPECT_FALSE(q.is_throttled("a", 0));
  q.update(*with_configs({}), 1);
  EXPECT_EQ(q.rate(), std::nullopt);
  EXPECT_FALSE(q.any_throttled());
}

TEST(ReplicationQuota, SimpleRateAgainstTheBound) {
  using T = metadata::ConfigResourceType;
  ReplicationQuota q("follower.replication.throttled.rate", "follower.replication.throttled.replicas", security::QuotaWindowConfig{});
  q.update(*with_configs({config_record(T::BROKER, "1", "follower.replication.throttled.rate", "1000")}), 1);
  const int64_t t0 = 500'000;
  q.record(900, t0);
  EXPECT_FALSE(q.is_quota_exceeded(t0));  // 900 B over the one-window minimum
  q.record(200, t0 + 10);
  EXPECT_TRUE(q.is_quota_exceeded(t0 + 10));  // 1,100 B/s
  EXPECT_FALSE(q.is_quota_exceeded(t0 + 1'200));  // 1,100 B over 1.2 s
}

TEST(ClientQuotasBroker, FollowsTheImageAndThrottlesResponses) {
  msg::ClientQuotaRecord r;
  r.entity.push_back({"client-id", std::string("app")});
  r.key = "producer_byte_rate";
  r.value = 1000;
  auto img = with_configs({}, {r});
  ClientQuotas q(ClientQuotaConfig{1, {}, {}, {}});
  q.publish(metadata::MetadataDelta::everything(img), img);
  EXPECT_EQ(q.managers().produce.quota("anyone", "app"), 1000);

  net::Request req;
  req.session = std::make_shared<const security::Session>();
  req.client_id = "app";
  q.begin(req);
  // 11,000 B against 1,000 B/s over the ~10 s a new client is measured on: ~1 s.
  int32_t t = q.record_produce(req, 11'000);
  EXPECT_GE(t, 990);
  EXPECT_LE(t, 1'010);
  EXPECT_EQ(req.throttle_time_ms, t);
  // The response announces it (no request quota set: nothing more).
  EXPECT_EQ(q.on_response(req), t);
  EXPECT_TRUE(req.accounted);

  // Another client id is not limited.
  net::Request other;
  other.session = req.session;
  other.client_id = "other";
  EXPECT_EQ(q.record_produce(other, 1'000'000), 0);

  // Removing the quota (a delta that changed it) lifts the limit.
  metadata::MetadataDelta d(img);
  r.remove = true;
  d.replay(r);
  auto next = d.apply();
  q.publish(d, next);
  EXPECT_EQ(q.managers().produce.quota("anyone", "app"), std::nullopt);
}

TEST(ClientQuotasBroker, RequestTimeAndFetchQuotas) {
  auto quota = [](const std::string& key, double v) {
    msg::ClientQuotaRecord r;
    r.entity.push_back({"user", std::string("alice")});
    r.key = key;
    r.value = v;
    return r;
  };
  auto img = with_configs({}, {quota("request_percentage", 0.1), quota("consumer_byte_rate", 100)});
  ClientQuotas q(ClientQuotaConfig{1, {}, {}, {}});
  q.publish(metadata::MetadataDelta::everything(img), img);
  auto alice = std::make_shared<security::Session>();
  alice->principal.name = "alice";

  // 200 ms of handler time = 20 % of a thread's second, measured over ~10 s:
  // 2 % against 0.1 %: throttled, capped at one window (1 s).
  net::Request req;
  req.session = alice;
  q.begin(req);
  req.handler_us = 200'000;
  EXPECT_EQ(q.on_response(req), 1'000);
  EXPECT_EQ(q.on_response(req), 1'000);  // accounted once; the throttle stays

  // Fetch: a consumer is capped at 100 B/s x 10 windows per response, and a
  // response over the quota is throttled (its bytes taken back).
  net::Request fetch;
  fetch.session = alice;
  q.begin(fetch);
  ClientQuotas::exempt(fetch);  // leave the request quota out of this one
  EXPECT_EQ(q.max_fetch_bytes(fetch), 1'000);
  EXPECT_GT(q.record_fetch(fetch, 5'000), 0);
  net::Request again;
  again.session = alice;
  q.begin(again);
  ClientQuotas::exempt(again);
  EXPECT_EQ(q.record_fetch(again, 900), 0);  // the 5,000 B were taken back
}
