// The router and the listener syntax of the HTTP server.
#include "http/http_server.h"

#include <gtest/gtest.h>

namespace flotilla::http {
namespace {

TEST(HttpListeners, ParsesConfluentSyntax) {
  auto l = parse_http_listeners("http://127.0.0.1:8090, https://0.0.0.0:8443/");
  ASSERT_EQ(l.size(), 2u);
  EXPECT_EQ(l[0].scheme, "http");
  EXPECT_EQ(l[0].host, "127.0.0.1");
  EXPECT_EQ(l[0].port, 8090);
  EXPECT_EQ(l[1].scheme, "https");
  EXPECT_EQ(l[1].port, 8443);
  EXPECT_TRUE(parse_http_listeners("").empty());
  EXPECT_THROW(parse_http_listeners("ftp://x:1"), std::invalid_argument);
  EXPECT_THROW(parse_http_listeners("http://x"), std::invalid_argument);
  EXPECT_THROW(parse_http_listeners("http://x:99999"), std::invalid_argument);
  EXPECT_THROW(parse_http_listeners("http://x:12ab"), std::invalid_argument);
}

TEST(Router, MatchesGroupsAnd404And405AndThrowingHandlers) {
  Router r;
  r.get(R"(/v3/clusters/([^/]+))", [](const HttpRequest& req, HttpResponse& resp) { resp.body = req.matches.at(1); });
  r.get("/boom", [](const HttpRequest&, HttpResponse&) { throw std::runtime_error("x"); });
  HttpRequest req;
  HttpResponse resp;
  req.method = "GET";
  req.path = "/v3/clusters/abc";
  r.dispatch(req, resp);
  EXPECT_EQ(resp.status, 200);
  EXPECT_EQ(resp.body, "abc");
  req.method = "DELETE";
  resp = {};
  r.dispatch(req, resp);
  EXPECT_EQ(resp.status, 405);
  req.method = "GET";
  req.path = "/nope";
  resp = {};
  r.dispatch(req, resp);
  EXPECT_EQ(resp.status, 404);
  req.path = "/boom";
  resp = {};
  r.dispatch(req, resp);
  EXPECT_EQ(resp.status, 500);
  EXPECT_NE(resp.body.find("\"error_code\":500"), std::string::npos);
}

}  // namespace
}  // namespace flotilla::http
