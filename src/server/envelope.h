// KIP-590's EnvelopeRequest/EnvelopeResponse (api key 58) as Flotilla's
// brokers use them: to forward the delegation token APIs, whose controller
// logic needs the client's principal, to a remote active controller. The
// envelope holds the inner request (its header and body), the principal as
// Kafka's DefaultKafkaPrincipalBuilder serializes it (DefaultPrincipalData,
// version-prefixed: type, name, tokenAuthenticated) and the client's address
// bytes; the answer holds the inner response (header and body).
//
// Pure functions; decoding throws DecodeError on malformed bytes.
#pragma once

#include <arpa/inet.h>

#include <optional>
#include <string>
#include <vector>

#include "common/bytes.h"
#include "protocol/api.h"
#include "protocol/messages.h"
#include "security/principal.h"

namespace flotilla::server {

inline std::vector<uint8_t> client_address_bytes(const std::string& host) {
  std::vector<uint8_t> out;
  in_addr v4{};
  in6_addr v6{};
  if (inet_pton(AF_INET, host.c_str(), &v4) == 1) out.assign(reinterpret_cast<uint8_t*>(&v4), reinterpret_cast<uint8_t*>(&v4) + 4);
  else if (inet_pton(AF_INET6, host.c_str(), &v6) == 1) out.assign(v6.s6_addr, v6.s6_addr + 16);
  return out;
}

template <class Req>
msg::EnvelopeRequest make_envelope(const Req& req, int16_t version, const security::Session& session) {
  msg::EnvelopeRequest e;
  ByteWriter w;
  msg::RequestHeader h;
  h.request_api_key = Req::kApiKey;
  h.request_api_version = version;
  h.correlation_id = 0;
  h.client_id = std::string("flotilla-forwarding");
  h.encode(w, protocol::request_header_version(Req::kApiKey, version));
  req.encode(w, version);
  e.request_data = std::move(w).take();
  msg::DefaultPrincipalData p;
  p.type = session.principal.type;
  p.name = session.principal.name;
  p.token_authenticated = session.token_authenticated;
  ByteWriter pw;
  pw.put_i16(0);
  p.encode(pw, 0);
  e.request_principal = std::move(pw).take();
  e.client_host_address = client_address_bytes(session.client_host);
  return e;
}

struct OpenedEnvelope {
  msg::RequestHeader header;
  std::vector<uint8_t> body;
  security::KafkaPrincipal principal;
  bool token_authenticated = false;
};

// Throws DecodeError.
inline OpenedEnvelope open_envelope(const msg::EnvelopeRequest& e) {
  OpenedEnvelope o;
  ByteReader peek(e.request_data.data(), e.request_data.size());
  int16_t key = peek.get_i16();
  int16_t version = peek.get_i16();
  ByteReader r(e.request_data.data(), e.request_data.size());
  o.header.decode(r, protocol::request_header_version(key, version));
  o.body.assign(e.request_data.end() - static_cast<std::ptrdiff_t>(r.remaining()), e.request_data.end());
  if (!e.request_principal) throw DecodeError("envelope without a principal");
  ByteReader pr(e.request_principal->data(), e.request_principal->size());
  if (pr.get_i16() != 0) throw DecodeError("unknown principal data version");
  msg::DefaultPrincipalData p;
  p.decode(pr, 0);
  o.principal = {p.type, p.name};
  o.token_authenticated = p.token_authenticated;
  return o;
}

template <class Resp>
std::vector<uint8_t> envelope_response_data(const Resp& r, int16_t api_key, int16_t version, int32_t correlation_id) {
  ByteWriter w;
  msg::ResponseHeader h;
  h.correlation_id = correlation_id;
  h.encode(w, protocol::response_header_version(api_key, version));
  r.encode(w, version);
  return std::move(w).take();
}

// Throws DecodeError.
template <class Resp>
Resp open_envelope_response(const std::vector<uint8_t>& data, int16_t version) {
  ByteReader r(data.data(), data.size());
  msg::ResponseHeader h;
  h.decode(r, protocol::response_header_version(Resp::kApiKey, version));
  Resp out;
  out.decode(r, version);
  return out;
}

}  // namespace flotilla::server
