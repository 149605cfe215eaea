#include "client/connection.h"

#include "security/sasl.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace flotilla::client {

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

std::vector<std::string> split_list(const std::string& s) {
  std::vector<std::string> out;
  size_t start = 0;
  for (;;) {
    size_t comma = s.find(',', start);
    out.push_back(s.substr(start, comma == std::string::npos ? std::string::npos : comma - start));
    if (comma == std::string::npos) return out;
    start = comma + 1;
  }
}

namespace {

// The generated code's highest version of the one of Reqs whose key is api_key (-1: none).
template <class... Reqs>
int16_t generated_max_version(int16_t api_key) {
  int16_t cap = -1;
  (void)((api_key == Reqs::kApiKey ? (cap = Reqs::kMaxVersion, true) : false) || ...);
  return cap;
}

int16_t client_min_version(int16_t api_key) {
  switch (api_key) {
    case msg::ProduceRequest::kApiKey: return 3;  // record batch v2
    case msg::FetchRequest::kApiKey: return 4;
    case msg::ListOffsetsRequest::kApiKey: return 1;
    case msg::MetadataRequest::kApiKey: return 1;
    case msg::DeleteTopicsRequest::kApiKey: return 0;
    default: return 0;
  }
}

}  // namespace

int16_t client_max_version(int16_t api_key) {
  int16_t cap = generated_max_version<msg::ProduceRequest, msg::FetchRequest, msg::ListOffsetsRequest, msg::MetadataRequest,
                                      msg::ApiVersionsRequest, msg::CreateTopicsRequest, msg::DeleteTopicsRequest,
                                      msg::CreatePartitionsRequest, msg::DescribeConfigsRequest, msg::DescribeQuorumRequest,
                                      msg::DescribeClusterRequest, msg::AddRaftVoterRequest, msg::RemoveRaftVoterRequest>(api_key);
  if (cap >= 0) {
    if (const auto* info = protocol::api_info(api_key); info && info->unstable && cap > info->min_version) cap = static_cast<int16_t>(cap - 1);
  }
  // Produce v13 names topics by id (KIP-516); this client produces by name.
  if (api_key == msg::ProduceRequest::kApiKey) cap = std::min<int16_t>(cap, 12);
  return cap;
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
    if (auto sec = default_security(); sec && security::uses_tls(sec->protocol) && sec->tls) tls_handshake(sec->tls);
    negotiate();
  } catch (...) {
    if (ssl_) SSL_free(ssl_);
    ssl_ = nullptr;
    ::close(fd_);
    fd_ = -1;
    throw;
  }
}

Connection::~Connection() {
  if (ssl_) SSL_free(ssl_);
  if (fd_ >= 0) ::close(fd_);
}

// SSL / SASL_SSL: the client side of the TLS handshake on the connected
// non-blocking socket, each wait bounded by the timeout. Records never span
// two responses (the server writes each response on its own), so once a
// response is read no decrypted bytes wait inside OpenSSL and polling fd()
// stays a correct readiness test.
void Connection::tls_handshake(const std::shared_ptr<const security::TlsContext>& context) {
  tls_context_ = context;
  ssl_ = SSL_new(context->native_handle());
  if (!ssl_) throw NetworkError("SSL_new failed");
  SSL_set_fd(ssl_, fd_);
  context->prepare_client(ssl_, host_);
  for (;;) {
    ERR_clear_error();
    int r = SSL_connect(ssl_);
    if (r == 1) return;
    int e = SSL_get_error(ssl_, r);
    if (e == SSL_ERROR_WANT_READ) wait_fd(POLLIN);
    else if (e == SSL_ERROR_WANT_WRITE) wait_fd(POLLOUT);
    else throw NetworkError("SSL handshake with " + host_ + ":" + std::to_string(port_) + " failed: " + tls_error());
  }
}

std::string Connection::tls_error() const {
  std::string text;
  while (unsigned long e = ERR_get_error()) {
    char buf[256];
    ERR_error_string_n(e, buf, sizeof buf);
    text = buf;
  }
  if (ssl_) {
    long verify = SSL_get_verify_result(ssl_);
    if (verify != X509_V_OK) text += std::string(text.empty() ? "" : " ") + "(" + X509_verify_cert_error_string(verify) + ")";
  }
  return text.empty() ? "connection closed" : text;
}

// One TLS read or write step; returns bytes moved, or waits and returns 0.
ssize_t Connection::tls_io(uint8_t* p, size_t n, bool write) {
  ERR_clear_error();
  int len = static_cast<int>(std::min<size_t>(n, 1 << 30));
  int r = write ? SSL_write(ssl_, p, len) : SSL_read(ssl_, p, len);
  if (r > 0) return r;
  int e = SSL_get_error(ssl_, r);
  if (e == SSL_ERROR_WANT_READ) wait_fd(POLLIN);
  else if (e == SSL_ERROR_WANT_WRITE) wait_fd(POLLOUT);
  else if (e == SSL_ERROR_ZERO_RETURN || (e == SSL_ERROR_SYSCALL && r == 0))
    throw NetworkError("Connection to " + host_ + ":" + std::to_string(port_) + " was closed by the server");
  else throw NetworkError("Connection to " + host_ + ":" + std::to_string(port_) + " failed: " + tls_error());
  return 0;
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
  while (ssl_ && n > 0) {
    ssize_t w = tls_io(const_cast<uint8_t*>(p), n, true);
    p += w;
    n -= static_cast<size_t>(w);
  }
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
  while (ssl_ && n > 0) {
    ssize_t r = tls_io(p, n, false);
    p += r;
    n -= static_cast<size_t>(r);
  }
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

ResponseFrame Connection::receive_for(int32_t correlation_id) {
  for (;;) {
    ResponseFrame f = receive();
    if (f.correlation_id == correlation_id) return f;
  }
}

namespace {
std::shared_ptr<const net::ClientSecurity>& default_security_slot() {
  static std::shared_ptr<const net::ClientSecurity> s;
  return s;
}
}  // namespace

void set_default_security(std::shared_ptr<const net::ClientSecurity> security) { default_security_slot() = std::move(security); }
std::shared_ptr<const net::ClientSecurity> default_security() { return default_security_slot(); }

void Connection::authenticate(const net::ClientSecurity& security) {
  auto client = security::make_sasl_client(security.sasl_mechanism, security.username, security.password, security.token_auth);
  if (!client) throw KafkaError(ErrorCode::UNSUPPORTED_SASL_MECHANISM, "SASL mechanism " + security.sasl_mechanism + " is not supported");
  msg::SaslHandshakeRequest hs;
  hs.mechanism = security.sasl_mechanism;
  auto [hs_resp, hs_frame] = call(hs, 1);
  if (hs_resp.error_code != 0) {
    std::string enabled;
    for (const auto& m : hs_resp.mechanisms) enabled += (enabled.empty() ? "" : ", ") + m;
    throw KafkaError(static_cast<ErrorCode>(hs_resp.error_code),
                     "Client SASL mechanism '" + security.sasl_mechanism + "' not enabled in the server, enabled mechanisms are [" + enabled + "]");
  }
  int16_t v = version_for(msg::SaslAuthenticateRequest::kApiKey, 2, 0);
  security::Bytes token = client->initial();
  for (int round = 0; round < 8; ++round) {
    msg::SaslAuthenticateRequest a;
    a.auth_bytes = std::move(token);
    auto [resp, frame] = call(a, v);
    if (resp.error_code != 0) throw KafkaError(static_cast<ErrorCode>(resp.error_code), error_text(resp.error_code, resp.error_message));
    if (client->done()) return;
    auto next = client->evaluate(resp.auth_bytes);
    if (!next) throw KafkaError(ErrorCode::SASL_AUTHENTICATION_FAILED, "The server's SASL " + security.sasl_mechanism + " message did not verify");
    if (client->done()) return;
    token = std::move(*next);
  }
  throw KafkaError(ErrorCode::SASL_AUTHENTICATION_FAILED, "The SASL exchange did not finish");
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
    if (auto sec = default_security(); sec && security::uses_sasl(sec->protocol)) authenticate(*sec);
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
  return version_for(api_key, client_max_version(api_key), client_min_version(api_key));
}

int16_t Connection::version_for(int16_t api_key, int16_t client_max, int16_t client_min, const char* speaker) const {
  auto b = broker_versions(api_key);
  const auto* info = protocol::api_info(api_key);
  std::string name = info ? info->name : std::to_string(api_key);
  if (!b) throw KafkaError(ErrorCode::UNSUPPORTED_VERSION, "The broker does not support " + name);
  int16_t v = std::min(b->second, client_max);
  if (v < std::max(b->first, client_min))
    throw KafkaError(ErrorCode::UNSUPPORTED_VERSION,
                     "The broker does not support a version of " + name + " this " + speaker + " supports");
  return v;
}

}  // namespace flotilla::client
