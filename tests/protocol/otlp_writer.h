// A minimal protobuf/OTLP writer for tests: builds ExportMetricsServiceRequest
// payloads shaped as librdkafka 2.5+ sends them (resource attributes, one
// scope, gauges and sums with as_double/as_int points).
#pragma once

#include <cstdint>
#include <cstring>
#include <string>
#include <utility>
#include <vector>

namespace flotilla::otlp::testing {

using Bytes = std::vector<uint8_t>;

inline void varint(Bytes& b, uint64_t v) {
  while (v >= 0x80) {
    b.push_back(static_cast<uint8_t>(v | 0x80));
    v >>= 7;
  }
  b.push_back(static_cast<uint8_t>(v));
}
inline void tag(Bytes& b, uint32_t field, uint32_t wire) { varint(b, (uint64_t{field} << 3) | wire); }
inline void len(Bytes& b, uint32_t field, const Bytes& v) {
  tag(b, field, 2);
  varint(b, v.size());
  b.insert(b.end(), v.begin(), v.end());
}
inline void str(Bytes& b, uint32_t field, const std::string& s) { len(b, field, Bytes(s.begin(), s.end())); }
inline void fixed64(Bytes& b, uint32_t field, uint64_t v) {
  tag(b, field, 1);
  for (int i = 0; i < 8; ++i) b.push_back(static_cast<uint8_t>(v >> (8 * i)));
}
inline void dbl(Bytes& b, uint32_t field, double d) {
  uint64_t v;
  std::memcpy(&v, &d, 8);
  fixed64(b, field, v);
}

inline Bytes key_value(const std::string& k, const std::string& v) {
  Bytes any, kv;
  str(any, 1, v);
  str(kv, 1, k);
  len(kv, 2, any);
  return kv;
}

struct Point {
  double value;
  bool is_int = false;
  std::vector<std::pair<std::string, std::string>> attributes = {};
};
struct MetricSpec {
  std::string name;
  bool sum = false;  // else gauge
  std::vector<Point> points;
};

inline Bytes metric(const MetricSpec& m, uint64_t time_ns) {
  Bytes data;
  for (const auto& p : m.points) {
    Bytes dp;
    for (const auto& [k, v] : p.attributes) len(dp, 7, key_value(k, v));
    fixed64(dp, 2, time_ns - 1000);
    fixed64(dp, 3, time_ns);
    if (p.is_int) fixed64(dp, 6, static_cast<uint64_t>(static_cast<int64_t>(p.value)));
    else dbl(dp, 4, p.value);
    len(data, 1, dp);
  }
  if (m.sum) {
    tag(data, 2, 0), varint(data, 1);  // delta
    tag(data, 3, 0), varint(data, 1);  // monotonic
  }
  Bytes out;
  str(out, 1, m.name);
  str(out, 3, "1");
  len(out, m.sum ? 7 : 5, data);
  return out;
}

inline Bytes export_request(const std::vector<std::pair<std::string, std::string>>& resource, const std::vector<MetricSpec>& metrics,
                            uint64_t time_ns = 1700000000000000000ull) {
  Bytes res;
  for (const auto& [k, v] : resource) len(res, 1, key_value(k, v));
  Bytes scope;
  str(scope, 1, "librdkafka");
  Bytes sm;
  len(sm, 1, scope);
  for (const auto& m : metrics) len(sm, 2, metric(m, time_ns));
  Bytes rm;
  len(rm, 1, res);
  len(rm, 2, sm);
  Bytes req;
  len(req, 1, rm);
  return req;
}

// The shape of a librdkafka 2.5 producer's push.
inline Bytes librdkafka_producer_push() {
  return export_request(
      {{"client_rack", ""}, {"transactional_id", ""}, {"client_id", "rdkafka"}},
      {{"org.apache.kafka.producer.node.request.latency.avg", false, {{1.5, false, {{"node.id", "1"}}}}},
       {"org.apache.kafka.producer.node.request.latency.max", false, {{7.0, false, {{"node.id", "1"}}}}},
       {"org.apache.kafka.producer.connection.creation.rate", false, {{0.25}}},
       {"org.apache.kafka.producer.connection.creation.total", true, {{3, true}}},
       {"org.apache.kafka.producer.record.queue.time.avg", false, {{0.8}}},
       {"org.apache.kafka.producer.record.queue.time.max", false, {{2.0}}},
       {"org.apache.kafka.producer.produce.throttle.time.avg", false, {{0.0}}}});
}

}  // namespace flotilla::otlp::testing
