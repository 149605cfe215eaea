// Small helpers every Kafka API handler uses: decode a request body at its
// version (a malformed one is logged and closes the connection, as Kafka
// does), encode a response with the right header version, close a connection.
#pragma once

#include <spdlog/spdlog.h>

#include "common/bytes.h"
#include "net/client.h"
#include "net/server.h"
#include "protocol/api.h"

namespace flotilla::broker::api {

template <class Msg>
void send(const net::Request& req, net::Respond& respond, const Msg& m) {
  net::Response r;
  r.header_version = static_cast<int16_t>(protocol::response_header_version(req.api_key, req.api_version));
  m.encode(r.body, req.api_version);
  respond(std::move(r));
}

// An encoded request for the inter-node client (net::Client), with the header
// versions the API's version calls for.
template <class Req>
net::ClientRequest client_request(const Req& req, int16_t version) {
  net::ClientRequest cr;
  cr.api_key = Req::kApiKey;
  cr.api_version = version;
  cr.request_header_version = protocol::request_header_version(Req::kApiKey, version);
  cr.response_header_version = protocol::response_header_version(Req::kApiKey, version);
  ByteWriter w;
  req.encode(w, version);
  cr.body = std::move(w).take();
  return cr;
}

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

}  // namespace flotilla::broker::api
