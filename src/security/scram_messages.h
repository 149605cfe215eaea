// The four SCRAM messages (RFC 5802 section 7) as text, parsed strictly and
// formatted exactly, plus the SASL-name escaping of user names (',' is "=2C",
// '=' is "=3D"). Used by both ends of an exchange (scram_server.cc,
// scram_client.cc).
//
// A message is a ','-separated list of `attr=value` pairs; values never hold
// ',' or NUL. Parsers return nullopt and a reason for the log (`why`: the
// attribute or rule at fault, never a value: values can hold user names and
// proofs). Kafka's extensions (`tokenauth=true`, attribute names longer than
// one letter) are kept as key/value pairs; mandatory extensions (`m=`) and
// channel binding (`p=`) are rejected, as neither end supports them.
//
// Pure functions; thread-safe.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "security/scram.h"

namespace flotilla::security::scram {

std::string encode_saslname(std::string_view username);
// nullopt for an '=' not followed by "2C" or "3D", or an empty result.
std::optional<std::string> decode_saslname(std::string_view saslname);

// `n,[a=authzid],n=user,r=nonce[,ext=value]*`
struct ClientFirst {
  std::string gs2_header;  // "n,," / "y,a=...,": what `c=` of the final message must encode
  std::string authzid;     // decoded; empty if the client sent none
  std::string username;    // decoded
  std::string nonce;
  std::map<std::string, std::string> extensions;
  std::string bare;        // client-first-message-bare, part of AuthMessage
};
std::optional<ClientFirst> parse_client_first(std::string_view msg, std::string& why);
std::string format_client_first_bare(std::string_view username, std::string_view nonce);

// `r=nonce,s=salt,i=iterations[,ext=value]*`
struct ServerFirst {
  std::string nonce;
  Bytes salt;
  int32_t iterations = 0;
};
std::optional<ServerFirst> parse_server_first(std::string_view msg, std::string& why);
std::string format_server_first(std::string_view nonce, std::span<const uint8_t> salt, int32_t iterations);

// `c=binding,r=nonce[,ext=value]*,p=proof`
struct ClientFinal {
  std::string channel_binding;  // as sent (base64 text)
  std::string nonce;
  Bytes proof;
  std::string without_proof;    // client-final-message-without-proof, part of AuthMessage
};
std::optional<ClientFinal> parse_client_final(std::string_view msg, std::string& why);
std::string format_client_final_without_proof(std::string_view gs2_header, std::string_view nonce);

// `v=signature[,ext]*` or `e=error[,ext]*`
struct ServerFinal {
  Bytes signature;    // empty when `error` is set
  std::string error;  // the server's e= value
};
std::optional<ServerFinal> parse_server_final(std::string_view msg, std::string& why);

// A nonce: printable ASCII without ',' (RFC 5802's `printable`).
bool is_printable_nonce(std::string_view nonce);

}  // namespace flotilla::security::scram
