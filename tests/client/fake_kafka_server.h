// A fake Kafka endpoint for client and tool tests: a loopback listener that
// answers ApiVersions with a given table and every other request with the
// handler registered for its API key (none: the connection is closed), one
// connection at a time, responses in request order.
//
// Threading: start() serves on a thread of its own; handlers run there.
// Register handlers and settings before start(); seen() and
// api_versions_seen() may be read from the test thread at any time.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "common/bytes.h"
#include "protocol/messages.h"

namespace flotilla::client::test {

class FakeKafkaServer {
 public:
  // Decodes the request body from the reader and encodes the response body into the writer.
  using Handler = std::function<void(const msg::RequestHeader&, ByteReader&, ByteWriter&)>;
  // api key -> (min version, max version), as ApiVersions answers.
  using ApiTable = std::map<int16_t, std::pair<int16_t, int16_t>>;

  explicit FakeKafkaServer(ApiTable apis);
  ~FakeKafkaServer();
  FakeKafkaServer(const FakeKafkaServer&) = delete;
  FakeKafkaServer& operator=(const FakeKafkaServer&) = delete;

  int port() const { return port_; }
  std::string address() const { return "127.0.0.1:" + std::to_string(port_); }
  void on(int16_t key, Handler h) { handlers_[key] = std::move(h); }
  // Answer nothing until this many requests (after ApiVersions) have arrived.
  void hold_until(int n) { hold_ = n; }
  // ApiVersions up to v: a request above it is answered UNSUPPORTED_VERSION in v0.
  void max_api_versions_version(int16_t v);
  void start();

  // The version of every ApiVersions request.
  std::vector<int16_t> api_versions_seen();
  // (api key, version) of every request but ApiVersions.
  std::vector<std::pair<int16_t, int16_t>> seen();

 private:
  void serve();

  ApiTable apis_;
  int listen_fd_ = -1;
  int port_ = 0;
  std::thread thread_;
  std::atomic<bool> stop_{false};
  std::map<int16_t, Handler> handlers_;
  int hold_ = 0;
  std::optional<int16_t> max_av_;
  std::mutex mu_;
  std::vector<int16_t> av_versions_;
  std::vector<std::pair<int16_t, int16_t>> seen_;
};

}  // namespace flotilla::client::test
