#include "broker/dynamic_config.h"

#include <algorithm>
#include <set>

#include "broker/topic_config.h"

namespace flotilla::broker {

namespace {

using config::ConfigType;
constexpr auto RO = UpdateMode::READ_ONLY;
constexpr auto PB = UpdateMode::PER_BROKER;
constexpr auto CW = UpdateMode::CLUSTER_WIDE;
constexpr const char* kLongMax = "9223372036854775807";
constexpr const char* kIntMax = "2147483647";

// Scala's Set.toString, as DynamicBrokerConfig's messages print key sets.
std::string scala_set(const std::vector<std::string>& names) {
  std::string s = "Set(";
  for (size_t i = 0; i < names.size(); ++i) s += (i ? ", " : "") + names[i];
  return s + ")";
}

std::optional<std::string> lookup(const std::map<std::string, std::string>& m, const std::string& k) {
  auto it = m.find(k);
  if (it == m.end()) return std::nullopt;
  return it->second;
}

std::optional<std::string> default_of(const std::string& name) {
  const BrokerConfigDef* d = find_broker_config(name);
  if (!d || !d->key.default_value) return std::nullopt;
  return std::string(*d->key.default_value);
}

// Kafka's configSynonyms: every layer's value of every synonym, layer by
// layer, most specific layer first.
std::vector<DescribedSynonym> layered_synonyms(const BrokerConfigLayers& layers, const std::vector<std::string>& names, bool per_broker) {
  std::vector<DescribedSynonym> out;
  if (per_broker)
    for (const auto& n : names)
      if (auto v = lookup(layers.per_broker, n)) out.push_back({n, v, kDynamicBrokerConfig});
  for (const auto& n : names)
    if (auto v = lookup(layers.cluster_default, n)) out.push_back({n, v, kDynamicDefaultBrokerConfig});
  for (const auto& n : names)
    if (auto v = lookup(layers.static_configs, n)) out.push_back({n, v, kStaticBrokerConfig});
  for (const auto& n : names)
    if (auto v = default_of(n)) out.push_back({n, v, kDefaultConfig});
  return out;
}

// A synonym's value in the unit of `target` (hours and minutes become milliseconds).
std::optional<std::string> in_unit_of(const DescribedSynonym& s, const std::string& target) {
  if (!s.value || s.name == target) return s.value;
  int64_t factor = 1;
  if (s.name.ends_with(".hours")) factor = 3600000;
  else if (s.name.ends_with(".minutes")) factor = 60000;
  try {
    return std::to_string(std::stoll(std::string(config::trim(*s.value))) * factor);
  } catch (...) {
    return s.value;
  }
}

}  // namespace

const std::vector<BrokerConfigDef>& broker_config_defs() {
  // Kafka 3.9's names, types, defaults and update modes (the ones this server
  // reads, every broker synonym of a topic config, and the common dynamic ones).
  static const std::vector<BrokerConfigDef> defs = {
      {{"advertised.listeners", ConfigType::STRING, {}, {}, {}, {}}, PB},
      {{"auto.create.topics.enable", ConfigType::BOOLEAN, "true", {}, {}, {}}, RO},
      {{"auto.leader.rebalance.enable", ConfigType::BOOLEAN, "true", {}, {}, {}}, RO},
      {{"background.threads", ConfigType::INT, "10", 1, {}, {}}, CW},
      {{"broker.heartbeat.interval.ms", ConfigType::INT, "2000", {}, {}, {}}, RO},
      {{"broker.id", ConfigType::INT, "-1", {}, {}, {}}, RO},
      {{"broker.rack", ConfigType::STRING, {}, {}, {}, {}}, RO},
      {{"broker.session.timeout.ms", ConfigType::INT, "9000", {}, {}, {}}, RO},
      {{"compression.gzip.level", ConfigType::INT, "-1", {}, {}, {}}, CW},
      {{"compression.lz4.level", ConfigType::INT, "9", 1, 17, {}}, CW},
      {{"compression.type", ConfigType::STRING, "producer", {}, {}, {"uncompressed", "zstd", "lz4", "snappy", "gzip", "producer"}}, CW},
      {{"compression.zstd.level", ConfigType::INT, "3", -131072, 22, {}}, CW},
      {{"controller.listener.names", ConfigType::STRING, {}, {}, {}, {}}, RO},
      {{"controller.quorum.append.linger.ms", ConfigType::INT, "25", {}, {}, {}}, RO},
      {{"controller.quorum.bootstrap.servers", ConfigType::LIST, "", {}, {}, {}}, RO},
      {{"controller.quorum.election.backoff.max.ms", ConfigType::INT, "1000", {}, {}, {}}, RO},
      {{"controller.quorum.election.timeout.ms", ConfigType::INT, "1000", {}, {}, {}}, RO},
      {{"controller.quorum.fetch.timeout.ms", ConfigType::INT, "2000", {}, {}, {}}, RO},
      {{"controller.quorum.request.timeout.ms", ConfigType::INT, "2000", {}, {}, {}}, RO},
      {{"controller.quorum.retry.backoff.ms", ConfigType::INT, "20", {}, {}, {}}, RO},
      {{"controller.quorum.voters", ConfigType::LIST, "", {}, {}, {}}, RO},
      {{"default.replication.factor", ConfigType::INT, "1", {}, {}, {}}, RO},
      {{"delete.topic.enable", ConfigType::BOOLEAN, "true", {}, {}, {}}, RO},
      {{"fetch.max.bytes", ConfigType::INT, "57671680", 1024, {}, {}}, RO},
      {{"follower.replication.throttled.rate", ConfigType::LONG, kLongMax, 0, {}, {}}, CW},
      {{"group.initial.rebalance.delay.ms", ConfigType::INT, "3000", {}, {}, {}}, RO},
      {{"inter.broker.listener.name", ConfigType::STRING, {}, {}, {}, {}}, RO},
      {{"leader.imbalance.check.interval.seconds", ConfigType::LONG, "300", 1, {}, {}}, RO},
      {{"leader.imbalance.per.broker.percentage", ConfigType::INT, "10", {}, {}, {}}, RO},
      {{"leader.replication.throttled.rate", ConfigType::LONG, kLongMax, 0, {}, {}}, CW},
      {{"listener.security.protocol.map", ConfigType::STRING, "SASL_SSL:SASL_SSL,PLAINTEXT:PLAINTEXT,SSL:SSL,SASL_PLAINTEXT:SASL_PLAINTEXT", {}, {}, {}},
       PB},
      {{"listeners", ConfigType::STRING, "PLAINTEXT://:9092", {}, {}, {}}, PB},
      {{"log.cleaner.backoff.ms", ConfigType::LONG, "15000", 0, {}, {}}, CW},
      {{"log.cleaner.dedupe.buffer.size", ConfigType::LONG, "134217728", {}, {}, {}}, CW},
      {{"log.cleaner.delete.retention.ms", ConfigType::LONG, "86400000", 0, {}, {}}, CW},
      {{"log.cleaner.enable", ConfigType::BOOLEAN, "true", {}, {}, {}}, RO},
      {{"log.cleaner.io.buffer.load.factor", ConfigType::DOUBLE, "0.9", {}, {}, {}}, CW},
      {{"log.cleaner.io.buffer.size", ConfigType::INT, "524288", 0, {}, {}}, CW},
      {{"log.cleaner.io.max.bytes.per.second", ConfigType::DOUBLE, "1.7976931348623157E308", {}, {}, {}}, CW},
      {{"log.cleaner.max.compaction.lag.ms", ConfigType::LONG, kLongMax, 1, {}, {}}, CW},
      {{"log.cleaner.min.cleanable.ratio", ConfigType::DOUBLE, "0.5", 0, 1, {}}, CW},
      {{"log.cleaner.min.compaction.lag.ms", ConfigType::LONG, "0", 0, {}, {}}, CW},
      {{"log.cleaner.threads", ConfigType::INT, "1", 0, {}, {}}, CW},
      {{"log.cleanup.policy", ConfigType::LIST, "delete", {}, {}, {"compact", "delete"}}, CW},
      {{"log.dir", ConfigType::STRING, "/tmp/kafka-logs", {}, {}, {}}, RO},
      {{"log.dirs", ConfigType::STRING, {}, {}, {}, {}}, RO},
      {{"log.flush.interval.messages", ConfigType::LONG, kLongMax, 1, {}, {}}, CW},
      {{"log.flush.interval.ms", ConfigType::LONG, {}, {}, {}, {}}, CW},
      {{"log.flush.scheduler.interval.ms", ConfigType::LONG, kLongMax, {}, {}, {}}, RO},
      {{"log.index.interval.bytes", ConfigType::INT, "4096", 0, {}, {}}, CW},
      {{"log.index.size.max.bytes", ConfigType::INT, "10485760", 4, {}, {}}, CW},
      {{"log.local.retention.bytes", ConfigType::LONG, "-2", -2, {}, {}}, CW},
      {{"log.local.retention.ms", ConfigType::LONG, "-2", -2, {}, {}}, CW},
      {{"log.message.downconversion.enable", ConfigType::BOOLEAN, "true", {}, {}, {}}, CW},
      {{"log.message.timestamp.after.max.ms", ConfigType::LONG, kLongMax, 0, {}, {}}, CW},
      {{"log.message.timestamp.before.max.ms", ConfigType::LONG, kLongMax, 0, {}, {}}, CW},
      {{"log.message.timestamp.difference.max.ms", ConfigType::LONG, kLongMax, 0, {}, {}}, CW},
      {{"log.message.timestamp.type", ConfigType::STRING, "CreateTime", {}, {}, {"CreateTime", "LogAppendTime"}}, CW},
      {{"log.preallocate", ConfigType::BOOLEAN, "false", {}, {}, {}}, CW},
      {{"log.retention.bytes", ConfigType::LONG, "-1", {}, {}, {}}, CW},
      {{"log.retention.check.interval.ms", ConfigType::LONG, "300000", 1, {}, {}}, RO},
      {{"log.retention.hours", ConfigType::INT, "168", {}, {}, {}}, RO},
      {{"log.retention.minutes", ConfigType::INT, {}, {}, {}, {}}, RO},
      {{"log.retention.ms", ConfigType::LONG, {}, {}, {}, {}}, CW},
      {{"log.roll.hours", ConfigType::INT, "168", 1, {}, {}}, RO},
      {{"log.roll.jitter.hours", ConfigType::INT, "0", 0, {}, {}}, RO},
      {{"log.roll.jitter.ms", ConfigType::LONG, {}, {}, {}, {}}, CW},
      {{"log.roll.ms", ConfigType::LONG, {}, {}, {}, {}}, CW},
      {{"log.segment.bytes", ConfigType::INT, "1073741824", 14, {}, {}}, CW},
      {{"log.segment.delete.delay.ms", ConfigType::LONG, "60000", 0, {}, {}}, CW},
      {{"max.connection.creation.rate", ConfigType::INT, kIntMax, 0, {}, {}}, CW},
      {{"max.connections", ConfigType::INT, kIntMax, 0, {}, {}}, CW},
      {{"max.connections.per.ip", ConfigType::INT, kIntMax, 0, {}, {}}, CW},
      {{"max.connections.per.ip.overrides", ConfigType::STRING, "", {}, {}, {}}, CW},
      {{"message.max.bytes", ConfigType::INT, "1048588", 0, {}, {}}, CW},
      {{"metadata.log.dir", ConfigType::STRING, {}, {}, {}, {}}, RO},
      {{"metadata.log.max.record.bytes.between.snapshots", ConfigType::LONG, "20971520", 1, {}, {}}, RO},
      {{"metadata.log.max.snapshot.interval.ms", ConfigType::LONG, "3600000", 0, {}, {}}, RO},
      {{"metadata.log.segment.bytes", ConfigType::INT, "1073741824", 12, {}, {}}, RO},
      {{"metadata.log.segment.ms", ConfigType::LONG, "604800000", {}, {}, {}}, RO},
      {{"metadata.max.idle.interval.ms", ConfigType::INT, "500", 0, {}, {}}, RO},
      {{"metadata.max.retention.bytes", ConfigType::LONG, "104857600", {}, {}, {}}, RO},
      {{"metadata.max.retention.ms", ConfigType::LONG, "604800000", {}, {}, {}}, RO},
      {{"metric.reporters", ConfigType::LIST, "", {}, {}, {}}, CW},
      {{"min.insync.replicas", ConfigType::INT, "1", 1, {}, {}}, CW},
      {{"node.id", ConfigType::INT, "-1", {}, {}, {}}, RO},
      {{"num.io.threads", ConfigType::INT, "8", 1, {}, {}}, CW},
      {{"num.network.threads", ConfigType::INT, "3", 1, {}, {}}, CW},
      {{"num.partitions", ConfigType::INT, "1", 1, {}, {}}, RO},
      {{"num.recovery.threads.per.data.dir", ConfigType::INT, "2", 1, {}, {}}, CW},
      {{"num.replica.fetchers", ConfigType::INT, "1", {}, {}, {}}, CW},
      {{"offsets.topic.replication.factor", ConfigType::SHORT, "3", 1, {}, {}}, RO},
      {{"process.roles", ConfigType::LIST, "", {}, {}, {"broker", "controller"}}, RO},
      {{"producer.id.expiration.ms", ConfigType::INT, "86400000", 1, {}, {}}, CW},
      {{"replica.alter.log.dirs.io.max.bytes.per.second", ConfigType::LONG, kLongMax, 0, {}, {}}, CW},
      {{"replica.fetch.backoff.ms", ConfigType::INT, "1000", 0, {}, {}}, RO},
      {{"replica.fetch.max.bytes", ConfigType::INT, "1048576", 0, {}, {}}, RO},
      {{"replica.fetch.min.bytes", ConfigType::INT, "1", {}, {}, {}}, RO},
      {{"replica.fetch.response.max.bytes", ConfigType::INT, "10485760", 0, {}, {}}, RO},
      {{"replica.fetch.wait.max.ms", ConfigType::INT, "500", {}, {}, {}}, RO},
      {{"replica.high.watermark.checkpoint.interval.ms", ConfigType::LONG, "5000", {}, {}, {}}, RO},
      {{"replica.lag.time.max.ms", ConfigType::LONG, "30000", {}, {}, {}}, RO},
      {{"replica.socket.timeout.ms", ConfigType::INT, "30000", {}, {}, {}}, RO},
      {{"socket.receive.buffer.bytes", ConfigType::INT, "102400", {}, {}, {}}, RO},
      {{"socket.request.max.bytes", ConfigType::INT, "104857600", 1, {}, {}}, RO},
      {{"socket.send.buffer.bytes", ConfigType::INT, "102400", {}, {}, {}}, RO},
      {{"transaction.partition.verification.enable", ConfigType::BOOLEAN, "true", {}, {}, {}}, CW},
      {{"transaction.state.log.min.isr", ConfigType::INT, "2", 1, {}, {}}, RO},
      {{"transaction.state.log.replication.factor", ConfigType::SHORT, "3", 1, {}, {}}, RO},
      {{"unclean.leader.election.enable", ConfigType::BOOLEAN, "false", {}, {}, {}}, CW},
  };
  return defs;
}

const BrokerConfigDef* find_broker_config(const std::string& name) {
  for (const auto& d : broker_config_defs())
    if (d.key.name == name) return &d;
  return nullptr;
}

std::string validate_dynamic_broker_configs(const std::map<std::string, std::string>& props, bool per_broker) {
  // Kafka's order: read-only keys, then each value's type and range, then
  // per-broker keys at the cluster level.
  std::vector<std::string> read_only, broker_only;
  for (const auto& [k, v] : props) {
    const BrokerConfigDef* d = find_broker_config(k);
    if (d && d->mode == UpdateMode::READ_ONLY) read_only.push_back(k);
    if (d && d->mode == UpdateMode::PER_BROKER) broker_only.push_back(k);
  }
  if (!read_only.empty()) return "Cannot update these configs dynamically: " + scala_set(read_only);
  for (const auto& [k, v] : props) {
    const BrokerConfigDef* d = find_broker_config(k);
    if (!d) continue;  // a custom config: kept as given
    if (std::string e = config::validate_value(d->key, v); !e.empty()) return e;
  }
  if (!per_broker && !broker_only.empty())
    return "Cannot update these configs at default cluster level, broker id must be specified: " + scala_set(broker_only);
  return "";
}

std::vector<std::string> broker_synonyms(const std::string& name) {
  if (name == "log.roll.ms" || name == "log.roll.hours") return {"log.roll.ms", "log.roll.hours"};
  if (name == "log.roll.jitter.ms" || name == "log.roll.jitter.hours") return {"log.roll.jitter.ms", "log.roll.jitter.hours"};
  if (name == "log.flush.interval.ms") return {"log.flush.interval.ms", "log.flush.scheduler.interval.ms"};
  if (name == "log.retention.ms" || name == "log.retention.minutes" || name == "log.retention.hours")
    return {"log.retention.ms", "log.retention.minutes", "log.retention.hours"};
  return {name};
}

namespace {
bool ends_with(const std::string& s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}
bool is_secret_config_name(const std::string& name) {
  // ssl.keystore.key: an inline PEM private key (KIP-651), a password-type config in Kafka;
  // the delegation token secret likewise.
  return ends_with(name, "sasl.jaas.config") || ends_with(name, ".password") || ends_with(name, "sasl.password") ||
         ends_with(name, "ssl.keystore.key") || name == "delegation.token.secret.key" || name == "delegation.token.master.key";
}
}  // namespace

std::vector<DescribedConfig> describe_broker_configs(const BrokerConfigLayers& layers, bool per_broker) {
  std::set<std::string> names;
  if (per_broker) {
    for (const auto& d : broker_config_defs()) names.insert(std::string(d.key.name));
    for (const auto& [k, v] : layers.static_configs) names.insert(k);
    for (const auto& [k, v] : layers.per_broker) names.insert(k);
  }
  for (const auto& [k, v] : layers.cluster_default) names.insert(k);

  std::vector<DescribedConfig> out;
  for (const auto& name : names) {
    const BrokerConfigDef* d = find_broker_config(name);
    DescribedConfig c;
    c.name = name;
    c.type = d ? d->key.type : config::ConfigType::UNKNOWN;
    c.read_only = !d || d->mode == UpdateMode::READ_ONLY;
    // JAAS configs (sasl.jaas.config, listener.name.<l>.<mechanism>.sasl.jaas.config)
    // and any *.password hold secrets: Kafka's PASSWORD type, never shown.
    if (c.type == config::ConfigType::UNKNOWN && is_secret_config_name(name)) c.type = config::ConfigType::PASSWORD;
    c.sensitive = c.type == config::ConfigType::PASSWORD;
    // The synonyms that stand before this key's own name are about another key.
    auto all = layered_synonyms(layers, broker_synonyms(name), per_broker);
    auto first_own = std::find_if(all.begin(), all.end(), [&](const DescribedSynonym& s) { return s.name == name; });
    c.synonyms.assign(first_own, all.end());
    c.source = c.synonyms.empty() ? static_cast<int8_t>(kDefaultConfig) : c.synonyms.front().source;
    if (per_broker) {
      // This broker's effective value of the key itself.
      c.value = lookup(layers.per_broker, name);
      if (!c.value) c.value = lookup(layers.cluster_default, name);
      if (!c.value) c.value = lookup(layers.static_configs, name);
      if (!c.value) c.value = default_of(name);
    } else {
      c.value = lookup(layers.cluster_default, name);
    }
    if (c.sensitive) {
      c.value = std::nullopt;
      for (auto& s : c.synonyms) s.value = std::nullopt;
    }
    out.push_back(std::move(c));
  }
  return out;
}

std::vector<DescribedConfig> describe_topic_configs(const BrokerConfigLayers& layers, const std::map<std::string, std::string>& overrides) {
  std::vector<DescribedConfig> out;
  for (const auto& def : topic_config_defs()) {
    DescribedConfig c;
    c.name = def.name;
    c.type = static_cast<config::ConfigType>(def.type);
    c.read_only = false;
    if (auto it = overrides.find(def.name); it != overrides.end()) c.synonyms.push_back({def.name, it->second, kDynamicTopicConfig});
    if (!def.broker_synonym.empty())
      for (auto& s : layered_synonyms(layers, broker_synonyms(def.broker_synonym), true)) c.synonyms.push_back(std::move(s));
    if (c.synonyms.empty()) {
      c.source = kDefaultConfig;
      c.value = def.default_value;
    } else {
      c.source = c.synonyms.front().source;
      c.value = c.source == kDynamicTopicConfig ? c.synonyms.front().value : in_unit_of(c.synonyms.front(), def.broker_synonym);
    }
    out.push_back(std::move(c));
  }
  return out;
}

}  // namespace flotilla::broker
