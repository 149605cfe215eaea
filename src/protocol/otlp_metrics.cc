#include "protocol/otlp_metrics.h"

#include <cstdio>

#include "common/bytes.h"
#include "protocol/protobuf_wire.h"

namespace flotilla::otlp {

using protobuf::Field;
using protobuf::Reader;
using protobuf::WireType;

namespace {

// Field numbers of opentelemetry/proto/{collector/metrics/v1,metrics/v1,common/v1,resource/v1}.
struct Budget {
  const Limits& limits;
  size_t metrics = 0, points = 0, attributes = 0;
  void attribute() {
    if (++attributes > limits.max_attributes) throw DecodeError("otlp: too many attributes");
  }
};

void expect(const Field& f, WireType t) {
  if (f.type != t) throw DecodeError("otlp: field " + std::to_string(f.number) + " has the wrong wire type");
}

std::string render_double(double d) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.17g", d);
  return buf;
}

// AnyValue as text: string, bool, int, double; arrays and lists as "[...]" of their parts; bytes as their length.
std::string any_value(std::span<const uint8_t> bytes, int depth) {
  if (depth > 8) throw DecodeError("otlp: attribute values nested too deep");
  Reader r(bytes);
  Field f;
  std::string out;
  while (r.next(f)) {
    switch (f.number) {
      case 1: expect(f, WireType::LEN); out = f.as_string(); break;
      case 2: expect(f, WireType::VARINT); out = f.varint ? "true" : "false"; break;
      case 3: expect(f, WireType::VARINT); out = std::to_string(f.as_int64()); break;
      case 4: expect(f, WireType::FIXED64); out = render_double(f.as_double()); break;
      case 5: {  // ArrayValue { repeated AnyValue values = 1; }
        expect(f, WireType::LEN);
        Reader a(f.bytes);
        Field v;
        out = "[";
        bool first = true;
        while (a.next(v))
          if (v.number == 1) {
            expect(v, WireType::LEN);
            out += (first ? "" : ",") + any_value(v.bytes, depth + 1);
            first = false;
          }
        out += "]";
        break;
      }
      case 6: {  // KeyValueList { repeated KeyValue values = 1; }
        expect(f, WireType::LEN);
        Reader a(f.bytes);
        Field v;
        out = "{";
        bool first = true;
        while (a.next(v))
          if (v.number == 1) {
            expect(v, WireType::LEN);
            Reader kv(v.bytes);
            Field x;
            std::string k, val;
            while (kv.next(x)) {
              if (x.number == 1) expect(x, WireType::LEN), k = x.as_string();
              if (x.number == 2) expect(x, WireType::LEN), val = any_value(x.bytes, depth + 1);
            }
            out += (first ? "" : ",") + k + "=" + val;
            first = false;
          }
        out += "}";
        break;
      }
      case 7: expect(f, WireType::LEN); out = "<" + std::to_string(f.bytes.size()) + " bytes>"; break;
      default: break;
    }
  }
  return out;
}

// KeyValue { string key = 1; AnyValue value = 2; }
std::pair<std::string, std::string> key_value(std::span<const uint8_t> bytes) {
  Reader r(bytes);
  Field f;
  std::pair<std::string, std::string> kv;
  while (r.next(f)) {
    if (f.number == 1) expect(f, WireType::LEN), kv.first = f.as_string();
    else if (f.number == 2) expect(f, WireType::LEN), kv.second = any_value(f.bytes, 0);
  }
  return kv;
}

// NumberDataPoint { attributes = 7; start_time_unix_nano fixed64 = 2; time_unix_nano fixed64 = 3;
//   as_double double = 4; as_int sfixed64 = 6; }
// HistogramDataPoint / ExponentialHistogramDataPoint / SummaryDataPoint: attributes 9 (1 for the
// exponential one: 1), start 2, time 3, count fixed64 4, sum double 5.
DataPoint data_point(std::span<const uint8_t> bytes, MetricKind kind, Budget& budget) {
  Reader r(bytes);
  Field f;
  DataPoint p;
  const bool number = kind == MetricKind::GAUGE || kind == MetricKind::SUM;
  const uint32_t attributes_field = number ? 7 : kind == MetricKind::SUMMARY ? 7 : kind == MetricKind::HISTOGRAM ? 9 : 1;
  while (r.next(f)) {
    if (f.number == attributes_field) {
      expect(f, WireType::LEN);
      budget.attribute();
      p.attributes.push_back(key_value(f.bytes));
    } else if (f.number == 2) {
      expect(f, WireType::FIXED64), p.start_time_unix_nano = f.varint;
    } else if (f.number == 3) {
      expect(f, WireType::FIXED64), p.time_unix_nano = f.varint;
    } else if (number && f.number == 4) {
      expect(f, WireType::FIXED64), p.value = f.as_double(), p.is_int = false;
    } else if (number && f.number == 6) {
      expect(f, WireType::FIXED64), p.int_value = f.as_int64(), p.value = static_cast<double>(p.int_value), p.is_int = true;
    } else if (!number && f.number == 4) {
      expect(f, WireType::FIXED64), p.count = f.varint;
    } else if (!number && f.number == 5) {
      expect(f, WireType::FIXED64), p.value = f.as_double();
    }
  }
  return p;
}

// Gauge { data_points = 1; }  Sum { data_points = 1; aggregation_temporality = 2; is_monotonic = 3; }
// Histogram / ExponentialHistogram { data_points = 1; aggregation_temporality = 2; }  Summary { data_points = 1; }
void metric_data(std::span<const uint8_t> bytes, Metric& m, Budget& budget) {
  Reader r(bytes);
  Field f;
  while (r.next(f)) {
    if (f.number == 1) {
      expect(f, WireType::LEN);
      if (++budget.points > budget.limits.max_points) throw DecodeError("otlp: too many data points");
      m.points.push_back(data_point(f.bytes, m.kind, budget));
    } else if (f.number == 2 && m.kind != MetricKind::GAUGE && m.kind != MetricKind::SUMMARY) {
      expect(f, WireType::VARINT), m.temporality = static_cast<int32_t>(f.varint);
    } else if (f.number == 3 && m.kind == MetricKind::SUM) {
      expect(f, WireType::VARINT), m.monotonic = f.varint != 0;
    }
  }
}

// Metric { name = 1; description = 2; unit = 3; gauge = 5; sum = 7; histogram = 9;
//   exponential_histogram = 10; summary = 11; metadata = 12; }
Metric metric(std::span<const uint8_t> bytes, Budget& budget) {
  Reader r(bytes);
  Field f;
  Metric m;
  while (r.next(f)) {
    MetricKind kind = MetricKind::UNKNOWN;
    switch (f.number) {
      case 1: expect(f, WireType::LEN); m.name = f.as_string(); continue;
      case 3: expect(f, WireType::LEN); m.unit = f.as_string(); continue;
      case 5: kind = MetricKind::GAUGE; break;
      case 7: kind = MetricKind::SUM; break;
      case 9: kind = MetricKind::HISTOGRAM; break;
      case 10: kind = MetricKind::EXPONENTIAL_HISTOGRAM; break;
      case 11: kind = MetricKind::SUMMARY; break;
      default: continue;
    }
    expect(f, WireType::LEN);
    m.kind = kind;
    m.points.clear();
    metric_data(f.bytes, m, budget);
  }
  return m;
}

}  // namespace

const char* kind_name(MetricKind k) {
  switch (k) {
    case MetricKind::GAUGE: return "gauge";
    case MetricKind::SUM: return "sum";
    case MetricKind::HISTOGRAM: return "histogram";
    case MetricKind::EXPONENTIAL_HISTOGRAM: return "exponential_histogram";
    case MetricKind::SUMMARY: return "summary";
    default: return "unknown";
  }
}

// ExportMetricsServiceRequest { repeated ResourceMetrics resource_metrics = 1; }
// ResourceMetrics { Resource resource = 1; repeated ScopeMetrics scope_metrics = 2; }
// Resource { repeated KeyValue attributes = 1; }   ScopeMetrics { scope = 1; repeated Metric metrics = 2; }
MetricsData decode_otlp_metrics(std::span<const uint8_t> payload, const Limits& limits) {
  MetricsData out;
  Budget budget{limits};
  Reader top(payload);
  Field rm;
  while (top.next(rm)) {
    if (rm.number != 1) continue;
    expect(rm, WireType::LEN);
    Reader r(rm.bytes);
    Field f;
    while (r.next(f)) {
      if (f.number == 1) {
        expect(f, WireType::LEN);
        Reader res(f.bytes);
        Field a;
        while (res.next(a))
          if (a.number == 1) expect(a, WireType::LEN), budget.attribute(), out.resource_attributes.push_back(key_value(a.bytes));
      } else if (f.number == 2) {
        expect(f, WireType::LEN);
        Reader sm(f.bytes);
        Field m;
        while (sm.next(m)) {
          if (m.number != 2) continue;
          expect(m, WireType::LEN);
          if (++budget.metrics > limits.max_metrics) throw DecodeError("otlp: too many metrics");
          out.metrics.push_back(metric(m.bytes, budget));
        }
      }
    }
  }
  return out;
}

}  // namespace flotilla::otlp
