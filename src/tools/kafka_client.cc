#include "tools/kafka_client.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <set>
#include <thread>

#include "common/clock.h"

namespace flotilla::tools {

std::string error_text(int16_t code, const std::optional<std::string>& server_message) {
  if (server_message && !server_message->empty()) return *server_message;
  std::string_view m = error_message(static_cast<ErrorCode>(code));
  if (!m.empty()) return std::string(m);
  return std::string(error_name(code));
}

bool is_retriable(int16_t code) {
  switch (static_cast<ErrorCode>(code)) {
    case ErrorCode::UNKNOWN_TOPIC_OR_PARTITION:
    case ErrorCode::LEADER_NOT_AVAILABLE:
    case ErrorCode::NOT_LEADER_OR_FOLLOWER:
    case ErrorCode::REQUEST_TIMED_OUT:
    case ErrorCode::NETWORK_EXCEPTION:
    case ErrorCode::COORDINATOR_LOAD_IN_PROGRESS:
    case ErrorCode::COORDINATOR_NOT_AVAILABLE:
    case ErrorCode::NOT_COORDINATOR:
    case ErrorCode::NOT_ENOUGH_REPLICAS:
    case ErrorCode::NOT_ENOUGH_REPLICAS_AFTER_APPEND:
    case ErrorCode::NOT_CONTROLLER:
    case ErrorCode::KAFKA_STORAGE_ERROR:
    case ErrorCode::FETCH_SESSION_ID_NOT_FOUND:
    case ErrorCode::INVALID_FETCH_SESSION_EPOCH:
    case ErrorCode::LISTENER_NOT_FOUND:
    case ErrorCode::FENCED_LEADER_EPOCH:
    case ErrorCode::UNKNOWN_LEADER_EPOCH:
    case ErrorCode::OFFSET_NOT_AVAILABLE:
    case ErrorCode::PREFERRED_LEADER_NOT_AVAILABLE:
    case ErrorCode::ELECTION_NOT_NEEDED:
    case ErrorCode::THROTTLING_QUOTA_EXCEEDED:
    case ErrorCode::UNKNOWN_TOPIC_ID:
    case ErrorCode::INCONSISTENT_TOPIC_ID:
      return true;
    default:
      return false;
  }
}

std::pair<std::string, int> parse_host_port(const std::string& s_in) {
  std::string s = s_in;
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.pop_back();
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.erase(s.begin());
  auto colon = s.rfind(':');
  if (colon == std::string::npos || colon == 0 || colon + 1 >= s.size())
    throw std::invalid_argument("Invalid url in bootstrap.servers: " + s_in);
  std::string host = s.substr(0, colon);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  int port = 0;
  for (char c : s.substr(colon + 1)) {
    if (c < '0' || c > '9') throw std::invalid_argument("Invalid port in bootstrap.servers: " + s_in);
    port = port * 10 + (c - '0');
    if (port > 65535) throw std::invalid_argument("Invalid port in bootstrap.servers: " + s_in);
  }
  return {host, port};
}

int16_t client_max_version(int16_t api_key) {
  int16_t cap = -1;
  switch (api_key) {
    case msg::ProduceRequest::kApiKey: cap = msg::ProduceRequest::kMaxVersion; break;
    case msg::FetchRequest::kApiKey: cap = msg::FetchRequest::kMaxVersion; break;
    case msg::ListOffsetsRequest::kApiKey: cap = msg::ListOffsetsRequest::kMaxVersion; break;
    case msg::MetadataRequest::kApiKey: cap = msg::MetadataRequest::kMaxVersion; break;
    case msg::ApiVersionsRequest::kApiKey: cap = msg::ApiVersionsRequest::kMaxVersion; break;
    case msg::CreateTopicsRequest::kApiKey: cap = msg::CreateTopicsRequest::kMaxVersion; break;
    case msg::DeleteTopicsRequest::kApiKey: cap = msg::DeleteTopicsRequest::kMaxVersion; break;
    case msg::CreatePartitionsRequest::kApiKey: cap = msg::CreatePartitionsRequest::kMaxVersion; break;
    case msg::DescribeConfigsRequest::kApiKey: cap = msg::DescribeConfigsRequest::kMaxVersion; break;
    case msg::DescribeQuorumRequest::kApiKey: cap = msg::DescribeQuorumRequest::kMaxVersion; break;
    case msg::DescribeClusterRequest::kApiKey: cap = msg::DescribeClusterRequest::kMaxVersion; break;
    case msg::AddRaftVoterRequest::kApiKey: cap = msg::AddRaftVoterRequest::kMaxVersion; break;
    case msg::RemoveRaftVoterRequest::kApiKey: cap = msg::RemoveRaftVoterRequest::kMaxVersion; break;
    default: break;
  }
  if (cap >= 0) {
    if (const auto* info = protocol::api_info(api_key); info && info->unstable && cap > info->min_version) cap = static_cast<int16_t>(cap - 1);
  }
  return cap;
}

static int16_t client_min_version(int16_t api_key) {
  switch (api_key) {
    case msg::ProduceRequest::kApiKey: return 3;  // record batch v2
    case msg::FetchRequest::kApiKey: return 4;
    case msg::ListOffsetsRequest::kApiKey: return 1;
    case msg::MetadataRequest::kApiKey: return 1;
    case msg::DeleteTopicsRequest::kApiKey: return 0;
    default: return 0;
  }
}

// ---------------------------------------------------------------- Connection

Connection::Connection(std::string host, int port, std::string client_id, int timeout_ms)
    : host_(std::move(host)), port_(port), client_id_(std::move(client_id)), timeout_ms_(timeout_ms) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* res = nullptr;
  std::string port_s = std::to_string(port_);
  int rc = getaddrinfo(host_.c_str(), port_s.c_str(), &hints, &res);
  if (rc != 0) throw NetworkError("Couldn't resolve server " + host_ + ":" + port_s + ": " + gai_strerror(rc));
  std::string last_error = "no address";
  for (addrinfo* ai = res; ai; ai = ai->ai_next) {
    int fd = ::socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK, ai->ai_protocol);
    if (fd < 0) {
      last_error = std::strerror(errno);
      continue;
    }
    int r = ::connect(fd, ai->ai_addr, ai->ai_addrlen);
    if (r != 0 && errno == EINPROGRESS) {
      pollfd p{fd, POLLOUT, 0};
      int pr = ::poll(&p, 1, timeout_ms_);
      if (pr == 1) {
        int err = 0;
        socklen_t len = sizeof(err);
        getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len);
        if (err == 0) r = 0;
        else errno = err;
      } else if (pr == 0) {
        errno = ETIMEDOUT;
      }
    }
    if (r != 0) {
      last_error = std::strerror(errno);
      ::close(fd);
      continue;
    }
    fd_ = fd;
    break;
  }
  freeaddrinfo(res);
  if (fd_ < 0) throw NetworkError("Connection to " + host_ + ":" + port_s + " could not be established: " + last_error);
  int one = 1;
  setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
  try {
    negotiate();
  } catch (...) {
    ::close(fd_);
    fd_ = -1;
    throw;
  }
}

Connection::~Connection() {
  if (fd_ >= 0) ::close(fd_);
}

void Connection::set_timeout_ms(int ms) { timeout_ms_ = ms; }

void Connection::wait_fd(short events) {
  pollfd p{fd_, events, 0};
  for (;;) {
    int r = ::poll(&p, 1, timeout_ms_);
    if (r > 0) return;
    if (r == 0) throw NetworkError("Request to " + host_ + ":" + std::to_string(port_) + " timed out after " + std::to_string(timeout_ms_) + " ms");
    if (errno == EINTR) continue;
    throw NetworkError(std::string("poll: ") + std::strerror(errno));
  }
}

void Connection::write_all(const uint8_t* p, size_t n) {
  while (n > 0) {
    ssize_t w = ::send(fd_, p, n, MSG_NOSIGNAL);
    if (w > 0) {
      p += w;
      n -= static_cast<size_t>(w);
      continue;
    }
    if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      wait_fd(POLLOUT);
      continue;
    }
    if (w < 0 && errno == EINTR) continue;
    throw NetworkError("Connection to " + host_ + ":" + std::to_string(port_) + " failed: " + std::strerror(errno));
  }
}

void Connection::read_all(uint8_t* p, size_t n) {
  while (n > 0) {
    ssize_t r = ::recv(fd_, p, n, 0);
    if (r > 0) {
      p += r;
      n -= static_cast<size_t>(r);
      continue;
    }
    if (r == 0) throw NetworkError("Connection to " + host_ + ":" + std::to_string(port_) + " was closed by the server");
    if (errno == EAGAIN || errno == EWOULDBLOCK) {
      wait_fd(POLLIN);
      continue;
    }
    if (errno == EINTR) continue;
    throw NetworkError("Connection to " + host_ + ":" + std::to_string(port_) + " failed: " + std::strerror(errno));
  }
}

int32_t Connection::send_frame(std::vector<uint8_t>& frame, int16_t api_key, int16_t version, bool expect_response) {
  int32_t id = next_correlation_++;
  if (next_correlation_ == INT32_MAX) next_correlation_ = 1;
  store_be32(frame.data() + 8, static_cast<uint32_t>(id));
  write_all(frame.data(), frame.size());
  if (expect_response) pending_.push_back(Pending{id, api_key, version});
  return id;
}

ResponseFrame Connection::receive() {
  if (pending_.empty()) throw std::logic_error("receive() without a request in flight");
  uint8_t size_buf[4];
  read_all(size_buf, 4);
  int32_t size = static_cast<int32_t>(load_be32(size_buf));
  if (size < 4 || size > (1 << 30)) throw NetworkError("Invalid response size " + std::to_string(size) + " from " + host_);
  auto data = std::make_shared<std::vector<uint8_t>>(static_cast<size_t>(size));
  read_all(data->data(), data->size());
  Pending p = pending_.front();
  pending_.pop_front();
  ByteReader r(*data);
  msg::ResponseHeader h;
  h.decode(r, protocol::response_header_version(p.api_key, p.version));
  if (h.correlation_id != p.correlation_id)
    throw NetworkError("Correlation id mismatch from " + host_ + ": expected " + std::to_string(p.correlation_id) + ", got " +
                       std::to_string(h.correlation_id));
  ResponseFrame f;
  f.data = std::move(data);
  f.body_offset = r.position();
  f.correlation_id = h.correlation_id;
  f.api_key = p.api_key;
  f.api_version = p.version;
  return f;
}

void Connection::negotiate() {
  int16_t v = client_max_version(msg::ApiVersionsRequest::kApiKey);
  for (int attempt = 0; attempt < 2; ++attempt) {
    msg::ApiVersionsRequest req;
    req.client_software_name = "flotilla-tools";
    req.client_software_version = "0.1.0";
    send(req, v);
    ResponseFrame f = receive();
    // An unsupported version is answered in v0 with the supported range.
    ByteReader peek(f.body());
    int16_t err = peek.get_i16();
    msg::ApiVersionsResponse resp;
    if (err == code(ErrorCode::UNSUPPORTED_VERSION)) {
      ByteReader r(f.body());
      resp.decode(r, 0);
      int16_t broker_max = 0;
      for (const auto& k : resp.api_keys)
        if (k.api_key == msg::ApiVersionsRequest::kApiKey) broker_max = k.max_version;
      v = std::min<int16_t>(v, broker_max);
      continue;
    }
    resp = f.decode<msg::ApiVersionsResponse>();
    if (resp.error_code != 0) throw KafkaError(static_cast<ErrorCode>(resp.error_code), "ApiVersions failed: " + error_text(resp.error_code));
    broker_versions_.clear();
    for (const auto& k : resp.api_keys) broker_versions_[k.api_key] = {k.min_version, k.max_version};
    return;
  }
  throw KafkaError(ErrorCode::UNSUPPORTED_VERSION, "The server at " + host_ + " does not support a usable ApiVersions version");
}

std::optional<std::pair<int16_t, int16_t>> Connection::broker_versions(int16_t api_key) const {
  auto it = broker_versions_.find(api_key);
  if (it == broker_versions_.end()) return std::nullopt;
  return it->second;
}

bool Connection::supports(int16_t api_key) const {
  auto b = broker_versions(api_key);
  if (!b) return false;
  int16_t cmax = client_max_version(api_key);
  return std::min(b->second, cmax) >= std::max(b->first, client_min_version(api_key));
}

int16_t Connection::version_for(int16_t api_key) const {
  auto b = broker_versions(api_key);
  const auto* info = protocol::api_info(api_key);
  std::string name = info ? info->name : std::to_string(api_key);
  if (!b) throw KafkaError(ErrorCode::UNSUPPORTED_VERSION, "The broker does not support " + name);
  int16_t cmax = client_max_version(api_key);
  int16_t v = std::min(b->second, cmax);
  if (v < std::max(b->first, client_min_version(api_key)))
    throw KafkaError(ErrorCode::UNSUPPORTED_VERSION, "The broker does not support a version of " + name + " this client supports");
  return v;
}

// --------------------------------------------------------------- KafkaClient

const PartitionInfo* TopicInfo::partition(int32_t p) const {
  for (const auto& x : partitions)
    if (x.partition == p) return &x;
  return nullptr;
}

KafkaClient::KafkaClient(const std::string& bootstrap, ClientOptions opts) : opts_(std::move(opts)) {
  size_t start = 0;
  while (start <= bootstrap.size()) {
    size_t comma = bootstrap.find(',', start);
    std::string item = bootstrap.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
    if (!item.empty()) bootstrap_.push_back(parse_host_port(item));
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
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

msg::CreateTopicsResponse KafkaClient::create_topics(const msg::CreateTopicsRequest& req) {
  for (int attempt = 0;; ++attempt) {
    Connection& c = attempt == 0 ? any() : controller();
    int16_t v = c.version_for(msg::CreateTopicsRequest::kApiKey);
    auto resp = c.call(req, v).first;
    bool not_controller = false;
    for (const auto& t : resp.topics)
      if (t.error_code == code(ErrorCode::NOT_CONTROLLER)) not_controller = true;
    if (!not_controller || attempt >= 5) return resp;
    metadata(std::vector<std::string>{});
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
}

msg::DeleteTopicsResponse KafkaClient::delete_topics(const std::vector<std::string>& names, int32_t timeout_ms) {
  for (int attempt = 0;; ++attempt) {
    Connection& c = attempt == 0 ? any() : controller();
    int16_t v = c.version_for(msg::DeleteTopicsRequest::kApiKey);
    msg::DeleteTopicsRequest req;
    req.timeout_ms = timeout_ms;
    for (const auto& n : names) {
      if (v >= 6) {
        msg::DeleteTopicsRequest::DeleteTopicState s;
        s.name = n;
        req.topics.push_back(s);
      } else {
        req.topic_names.push_back(n);
      }
    }
    auto resp = c.call(req, v).first;
    bool not_controller = false;
    for (const auto& t : resp.responses)
      if (t.error_code == code(ErrorCode::NOT_CONTROLLER)) not_controller = true;
    if (!not_controller || attempt >= 5) return resp;
    metadata(std::vector<std::string>{});
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
}

msg::CreatePartitionsResponse KafkaClient::create_partitions(const msg::CreatePartitionsRequest& req) {
  Connection& c = any();
  return c.call(req, c.version_for(msg::CreatePartitionsRequest::kApiKey)).first;
}

msg::DescribeConfigsResponse KafkaClient::describe_topic_configs(const std::vector<std::string>& names) {
  Connection& c = any();
  msg::DescribeConfigsRequest req;
  for (const auto& n : names) {
    msg::DescribeConfigsRequest::DescribeConfigsResource r;
    r.resource_type = 2;  // TOPIC
    r.resource_name = n;
    r.configuration_keys = std::nullopt;
    req.resources.push_back(r);
  }
  return c.call(req, c.version_for(msg::DescribeConfigsRequest::kApiKey)).first;
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
  msg::ProduceRequest req;
  req.acks = acks;
  req.timeout_ms = timeout_ms;
  msg::ProduceRequest::TopicProduceData td;
  td.name = topic;
  msg::ProduceRequest::PartitionProduceData pd;
  pd.index = partition;
  pd.records = Records::of_view(batches);
  td.partition_data.push_back(std::move(pd));
  req.topic_data.push_back(std::move(td));
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

FetchPartitionResult KafkaClient::fetch(const std::string& topic, int32_t partition, int64_t offset, int32_t max_bytes, int32_t max_wait_ms) {
  const TopicInfo& t = topic_or_throw(topic);
  Connection& c = broker(leader_of(topic, partition));
  int16_t v = c.version_for(msg::FetchRequest::kApiKey);
  if (t.id.is_zero() && v >= 13) v = 12;
  FetchTarget target{topic, t.id, partition, offset, max_bytes};
  auto req = make_fetch_request({target}, v, max_wait_ms, 1, max_bytes);
  int32_t id = c.send(req, v);
  for (;;) {
    ResponseFrame f = c.receive();
    if (f.correlation_id != id) continue;
    auto results = fetch_results(f);
    for (auto& r : results)
      if (r.partition == partition) return r;
    FetchPartitionResult r;
    r.topic = topic;
    r.partition = partition;
    r.error = code(ErrorCode::UNKNOWN_SERVER_ERROR);
    return r;
  }
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

}  // namespace flotilla::tools
