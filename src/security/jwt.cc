#include "security/jwt.h"

#include "common/json_depth.h"

#include <cmath>
#include <cstdlib>

#include "security/base64.h"

namespace flotilla::security {

namespace {

// Seconds beyond which a NumericDate cannot be a time we can represent in ms.
constexpr double kMaxNumericDateSeconds = 9.0e12;

std::optional<nlohmann::json> decode_part(std::string_view part, const char* what, std::string& error) {
  auto bytes = base64url_decode(part);
  if (!bytes) {
    error = std::string("JWT ") + what + " is not valid base64url";
    return std::nullopt;
  }
  std::string text(bytes->begin(), bytes->end());
  std::string json_error;
  auto object = parse_json_object(text, json_error);
  if (!object) error = std::string("JWT ") + what + ": " + json_error;
  return object;
}

std::optional<double> parse_finite_number(const std::string& text) {
  if (text.empty()) return std::nullopt;
  char* end = nullptr;
  double v = std::strtod(text.c_str(), &end);
  if (end != text.c_str() + text.size() || !std::isfinite(v)) return std::nullopt;
  return v;
}

bool valid_claim_name(std::string_view name) { return !name.empty(); }

}  // namespace

std::string base64url_encode(std::span<const uint8_t> data) {
  std::string s = base64_encode(data);
  while (!s.empty() && s.back() == '=') s.pop_back();
  for (char& c : s) {
    if (c == '+') c = '-';
    else if (c == '/') c = '_';
  }
  return s;
}

std::optional<Bytes> base64url_decode(std::string_view text) {
  if (text.size() % 4 == 1) return std::nullopt;
  std::string s;
  s.reserve(text.size() + 3);
  for (char c : text) {
    if (c == '+' || c == '/' || c == '=') return std::nullopt;  // not base64url, or padded
    s += c == '-' ? '+' : c == '_' ? '/' : c;
  }
  while (s.size() % 4 != 0) s += '=';
  return base64_decode(s);  // strict: rejects other bytes and non-zero unused bits
}

std::optional<nlohmann::json> parse_json_object(std::string_view text, std::string& error) {
  if (!json_depth_within(text, kJwtMaxJsonDepth)) {
    error = "JSON nested too deeply";
    return std::nullopt;
  }
  nlohmann::json j = nlohmann::json::parse(text.begin(), text.end(), nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) {
    error = "not valid JSON";
    return std::nullopt;
  }
  if (!j.is_object()) {
    error = "not a JSON object";
    return std::nullopt;
  }
  return j;
}

std::optional<Jwt> parse_jwt(std::string_view compact, std::string& error) {
  size_t first = compact.find('.');
  size_t second = first == std::string_view::npos ? first : compact.find('.', first + 1);
  if (second == std::string_view::npos || compact.find('.', second + 1) != std::string_view::npos) {
    error = "malformed JWT: expected three dot-separated sections (header, payload, signature)";
    return std::nullopt;
  }
  std::string_view header = compact.substr(0, first);
  std::string_view payload = compact.substr(first + 1, second - first - 1);
  std::string_view signature = compact.substr(second + 1);
  if (header.empty() || payload.empty()) {
    error = "malformed JWT: empty header or payload section";
    return std::nullopt;
  }
  Jwt jwt;
  auto h = decode_part(header, "header", error);
  if (!h) return std::nullopt;
  auto c = decode_part(payload, "payload", error);
  if (!c) return std::nullopt;
  auto sig = base64url_decode(signature);
  if (!sig) {
    error = "JWT signature is not valid base64url";
    return std::nullopt;
  }
  jwt.signing_input = std::string(compact.substr(0, second));
  jwt.header = std::move(*h);
  jwt.claims = std::move(*c);
  jwt.signature = std::move(*sig);
  return jwt;
}

std::optional<int64_t> jwt_numeric_date_ms(const nlohmann::json& claims, const std::string& name, std::string& error) {
  error.clear();
  auto it = claims.find(name);
  if (it == claims.end()) return std::nullopt;
  if (!it->is_number()) {
    error = "claim '" + name + "' is not a number";
    return std::nullopt;
  }
  double seconds = it->get<double>();
  if (!std::isfinite(seconds) || std::fabs(seconds) > kMaxNumericDateSeconds) {
    error = "claim '" + name + "' is out of range";
    return std::nullopt;
  }
  if (it->is_number_integer()) {
    // Exact for integers (doubles would round above 2^53 ms, not reachable in range, but be exact anyway).
    int64_t s = it->is_number_unsigned() ? static_cast<int64_t>(it->get<uint64_t>()) : it->get<int64_t>();
    return s * 1000;
  }
  return static_cast<int64_t>(std::floor(seconds * 1000.0));
}

std::optional<std::vector<std::string>> jwt_scope_claim(const nlohmann::json& claims, const std::string& name,
                                                        std::string& error) {
  std::vector<std::string> scope;
  auto it = claims.find(name);
  if (it == claims.end()) return scope;
  if (it->is_string()) {
    const std::string& s = it->get_ref<const std::string&>();
    size_t pos = 0;
    while (pos < s.size()) {
      size_t end = s.find(' ', pos);
      if (end == std::string::npos) end = s.size();
      if (end > pos) scope.push_back(s.substr(pos, end - pos));
      pos = end + 1;
    }
    return scope;
  }
  if (it->is_array()) {
    for (const auto& e : *it) {
      if (!e.is_string()) {
        error = "scope claim '" + name + "' has a non-string element";
        return std::nullopt;
      }
      scope.push_back(e.get<std::string>());
    }
    return scope;
  }
  error = "scope claim '" + name + "' is neither a string nor a list of strings";
  return std::nullopt;
}

const std::string* jwt_string_claim(const nlohmann::json& claims, const std::string& name) {
  auto it = claims.find(name);
  if (it == claims.end() || !it->is_string()) return nullptr;
  return &it->get_ref<const std::string&>();
}

std::optional<std::string> make_unsecured_jws(const std::map<std::string, std::string>& options, int64_t now_ms,
                                              std::string& error) {
  static constexpr std::string_view kString = "unsecuredLoginStringClaim_";
  static constexpr std::string_view kNumber = "unsecuredLoginNumberClaim_";
  static constexpr std::string_view kList = "unsecuredLoginListClaim_";
  std::string principal_claim = "sub";
  if (auto it = options.find("unsecuredLoginPrincipalClaimName"); it != options.end()) {
    if (it->second.empty()) {
      error = "option unsecuredLoginPrincipalClaimName must not be empty";
      return std::nullopt;
    }
    principal_claim = it->second;
  }
  int64_t lifetime_seconds = 3600;
  if (auto it = options.find("unsecuredLoginLifetimeSeconds"); it != options.end()) {
    auto v = parse_finite_number(it->second);
    if (!v || *v <= 0 || *v > 1.0e9 || std::floor(*v) != *v) {
      error = "option unsecuredLoginLifetimeSeconds must be a positive whole number of seconds";
      return std::nullopt;
    }
    lifetime_seconds = static_cast<int64_t>(*v);
  }
  nlohmann::json claims = nlohmann::json::object();
  for (const auto& [key, value] : options) {
    std::string_view k = key;
    std::string name;
    nlohmann::json v;
    if (k.starts_with(kString)) {
      name = std::string(k.substr(kString.size()));
      v = value;
    } else if (k.starts_with(kNumber)) {
      name = std::string(k.substr(kNumber.size()));
      auto n = parse_finite_number(value);
      if (!n) {
        error = "option " + key + " is not a number";
        return std::nullopt;
      }
      if (std::floor(*n) == *n && std::fabs(*n) < 9.0e15) v = static_cast<int64_t>(*n);
      else v = *n;
    } else if (k.starts_with(kList)) {
      name = std::string(k.substr(kList.size()));
      v = nlohmann::json::array();
      if (!value.empty()) {
        char delimiter = value[0];
        size_t pos = 1;
        while (pos <= value.size()) {
          size_t end = value.find(delimiter, pos);
          if (end == std::string::npos) end = value.size();
          if (end > pos) v.push_back(value.substr(pos, end - pos));
          pos = end + 1;
        }
      }
    } else {
      continue;
    }
    if (!valid_claim_name(name)) {
      error = "option " + key + " names no claim";
      return std::nullopt;
    }
    if (name == "iat" || name == "exp") {
      error = "option " + key + " may not set the reserved claim '" + name + "'";
      return std::nullopt;
    }
    if (claims.contains(name)) {
      error = "claim '" + name + "' is set by more than one option";
      return std::nullopt;
    }
    claims[name] = std::move(v);
  }
  auto principal = claims.find(principal_claim);
  if (principal == claims.end() || !principal->is_string() || principal->get_ref<const std::string&>().empty()) {
    error = "option unsecuredLoginStringClaim_" + principal_claim + " (the principal claim) must be set";
    return std::nullopt;
  }
  double iat = static_cast<double>(now_ms) / 1000.0;
  claims["iat"] = iat;
  claims["exp"] = iat + static_cast<double>(lifetime_seconds);
  std::string header = R"({"alg":"none"})";
  std::string body = claims.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);  // never throws on bad UTF-8
  return base64url_encode(as_bytes(header)) + "." + base64url_encode(as_bytes(body)) + ".";
}

}  // namespace flotilla::security
