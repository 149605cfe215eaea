#include "client/kafka_client.h"

#include <algorithm>
#include <cstdio>
#include <thread>

#include "common/clock.h"

namespace flotilla::client {

msg::ProduceRequest make_produce_request(const std::string& topic, int16_t acks, int32_t timeout_ms,
                                         const std::vector<std::pair<int32_t, std::span<const uint8_t>>>& batches) {
  msg::ProduceRequest req;
  req.acks = acks;
  req.timeout_ms = timeout_ms;
  msg::ProduceRequest::TopicProduceData td;
  td.name = topic;
  for (const auto& [partition, bytes] : batches) {
    msg::ProduceRequest::PartitionProduceData pd;
    pd.index = partition;
    pd.records = Records::of_view(bytes);
    td.partition_data.push_back(std::move(pd));
  }
  req.topic_data.push_back(std::move(td));
  return req;
}

const PartitionInfo* TopicInfo::partition(int32_t p) const {
  for (const auto& x : partitions)
    if (x.partition == p) return &x;
  return nullptr;
}

KafkaClient::KafkaClient(const std::string& bootstrap, ClientOptions opts) : opts_(std::move(opts)) {
  for (const auto& item : split_list(bootstrap))
    if (!item.empty()) bootstrap_.push_back(parse_host_port(item));
  if (bootstrap_.empty()) throw std::invalid_argument("No resolvable bootstrap urls given in bootstrap.servers");
}

KafkaClient::~KafkaClient() = default;

Connection& KafkaClient::connect_to(const std::string& host, int port) {
  std::string key = host + ":" + std::to_string(port);
  auto it = conns_.find(key);
  if (it != conns_.end()) return *it->second;
  auto c = std::make_unique<Connection>(host, port, opts_.client_id, opts_.request_timeout_ms);
  Connection& ref = *c;
  conns_[key] = std::move(c);
  return ref;
}

void KafkaClient::drop(Connection& c) {
  for (auto it = conns_.begin(); it != conns_.end(); ++it)
    if (it->second.get() == &c) {
      if (any_ == &c) any_ = nullptr;
      conns_.erase(it);
      return;
    }
}

Connection& KafkaClient::any() {
  if (any_) return *any_;
  std::string last;
  for (const auto& [h, p] : bootstrap_) {
    try {
      any_ = &connect_to(h, p);
      return *any_;
    } catch (const NetworkError& e) {
      last = e.what();
    }
  }
  throw NetworkError(last);
}

Connection& KafkaClient::broker(int32_t id) {
  auto it = cluster_.brokers.find(id);
  if (it == cluster_.brokers.end()) {
    metadata(std::nullopt);
    it = cluster_.brokers.find(id);
    if (it == cluster_.brokers.end()) throw KafkaError(ErrorCode::BROKER_NOT_AVAILABLE, "Broker " + std::to_string(id) + " is not in the cluster metadata");
  }
  return connect_to(it->second.host, it->second.port);
}

Connection& KafkaClient::controller() {
  if (cluster_.controller_id >= 0 && cluster_.brokers.count(cluster_.controller_id)) {
    try {
      return broker(cluster_.controller_id);
    } catch (const NetworkError&) {
    }
  }
  return any();
}

ClusterInfo KafkaClient::metadata(const std::optional<std::vector<std::string>>& topics, bool allow_auto_create) {
  msg::MetadataRequest req;
  Connection* c = &any();
  int16_t v = c->version_for(msg::MetadataRequest::kApiKey);
  if (topics) {
    req.topics = std::vector<msg::MetadataRequest::MetadataRequestTopic>{};
    for (const auto& t : *topics) {
      msg::MetadataRequest::MetadataRequestTopic rt;
      rt.name = t;
      req.topics->push_back(rt);
    }
  } else {
    req.topics = std::nullopt;
  }
  req.allow_auto_topic_creation = allow_auto_create;
  msg::MetadataResponse resp;
  try {
    resp = c->call(req, v).first;
  } catch (const NetworkError&) {
    // The bootstrap connection broke: reconnect once.
    drop(*c);
    c = &any();
    resp = c->call(req, c->version_for(msg::MetadataRequest::kApiKey)).first;
  }
  ClusterInfo out;
  for (const auto& b : resp.brokers) out.brokers[b.node_id] = BrokerInfo{b.node_id, b.host, b.port, b.rack};
  out.cluster_id = resp.cluster_id;
  out.controller_id = resp.controller_id;
  for (const auto& t : resp.topics) {
    TopicInfo ti;
    ti.name = t.name.value_or("");
    ti.id = t.topic_id;
    ti.error = t.error_code;
    ti.internal = t.is_internal;
    for (const auto& p : t.partitions) {
      PartitionInfo pi;
      pi.partition = p.partition_index;
      pi.error = p.error_code;
      pi.leader = p.leader_id;
      pi.leader_epoch = p.leader_epoch;
      pi.replicas = p.replica_nodes;
      pi.isr = p.isr_nodes;
      pi.offline = p.offline_replicas;
      ti.partitions.push_back(std::move(pi));
    }
    std::sort(ti.partitions.begin(), ti.partitions.end(), [](const auto& a, const auto& b) { return a.partition < b.partition; });
    out.topics[ti.name] = ti;
  }
  // Merge into the cache: brokers replaced, listed topics replaced.
  cluster_.brokers = out.brokers;
  cluster_.cluster_id = out.cluster_id;
  cluster_.controller_id = out.controller_id;
  if (!topics) cluster_.topics.clear();
  for (const auto& [name, ti] : out.topics) {
    if (ti.error == 0) {
      cluster_.topics[name] = ti;
      if (!ti.id.is_zero()) topic_names_[ti.id] = name;
    } else {
      cluster_.topics.erase(name);
    }
  }
  return out;
}

TopicInfo KafkaClient::wait_for_topic(const std::string& topic, int timeout_ms, bool allow_auto_create) {
  int64_t deadline = monotonic_ms() + timeout_ms;
  int backoff = 20;
  bool warned = false;
  for (;;) {
    int16_t err = 0;
    std::string why;
    try {
      ClusterInfo ci = metadata(std::vector<std::string>{topic}, allow_auto_create);
      auto it = ci.topics.find(topic);
      if (it == ci.topics.end()) {
        err = code(ErrorCode::UNKNOWN_TOPIC_OR_PARTITION);
      } else if (it->second.error != 0) {
        err = it->second.error;
      } else if (it->second.partitions.empty()) {
        err = code(ErrorCode::LEADER_NOT_AVAILABLE);
      } else {
        bool ok = true;
        for (const auto& p : it->second.partitions)
          if (p.leader < 0 || !ci.brokers.count(p.leader)) ok = false;
        if (ok) return it->second;
        err = code(ErrorCode::LEADER_NOT_AVAILABLE);
      }
      if (!is_retriable(err)) throw KafkaError(static_cast<ErrorCode>(err), error_text(err));
    } catch (const NetworkError& e) {
      why = e.what();
      err = code(ErrorCode::NETWORK_EXCEPTION);
      if (!warned) {
        std::fprintf(stderr, "WARN %s. Broker may not be available.\n", e.what());
        warned = true;
      }
    }
    if (monotonic_ms() >= deadline) {
      if (err == code(ErrorCode::UNKNOWN_TOPIC_OR_PARTITION))
        throw KafkaError(ErrorCode::UNKNOWN_TOPIC_OR_PARTITION, "Topic " + topic + " not present in metadata after " + std::to_string(timeout_ms) + " ms.");
      throw KafkaError(static_cast<ErrorCode>(err), why.empty() ? error_text(err) : why);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(backoff));
    backoff = std::min(backoff * 2, 500);
  }
}

const TopicInfo& KafkaClient::topic_or_throw(const std::string& topic) {
  auto it = cluster_.topics.find(topic);
  if (it == cluster_.topics.end()) {
    metadata(std::vector<std::string>{topic});
    it = cluster_.topics.find(topic);
    if (it == cluster_.topics.end()) throw KafkaError(ErrorCode::UNKNOWN_TOPIC_OR_PARTITION, error_text(code(ErrorCode::UNKNOWN_TOPIC_OR_PARTITION)));
  }
  return it->second;
}

int32_t KafkaClient::leader_of(const std::string& topic, int32_t partition) {
  const TopicInfo& t = topic_or_throw(topic);
  const PartitionInfo* p = t.partition(partition);
  if (!p) throw KafkaError(ErrorCode::UNKNOWN_TOPIC_OR_PARTITION, "Partition " + std::to_string(partition) + " of topic " + topic + " does not exist");
  if (p->leader < 0) throw KafkaError(ErrorCode::LEADER_NOT_AVAILABLE, error_text(code(ErrorCode::LEADER_NOT_AVAILABLE)));
  return p->leader;
}


ProduceResult KafkaClient::produce(const std::string& topic, int32_t partition, std::span<const uint8_t> batches, int16_t acks,
                                   int32_t timeout_ms) {
  Connection& c = broker(leader_of(topic, partition));
  int16_t v = c.version_for(msg::ProduceRequest::kApiKey);
  msg::ProduceRequest req = make_produce_request(topic, acks, timeout_ms, {{partition, batches}});
  ProduceResult out;
  if (acks == 0) {
    c.send(req, v, false);
    out.error = 0;
    return out;
  }
  auto resp = c.call(req, v).first;
  for (const auto& t : resp.responses)
    for (const auto& p : t.partition_responses)
      if (p.index == partition) {
        out.error = p.error_code;
        out.message = p.error_code ? error_text(p.error_code, p.error_message) : "";
        out.base_offset = p.base_offset;
        out.log_append_time = p.log_append_time_ms;
        return out;
      }
  out.error = code(ErrorCode::UNKNOWN_SERVER_ERROR);
  out.message = "The produce response has no result for partition " + std::to_string(partition);
  return out;
}

msg::FetchRequest KafkaClient::make_fetch_request(const std::vector<FetchTarget>& targets, int16_t version, int32_t max_wait_ms,
                                                  int32_t min_bytes, int32_t max_bytes) {
  msg::FetchRequest req;
  req.replica_id = -1;
  req.max_wait_ms = max_wait_ms;
  req.min_bytes = min_bytes;
  req.max_bytes = max_bytes;
  req.isolation_level = 0;
  req.session_id = 0;
  req.session_epoch = -1;
  for (const auto& t : targets) {
    msg::FetchRequest::FetchTopic* ft = nullptr;
    for (auto& x : req.topics)
      if (x.topic == t.topic) ft = &x;
    if (!ft) {
      req.topics.emplace_back();
      ft = &req.topics.back();
      ft->topic = t.topic;
      ft->topic_id = t.topic_id;
    }
    msg::FetchRequest::FetchPartition fp;
    fp.partition = t.partition;
    fp.fetch_offset = t.offset;
    fp.partition_max_bytes = t.max_bytes;
    fp.current_leader_epoch = -1;
    fp.log_start_offset = -1;
    ft->partitions.push_back(fp);
  }
  (void)version;
  return req;
}

std::vector<FetchPartitionResult> KafkaClient::fetch_results(const ResponseFrame& f) const {
  auto resp = f.decode<msg::FetchResponse>();
  std::vector<FetchPartitionResult> out;
  if (resp.error_code != 0 && resp.responses.empty()) throw KafkaError(static_cast<ErrorCode>(resp.error_code), error_text(resp.error_code));
  for (const auto& t : resp.responses) {
    std::string name = t.topic;
    if (f.api_version >= 13) {
      auto it = topic_names_.find(t.topic_id);
      if (it != topic_names_.end()) name = it->second;
    }
    for (const auto& p : t.partitions) {
      FetchPartitionResult r;
      r.topic = name;
      r.partition = p.partition_index;
      r.error = p.error_code;
      r.high_watermark = p.high_watermark;
      r.log_start_offset = p.log_start_offset;
      if (!p.records.is_null) r.records = p.records.view;
      r.frame = f.data;
      out.push_back(std::move(r));
    }
  }
  return out;
}


PendingFetch KafkaClient::send_fetch(int32_t leader, const std::vector<FetchTarget>& targets, int32_t max_wait_ms, int32_t min_bytes,
                                     int32_t max_bytes) {
  Connection& c = broker(leader);
  int16_t v = c.version_for(msg::FetchRequest::kApiKey);
  bool ids = std::all_of(targets.begin(), targets.end(), [](const FetchTarget& t) { return !t.topic_id.is_zero(); });
  if (!ids && v >= 13) v = 12;
  return PendingFetch{&c, c.send(make_fetch_request(targets, v, max_wait_ms, min_bytes, max_bytes), v)};
}

std::vector<FetchPartitionResult> KafkaClient::receive_fetch(const PendingFetch& pending) {
  return fetch_results(pending.conn->receive_for(pending.correlation_id));
}

FetchPartitionResult KafkaClient::fetch(const std::string& topic, int32_t partition, int64_t offset, int32_t max_bytes, int32_t max_wait_ms) {
  const TopicInfo& t = topic_or_throw(topic);
  FetchTarget target{topic, t.id, partition, offset, max_bytes};
  PendingFetch pending = send_fetch(leader_of(topic, partition), {target}, max_wait_ms, 1, max_bytes);
  for (auto& r : receive_fetch(pending))
    if (r.partition == partition) return r;
  FetchPartitionResult r;
  r.topic = topic;
  r.partition = partition;
  r.error = code(ErrorCode::UNKNOWN_SERVER_ERROR);
  return r;
}

std::map<int32_t, int64_t> KafkaClient::list_offsets(const std::string& topic, const std::vector<int32_t>& partitions, int64_t timestamp) {
  std::map<int32_t, std::vector<int32_t>> by_leader;
  for (int32_t p : partitions) by_leader[leader_of(topic, p)].push_back(p);
  std::map<int32_t, int64_t> out;
  for (const auto& [leader, parts] : by_leader) {
    Connection& c = broker(leader);
    int16_t v = c.version_for(msg::ListOffsetsRequest::kApiKey);
    msg::ListOffsetsRequest req;
    req.replica_id = -1;
    req.isolation_level = 0;
    req.timeout_ms = opts_.request_timeout_ms;
    msg::ListOffsetsRequest::ListOffsetsTopic lt;
    lt.name = topic;
    for (int32_t p : parts) {
      msg::ListOffsetsRequest::ListOffsetsPartition lp;
      lp.partition_index = p;
      lp.timestamp = timestamp;
      lp.current_leader_epoch = -1;
      lt.partitions.push_back(lp);
    }
    req.topics.push_back(lt);
    auto resp = c.call(req, v).first;
    for (const auto& t : resp.topics)
      for (const auto& p : t.partitions) {
        if (p.error_code != 0) throw KafkaError(static_cast<ErrorCode>(p.error_code), error_text(p.error_code));
        out[p.partition_index] = p.offset;
      }
  }
  for (int32_t p : partitions)
    if (!out.count(p)) throw KafkaError(ErrorCode::UNKNOWN_SERVER_ERROR, "ListOffsets returned no offset for partition " + std::to_string(p));
  return out;
}

std::pair<int64_t, int64_t> KafkaClient::list_offset(const std::string& topic, int32_t partition, int64_t timestamp) {
  Connection& c = broker(leader_of(topic, partition));
  int16_t v = c.version_for(msg::ListOffsetsRequest::kApiKey);
  msg::ListOffsetsRequest req;
  req.replica_id = -1;
  req.timeout_ms = opts_.request_timeout_ms;
  msg::ListOffsetsRequest::ListOffsetsTopic lt;
  lt.name = topic;
  msg::ListOffsetsRequest::ListOffsetsPartition lp;
  lp.partition_index = partition;
  lp.timestamp = timestamp;
  lt.partitions.push_back(lp);
  req.topics.push_back(lt);
  auto resp = c.call(req, v).first;
  for (const auto& t : resp.topics)
    for (const auto& p : t.partitions)
      if (p.partition_index == partition) {
        if (p.error_code != 0) throw KafkaError(static_cast<ErrorCode>(p.error_code), error_text(p.error_code));
        return {p.offset, p.timestamp};
      }
  throw KafkaError(ErrorCode::UNKNOWN_SERVER_ERROR, "ListOffsets returned no offset for partition " + std::to_string(partition));
}


std::map<TopicPartition, int64_t> KafkaClient::offsets_for(const std::vector<TopicPartition>& partitions, int64_t timestamp, bool strict) {
  std::map<std::string, std::vector<int32_t>> by_topic;
  for (const auto& [t, p] : partitions) by_topic[t].push_back(p);
  std::map<TopicPartition, int64_t> out;
  for (auto& [t, ps] : by_topic) {
    std::sort(ps.begin(), ps.end());
    ps.erase(std::unique(ps.begin(), ps.end()), ps.end());
    try {
      for (const auto& [p, off] : list_offsets(t, ps, timestamp)) out[{t, p}] = off;
    } catch (const std::exception&) {
      for (int32_t p : ps) {
        try {
          out[{t, p}] = list_offset(t, p, timestamp).first;
        } catch (const std::exception&) {
          if (strict) throw;
        }
      }
    }
  }
  return out;
}

}  // namespace flotilla::client
