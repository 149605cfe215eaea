#include "security/principal.h"

#include <algorithm>
#include <cctype>

namespace flotilla::security {

std::optional<SecurityProtocol> parse_security_protocol(std::string_view name) {
  std::string up(name);
  std::transform(up.begin(), up.end(), up.begin(), [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
  for (auto p : {SecurityProtocol::PLAINTEXT, SecurityProtocol::SSL, SecurityProtocol::SASL_PLAINTEXT, SecurityProtocol::SASL_SSL})
    if (security_protocol_name(p) == up) return p;
  return std::nullopt;
}

std::string_view security_protocol_name(SecurityProtocol p) {
  switch (p) {
    case SecurityProtocol::PLAINTEXT: return "PLAINTEXT";
    case SecurityProtocol::SSL: return "SSL";
    case SecurityProtocol::SASL_PLAINTEXT: return "SASL_PLAINTEXT";
    case SecurityProtocol::SASL_SSL: return "SASL_SSL";
  }
  return "PLAINTEXT";
}

}  // namespace flotilla::security
