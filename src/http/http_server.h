// The node's HTTP listener (http.listeners): /metrics, the REST API v3 and the
// console, served by cpp-httplib on threads of its own.
//
// Why cpp-httplib and its own threads (docs/ARCHITECTURE.md, "HTTP"): the
// event loop must never do an HTTP request's work. The server's worker pool
// renders /metrics from atomics and REST/console reads from the published
// image; a REST write is a Kafka request handed to the loop (NodeView::kafka_call)
// whose answer the worker waits for. A slow client ties up a worker (bounded
// by http.server.threads and the read/write timeouts), never the loop.
//
// Threading: start() binds (throws on a taken port) and starts one accept
// thread per listener; stop() closes the listeners and joins them.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "http/router.h"

namespace flotilla::http {

struct HttpListener {
  std::string scheme;  // "http" or "https"
  std::string host;    // as configured; empty or 0.0.0.0: every address
  int port = 0;        // 0: an ephemeral port (bound_port() tells which)
};

// Parses `http://127.0.0.1:8090,https://0.0.0.0:8443` (Confluent's
// confluent.http.server.listeners syntax). Throws std::invalid_argument
// naming the bad entry.
std::vector<HttpListener> parse_http_listeners(const std::string& value);

// The outcome of checking a request's credentials.
struct AuthResult {
  bool ok = false;
  security::KafkaPrincipal principal;  // when ok
};

struct HttpServerConfig {
  std::vector<HttpListener> listeners;
  int threads = 16;                   // worker threads (shared by the listeners)
  // The workers' and accept threads' nice value: a scrape rendering 40,000
  // series for 30 ms then yields the CPU to the event loop and the clients
  // whenever they wake (produce p99 on 2 cores: see README, issue 18).
  int thread_nice = 10;
  size_t max_body_bytes = 16 << 20;   // a larger request body is refused (413)
  int read_timeout_ms = 30000;
  int write_timeout_ms = 30000;
  // Credentials check (Basic auth): called with the Authorization header (empty
  // when absent). Unset: every request is User:ANONYMOUS.
  std::function<AuthResult(const std::string& authorization)> authenticate;
  std::string auth_realm = "flotilla";  // WWW-Authenticate: Basic realm="<auth_realm>"
  // https listeners: configures the TLS context httplib creates (certificate,
  // key, client auth). Unset with an https listener: start() throws.
  std::function<bool(void* ssl_ctx)> setup_tls;
  // https listeners with client certificates: the principal of the verified
  // peer (called with the connection's SSL*); nullopt refuses the request
  // (403). Basic auth, when set, decides instead.
  std::function<std::optional<security::KafkaPrincipal>(const void* ssl)> tls_principal;
};

class HttpServer {
 public:
  HttpServer(HttpServerConfig config, Router router);
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  void start();
  void stop();
  // The port listener i is bound to (after start()).
  int bound_port(size_t i) const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace flotilla::http
