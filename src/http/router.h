// What the HTTP routes see: a request, a response, and the table of routes.
//
// The HTTP library (cpp-httplib) stays inside http_server.cc: routes are
// written against these plain types, so each route file compiles without the
// library's 8,000-line header and can be unit-tested by calling the handler.
//
// Threading: handlers run on the HTTP server's worker threads, several at
// once. They read only thread-safe state (NodeView's snapshots, metric
// atomics) and reach the event loop only through NodeView::kafka_call.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <regex>
#include <string>
#include <vector>

#include "security/principal.h"

namespace flotilla::http {

struct HttpRequest {
  std::string method;  // GET, POST, PUT, PATCH, DELETE
  std::string path;    // without the query string, percent-decoded
  std::vector<std::string> matches;  // the route pattern's groups (matches[1] is the first)
  std::multimap<std::string, std::string> query;
  std::multimap<std::string, std::string> headers;  // as sent (case as the client wrote it)
  std::string body;
  // Who asked: the authenticated user (Basic auth) or User:ANONYMOUS, with the
  // listener and the client's address, as a Kafka request's session.
  std::shared_ptr<const security::Session> session;
  // The scheme and host the client used (for the REST API's self links).
  std::string base_url;  // e.g. "http://127.0.0.1:8090"

  std::optional<std::string> query_param(const std::string& key) const {
    auto it = query.find(key);
    if (it == query.end()) return std::nullopt;
    return it->second;
  }
  std::optional<std::string> header(const std::string& key) const;  // case-insensitive
};

struct HttpResponse {
  int status = 200;
  std::string content_type = "application/json";
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;
};

using HttpHandler = std::function<void(const HttpRequest&, HttpResponse&)>;

class Router {
 public:
  struct Route {
    std::string method;
    std::string pattern;  // ECMAScript regex over the whole path
    std::regex re;
    HttpHandler handler;
  };
  void add(std::string method, std::string pattern, HttpHandler handler) {
    Route r{method, pattern, std::regex(pattern), std::move(handler)};
    routes_.push_back(std::move(r));
  }
  void get(std::string pattern, HttpHandler h) { add("GET", std::move(pattern), std::move(h)); }
  void post(std::string pattern, HttpHandler h) { add("POST", std::move(pattern), std::move(h)); }
  void put(std::string pattern, HttpHandler h) { add("PUT", std::move(pattern), std::move(h)); }
  void patch(std::string pattern, HttpHandler h) { add("PATCH", std::move(pattern), std::move(h)); }
  void del(std::string pattern, HttpHandler h) { add("DELETE", std::move(pattern), std::move(h)); }
  const std::vector<Route>& routes() const { return routes_; }

  // Finds the route for the request (filling req.matches) and runs it. No
  // route for the path: 404; a route for the path but not the method: 405.
  // A handler that throws gets a 500 with a JSON error (logged, never fatal).
  void dispatch(HttpRequest& req, HttpResponse& resp) const;

 private:
  std::vector<Route> routes_;
};

}  // namespace flotilla::http
