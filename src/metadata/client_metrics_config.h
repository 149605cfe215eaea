// Client-metrics subscriptions (KIP-714): the configs of a CLIENT_METRICS
// config resource (ConfigResource type 16), validated as Kafka's
// ClientMetricsConfigs does and parsed into what the broker's telemetry
// manager matches clients against.
//
// A subscription is the resource's ConfigRecords: `metrics` (a LIST of metric
// name prefixes, "*" for all), `interval.ms` (INT, 100..3600000, default
// 300000), `match` (a LIST of "<selector>=<regex>", selectors below). The
// controller validates the resulting whole set of a resource before writing
// records; the broker parses what the image holds (already valid).
//
// Pure functions, no state: any thread.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "common/error.h"

namespace flotilla::metadata {

inline constexpr int32_t kClientMetricsDefaultIntervalMs = 5 * 60 * 1000;
inline constexpr int32_t kClientMetricsMinIntervalMs = 100;
inline constexpr int32_t kClientMetricsMaxIntervalMs = 3600000;

// The `match` selectors Kafka allows.
const std::vector<std::string>& client_metrics_match_selectors();

struct ClientMetricsValidation {
  ErrorCode error = ErrorCode::NONE;
  std::string message;
};

// Kafka's ClientMetricsConfigs.validate(name, configs): an empty name or an
// unknown key or an interval out of bounds is INVALID_REQUEST, a value that
// does not parse as its type or a bad match pattern INVALID_CONFIG.
ClientMetricsValidation validate_client_metrics_configs(const std::string& name, const std::map<std::string, std::string>& configs);

struct ClientMetricsSubscription {
  std::string name;
  std::vector<std::string> metrics;  // prefixes; "*" = all
  int32_t interval_ms = kClientMetricsDefaultIntervalMs;
  std::vector<std::pair<std::string, std::string>> match;  // selector -> regex source (last one per selector wins)
};

// The subscription a (valid) resource's configs describe; nothing thrown:
// what does not parse keeps its default.
ClientMetricsSubscription parse_client_metrics_subscription(const std::string& name, const std::map<std::string, std::string>& configs);

// "selector=regex" split on '=' as Java's String.split("=") (trailing empty
// parts dropped; exactly two parts required), both trimmed. False if not two
// parts or the selector is unknown.
bool split_match_pattern(const std::string& pattern, std::string& selector, std::string& regex);

}  // namespace flotilla::metadata
