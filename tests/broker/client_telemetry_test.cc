// Client telemetry (KIP-714): the client-metrics config validation shared by
// the controller and the broker, ClientTelemetry's answers to
// GetTelemetrySubscriptions and PushTelemetry (Kafka's ClientMetricsManager),
// and the bounded ClientMetricsStore.
#include <gtest/gtest.h>

#include "../protocol/otlp_writer.h"
#include "broker/client_telemetry.h"
#include "metadata/client_metrics_config.h"
#include "metadata/delta.h"
#include "protocol/compression.h"

using namespace flotilla;
using namespace flotilla::broker;
using namespace flotilla::otlp::testing;

namespace telemetry_test {

std::shared_ptr<const metadata::MetadataImage> with_subscriptions(const std::map<std::string, metadata::ConfigMap>& subs) {
  metadata::MetadataDelta d(std::make_shared<const metadata::MetadataImage>());
  for (const auto& [name, configs] : subs)
    for (const auto& [k, v] : configs) {
      msg::ConfigRecord r;
      r.resource_type = 16;
      r.resource_name = name;
      r.name = k;
      r.value = v;
      d.replay(r);
    }
  d.set_offset(1, 1);
  return d.apply();
}

TelemetryRequestContext ctx(const std::string& client_id = "producer-1") { return {client_id, 7, "127.0.0.1:50123"}; }

msg::GetTelemetrySubscriptionsResponse get(ClientTelemetry& t, Uuid id, int64_t now, const TelemetryRequestContext& c = ctx()) {
  msg::GetTelemetrySubscriptionsRequest r;
  r.client_instance_id = id;
  return t.get_subscriptions(r, c, now);
}

msg::PushTelemetryRequest push_of(const msg::GetTelemetrySubscriptionsResponse& s, Bytes payload, int8_t compression = 0) {
  msg::PushTelemetryRequest p;
  p.client_instance_id = s.client_instance_id;
  p.subscription_id = s.subscription_id;
  p.compression_type = compression;
  p.metrics = std::move(payload);
  return p;
}

}  // namespace telemetry_test

using namespace telemetry_test;

TEST(ClientMetricsConfig, ValidatesAsKafka) {
  using metadata::validate_client_metrics_configs;
  EXPECT_EQ(validate_client_metrics_configs("s", {{"metrics", "org.apache.kafka.producer."}, {"interval.ms", "1000"}}).error,
            ErrorCode::NONE);
  EXPECT_EQ(validate_client_metrics_configs("s", {}).error, ErrorCode::NONE);
  auto v = validate_client_metrics_configs("", {{"interval.ms", "1000"}});
  EXPECT_EQ(v.error, ErrorCode::INVALID_REQUEST);
  EXPECT_EQ(v.message, "Subscription name can't be empty");
  v = validate_client_metrics_configs("s", {{"retention.ms", "1"}});
  EXPECT_EQ(v.error, ErrorCode::INVALID_REQUEST);
  EXPECT_EQ(v.message, "Unknown client metrics configuration: retention.ms");
  v = validate_client_metrics_configs("s", {{"interval.ms", "99"}});
  EXPECT_EQ(v.error, ErrorCode::INVALID_REQUEST);
  EXPECT_EQ(v.message, "Invalid value 99 for interval.ms, interval must be between 100 and 3600000 (1 hour)");
  EXPECT_EQ(validate_client_metrics_configs("s", {{"interval.ms", "3600001"}}).error, ErrorCode::INVALID_REQUEST);
  EXPECT_EQ(validate_client_metrics_configs("s", {{"interval.ms", "3600000"}}).error, ErrorCode::NONE);
  v = validate_client_metrics_configs("s", {{"interval.ms", "abc"}});
  EXPECT_EQ(v.error, ErrorCode::INVALID_CONFIG);
  EXPECT_EQ(v.message, "Invalid value abc for configuration interval.ms: Not a number of type INT");
  EXPECT_EQ(validate_client_metrics_configs("s", {{"match", "client_id=producer-.*,client_software_name=librdkafka"}}).error, ErrorCode::NONE);
  v = validate_client_metrics_configs("s", {{"match", "client_idx=a"}});
  EXPECT_EQ(v.error, ErrorCode::INVALID_CONFIG);
  EXPECT_EQ(v.message, "Illegal client matching pattern: client_idx=a");
  EXPECT_EQ(validate_client_metrics_configs("s", {{"match", "client_id=a=b"}}).error, ErrorCode::INVALID_CONFIG);
  EXPECT_EQ(validate_client_metrics_configs("s", {{"match", "client_id="}}).error, ErrorCode::INVALID_CONFIG);
  EXPECT_EQ(validate_client_metrics_configs("s", {{"match", "client_id=(unclosed"}}).error, ErrorCode::INVALID_CONFIG);
}

TEST(ClientTelemetry, NewClientGetsAnIdAndWithoutSubscriptionNoMetricsAndTheDefaultInterval) {
  ClientMetricsStore store;
  ClientTelemetry t({}, &store);
  t.refresh(*with_subscriptions({}));
  auto r = get(t, Uuid{}, 1000000);
  EXPECT_EQ(r.error_code, 0);
  EXPECT_FALSE(r.client_instance_id.is_zero());
  EXPECT_TRUE(r.requested_metrics.empty());
  EXPECT_EQ(r.push_interval_ms, 300000);
  EXPECT_EQ(r.telemetry_max_bytes, 1048576);
  EXPECT_TRUE(r.delta_temporality);
  EXPECT_EQ(r.accepted_compression_types, (std::vector<int8_t>{4, 3, 1, 2}));  // zstd, lz4, gzip, snappy
  // The same client asking again within the interval is throttled.
  EXPECT_EQ(get(t, r.client_instance_id, 1000500).error_code, code(ErrorCode::THROTTLING_QUOTA_EXCEEDED));
  EXPECT_EQ(get(t, r.client_instance_id, 1300000).error_code, 0);
}

TEST(ClientTelemetry, MatchingSubscriptionsAreUnitedWithTheSmallestInterval) {
  ClientMetricsStore store;
  ClientTelemetry t({}, &store);
  t.refresh(*with_subscriptions({{"a", {{"metrics", "org.apache.kafka.producer."}, {"interval.ms", "1000"}}},
                                 {"b", {{"metrics", "org.apache.kafka.consumer."}, {"interval.ms", "500"}, {"match", "client_id=consumer-.*"}}},
                                 {"c", {{"metrics", "org.apache.kafka.client."}, {"interval.ms", "2000"}, {"match", "client_id=producer-.*"}}}}));
  EXPECT_EQ(t.subscription_names(), (std::vector<std::string>{"a", "b", "c"}));
  auto r = get(t, Uuid{}, 1000000);
  EXPECT_EQ(r.requested_metrics, (std::vector<std::string>{"org.apache.kafka.client.", "org.apache.kafka.producer."}));
  EXPECT_EQ(r.push_interval_ms, 1000);
  auto c = get(t, Uuid{}, 1000000, ctx("consumer-1"));
  EXPECT_EQ(c.requested_metrics, (std::vector<std::string>{"org.apache.kafka.consumer.", "org.apache.kafka.producer."}));
  EXPECT_EQ(c.push_interval_ms, 500);
  EXPECT_NE(r.subscription_id, c.subscription_id);
  // "*" anywhere: all metrics.
  t.refresh(*with_subscriptions({{"a", {{"metrics", "*"}}}, {"b", {{"metrics", "x."}}}}));
  auto all = get(t, r.client_instance_id, 1000001);  // subscriptions changed: re-evaluated, not throttled
  EXPECT_EQ(all.error_code, 0);
  EXPECT_EQ(all.requested_metrics, (std::vector<std::string>{"*"}));
  EXPECT_NE(all.subscription_id, r.subscription_id);
}

TEST(ClientTelemetry, SoftwareNameSelectorsUseApiVersions) {
  ClientMetricsStore store;
  ClientTelemetry t({}, &store);
  t.refresh(*with_subscriptions({{"rd", {{"metrics", "org."}, {"match", "client_software_name=librdkafka"}}}}));
  EXPECT_TRUE(get(t, Uuid{}, 1000000).requested_metrics.empty());  // unknown software: no match
  t.note_client_software(7, "librdkafka", "2.5.0");
  EXPECT_EQ(get(t, Uuid{}, 1000000).requested_metrics, (std::vector<std::string>{"org."}));
}

TEST(ClientTelemetry, PushesAreDecodedIntoTheStore) {
  ClientMetricsStore store;
  ClientTelemetry t({}, &store);
  t.refresh(*with_subscriptions({{"all", {{"metrics", "org.apache.kafka."}, {"interval.ms", "1000"}}}}));
  auto s = get(t, Uuid{}, 1000000);
  Bytes payload = librdkafka_producer_push();
  auto zipped = records::compress(records::Compression::GZIP, payload);
  EXPECT_EQ(t.push(push_of(s, zipped, 1), ctx(), 1000100).error_code, 0);  // right after a Get: accepted
  auto m = store.client_metrics(s.client_instance_id);
  ASSERT_TRUE(m.has_value());
  EXPECT_EQ(m->client.client_id, "producer-1");
  EXPECT_EQ(m->client.source_address, "127.0.0.1");
  EXPECT_EQ(m->pushes, 1u);
  bool found = false;
  for (const auto& v : m->metrics) found |= v.name == "org.apache.kafka.producer.record.queue.time.avg" && v.value == 0.8;
  EXPECT_TRUE(found);
  // Faster than the interval: throttled; after it: accepted (zstd this time).
  EXPECT_EQ(t.push(push_of(s, payload), ctx(), 1000500).error_code, code(ErrorCode::THROTTLING_QUOTA_EXCEEDED));
  EXPECT_EQ(t.push(push_of(s, records::compress(records::Compression::ZSTD, payload), 4), ctx(), 1001200).error_code, 0);
  EXPECT_EQ(store.client_metrics(s.client_instance_id)->pushes, 2u);
}

TEST(ClientTelemetry, PushErrorsAsKafka) {
  ClientMetricsStore store;
  ClientTelemetryConfig cfg;
  cfg.telemetry_max_bytes = 64;
  ClientTelemetry t(cfg, &store);
  t.refresh(*with_subscriptions({{"all", {{"metrics", "*"}, {"interval.ms", "100"}}}}));
  int64_t now = 1000000;
  auto s = get(t, Uuid{}, now);
  auto p = push_of(s, Bytes(10, 0));
  p.subscription_id ^= 1;
  EXPECT_EQ(t.push(p, ctx(), now += 1000).error_code, code(ErrorCode::UNKNOWN_SUBSCRIPTION_ID));
  p = push_of(s, Bytes(65, 0));
  EXPECT_EQ(t.push(p, ctx(), now += 1000).error_code, code(ErrorCode::TELEMETRY_TOO_LARGE));
  p = push_of(s, Bytes(10, 0), 9);
  EXPECT_EQ(t.push(p, ctx(), now += 1000).error_code, code(ErrorCode::UNSUPPORTED_COMPRESSION_TYPE));
  // Garbage, or a codec frame that does not decompress: INVALID_RECORD.
  EXPECT_EQ(t.push(push_of(s, Bytes{0x0b, 0x01}), ctx(), now += 1000).error_code, code(ErrorCode::INVALID_RECORD));
  EXPECT_EQ(t.push(push_of(s, Bytes{1, 2, 3, 4}, 4), ctx(), now += 1000).error_code, code(ErrorCode::INVALID_RECORD));
  EXPECT_EQ(t.push(push_of(s, Bytes{1, 2, 3, 4}, 1), ctx(), now += 1000).error_code, code(ErrorCode::INVALID_RECORD));
  // The zero or reserved id: INVALID_REQUEST.
  p = push_of(s, {});
  p.client_instance_id = Uuid{};
  EXPECT_EQ(t.push(p, ctx(), now += 1000).error_code, code(ErrorCode::INVALID_REQUEST));
  // An empty push is fine; a terminating one too, even early; nothing after it.
  EXPECT_EQ(t.push(push_of(s, {}), ctx(), now += 1000).error_code, 0);
  p = push_of(s, {});
  p.terminating = true;
  EXPECT_EQ(t.push(p, ctx(), now += 1).error_code, 0);
  EXPECT_EQ(t.push(push_of(s, {}), ctx(), now += 1000).error_code, code(ErrorCode::INVALID_REQUEST));
  EXPECT_EQ(store.size(), 0u);  // nothing decodable was pushed
}

TEST(ClientTelemetry, InstancesAreBounded) {
  ClientMetricsStore store;
  ClientTelemetryConfig cfg;
  cfg.max_instances = 3;
  ClientTelemetry t(cfg, &store);
  t.refresh(*with_subscriptions({}));
  auto first = get(t, Uuid{}, 1000000);
  for (int i = 0; i < 3; ++i) get(t, Uuid{}, 1000000);
  // The first was evicted: it is new again, so not throttled.
  EXPECT_EQ(get(t, first.client_instance_id, 1000001).error_code, 0);
}

TEST(ClientMetricsStore, BoundsClientsAndSeries) {
  ClientMetricsStore store(2, 3);
  otlp::MetricsData d;
  for (int i = 0; i < 5; ++i) {
    otlp::Metric m;
    m.name = "m" + std::to_string(i);
    m.kind = otlp::MetricKind::GAUGE;
    m.points.push_back(otlp::DataPoint{{}, 0, 1, double(i)});
    d.metrics.push_back(m);
  }
  TelemetryClientInfo a{Uuid{1, 1}}, b{Uuid{1, 2}}, c{Uuid{1, 3}};
  store.record(a, d, 1);
  auto ma = store.client_metrics(a.client_instance_id);
  ASSERT_TRUE(ma);
  EXPECT_EQ(ma->metrics.size(), 3u);
  store.record(b, d, 2);
  store.record(a, d, 3);  // a is the most recent now
  store.record(c, d, 4);  // evicts b
  EXPECT_EQ(store.size(), 2u);
  EXPECT_FALSE(store.client_metrics(b.client_instance_id));
  EXPECT_TRUE(store.client_metrics(a.client_instance_id));
  EXPECT_TRUE(store.client_metrics(c.client_instance_id));
}
