#include "security/scram_messages.h"

#include <charconv>
#include <vector>

#include "security/base64.h"

namespace flotilla::security::scram {

namespace {

struct Attr {
  std::string_view key;
  std::string_view value;
};

bool is_alpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }

// `key=value(,key=value)*` with key = 1*ALPHA and value = 1*(any but ',' and NUL).
bool split_attrs(std::string_view s, std::vector<Attr>& out, std::string& why) {
  if (s.empty()) {
    why = "no attributes";
    return false;
  }
  size_t pos = 0;
  while (true) {
    size_t end = s.find(',', pos);
    std::string_view piece = s.substr(pos, end == std::string_view::npos ? std::string_view::npos : end - pos);
    size_t eq = piece.find('=');
    if (eq == std::string_view::npos || eq == 0 || eq + 1 == piece.size()) {
      why = "attribute " + std::to_string(out.size() + 1) + " is not key=value";
      return false;
    }
    for (size_t i = 0; i < eq; ++i)
      if (!is_alpha(piece[i])) {
        why = "attribute " + std::to_string(out.size() + 1) + " has an invalid name";
        return false;
      }
    if (piece.find('\0') != std::string_view::npos) {
      why = "NUL in a value";
      return false;
    }
    out.push_back({piece.substr(0, eq), piece.substr(eq + 1)});
    if (end == std::string_view::npos) return true;
    pos = end + 1;
  }
}

bool add_extensions(std::span<const Attr> attrs, std::map<std::string, std::string>& out, std::string& why) {
  for (const Attr& a : attrs) {
    if (a.key == "m") {
      why = "mandatory extension (m=) not supported";
      return false;
    }
    if (!out.emplace(std::string(a.key), std::string(a.value)).second) {
      why = "extension repeated";
      return false;
    }
  }
  return true;
}

}  // namespace

bool is_printable_nonce(std::string_view nonce) {
  if (nonce.empty()) return false;
  for (char c : nonce)
    if (c < 0x21 || c > 0x7E || c == ',') return false;
  return true;
}

std::string encode_saslname(std::string_view username) {
  std::string out;
  out.reserve(username.size());
  for (char c : username) {
    if (c == ',') out += "=2C";
    else if (c == '=') out += "=3D";
    else out += c;
  }
  return out;
}

std::optional<std::string> decode_saslname(std::string_view saslname) {
  std::string out;
  out.reserve(saslname.size());
  for (size_t i = 0; i < saslname.size(); ++i) {
    char c = saslname[i];
    if (c == '=') {
      std::string_view esc = saslname.substr(i + 1, 2);
      if (esc == "2C") out += ',';
      else if (esc == "3D") out += '=';
      else return std::nullopt;
      i += 2;
    } else if (c == ',' || c == '\0') {
      return std::nullopt;
    } else {
      out += c;
    }
  }
  if (out.empty()) return std::nullopt;
  return out;
}

std::optional<ClientFirst> parse_client_first(std::string_view msg, std::string& why) {
  if (msg.find('\0') != std::string_view::npos) {
    why = "NUL in client-first message";
    return std::nullopt;
  }
  // gs2-header = gs2-cbind-flag "," [authzid] ","
  if (msg.size() < 2 || msg[1] != ',' || (msg[0] != 'n' && msg[0] != 'y')) {
    why = msg.starts_with("p=") ? "channel binding requested (p=), not supported" : "invalid GS2 header";
    return std::nullopt;
  }
  ClientFirst m;
  size_t comma = msg.find(',', 2);
  if (comma == std::string_view::npos) {
    why = "invalid GS2 header";
    return std::nullopt;
  }
  std::string_view authz = msg.substr(2, comma - 2);
  if (!authz.empty()) {
    std::optional<std::string> decoded;
    if (authz.starts_with("a=")) decoded = decode_saslname(authz.substr(2));
    if (!decoded) {
      why = "invalid authzid in GS2 header";
      return std::nullopt;
    }
    m.authzid = std::move(*decoded);
  }
  m.gs2_header = std::string(msg.substr(0, comma + 1));
  m.bare = std::string(msg.substr(comma + 1));

  std::vector<Attr> attrs;
  if (!split_attrs(m.bare, attrs, why)) return std::nullopt;
  if (attrs[0].key == "m") {
    why = "mandatory extension (m=) not supported";
    return std::nullopt;
  }
  if (attrs.size() < 2 || attrs[0].key != "n" || attrs[1].key != "r") {
    why = "client-first message needs n= then r=";
    return std::nullopt;
  }
  auto user = decode_saslname(attrs[0].value);
  if (!user) {
    why = "invalid SASL name in n=";
    return std::nullopt;
  }
  m.username = std::move(*user);
  if (!is_printable_nonce(attrs[1].value)) {
    why = "invalid nonce";
    return std::nullopt;
  }
  m.nonce = std::string(attrs[1].value);
  if (!add_extensions(std::span(attrs).subspan(2), m.extensions, why)) return std::nullopt;
  return m;
}

std::string format_client_first_bare(std::string_view username, std::string_view nonce) {
  return "n=" + encode_saslname(username) + ",r=" + std::string(nonce);
}

std::optional<ServerFirst> parse_server_first(std::string_view msg, std::string& why) {
  std::vector<Attr> attrs;
  if (!split_attrs(msg, attrs, why)) return std::nullopt;
  if (attrs[0].key == "m") {
    why = "mandatory extension (m=) not supported";
    return std::nullopt;
  }
  if (attrs.size() < 3 || attrs[0].key != "r" || attrs[1].key != "s" || attrs[2].key != "i") {
    why = "server-first message needs r=, s=, i=";
    return std::nullopt;
  }
  ServerFirst m;
  if (!is_printable_nonce(attrs[0].value)) {
    why = "invalid nonce";
    return std::nullopt;
  }
  m.nonce = std::string(attrs[0].value);
  auto salt = base64_decode(attrs[1].value);
  if (!salt || salt->empty()) {
    why = "invalid salt";
    return std::nullopt;
  }
  m.salt = std::move(*salt);
  std::string_view it = attrs[2].value;
  int32_t iterations = 0;
  auto [end, ec] = std::from_chars(it.data(), it.data() + it.size(), iterations);
  if (ec != std::errc() || end != it.data() + it.size() || it[0] == '-' || iterations <= 0) {
    why = "invalid iteration count";
    return std::nullopt;
  }
  m.iterations = iterations;
  std::map<std::string, std::string> ignored;
  if (!add_extensions(std::span(attrs).subspan(3), ignored, why)) return std::nullopt;
  return m;
}

std::string format_server_first(std::string_view nonce, std::span<const uint8_t> salt, int32_t iterations) {
  return "r=" + std::string(nonce) + ",s=" + base64_encode(salt) + ",i=" + std::to_string(iterations);
}

std::optional<ClientFinal> parse_client_final(std::string_view msg, std::string& why) {
  std::vector<Attr> attrs;
  if (!split_attrs(msg, attrs, why)) return std::nullopt;
  if (attrs.size() < 3 || attrs[0].key != "c" || attrs[1].key != "r" || attrs.back().key != "p") {
    why = "client-final message needs c=, r=, ..., p=";
    return std::nullopt;
  }
  ClientFinal m;
  m.channel_binding = std::string(attrs[0].value);
  if (!is_printable_nonce(attrs[1].value)) {
    why = "invalid nonce";
    return std::nullopt;
  }
  m.nonce = std::string(attrs[1].value);
  auto proof = base64_decode(attrs.back().value);
  if (!proof || proof->empty()) {
    why = "invalid proof encoding";
    return std::nullopt;
  }
  m.proof = std::move(*proof);
  std::map<std::string, std::string> ignored;
  if (!add_extensions(std::span(attrs).subspan(2, attrs.size() - 3), ignored, why)) return std::nullopt;
  m.without_proof = std::string(msg.substr(0, msg.rfind(',')));
  return m;
}

std::string format_client_final_without_proof(std::string_view gs2_header, std::string_view nonce) {
  return "c=" + base64_encode(as_bytes(gs2_header)) + ",r=" + std::string(nonce);
}

std::optional<ServerFinal> parse_server_final(std::string_view msg, std::string& why) {
  std::vector<Attr> attrs;
  if (!split_attrs(msg, attrs, why)) return std::nullopt;
  ServerFinal m;
  if (attrs[0].key == "e") {
    m.error = std::string(attrs[0].value);
  } else if (attrs[0].key == "v") {
    auto sig = base64_decode(attrs[0].value);
    if (!sig || sig->empty()) {
      why = "invalid server signature encoding";
      return std::nullopt;
    }
    m.signature = std::move(*sig);
  } else {
    why = "server-final message needs v= or e=";
    return std::nullopt;
  }
  std::map<std::string, std::string> ignored;
  if (!add_extensions(std::span(attrs).subspan(1), ignored, why)) return std::nullopt;
  return m;
}

}  // namespace flotilla::security::scram
