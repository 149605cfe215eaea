// What a client pushes with PushTelemetry (KIP-714): an OpenTelemetry
// ExportMetricsServiceRequest (OTLP metrics, protobuf), decoded with
// protocol/protobuf_wire.h into the parts the broker keeps: the resource's
// attributes, and per metric its name, kind and data points (value, time,
// attributes). Gauges and sums carry as_double or as_int; a histogram or
// summary point is kept as its sum (with its count in `count`); exemplars,
// units, descriptions and scope attributes are skipped.
//
// Invariants: decode_otlp_metrics throws DecodeError on any malformed input
// (never reads outside the payload) and refuses payloads that would decode
// into more than `max_metrics` metrics, `max_points` data points or
// `max_attributes` attributes (resource and points together), so what a
// client sends cannot make the node allocate more than a bounded multiple of
// the payload's size. Unknown fields are skipped (forward compatible).
//
// Threading: pure functions.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <utility>
#include <vector>

namespace flotilla::otlp {

using Attributes = std::vector<std::pair<std::string, std::string>>;  // values rendered as text

struct DataPoint {
  Attributes attributes;
  uint64_t start_time_unix_nano = 0;
  uint64_t time_unix_nano = 0;
  double value = 0;        // as_double, as_int converted, or a histogram/summary's sum
  bool is_int = false;     // the point carried as_int
  int64_t int_value = 0;   // as_int, when is_int
  uint64_t count = 0;      // histogram/summary points
};

enum class MetricKind : uint8_t { UNKNOWN, GAUGE, SUM, HISTOGRAM, EXPONENTIAL_HISTOGRAM, SUMMARY };
const char* kind_name(MetricKind k);

struct Metric {
  std::string name;
  std::string unit;
  MetricKind kind = MetricKind::UNKNOWN;
  bool monotonic = false;           // SUM
  int32_t temporality = 0;          // SUM/HISTOGRAM: 1 delta, 2 cumulative
  std::vector<DataPoint> points;
};

struct MetricsData {
  Attributes resource_attributes;   // of every ResourceMetrics, in order
  std::vector<Metric> metrics;      // of every scope of every resource, in order
};

struct Limits {
  size_t max_metrics = 10000;
  size_t max_points = 100000;
  size_t max_attributes = 100000;
};

MetricsData decode_otlp_metrics(std::span<const uint8_t> payload, const Limits& limits = {});

}  // namespace flotilla::otlp
