#include "broker/topic_config.h"

#include <algorithm>

namespace flotilla::broker {
namespace {
constexpr int8_t kBool = 1, kString = 2, kInt = 3, kLong = 5, kDouble = 6, kList = 7;
}

const std::vector<TopicConfigDef>& topic_config_defs() {
  static const std::vector<TopicConfigDef> defs = {
      {"cleanup.policy", "log.cleanup.policy", "delete", kList},
      {"compression.type", "compression.type", "producer", kString},
      {"delete.retention.ms", "log.cleaner.delete.retention.ms", "86400000", kLong},
      {"file.delete.delay.ms", "log.segment.delete.delay.ms", "60000", kLong},
      {"flush.messages", "log.flush.interval.messages", "9223372036854775807", kLong},
      {"flush.ms", "log.flush.interval.ms", "9223372036854775807", kLong},
      {"index.interval.bytes", "log.index.interval.bytes", "4096", kInt},
      {"local.retention.bytes", "log.local.retention.bytes", "-2", kLong},
      {"local.retention.ms", "log.local.retention.ms", "-2", kLong},
      {"max.compaction.lag.ms", "log.cleaner.max.compaction.lag.ms", "9223372036854775807", kLong},
      {"max.message.bytes", "message.max.bytes", "1048588", kInt},
      {"message.timestamp.after.max.ms", "log.message.timestamp.after.max.ms", "9223372036854775807", kLong},
      {"message.timestamp.before.max.ms", "log.message.timestamp.before.max.ms", "9223372036854775807", kLong},
      {"message.timestamp.type", "log.message.timestamp.type", "CreateTime", kString},
      {"min.cleanable.dirty.ratio", "log.cleaner.min.cleanable.ratio", "0.5", kDouble},
      {"min.compaction.lag.ms", "log.cleaner.min.compaction.lag.ms", "0", kLong},
      {"min.insync.replicas", "min.insync.replicas", "1", kInt},
      {"preallocate", "log.preallocate", "false", kBool},
      {"remote.storage.enable", "", "false", kBool},
      {"retention.bytes", "log.retention.bytes", "-1", kLong},
      {"retention.ms", "log.retention.ms", "604800000", kLong},
      {"segment.bytes", "log.segment.bytes", "1073741824", kInt},
      {"segment.index.bytes", "log.index.size.max.bytes", "10485760", kInt},
      {"segment.jitter.ms", "log.roll.jitter.ms", "0", kLong},
      {"segment.ms", "log.roll.ms", "604800000", kLong},
      {"unclean.leader.election.enable", "unclean.leader.election.enable", "false", kBool},
  };
  return defs;
}

const TopicConfigDef* find_topic_config(const std::string& name) {
  for (const auto& d : topic_config_defs())
    if (d.name == name) return &d;
  return nullptr;
}

namespace {
// The broker's value for a synonym, honouring Kafka's unit variants.
std::optional<std::string> broker_value(const BrokerConfig& b, const std::string& synonym) {
  auto get = [&](const std::string& k) -> std::optional<std::string> {
    auto it = b.static_configs.find(k);
    if (it == b.static_configs.end()) return std::nullopt;
    return it->second;
  };
  if (synonym.empty()) return std::nullopt;
  if (auto v = get(synonym)) return v;
  try {
    if (synonym == "log.retention.ms") {
      if (auto m = get("log.retention.minutes")) return std::to_string(std::stoll(*m) * 60000);
      if (auto h = get("log.retention.hours")) return std::to_string(std::stoll(*h) * 3600000);
    }
    if (synonym == "log.roll.ms")
      if (auto h = get("log.roll.hours")) return std::to_string(std::stoll(*h) * 3600000);
  } catch (...) {
  }
  return std::nullopt;
}
}  // namespace

std::vector<EffectiveConfig> effective_topic_configs(const BrokerConfig& broker, const std::map<std::string, std::string>& overrides) {
  std::vector<EffectiveConfig> out;
  for (const auto& d : topic_config_defs()) {
    EffectiveConfig e{d.name, d.default_value, 5, d.type, d.broker_synonym};
    if (auto it = overrides.find(d.name); it != overrides.end()) {
      e.value = it->second;
      e.source = 1;
    } else if (auto v = broker_value(broker, d.broker_synonym)) {
      e.value = *v;
      e.source = 4;
    }
    out.push_back(std::move(e));
  }
  return out;
}

storage::LogConfig log_config_for(const BrokerConfig& broker, const std::map<std::string, std::string>& overrides) {
  storage::LogConfig c = broker.log;
  auto num = [&](const char* k, auto& dst) {
    auto it = overrides.find(k);
    if (it == overrides.end()) return;
    try {
      dst = static_cast<std::remove_reference_t<decltype(dst)>>(std::stoll(it->second));
    } catch (...) {
    }
  };
  num("segment.bytes", c.segment_bytes);
  num("segment.ms", c.segment_ms);
  num("retention.ms", c.retention_ms);
  num("retention.bytes", c.retention_bytes);
  num("index.interval.bytes", c.index_interval_bytes);
  num("segment.index.bytes", c.max_index_bytes);
  num("flush.messages", c.flush_interval_messages);
  num("file.delete.delay.ms", c.file_delete_delay_ms);
  if (auto it = overrides.find("preallocate"); it != overrides.end()) c.preallocate = it->second == "true";
  if (auto it = overrides.find("cleanup.policy"); it != overrides.end()) {
    c.cleanup_delete = it->second.find("delete") != std::string::npos;
    c.cleanup_compact = it->second.find("compact") != std::string::npos;
  }
  if (auto it = overrides.find("min.cleanable.dirty.ratio"); it != overrides.end()) {
    try {
      c.min_cleanable_dirty_ratio = std::stod(it->second);
    } catch (...) {
    }
  }
  num("min.compaction.lag.ms", c.min_compaction_lag_ms);
  num("max.compaction.lag.ms", c.max_compaction_lag_ms);
  num("delete.retention.ms", c.delete_retention_ms);
  return c;
}

std::optional<std::string> validate_topic_config(const std::string& name, const std::optional<std::string>& value) {
  const TopicConfigDef* d = find_topic_config(name);
  if (!d) return "Unknown topic config name: " + name;
  if (!value) return std::nullopt;
  const std::string& v = *value;
  auto invalid = [&](const std::string& why) { return std::optional<std::string>("Invalid value " + v + " for configuration " + name + ": " + why); };
  switch (d->type) {
    case kBool:
      if (v != "true" && v != "false") return invalid("Expected value to be either true or false");
      break;
    case kInt:
    case kLong: {
      try {
        size_t pos;
        long long x = std::stoll(v, &pos);
        if (pos != v.size()) return invalid("Not a number");
        if (d->type == kInt && (x > INT32_MAX || x < INT32_MIN)) return invalid("Not a number of type INT");
        if ((name == "segment.bytes" && x < 14) || (name == "max.message.bytes" && x < 0) || (name == "min.insync.replicas" && x < 1))
          return invalid("Value out of range");
      } catch (...) {
        return invalid("Not a number");
      }
      break;
    }
    case kDouble:
      try {
        std::stod(v);
      } catch (...) {
        return invalid("Not a number of type DOUBLE");
      }
      break;
    default:
      break;
  }
  if (name == "cleanup.policy" && v != "delete" && v != "compact" && v != "compact,delete" && v != "delete,compact")
    return invalid("String must be one of: compact, delete");
  if (name == "message.timestamp.type" && v != "CreateTime" && v != "LogAppendTime")
    return invalid("String must be one of: CreateTime, LogAppendTime");
  if (name == "compression.type" && v != "producer" && v != "uncompressed" && v != "gzip" && v != "snappy" && v != "lz4" && v != "zstd")
    return invalid("String must be one of: uncompressed, zstd, lz4, snappy, gzip, producer");
  return std::nullopt;
}

}  // namespace flotilla::broker
