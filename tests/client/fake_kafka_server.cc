#include "client/fake_kafka_server.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include "common/error.h"
#include "protocol/api.h"

namespace flotilla::client::test {

namespace {

bool read_all(int fd, uint8_t* p, size_t n) {
  while (n > 0) {
    ssize_t r = ::recv(fd, p, n, 0);
    if (r <= 0) return false;
    p += r;
    n -= static_cast<size_t>(r);
  }
  return true;
}

bool write_all(int fd, const std::vector<uint8_t>& b) {
  size_t off = 0;
  while (off < b.size()) {
    ssize_t w = ::send(fd, b.data() + off, b.size() - off, MSG_NOSIGNAL);
    if (w <= 0) return false;
    off += static_cast<size_t>(w);
  }
  return true;
}

}  // namespace

FakeKafkaServer::FakeKafkaServer(ApiTable apis) : apis_(std::move(apis)) {
  listen_fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
  int one = 1;
  setsockopt(listen_fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = 0;
  EXPECT_EQ(::bind(listen_fd_, reinterpret_cast<sockaddr*>(&a), sizeof(a)), 0);
  EXPECT_EQ(::listen(listen_fd_, 4), 0);
  socklen_t len = sizeof(a);
  getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&a), &len);
  port_ = ntohs(a.sin_port);
}

FakeKafkaServer::~FakeKafkaServer() {
  stop_ = true;
  ::shutdown(listen_fd_, SHUT_RDWR);
  ::close(listen_fd_);
  if (thread_.joinable()) thread_.join();
}

void FakeKafkaServer::max_api_versions_version(int16_t v) {
  max_av_ = v;
  apis_[msg::ApiVersionsRequest::kApiKey] = {0, v};
}

void FakeKafkaServer::start() { thread_ = std::thread([this] { serve(); }); }

std::vector<int16_t> FakeKafkaServer::api_versions_seen() {
  std::lock_guard<std::mutex> g(mu_);
  return av_versions_;
}

std::vector<std::pair<int16_t, int16_t>> FakeKafkaServer::seen() {
  std::lock_guard<std::mutex> g(mu_);
  return seen_;
}

void FakeKafkaServer::serve() {
  while (!stop_) {
    int fd = ::accept(listen_fd_, nullptr, nullptr);
    if (fd < 0) return;
    std::vector<std::vector<uint8_t>> held;
    int received = 0;
    for (;;) {
      uint8_t sz[4];
      if (!read_all(fd, sz, 4)) break;
      std::vector<uint8_t> frame(load_be32(sz));
      if (!read_all(fd, frame.data(), frame.size())) break;
      int16_t key = static_cast<int16_t>(load_be16(frame.data()));
      int16_t version = static_cast<int16_t>(load_be16(frame.data() + 2));
      ByteReader r(frame);
      msg::RequestHeader h;
      h.decode(r, protocol::request_header_version(key, version));
      ByteWriter w;
      w.put_i32(0);
      msg::ResponseHeader rh;
      rh.correlation_id = h.correlation_id;
      if (key == msg::ApiVersionsRequest::kApiKey) {
        {
          std::lock_guard<std::mutex> g(mu_);
          av_versions_.push_back(version);
        }
        rh.encode(w, 0);
        msg::ApiVersionsResponse resp;
        for (const auto& [k, range] : apis_) {
          msg::ApiVersionsResponse::ApiVersion v;
          v.api_key = k;
          v.min_version = range.first;
          v.max_version = range.second;
          resp.api_keys.push_back(v);
        }
        if (max_av_ && version > *max_av_) {
          resp.error_code = code(ErrorCode::UNSUPPORTED_VERSION);
          resp.encode(w, 0);
        } else {
          resp.encode(w, version);
        }
        w.patch_i32(0, static_cast<int32_t>(w.position() - 4));
        if (!write_all(fd, w.buffer())) break;
        continue;
      }
      {
        std::lock_guard<std::mutex> g(mu_);
        seen_.emplace_back(key, version);
      }
      auto it = handlers_.find(key);
      if (it == handlers_.end()) break;
      rh.encode(w, protocol::response_header_version(key, version));
      it->second(h, r, w);
      w.patch_i32(0, static_cast<int32_t>(w.position() - 4));
      ++received;
      held.push_back(w.buffer());
      if (received >= hold_) {
        for (auto& b : held) write_all(fd, b);
        held.clear();
      }
    }
    ::close(fd);
  }
}

}  // namespace flotilla::client::test
