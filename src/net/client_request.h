// An encoded request for the inter-node client (net::Client): the body at the
// API's version and the header versions that version calls for. Used by
// everything that calls another node (replica fetchers, the forwarding
// channel, the transaction markers' channel).
#pragma once

#include <utility>

#include "common/bytes.h"
#include "net/client.h"
#include "protocol/api.h"

namespace flotilla::net {

template <class Req>
ClientRequest client_request(const Req& req, int16_t version) {
  ClientRequest cr;
  cr.api_key = Req::kApiKey;
  cr.api_version = version;
  cr.request_header_version = protocol::request_header_version(Req::kApiKey, version);
  cr.response_header_version = protocol::response_header_version(Req::kApiKey, version);
  ByteWriter w;
  req.encode(w, version);
  cr.body = std::move(w).take();
  return cr;
}

}  // namespace flotilla::net
