// Small helpers every Kafka API handler uses: decode a request body at its
// version (a malformed one is logged and closes the connection, as Kafka
// does), encode a response with the right header version, close a connection.
#pragma once

#include <spdlog/spdlog.h>

#include <string>
#include <vector>

#include "broker/broker_metrics.h"
#include "common/bytes.h"
#include "common/error.h"
#include "net/client.h"
#include "net/client_request.h"
#include "net/server.h"
#include "protocol/api.h"

namespace flotilla::msg {
struct ProduceResponse;
struct FetchResponse;
}  // namespace flotilla::msg

namespace flotilla::broker::api {

// The throttle time a response to `req` announces: the request quota is
// accounted (once) and the largest throttle any quota gave the request returned.
inline int32_t response_throttle_ms(const net::Request& req) {
  if (req.accounting && !req.accounted) return req.accounting->on_response(req);
  return req.throttle_time_ms;
}

// RequestMetrics' ErrorsPerSec (broker_metrics.h) of a response: a top-level
// error code where the response has one; Produce and Fetch count every
// partition's (and Fetch its top-level one), as Kafka's errorCounts.
template <class Msg>
void count_errors(const net::Request& req, const Msg& m) {
  if constexpr (metrics::kEnabled && requires { m.error_code; }) BrokerMetrics::get().errors(req.api_key, ec(m.error_code)).inc();
}
void count_errors(const net::Request& req, const msg::ProduceResponse& m);  // produce_api.cc
void count_errors(const net::Request& req, const msg::FetchResponse& m);    // fetch_apis.cc

// Encodes and sends a response; a response with a ThrottleTimeMs field
// carries the request's throttle time (client quotas).
template <class Msg>
void send(const net::Request& req, net::Respond& respond, const Msg& m) {
  net::Response r;
  r.header_version = static_cast<int16_t>(protocol::response_header_version(req.api_key, req.api_version));
  const int32_t throttle = response_throttle_ms(req);
  count_errors(req, m);
  if constexpr (requires { m.throttle_time_ms; }) {
    if (throttle > 0 && m.throttle_time_ms != throttle) {
      Msg copy = m;  // throttled responses only: the common path encodes in place
      copy.throttle_time_ms = throttle;
      copy.encode(r.body, req.api_version);
      respond(std::move(r));
      return;
    }
  }
  m.encode(r.body, req.api_version);
  respond(std::move(r));
}

// An encoded request for the inter-node client (net/client_request.h).
using net::client_request;

inline void close_connection(net::Respond& respond) {
  net::Response r;
  r.send = false;
  r.close_after = true;
  respond(std::move(r));
}

// False (and nothing else to do: the error is logged) if the body does not decode.
template <class Msg>
bool decode(const net::Request& req, Msg& out) {
  ByteReader r = req.body();
  try {
    out.decode(r, req.api_version);
    return true;
  } catch (const DecodeError& e) {
    spdlog::warn("[KafkaApi] Closing connection {} from {}: cannot decode {} v{} (correlation id {}): {}", req.connection_id, req.peer,
                 protocol::api_info(req.api_key) ? protocol::api_info(req.api_key)->name : "?", req.api_version, req.correlation_id,
                 e.what());
    return false;
  }
}

// The client's host as the group APIs report it (Kafka's "/127.0.0.1").
inline std::string client_host(const net::Request& req) {
  std::string h = req.peer;
  auto c = h.rfind(':');
  if (c != std::string::npos) h = h.substr(0, c);
  if (h.size() >= 2 && h.front() == '[' && h.back() == ']') h = h.substr(1, h.size() - 2);
  return "/" + h;
}

// Responses group partition results by topic, in the order the results come:
// the entry that `name`'s next partition goes into — the last entry if it is
// that topic, else a new one. `Topics` is a response's vector of topic
// entries (keyed by their field `name`).
template <class Topics>
auto& topic_entry(Topics& topics, const std::string& name) {
  if (topics.empty() || topics.back().name != name) {
    topics.emplace_back();
    topics.back().name = name;
  }
  return topics.back();
}

// One result per topic a request names, each with its name and `error` (a
// CreateTopics or CreatePartitions that is answered without the controller).
template <class Result, class Topics>
std::vector<Result> topic_errors(const Topics& topics, ErrorCode error) {
  std::vector<Result> out;
  for (const auto& t : topics) {
    Result r;
    r.name = t.name;
    r.error_code = code(error);
    out.push_back(r);
  }
  return out;
}

}  // namespace flotilla::broker::api

namespace flotilla::msg {}  // (the messages themselves: protocol/messages.h)

// What every RequestHandler API file (*_apis.cc) uses unqualified: the
// generated messages and the helpers above. Such a file says
// `using namespace api::prelude;` in its anonymous namespace.
namespace flotilla::broker::api::prelude {
using namespace flotilla::msg;
using api::client_host;
using api::close_connection;
using api::decode;
using api::send;
using api::topic_entry;
using api::topic_errors;
}  // namespace flotilla::broker::api::prelude
