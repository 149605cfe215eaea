#include "server/config.h"

#include "net/connection_quotas.h"

#include "security/authorizer.h"
#include "security/principal.h"
#include "security/ssl_config.h"

#include <algorithm>
#include <fstream>
#include <set>
#include <sstream>

namespace flotilla::server {
namespace {

std::string trim(const std::string& s) {
  size_t b = s.find_first_not_of(" \t\r\f");
  if (b == std::string::npos) return "";
  size_t e = s.find_last_not_of(" \t\r\f");
  return s.substr(b, e - b + 1);
}

std::vector<std::string> split(const std::string& s, char sep) {
  std::vector<std::string> out;
  std::string cur;
  std::istringstream in(s);
  while (std::getline(in, cur, sep)) {
    cur = trim(cur);
    if (!cur.empty()) out.push_back(cur);
  }
  return out;
}

std::string unescape(const std::string& s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\\' && i + 1 < s.size()) {
      char c = s[++i];
      out += c == 't' ? '\t' : c == 'n' ? '\n' : c == 'r' ? '\r' : c;
    } else {
      out += s[i];
    }
  }
  return out;
}

int64_t parse_long(const std::string& key, const std::string& v, int64_t min = INT64_MIN) {
  try {
    size_t pos = 0;
    long long x = std::stoll(v, &pos);
    if (pos != v.size()) throw std::invalid_argument("trailing");
    if (x < min) throw ConfigError("Invalid value " + v + " for configuration " + key + ": Value must be at least " + std::to_string(min));
    return x;
  } catch (const ConfigError&) {
    throw;
  } catch (...) {
    throw ConfigError("Invalid value " + v + " for configuration " + key + ": Not a number of type LONG");
  }
}

int32_t parse_int(const std::string& key, const std::string& v, int64_t min = INT32_MIN) {
  int64_t x = parse_long(key, v, min);
  if (x > INT32_MAX || x < INT32_MIN) throw ConfigError("Invalid value " + v + " for configuration " + key + ": Not a number of type INT");
  return static_cast<int32_t>(x);
}

bool parse_bool(const std::string& key, const std::string& v) {
  std::string l = v;
  std::transform(l.begin(), l.end(), l.begin(), ::tolower);
  if (l == "true") return true;
  if (l == "false") return false;
  throw ConfigError("Invalid value " + v + " for configuration " + key + ": Expected value to be either true or false");
}

// "NAME://host:port" (host may be empty = all interfaces, or [v6]).
Endpoint parse_endpoint(const std::string& key, const std::string& s) {
  auto p = s.find("://");
  if (p == std::string::npos) throw ConfigError("Invalid value " + s + " for configuration " + key + ": expected LISTENER_NAME://host:port");
  Endpoint e;
  e.listener = s.substr(0, p);
  std::string rest = s.substr(p + 3);
  auto c = rest.rfind(':');
  if (c == std::string::npos) throw ConfigError("Invalid value " + s + " for configuration " + key + ": missing port");
  e.host = rest.substr(0, c);
  if (e.host.size() >= 2 && e.host.front() == '[' && e.host.back() == ']') e.host = e.host.substr(1, e.host.size() - 2);
  e.port = parse_int(key, rest.substr(c + 1), 0);
  if (e.port > 65535) throw ConfigError("Invalid value " + s + " for configuration " + key + ": port out of range");
  return e;
}

const std::set<std::string>& known_keys() {
  static const std::set<std::string> k = {
      "http.listeners", "confluent.http.server.listeners", "flotilla.http.server.threads", "flotilla.http.server.thread.nice",
      "kafka.rest.authentication.method", "kafka.rest.authentication.realm",
      "flotilla.metrics.partition.series", "flotilla.log.fd.cache.size", "process.roles", "node.id", "broker.id", "controller.quorum.voters", "controller.quorum.bootstrap.servers",
      "listeners", "advertised.listeners", "controller.listener.names", "listener.security.protocol.map",
      "inter.broker.listener.name", "log.dirs", "log.dir", "metadata.log.dir", "num.partitions",
      "default.replication.factor", "auto.create.topics.enable", "delete.topic.enable", "log.segment.bytes",
      "log.roll.ms", "log.roll.hours", "log.retention.ms", "log.retention.minutes", "log.retention.hours",
      "log.retention.bytes", "log.retention.check.interval.ms", "log.index.interval.bytes", "log.index.size.max.bytes",
      "log.flush.interval.messages", "log.flush.interval.ms", "log.segment.delete.delay.ms", "log.cleanup.policy",
      "log.cleaner.enable", "log.cleaner.threads", "log.cleaner.backoff.ms", "log.cleaner.dedupe.buffer.size",
      "log.cleaner.min.cleanable.ratio", "log.cleaner.delete.retention.ms", "log.cleaner.min.compaction.lag.ms",
      "log.cleaner.max.compaction.lag.ms", "log.cleaner.io.buffer.size", "log.cleaner.io.buffer.load.factor",
      "log.cleaner.io.max.bytes.per.second",
      "message.max.bytes", "min.insync.replicas", "max.request.partition.size.limit", "compression.type", "log.message.timestamp.type",
      "socket.request.max.bytes", "socket.send.buffer.bytes", "socket.receive.buffer.bytes", "num.network.threads",
      "num.io.threads", "num.recovery.threads.per.data.dir", "offsets.topic.replication.factor",
      "transaction.state.log.replication.factor", "transaction.state.log.min.isr", "share.coordinator.state.topic.replication.factor",
      "share.coordinator.state.topic.min.isr", "group.initial.rebalance.delay.ms", "group.min.session.timeout.ms", "group.max.session.timeout.ms", "group.max.size", "group.consumer.session.timeout.ms", "group.consumer.heartbeat.interval.ms", "group.consumer.max.size", "offsets.topic.num.partitions",
      "offsets.topic.segment.bytes", "offset.metadata.max.bytes", "offsets.commit.timeout.ms", "offsets.retention.minutes", "offsets.retention.check.interval.ms", "replica.fetch.max.bytes",
      "transaction.state.log.num.partitions", "transaction.state.log.segment.bytes", "transaction.max.timeout.ms",
      "transaction.abort.timed.out.transaction.cleanup.interval.ms", "transactional.id.expiration.ms", "producer.id.expiration.ms",
      "producer.id.expiration.check.interval.ms",
      "transaction.remove.expired.transaction.cleanup.interval.ms",
      "replica.lag.time.max.ms", "replica.selector.class", "replica.fetch.wait.max.ms", "replica.fetch.min.bytes", "replica.fetch.response.max.bytes",
      "replica.fetch.backoff.ms", "replica.socket.timeout.ms", "replica.high.watermark.checkpoint.interval.ms",
      "fetch.max.bytes", "controller.quorum.election.timeout.ms", "controller.quorum.election.backoff.max.ms",
      "controller.quorum.fetch.timeout.ms", "controller.quorum.append.linger.ms", "controller.quorum.request.timeout.ms",
      "metadata.max.idle.interval.ms", "broker.session.timeout.ms", "broker.heartbeat.interval.ms",
      "metadata.log.segment.bytes", "metadata.log.segment.min.bytes", "metadata.log.segment.ms", "metadata.max.retention.ms", "metadata.max.retention.bytes",
      "metadata.log.max.record.bytes.between.snapshots", "metadata.log.max.snapshot.interval.ms", "log.level",
      "auto.leader.rebalance.enable", "leader.imbalance.check.interval.seconds", "leader.imbalance.per.broker.percentage",
      "log4j.rootLogger", "zookeeper.connect", "broker.rack", "unclean.leader.election.enable", "controlled.shutdown.enable",
      "sasl.enabled.mechanisms", "sasl.jaas.config", "sasl.mechanism.inter.broker.protocol", "sasl.mechanism.controller.protocol",
      "connections.max.reauth.ms", "security.inter.broker.protocol", "flotilla.connections.authentication.timeout.ms",
      "authorizer.class.name", "super.users", "allow.everyone.if.no.acl.found", "early.start.listeners",
      "quota.window.num", "quota.window.size.seconds", "controller.quota.window.num", "controller.quota.window.size.seconds",
      "replication.quota.window.num", "replication.quota.window.size.seconds", "telemetry.max.bytes",
      "delegation.token.secret.key", "delegation.token.master.key", "delegation.token.max.lifetime.ms",
      "delegation.token.expiry.time.ms", "delegation.token.expiry.check.interval.ms",
      "queued.max.request.bytes", "max.connections", "max.connections.per.ip", "max.connections.per.ip.overrides",
      "max.connection.creation.rate", "connections.max.idle.ms",
      "max.broker.partitions", "max.partitions", "flotilla.partitions.per.fd", "flotilla.partition.memory.fraction",
      "flotilla.memory.per.partition.bytes"};
  return k;
}

}  // namespace

std::map<std::string, std::string> parse_properties(const std::string& text) {
  std::map<std::string, std::string> out;
  std::istringstream in(text);
  std::string line, logical;
  while (std::getline(in, line)) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    std::string t = trim(line);
    if (logical.empty() && (t.empty() || t[0] == '#' || t[0] == '!')) continue;
    // An odd number of trailing backslashes continues the line.
    size_t bs = 0;
    while (bs < t.size() && t[t.size() - 1 - bs] == '\\') ++bs;
    if (bs % 2 == 1) {
      logical += t.substr(0, t.size() - 1);
      continue;
    }
    logical += t;
    size_t sep = std::string::npos;
    for (size_t i = 0; i < logical.size(); ++i) {
      if (logical[i] == '\\') {
        ++i;
        continue;
      }
      if (logical[i] == '=' || logical[i] == ':' || logical[i] == ' ' || logical[i] == '\t') {
        sep = i;
        break;
      }
    }
    std::string key, value;
    if (sep == std::string::npos) {
      key = logical;
    } else {
      key = trim(logical.substr(0, sep));
      std::string rest = logical.substr(sep);
      size_t k = 0;
      while (k < rest.size() && (rest[k] == ' ' || rest[k] == '\t')) ++k;
      if (k < rest.size() && (rest[k] == '=' || rest[k] == ':')) ++k;
      value = trim(rest.substr(k));
    }
    out[unescape(key)] = unescape(value);
    logical.clear();
  }
  return out;
}

std::map<std::string, std::string> load_properties_file(const std::string& path) {
  std::ifstream f(path);
  if (!f) throw ConfigError("Cannot read configuration file " + path);
  std::stringstream ss;
  ss << f.rdbuf();
  return parse_properties(ss.str());
}

bool KafkaConfig::is_early_start_listener(const std::string& name) const {
  return std::find(early_start_listeners.begin(), early_start_listeners.end(), name) != early_start_listeners.end();
}

bool KafkaConfig::is_controller_listener(const std::string& name) const {
  return std::find(controller_listener_names.begin(), controller_listener_names.end(), name) != controller_listener_names.end();
}

const Endpoint* KafkaConfig::find_listener(const std::string& name) const {
  for (const auto& l : listeners)
    if (l.listener == name) return &l;
  return nullptr;
}

Endpoint KafkaConfig::advertised(const std::string& listener) const {
  for (const auto& l : advertised_listeners)
    if (l.listener == listener) return l;
  if (const Endpoint* e = find_listener(listener)) {
    Endpoint out = *e;
    if (out.host.empty() || out.host == "0.0.0.0") out.host = "127.0.0.1";
    return out;
  }
  return Endpoint{};
}

namespace {

// authorizer.class.name, super.users, allow.everyone.if.no.acl.found,
// early.start.listeners (KafkaConfig's authorizer and earlyStartListeners).
template <class Get>
void parse_authorization(KafkaConfig& c, Get& get) {
  if (auto v = get("authorizer.class.name")) {
    std::string cls = trim(*v);
    if (!cls.empty() && cls != security::kStandardAuthorizerClass)
      throw ConfigError("Invalid value " + cls + " for configuration authorizer.class.name: Flotilla provides " +
                        std::string(security::kStandardAuthorizerClass) + " only (ACLs kept in the metadata log)");
    c.authorizer_class_name = cls;
  }
  if (auto v = get("super.users")) {
    if (auto err = security::parse_super_users(*v, c.super_users))
      throw ConfigError("Invalid value " + *v + " for configuration super.users: " + *err);
  }
  if (auto v = get("allow.everyone.if.no.acl.found"))
    c.allow_everyone_if_no_acl_found = parse_bool("allow.everyone.if.no.acl.found", *v);
  if (auto v = get("early.start.listeners")) {
    for (const auto& name : split(*v, ',')) {
      if (!c.find_listener(name) && !c.is_controller_listener(name))
        throw ConfigError("early.start.listeners contains listener " + name +
                          ", but this is not contained in listeners or controller.listener.names");
      c.early_start_listeners.push_back(name);
    }
  } else {
    c.early_start_listeners = c.controller_listener_names;
  }
}

// Request memory and connection limits (issue 21): Kafka's names, types and
// validators (INTs at least 0; per.ip 0 only with overrides).
template <typename Get>
void parse_socket_server_limits(KafkaConfig& c, const std::map<std::string, std::string>& props, Get& get) {
  if (auto v = get("queued.max.request.bytes")) c.queued_max_request_bytes = parse_long("queued.max.request.bytes", *v, -1);
  if (auto v = get("max.connections")) c.max_connections = parse_int("max.connections", *v, 0);
  if (auto v = get("max.connections.per.ip")) c.max_connections_per_ip = parse_int("max.connections.per.ip", *v, 0);
  if (auto v = get("max.connections.per.ip.overrides")) {
    try {
      c.max_connections_per_ip_overrides = net::parse_ip_overrides(*v);
    } catch (const std::invalid_argument& e) {
      throw ConfigError("Invalid value " + *v + " for configuration max.connections.per.ip.overrides: " + e.what());
    }
  }
  if (c.max_connections_per_ip == 0 && c.max_connections_per_ip_overrides.empty())
    throw ConfigError("Invalid value 0 for configuration max.connections.per.ip: There should be at least one override specified "
                      "in max.connections.per.ip.overrides when max.connections.per.ip is 0");
  if (auto v = get("max.connection.creation.rate")) c.max_connection_creation_rate = parse_int("max.connection.creation.rate", *v, 0);
  if (auto v = get("connections.max.idle.ms")) c.connections_max_idle_ms = parse_long("connections.max.idle.ms", *v);
  // listener.name.<l>.max.connections / .max.connection.creation.rate
  for (const auto& [k, v] : props) {
    if (k.rfind("listener.name.", 0) != 0) continue;
    const std::string rest = k.substr(14);
    for (auto [suffix, dst] : {std::pair{std::string(".max.connections"), &c.listener_max_connections},
                               std::pair{std::string(".max.connection.creation.rate"), &c.listener_max_connection_creation_rate}}) {
      if (rest.size() <= suffix.size() || rest.compare(rest.size() - suffix.size(), suffix.size(), suffix) != 0) continue;
      std::string name = rest.substr(0, rest.size() - suffix.size());
      std::transform(name.begin(), name.end(), name.begin(), ::tolower);
      (*dst)[name] = parse_int(k, v, 0);
    }
  }
}

}  // namespace

KafkaConfig KafkaConfig::from_properties(const std::map<std::string, std::string>& props, std::vector<std::string>* unknown) {
  KafkaConfig c;
  c.originals = props;
  auto get = [&](const std::string& k) -> std::optional<std::string> {
    auto it = props.find(k);
    if (it == props.end()) return std::nullopt;
    return it->second;
  };
  if (unknown)
    for (const auto& [k, v] : props)
      if (!known_keys().count(k) && k.rfind("listener.name.", 0) != 0 && k.rfind("confluent.http.server.ssl.", 0) != 0 && std::count(security::ssl_config_keys().begin(), security::ssl_config_keys().end(), k) == 0) unknown->push_back(k);

  auto roles = get("process.roles");
  if (!roles || trim(*roles).empty())
    throw ConfigError("Missing required configuration process.roles: this node must run in KRaft mode (broker, controller or broker,controller)");
  for (const auto& r : split(*roles, ',')) {
    if (r == "broker") c.broker_role = true;
    else if (r == "controller") c.controller_role = true;
    else throw ConfigError("Invalid value " + *roles + " for configuration process.roles: unknown role " + r);
  }
  auto nid = get("node.id");
  if (!nid) nid = get("broker.id");
  if (!nid) throw ConfigError("Missing required configuration node.id which has no default value.");
  c.node_id = parse_int("node.id", *nid, 0);

  if (auto v = get("controller.quorum.voters")) {
    for (const auto& item : split(*v, ',')) {
      auto at = item.find('@');
      auto colon = item.rfind(':');
      if (at == std::string::npos || colon == std::string::npos || colon < at)
        throw ConfigError("Invalid value " + *v + " for configuration controller.quorum.voters: expected id@host:port");
      QuorumVoter q;
      q.id = parse_int("controller.quorum.voters", item.substr(0, at), 0);
      q.host = item.substr(at + 1, colon - at - 1);
      if (q.host.size() >= 2 && q.host.front() == '[') q.host = q.host.substr(1, q.host.size() - 2);
      q.port = parse_int("controller.quorum.voters", item.substr(colon + 1), 0);
      c.quorum_voters.push_back(q);
    }
  }
  if (auto v = get("controller.quorum.bootstrap.servers")) c.quorum_bootstrap_servers = split(*v, ',');

  if (auto v = get("listener.security.protocol.map")) {
    for (const auto& item : split(*v, ',')) {
      auto colon = item.find(':');
      if (colon == std::string::npos) throw ConfigError("Invalid value " + *v + " for configuration listener.security.protocol.map");
      std::string name = trim(item.substr(0, colon));
      auto protocol = security::parse_security_protocol(trim(item.substr(colon + 1)));
      if (name.empty() || !protocol)
        throw ConfigError("Invalid value " + *v + " for configuration listener.security.protocol.map: " + item +
                          " is not listener:protocol with a protocol among PLAINTEXT, SSL, SASL_PLAINTEXT, SASL_SSL");
      c.security_protocol_map[name] = std::string(security::security_protocol_name(*protocol));
    }
  } else {
    for (const char* p : {"PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"}) c.security_protocol_map[p] = p;
    c.security_protocol_map["CONTROLLER"] = "PLAINTEXT";
  }
  auto protocol_of = [&](Endpoint& e, const std::string& key) {
    auto it = c.security_protocol_map.find(e.listener);
    if (it == c.security_protocol_map.end())
      throw ConfigError("Invalid value for configuration " + key + ": no security protocol defined for listener " + e.listener);
    e.security_protocol = it->second;
  };
  std::string listeners = get("listeners").value_or(c.broker_role ? "PLAINTEXT://:9092" : "");
  for (const auto& item : split(listeners, ',')) {
    Endpoint e = parse_endpoint("listeners", item);
    protocol_of(e, "listeners");
    c.listeners.push_back(e);
  }
  if (auto v = get("advertised.listeners")) {
    for (const auto& item : split(*v, ',')) {
      Endpoint e = parse_endpoint("advertised.listeners", item);
      protocol_of(e, "advertised.listeners");
      c.advertised_listeners.push_back(e);
    }
  }
  if (auto v = get("controller.listener.names")) c.controller_listener_names = split(*v, ',');
  if (auto v = get("inter.broker.listener.name")) c.inter_broker_listener_name = trim(*v);
  if (auto v = get("security.inter.broker.protocol")) {
    if (get("inter.broker.listener.name"))
      throw ConfigError("Only one of inter.broker.listener.name and security.inter.broker.protocol should be set.");
    auto p = security::parse_security_protocol(trim(*v));
    if (!p) throw ConfigError("Invalid value " + *v + " for configuration security.inter.broker.protocol");
    c.inter_broker_listener_name = std::string(security::security_protocol_name(*p));  // Kafka: the listener of that name
  }
  if (auto v = get("sasl.enabled.mechanisms")) {
    c.sasl_enabled_mechanisms.clear();
    for (const auto& m : split(*v, ','))
      if (!trim(m).empty()) c.sasl_enabled_mechanisms.push_back(trim(m));
  }
  if (auto v = get("sasl.mechanism.inter.broker.protocol")) c.sasl_mechanism_inter_broker_protocol = trim(*v);
  if (auto v = get("sasl.mechanism.controller.protocol")) c.sasl_mechanism_controller_protocol = trim(*v);

  if (c.controller_role) {
    if (c.controller_listener_names.empty())
      throw ConfigError("Missing required configuration controller.listener.names for a node with the controller role");
    if (!c.find_listener(c.controller_listener_names[0]))
      throw ConfigError("Invalid value for configuration controller.listener.names: " + c.controller_listener_names[0] +
                        " is not among the listeners");
  }
  if (c.broker_role) {
    bool has_broker_listener = false;
    for (const auto& l : c.listeners)
      if (!c.is_controller_listener(l.listener)) has_broker_listener = true;
    if (!has_broker_listener) throw ConfigError("Invalid value for configuration listeners: a broker needs a non-controller listener");
  }
  if (c.quorum_voters.empty() && c.quorum_bootstrap_servers.empty())
    throw ConfigError("Missing required configuration controller.quorum.voters (or controller.quorum.bootstrap.servers)");

  if (auto v = get("log.dirs")) c.log_dirs = split(*v, ',');
  else if (auto v2 = get("log.dir")) c.log_dirs = split(*v2, ',');
  else c.log_dirs = {"/tmp/kafka-logs"};
  if (c.log_dirs.empty()) throw ConfigError("Invalid value for configuration log.dirs: empty");
  c.metadata_log_dir = get("metadata.log.dir").value_or(c.log_dirs[0]);

  auto set_int = [&](const char* k, int32_t& dst, int64_t min) {
    if (auto v = get(k)) dst = parse_int(k, *v, min);
  };
  auto set_long = [&](const char* k, int64_t& dst, int64_t min = INT64_MIN) {
    if (auto v = get(k)) dst = parse_long(k, *v, min);
  };
  // An int16 setting (replication factors), parsed and checked as an INT.
  auto set_short = [&](const char* k, int16_t& dst, int64_t min) {
    if (auto v = get(k)) dst = static_cast<int16_t>(parse_int(k, *v, min));
  };
  set_int("num.partitions", c.num_partitions, 1);
  set_short("default.replication.factor", c.default_replication_factor, 1);
  if (auto v = get("auto.create.topics.enable")) c.auto_create_topics_enable = parse_bool("auto.create.topics.enable", *v);
  if (auto v = get("delete.topic.enable")) c.delete_topic_enable = parse_bool("delete.topic.enable", *v);
  set_long("log.segment.bytes", c.log_segment_bytes, 14);
  if (auto v = get("log.roll.hours")) c.log_roll_ms = parse_long("log.roll.hours", *v, 1) * 3600000;
  set_long("log.roll.ms", c.log_roll_ms, 1);
  if (auto v = get("log.retention.hours")) c.log_retention_ms = parse_long("log.retention.hours", *v) * 3600000;
  if (auto v = get("log.retention.minutes")) c.log_retention_ms = parse_long("log.retention.minutes", *v) * 60000;
  set_long("log.retention.ms", c.log_retention_ms, -1);
  if (c.log_retention_ms < 0) c.log_retention_ms = -1;
  set_long("log.retention.bytes", c.log_retention_bytes, -1);
  set_long("log.retention.check.interval.ms", c.log_retention_check_interval_ms, 1);
  set_int("log.index.interval.bytes", c.log_index_interval_bytes, 0);
  set_int("log.index.size.max.bytes", c.log_index_size_max_bytes, 4);
  set_long("log.flush.interval.messages", c.log_flush_interval_messages, 1);
  set_long("log.flush.interval.ms", c.log_flush_interval_ms, 0);
  set_long("log.segment.delete.delay.ms", c.log_segment_delete_delay_ms, 0);
  if (auto v = get("log.cleanup.policy")) {
    for (const auto& p : split(*v, ','))
      if (p != "compact" && p != "delete") throw ConfigError("Invalid value " + *v + " for configuration log.cleanup.policy: String must be one of: compact, delete");
    c.log_cleanup_policy = *v;
  }
  if (auto v = get("log.cleaner.enable")) c.log_cleaner_enable = parse_bool("log.cleaner.enable", *v);
  set_int("log.cleaner.threads", c.log_cleaner_threads, 0);
  set_long("log.cleaner.backoff.ms", c.log_cleaner_backoff_ms, 0);
  set_long("log.cleaner.dedupe.buffer.size", c.log_cleaner_dedupe_buffer_size);
  if (auto v = get("log.cleaner.min.cleanable.ratio")) {
    try {
      size_t pos = 0;
      double d = std::stod(*v, &pos);
      if (pos != v->size() || d < 0 || d > 1) throw std::invalid_argument("range");
      c.log_cleaner_min_cleanable_ratio = d;
    } catch (...) {
      throw ConfigError("Invalid value " + *v + " for configuration log.cleaner.min.cleanable.ratio: Value must be a number in [0,...,1]");
    }
  }
  set_long("log.cleaner.delete.retention.ms", c.log_cleaner_delete_retention_ms, 0);
  set_long("log.cleaner.min.compaction.lag.ms", c.log_cleaner_min_compaction_lag_ms, 0);
  set_long("log.cleaner.max.compaction.lag.ms", c.log_cleaner_max_compaction_lag_ms, 1);
  set_int("message.max.bytes", c.message_max_bytes, 0);
  set_int("min.insync.replicas", c.min_insync_replicas, 1);
  set_int("max.request.partition.size.limit", c.max_request_partition_size_limit, 1);
  // The group coordinator.
  set_int("group.min.session.timeout.ms", c.group_min_session_timeout_ms, 0);
  set_int("group.max.session.timeout.ms", c.group_max_session_timeout_ms, 0);
  set_int("group.initial.rebalance.delay.ms", c.group_initial_rebalance_delay_ms, 0);
  set_int("group.max.size", c.group_max_size, 1);
  set_int("group.consumer.session.timeout.ms", c.group_consumer_session_timeout_ms, 1);
  set_int("group.consumer.heartbeat.interval.ms", c.group_consumer_heartbeat_interval_ms, 1);
  set_int("group.consumer.max.size", c.group_consumer_max_size, 1);
  if (c.group_consumer_heartbeat_interval_ms >= c.group_consumer_session_timeout_ms)
    throw ConfigError("Invalid value " + std::to_string(c.group_consumer_heartbeat_interval_ms) +
                      " for configuration group.consumer.heartbeat.interval.ms: must be less than group.consumer.session.timeout.ms");
  set_int("offsets.topic.num.partitions", c.offsets_topic_num_partitions, 1);
  set_short("offsets.topic.replication.factor", c.offsets_topic_replication_factor, 1);
  set_int("offsets.topic.segment.bytes", c.offsets_topic_segment_bytes, 1);
  set_int("offset.metadata.max.bytes", c.offset_metadata_max_bytes, 0);
  set_int("offsets.commit.timeout.ms", c.offsets_commit_timeout_ms, 1);
  set_long("offsets.retention.minutes", c.offsets_retention_minutes, 1);
  set_long("offsets.retention.check.interval.ms", c.offsets_retention_check_interval_ms, 1);
  // The transaction coordinator.
  set_int("transaction.state.log.num.partitions", c.transaction_state_log_num_partitions, 1);
  set_short("transaction.state.log.replication.factor", c.transaction_state_log_replication_factor, 1);
  set_int("transaction.state.log.min.isr", c.transaction_state_log_min_isr, 1);
  set_int("transaction.state.log.segment.bytes", c.transaction_state_log_segment_bytes, 1);
  set_int("transaction.max.timeout.ms", c.transaction_max_timeout_ms, 1);
  set_int("transaction.abort.timed.out.transaction.cleanup.interval.ms", c.transaction_abort_timed_out_transaction_cleanup_interval_ms, 1);
  set_int("transactional.id.expiration.ms", c.transactional_id_expiration_ms, 1);
  set_int("producer.id.expiration.ms", c.producer_id_expiration_ms, 1);
  set_int("producer.id.expiration.check.interval.ms", c.producer_id_expiration_check_interval_ms, 1);
  set_int("transaction.remove.expired.transaction.cleanup.interval.ms", c.transaction_remove_expired_transaction_cleanup_interval_ms, 1);
  if (auto v = get("compression.type")) {
    static const std::set<std::string> ok = {"producer", "uncompressed", "gzip", "snappy", "lz4", "zstd"};
    if (!ok.count(*v)) throw ConfigError("Invalid value " + *v + " for configuration compression.type");
    c.compression_type = *v;
  }
  if (auto v = get("log.message.timestamp.type")) {
    if (*v != "CreateTime" && *v != "LogAppendTime") throw ConfigError("Invalid value " + *v + " for configuration log.message.timestamp.type");
    c.log_message_timestamp_type = *v;
  }
  set_int("socket.request.max.bytes", c.socket_request_max_bytes, 1);
  set_int("socket.send.buffer.bytes", c.socket_send_buffer_bytes, -1);
  set_int("socket.receive.buffer.bytes", c.socket_receive_buffer_bytes, -1);
  set_int("num.network.threads", c.num_network_threads, 1);
  set_int("num.io.threads", c.num_io_threads, 1);
  set_int("num.recovery.threads.per.data.dir", c.num_recovery_threads_per_data_dir, 1);
  set_int("replica.fetch.max.bytes", c.replica_fetch_max_bytes, 0);
  set_long("replica.lag.time.max.ms", c.replica_lag_time_max_ms, 1);
  set_int("replica.fetch.wait.max.ms", c.replica_fetch_wait_max_ms, 0);
  set_int("replica.fetch.min.bytes", c.replica_fetch_min_bytes, 1);
  set_int("replica.fetch.response.max.bytes", c.replica_fetch_response_max_bytes, 0);
  set_int("replica.fetch.backoff.ms", c.replica_fetch_backoff_ms, 0);
  set_int("replica.socket.timeout.ms", c.replica_socket_timeout_ms, 1);
  set_long("replica.high.watermark.checkpoint.interval.ms", c.replica_high_watermark_checkpoint_interval_ms, 1);
  set_int("fetch.max.bytes", c.fetch_max_bytes, 0);
  set_int("controller.quorum.election.timeout.ms", c.quorum_election_timeout_ms, 0);
  set_int("controller.quorum.election.backoff.max.ms", c.quorum_election_backoff_max_ms, 0);
  set_int("controller.quorum.fetch.timeout.ms", c.quorum_fetch_timeout_ms, 0);
  set_int("controller.quorum.append.linger.ms", c.quorum_append_linger_ms, 0);
  set_int("controller.quorum.request.timeout.ms", c.quorum_request_timeout_ms, 0);
  set_int("controller.quorum.retry.backoff.ms", c.quorum_retry_backoff_ms, 0);
  set_int("request.timeout.ms", c.request_timeout_ms, 1);
  set_long("metadata.max.idle.interval.ms", c.metadata_max_idle_interval_ms, 0);
  set_int("broker.session.timeout.ms", c.broker_session_timeout_ms, 1);
  set_int("broker.heartbeat.interval.ms", c.broker_heartbeat_interval_ms, 1);
  if (auto v = get("auto.leader.rebalance.enable")) c.auto_leader_rebalance_enable = parse_bool("auto.leader.rebalance.enable", *v);
  set_long("leader.imbalance.check.interval.seconds", c.leader_imbalance_check_interval_seconds, 1);
  set_int("leader.imbalance.per.broker.percentage", c.leader_imbalance_per_broker_percentage, INT32_MIN);
  if (auto v = get("broker.rack")) c.broker_rack = *v;
  if (auto v = get("replica.selector.class")) c.replica_selector_class = trim(*v);
  if (auto v = get("unclean.leader.election.enable")) c.unclean_leader_election_enable = parse_bool("unclean.leader.election.enable", *v);
  if (auto v = get("controlled.shutdown.enable")) c.controlled_shutdown_enable = parse_bool("controlled.shutdown.enable", *v);
  // The metadata log: Kafka's MetadataLogConfig. The segment sizes are INTs
  // of at least Records.LOG_OVERHEAD (12); retention has no validator (a
  // negative value: no limit). segment.ms has none in KafkaConfig either, but
  // Kafka's metadata log then fails start-up on segment.ms < 1 (LogConfig).
  auto set_int_as_long = [&](const char* k, int64_t& dst, int64_t min) {
    if (auto v = get(k)) dst = parse_int(k, *v, min);
  };
  set_int_as_long("metadata.log.segment.bytes", c.metadata_log_segment_bytes, 12);
  set_int_as_long("metadata.log.segment.min.bytes", c.metadata_log_segment_min_bytes, 12);
  set_long("metadata.log.segment.ms", c.metadata_log_segment_ms, 1);
  set_long("metadata.max.retention.ms", c.metadata_max_retention_ms);
  set_long("metadata.max.retention.bytes", c.metadata_max_retention_bytes);
  set_long("metadata.log.max.record.bytes.between.snapshots", c.metadata_snapshot_max_new_record_bytes, 1);
  set_long("metadata.log.max.snapshot.interval.ms", c.metadata_snapshot_max_interval_ms, 0);
  // Kafka's KafkaMetadataLog refuses to open with smaller segments.
  if (c.metadata_log_segment_bytes < c.metadata_log_segment_min_bytes)
    throw ConfigError("Cannot set metadata.log.segment.bytes below " + std::to_string(c.metadata_log_segment_min_bytes) + ": " +
                      std::to_string(c.metadata_log_segment_bytes));
  set_long("connections.max.reauth.ms", c.connections_max_reauth_ms, 0);
  if (auto v = get("delegation.token.secret.key")) c.delegation_token_secret_key = *v;
  else if (auto m = get("delegation.token.master.key")) c.delegation_token_secret_key = *m;
  set_long("delegation.token.max.lifetime.ms", c.delegation_token_max_lifetime_ms, 1);
  set_long("delegation.token.expiry.time.ms", c.delegation_token_expiry_time_ms, 1);
  set_long("delegation.token.expiry.check.interval.ms", c.delegation_token_expiry_check_interval_ms, 1);
  // Client quotas (Kafka's QuotaConfig: INTs, at least 1).
  set_int("quota.window.num", c.quota_window_num, 1);
  set_int("quota.window.size.seconds", c.quota_window_size_seconds, 1);
  set_int("controller.quota.window.num", c.controller_quota_window_num, 1);
  set_int("controller.quota.window.size.seconds", c.controller_quota_window_size_seconds, 1);
  set_int("replication.quota.window.num", c.replication_quota_window_num, 1);
  set_int("replication.quota.window.size.seconds", c.replication_quota_window_size_seconds, 1);
  set_int("telemetry.max.bytes", c.telemetry_max_bytes, 1);  // Kafka's ServerConfigs: INT, at least 1
  if (auto v = get("http.listeners")) c.http_listeners = trim(*v);
  else if (auto cv = get("confluent.http.server.listeners")) c.http_listeners = trim(*cv);
  set_int("flotilla.http.server.threads", c.http_server_threads, 1);
  set_int("flotilla.http.server.thread.nice", c.http_server_thread_nice, 0);
  if (c.http_server_thread_nice > 19)
    throw ConfigError("Invalid value " + std::to_string(c.http_server_thread_nice) +
                      " for configuration flotilla.http.server.thread.nice: Value must be no more than 19");
  if (auto v = get("flotilla.metrics.partition.series"))
    c.metrics_partition_series = parse_bool("flotilla.metrics.partition.series", *v);
  set_long("flotilla.connections.authentication.timeout.ms", c.connections_authentication_timeout_ms);
  set_int("flotilla.log.fd.cache.size", c.log_fd_cache_size, 0);  // 0: half of RLIMIT_NOFILE
  // Partition capacity (issue 21).
  set_int("max.broker.partitions", c.max_broker_partitions, -1);
  set_int("max.partitions", c.max_partitions, -1);
  auto set_positive_double = [&](const char* k, double& dst, double max) {
    if (auto v = get(k)) {
      try {
        size_t pos = 0;
        double d = std::stod(*v, &pos);
        if (pos != v->size() || !(d > 0) || d > max) throw std::invalid_argument("range");
        dst = d;
      } catch (...) {
        throw ConfigError("Invalid value " + *v + " for configuration " + k +
                          (max == 1 ? ": Value must be a number in (0,...,1]" : ": Value must be a positive number"));
      }
    }
  };
  set_positive_double("flotilla.partitions.per.fd", c.partitions_per_fd, 1e9);
  set_positive_double("flotilla.partition.memory.fraction", c.partition_memory_fraction, 1);
  set_long("flotilla.memory.per.partition.bytes", c.memory_per_partition_bytes, 1);
  if (auto v = get("log.level")) c.log_level = *v;
  parse_authorization(c, get);
  parse_socket_server_limits(c, props, get);
  return c;
}

}  // namespace flotilla::server
