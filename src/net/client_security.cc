#include "net/client_security.h"

#include <cctype>

namespace flotilla::net {

std::map<std::string, std::string> jaas_options(const std::string& jaas) {
  std::map<std::string, std::string> out;
  size_t i = 0, n = jaas.size();
  auto skip_ws = [&] {
    while (i < n && std::isspace(static_cast<unsigned char>(jaas[i]))) ++i;
  };
  auto word = [&] {
    size_t b = i;
    while (i < n && !std::isspace(static_cast<unsigned char>(jaas[i])) && jaas[i] != '=' && jaas[i] != ';') ++i;
    return jaas.substr(b, i - b);
  };
  skip_ws();
  std::string module = word();
  skip_ws();
  std::string flag = word();
  if (module.empty() || (flag != "required" && flag != "requisite" && flag != "sufficient" && flag != "optional"))
    throw SecurityConfigError("Login module control flag not specified in JAAS config");
  for (;;) {
    skip_ws();
    if (i >= n) throw SecurityConfigError("JAAS config entry not terminated by semi-colon");
    if (jaas[i] == ';') break;
    std::string key = word();
    skip_ws();
    if (key.empty() || i >= n || jaas[i] != '=') throw SecurityConfigError("Invalid JAAS config: expected key=value");
    ++i;
    skip_ws();
    std::string value;
    if (i < n && jaas[i] == '"') {
      ++i;
      bool closed = false;
      while (i < n) {
        char c = jaas[i++];
        if (c == '\\' && i < n) {
          value += jaas[i++];
          continue;
        }
        if (c == '"') {
          closed = true;
          break;
        }
        value += c;
      }
      if (!closed) throw SecurityConfigError("Invalid JAAS config: unterminated quoted value");
    } else {
      value = word();
    }
    out[key] = value;
  }
  return out;
}

ClientSecurity client_security_from_properties(const std::map<std::string, std::string>& props) {
  auto get = [&](const char* k) -> std::optional<std::string> {
    auto it = props.find(k);
    if (it == props.end()) return std::nullopt;
    return it->second;
  };
  ClientSecurity s;
  if (auto v = get("security.protocol")) {
    auto p = security::parse_security_protocol(*v);
    if (!p) throw SecurityConfigError("Invalid value " + *v + " for configuration security.protocol");
    s.protocol = *p;
  }
  if (!security::uses_sasl(s.protocol)) return s;
  s.sasl_mechanism = get("sasl.mechanism").value_or("GSSAPI");
  if (s.sasl_mechanism != "PLAIN" && s.sasl_mechanism != "SCRAM-SHA-256" && s.sasl_mechanism != "SCRAM-SHA-512")
    throw SecurityConfigError("Invalid value " + s.sasl_mechanism + " for configuration sasl.mechanism: supported are PLAIN, SCRAM-SHA-256, SCRAM-SHA-512");
  if (auto jaas = get("sasl.jaas.config")) {
    auto opts = jaas_options(*jaas);
    s.username = opts.count("username") ? opts["username"] : "";
    s.password = opts.count("password") ? opts["password"] : "";
  }
  if (auto v = get("sasl.username")) s.username = *v;
  if (auto v = get("sasl.password")) s.password = *v;
  if (s.username.empty())
    throw SecurityConfigError("No username for SASL " + s.sasl_mechanism + ": set sasl.jaas.config (username=, password=) or sasl.username/sasl.password");
  return s;
}

}  // namespace flotilla::net
