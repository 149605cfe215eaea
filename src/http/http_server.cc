// The only file that includes cpp-httplib (compiled alone, outside unity
// batches, with the definitions Debian's libcpp-httplib was built with):
// it translates httplib's requests to the router's types.
#include <httplib.h>

#include "http/http_server.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <stdexcept>

#include <sys/resource.h>
#include <unistd.h>

#include "common/config_def.h"

namespace flotilla::http {

namespace {
// setpriority on the calling thread (Linux: a thread id is a PRIO_PROCESS
// target; nice applies per thread). Failure is harmless: logged, ignored.
bool lower_priority(int nice) {
  if (nice <= 0) return true;
  if (::setpriority(PRIO_PROCESS, static_cast<id_t>(::gettid()), nice) != 0)
    spdlog::debug("[HttpServer] Cannot set the HTTP thread's nice value to {}: {}", nice, std::strerror(errno));
  return true;
}
}  // namespace

std::optional<std::string> HttpRequest::header(const std::string& key) const {
  for (const auto& [k, v] : headers)
    if (k.size() == key.size() &&
        std::equal(k.begin(), k.end(), key.begin(), [](char a, char b) { return std::tolower(a) == std::tolower(b); }))
      return v;
  return std::nullopt;
}

namespace {

std::string error_json(int code, std::string_view message) {
  std::string m;
  for (char c : message) {
    if (c == '"' || c == '\\') m += '\\';
    if (static_cast<unsigned char>(c) < 0x20) continue;
    m += c;
  }
  return "{\"error_code\":" + std::to_string(code) + ",\"message\":\"" + m + "\"}";
}

}  // namespace

void Router::dispatch(HttpRequest& req, HttpResponse& resp) const {
  bool path_known = false;
  for (const auto& r : routes_) {
    std::smatch m;
    if (!std::regex_match(req.path, m, r.re)) continue;
    path_known = true;
    if (r.method != req.method) continue;
    req.matches.clear();
    for (const auto& g : m) req.matches.push_back(g.str());
    try {
      r.handler(req, resp);
    } catch (const std::exception& e) {
      spdlog::error("[HttpServer] {} {} failed: {}", req.method, req.path, e.what());
      resp = HttpResponse{};
      resp.status = 500;
      resp.body = error_json(500, "Internal server error");
    }
    return;
  }
  resp.status = path_known ? 405 : 404;
  resp.body = error_json(path_known ? 405 : 404, path_known ? "HTTP 405 Method Not Allowed" : "HTTP 404 Not Found");
}

std::vector<HttpListener> parse_http_listeners(const std::string& value) {
  std::vector<HttpListener> out;
  for (const auto& raw : config::split_list(value)) {
    std::string entry(config::trim(raw));
    if (entry.empty()) continue;
    HttpListener l;
    auto sep = entry.find("://");
    if (sep == std::string::npos) throw std::invalid_argument("Invalid HTTP listener " + entry + ": expected http://host:port");
    l.scheme = entry.substr(0, sep);
    std::transform(l.scheme.begin(), l.scheme.end(), l.scheme.begin(), [](unsigned char c) { return std::tolower(c); });
    if (l.scheme != "http" && l.scheme != "https")
      throw std::invalid_argument("Invalid HTTP listener " + entry + ": the scheme must be http or https");
    std::string hostport = entry.substr(sep + 3);
    while (!hostport.empty() && hostport.back() == '/') hostport.pop_back();
    auto colon = hostport.rfind(':');
    if (colon == std::string::npos) throw std::invalid_argument("Invalid HTTP listener " + entry + ": no port");
    l.host = hostport.substr(0, colon);
    if (l.host.size() >= 2 && l.host.front() == '[' && l.host.back() == ']') l.host = l.host.substr(1, l.host.size() - 2);
    try {
      size_t used = 0;
      l.port = std::stoi(hostport.substr(colon + 1), &used);
      if (used != hostport.size() - colon - 1 || l.port < 0 || l.port > 65535) throw std::out_of_range("port");
    } catch (const std::exception&) {
      throw std::invalid_argument("Invalid HTTP listener " + entry + ": bad port");
    }
    out.push_back(std::move(l));
  }
  return out;
}

struct HttpServer::Impl {
  HttpServerConfig config;
  Router router;
  struct Running {
    HttpListener listener;
    std::unique_ptr<httplib::Server> server;
    std::thread thread;
    int port = 0;
  };
  std::vector<Running> running;

  void serve(const HttpListener& l, const httplib::Request& in, httplib::Response& out) {
    // httplib's pool makes its threads: each lowers its own priority on its first request.
    thread_local const bool niced = lower_priority(config.thread_nice);
    (void)niced;
    HttpRequest req;
    req.method = in.method;
    req.path = in.path;
    for (const auto& [k, v] : in.params) req.query.emplace(k, v);
    for (const auto& [k, v] : in.headers) req.headers.emplace(k, v);
    req.body = in.body;
    std::string host = in.get_header_value("Host");
    if (host.empty()) host = l.host + ":" + std::to_string(l.port);
    req.base_url = l.scheme + "://" + host;

    auto session = std::make_shared<security::Session>();
    session->listener = "HTTP";
    session->protocol = l.scheme == "https" ? security::SecurityProtocol::SSL : security::SecurityProtocol::PLAINTEXT;
    session->client_host = in.remote_addr;
    HttpResponse resp;
    if (config.authenticate) {
      AuthResult auth = config.authenticate(in.get_header_value("Authorization"));
      if (!auth.ok) {
        out.status = 401;
        out.set_header("WWW-Authenticate", "Basic realm=\"" + config.auth_realm + "\"");
        out.set_content(error_json(40101, "Unauthorized"), "application/json");
        return;
      }
      session->principal = auth.principal;
      session->sasl_mechanism = "BASIC";
    } else if (config.tls_principal && in.ssl) {
      auto principal = config.tls_principal(in.ssl);
      if (!principal) {
        out.status = 403;
        out.set_content(error_json(403, "Forbidden: the client certificate maps to no principal"), "application/json");
        return;
      }
      session->principal = *principal;
    }
    req.session = std::move(session);
    router.dispatch(req, resp);
    out.status = resp.status;
    for (const auto& [k, v] : resp.headers) out.set_header(k, v);
    // Moved, not set_content: this httplib's set_content copies (a 10,000-partition
    // /metrics is 2.35 MB: the copy and its page faults were ~7% of a scrape).
    out.body = std::move(resp.body);
    out.set_header("Content-Type", resp.content_type);
  }
};

HttpServer::HttpServer(HttpServerConfig config, Router router) : impl_(std::make_unique<Impl>()) {
  impl_->config = std::move(config);
  impl_->router = std::move(router);
}

HttpServer::~HttpServer() { stop(); }

void HttpServer::start() {
  for (const auto& l : impl_->config.listeners) {
    Impl::Running r;
    r.listener = l;
    if (l.scheme == "https") {
      if (!impl_->config.setup_tls) throw std::runtime_error("http.listeners has https but no TLS settings (ssl.keystore.*)");
      auto setup = impl_->config.setup_tls;
      r.server = std::make_unique<httplib::SSLServer>([setup](SSL_CTX& ctx) { return setup(&ctx); });
      if (!r.server->is_valid()) throw std::runtime_error("Could not set up TLS for the HTTP listener https://" + l.host + ":" + std::to_string(l.port));
    } else {
      r.server = std::make_unique<httplib::Server>();
    }
    auto& s = *r.server;
    int threads = std::max(1, impl_->config.threads);
    s.new_task_queue = [threads] { return new httplib::ThreadPool(static_cast<size_t>(threads)); };
    // cpp-httplib holds a worker for each kept-alive connection until it
    // idles out: a short idle timeout and a request cap per connection bound
    // how long a few clients can keep the workers from the others.
    s.set_keep_alive_max_count(1000);
    s.set_keep_alive_timeout(2);
    // Small JSON answers on kept-alive connections: without TCP_NODELAY, Nagle
    // and the client's delayed ACK hold each one ~40 ms.
    s.set_tcp_nodelay(true);
    s.set_payload_max_length(impl_->config.max_body_bytes);
    s.set_read_timeout(impl_->config.read_timeout_ms / 1000, (impl_->config.read_timeout_ms % 1000) * 1000);
    s.set_write_timeout(impl_->config.write_timeout_ms / 1000, (impl_->config.write_timeout_ms % 1000) * 1000);
    auto* impl = impl_.get();
    auto handler = [impl, l](const httplib::Request& in, httplib::Response& out) { impl->serve(l, in, out); };
    s.Get(".*", handler);
    s.Post(".*", handler);
    s.Put(".*", handler);
    s.Patch(".*", handler);
    s.Delete(".*", handler);
    s.set_exception_handler([](const httplib::Request& in, httplib::Response& out, std::exception_ptr) {
      out.status = 500;
      out.set_content(error_json(500, "Internal server error"), "application/json");
    });
    std::string host = l.host.empty() ? "0.0.0.0" : l.host;
    if (l.port == 0) {
      r.port = s.bind_to_any_port(host);
      if (r.port < 0) throw std::runtime_error("Could not bind the HTTP listener to " + host);
    } else {
      if (!s.bind_to_port(host, l.port))
        throw std::runtime_error("Could not bind the HTTP listener " + l.scheme + "://" + host + ":" + std::to_string(l.port) +
                                 ": Address already in use");
      r.port = l.port;
    }
    spdlog::info("[HttpServer] Listening on {}://{}:{}", l.scheme, host, r.port);
    impl_->running.push_back(std::move(r));
  }
  for (auto& r : impl_->running) {
    auto* s = r.server.get();
    r.thread = std::thread([s, nice = impl_->config.thread_nice] {
      lower_priority(nice);
      s->listen_after_bind();
    });
  }
}

void HttpServer::stop() {
  if (!impl_) return;
  for (auto& r : impl_->running) r.server->stop();
  for (auto& r : impl_->running)
    if (r.thread.joinable()) r.thread.join();
  impl_->running.clear();
}

int HttpServer::bound_port(size_t i) const { return i < impl_->running.size() ? impl_->running[i].port : -1; }

}  // namespace flotilla::http
