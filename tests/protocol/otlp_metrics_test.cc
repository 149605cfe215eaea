#include <gtest/gtest.h>

#include <random>

#include "common/bytes.h"
#include "otlp_writer.h"
#include "protocol/otlp_metrics.h"
#include "protocol/protobuf_wire.h"

using namespace flotilla;
using namespace flotilla::otlp;
using namespace flotilla::otlp::testing;

namespace otlp_test {
const Metric* find(const MetricsData& d, const std::string& name) {
  for (const auto& m : d.metrics)
    if (m.name == name) return &m;
  return nullptr;
}
}  // namespace otlp_test
using otlp_test::find;

TEST(ProtobufWire, ReadsEveryWireTypeAndRefusesBadOnes) {
  Bytes b;
  tag(b, 1, 0), varint(b, 300);
  fixed64(b, 2, 0x0102030405060708ull);
  str(b, 3, "abc");
  tag(b, 4, 5), b.insert(b.end(), {1, 0, 0, 0});
  protobuf::Reader r(b);
  protobuf::Field f;
  ASSERT_TRUE(r.next(f));
  EXPECT_EQ(f.number, 1u);
  EXPECT_EQ(f.varint, 300u);
  ASSERT_TRUE(r.next(f));
  EXPECT_EQ(f.varint, 0x0102030405060708ull);
  ASSERT_TRUE(r.next(f));
  EXPECT_EQ(f.as_string(), "abc");
  ASSERT_TRUE(r.next(f));
  EXPECT_EQ(f.type, protobuf::WireType::FIXED32);
  EXPECT_EQ(f.varint, 1u);
  EXPECT_FALSE(r.next(f));

  for (Bytes bad : {Bytes{0x0b},                                           // wire type 3 (group)
                    Bytes{0x00, 0x01},                                     // field number 0
                    Bytes{0x08, 0x80},                                     // truncated varint
                    Bytes{0x08, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01},  // 11-byte varint
                    Bytes{0x12, 0x05, 'a'},                                // length beyond the end
                    Bytes{0x11, 1, 2, 3}}) {                               // truncated fixed64
    protobuf::Reader br(bad);
    EXPECT_THROW(
        {
          while (br.next(f)) {
          }
        },
        DecodeError);
  }
}

TEST(OtlpMetrics, DecodesALibrdkafkaShapedPush) {
  Bytes payload = librdkafka_producer_push();
  MetricsData d = decode_otlp_metrics(payload);
  ASSERT_EQ(d.metrics.size(), 7u);
  ASSERT_EQ(d.resource_attributes.size(), 3u);
  EXPECT_EQ(d.resource_attributes[2], (std::pair<std::string, std::string>{"client_id", "rdkafka"}));
  const Metric* lat = find(d, "org.apache.kafka.producer.node.request.latency.avg");
  ASSERT_NE(lat, nullptr);
  EXPECT_EQ(lat->kind, MetricKind::GAUGE);
  ASSERT_EQ(lat->points.size(), 1u);
  EXPECT_DOUBLE_EQ(lat->points[0].value, 1.5);
  EXPECT_EQ(lat->points[0].time_unix_nano, 1700000000000000000ull);
  ASSERT_EQ(lat->points[0].attributes.size(), 1u);
  EXPECT_EQ(lat->points[0].attributes[0].first, "node.id");
  EXPECT_EQ(lat->points[0].attributes[0].second, "1");
  const Metric* total = find(d, "org.apache.kafka.producer.connection.creation.total");
  ASSERT_NE(total, nullptr);
  EXPECT_EQ(total->kind, MetricKind::SUM);
  EXPECT_TRUE(total->monotonic);
  EXPECT_EQ(total->temporality, 1);
  EXPECT_TRUE(total->points[0].is_int);
  EXPECT_EQ(total->points[0].int_value, 3);
  EXPECT_NE(find(d, "org.apache.kafka.producer.record.queue.time.avg"), nullptr);
}

TEST(OtlpMetrics, EmptyPayloadIsNoMetrics) {
  EXPECT_TRUE(decode_otlp_metrics({}).metrics.empty());
}

TEST(OtlpMetrics, EveryTruncationIsADecodeErrorOrAPrefixNeverACrash) {
  Bytes payload = librdkafka_producer_push();
  size_t errors = 0;
  for (size_t n = 0; n < payload.size(); ++n) {
    try {
      MetricsData d = decode_otlp_metrics(std::span<const uint8_t>(payload.data(), n));
      EXPECT_LE(d.metrics.size(), 7u);
    } catch (const DecodeError&) {
      ++errors;
    }
  }
  // Cutting inside the one top-level ResourceMetrics always breaks its length.
  EXPECT_EQ(errors, payload.size() - 1);
}

TEST(OtlpMetrics, GarbageAndMutationsNeverCrash) {
  std::mt19937 rng(714);
  Bytes base = librdkafka_producer_push();
  for (int i = 0; i < 20000; ++i) {
    Bytes b;
    if (i % 2) {
      b.resize(rng() % 200);
      for (auto& x : b) x = static_cast<uint8_t>(rng());
    } else {
      b = base;
      for (int k = 0; k < 1 + int(rng() % 4); ++k) b[rng() % b.size()] = static_cast<uint8_t>(rng());
    }
    try {
      decode_otlp_metrics(b);
    } catch (const DecodeError&) {
    }
  }
  SUCCEED();
}

TEST(OtlpMetrics, WrongWireTypeForAKnownFieldIsADecodeError) {
  Bytes rm;
  tag(rm, 1, 0), varint(rm, 5);  // ResourceMetrics as a varint
  EXPECT_THROW(decode_otlp_metrics(rm), DecodeError);
}

TEST(OtlpMetrics, LimitsBoundWhatAPayloadDecodesInto) {
  std::vector<MetricSpec> many;
  for (int i = 0; i < 50; ++i) many.push_back({"m" + std::to_string(i), false, {{1.0}}});
  Bytes payload = export_request({}, many);
  EXPECT_EQ(decode_otlp_metrics(payload).metrics.size(), 50u);
  EXPECT_THROW(decode_otlp_metrics(payload, Limits{10, 1000}), DecodeError);
  EXPECT_THROW(decode_otlp_metrics(payload, Limits{1000, 10}), DecodeError);
  Bytes attributed = librdkafka_producer_push();  // 3 resource + 2 point attributes
  EXPECT_NO_THROW(decode_otlp_metrics(attributed, Limits{1000, 1000, 5}));
  EXPECT_THROW(decode_otlp_metrics(attributed, Limits{1000, 1000, 4}), DecodeError);
}
