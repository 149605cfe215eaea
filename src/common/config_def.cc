#include "common/config_def.h"

#include <cctype>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstdlib>

namespace flotilla::config {

std::string_view trim(std::string_view s) {
  size_t b = 0, e = s.size();
  while (b < e && (s[b] == ' ' || s[b] == '\t' || s[b] == '\n' || s[b] == '\r' || s[b] == '\f')) ++b;
  while (e > b && (s[e - 1] == ' ' || s[e - 1] == '\t' || s[e - 1] == '\n' || s[e - 1] == '\r' || s[e - 1] == '\f')) --e;
  return s.substr(b, e - b);
}

namespace {

// Java's Integer.parseInt / Long.parseLong: an optional sign and decimal digits, nothing else.
bool parse_integer(std::string_view s, int64_t min, int64_t max, int64_t& out) {
  if (s.empty()) return false;
  size_t i = 0;
  if (s[0] == '+' || s[0] == '-') i = 1;
  if (i == s.size()) return false;
  for (size_t j = i; j < s.size(); ++j)
    if (s[j] < '0' || s[j] > '9') return false;
  std::string_view digits = s[0] == '+' ? s.substr(1) : s;
  int64_t v = 0;
  auto [p, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), v);
  if (ec != std::errc() || p != digits.data() + digits.size()) return false;
  if (v < min || v > max) return false;
  out = v;
  return true;
}

// Java's Double.valueOf on a trimmed string (decimal and exponent forms, "NaN", "Infinity").
bool parse_double(std::string_view s, double& out) {
  if (s.empty()) return false;
  std::string str(s);
  if (!str.empty() && (str.back() == 'd' || str.back() == 'D' || str.back() == 'f' || str.back() == 'F')) str.pop_back();
  if (str == "NaN") {
    out = std::nan("");
    return true;
  }
  if (str == "Infinity" || str == "+Infinity") {
    out = HUGE_VAL;
    return true;
  }
  if (str == "-Infinity") {
    out = -HUGE_VAL;
    return true;
  }
  for (char c : str)
    if (!((c >= '0' && c <= '9') || c == '.' || c == 'e' || c == 'E' || c == '+' || c == '-')) return false;
  errno = 0;
  char* end = nullptr;
  double v = std::strtod(str.c_str(), &end);
  if (end != str.c_str() + str.size() || str.empty()) return false;
  out = v;
  return true;
}

// A range bound as Kafka prints it: the bounds are Integer/Long in Kafka's
// definitions, except a few DOUBLE ones.
std::string bound(double v, ConfigType type) {
  if (type == ConfigType::DOUBLE && std::floor(v) != v) return java_double(v);
  if (std::floor(v) == v && std::fabs(v) < 9.2e18) return std::to_string(static_cast<int64_t>(v));
  return java_double(v);
}

std::string join(const std::vector<std::string_view>& v) {
  std::string s;
  for (size_t i = 0; i < v.size(); ++i) {
    if (i) s += ", ";
    s += v[i];
  }
  return s;
}

std::string check_range(const ConfigKey& key, double v, const std::string& shown) {
  if (key.min && v < *key.min) return invalid_value(key.name, shown, "Value must be at least " + bound(*key.min, key.type));
  if (key.max && v > *key.max) return invalid_value(key.name, shown, "Value must be no more than " + bound(*key.max, key.type));
  return "";
}

bool allowed(const ConfigKey& key, std::string_view s) {
  for (auto v : key.valid)
    if (v == s) return true;
  return false;
}

}  // namespace

std::string invalid_value(std::string_view name, std::string_view value, std::string_view why) {
  std::string s = "Invalid value ";
  s += value;
  s += " for configuration ";
  s += name;
  if (!why.empty()) {
    s += ": ";
    s += why;
  }
  return s;
}

std::string java_double(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "Infinity" : "-Infinity";
  char buf[64];
  auto [p, ec] = std::to_chars(buf, buf + sizeof buf, v);
  std::string s(buf, p);
  if (s.find_first_of(".eE") == std::string::npos) s += ".0";
  return s;
}

std::vector<std::string> split_list(std::string_view value) {
  std::vector<std::string> out;
  std::string_view t = trim(value);
  if (t.empty()) return out;
  size_t start = 0;
  for (;;) {
    size_t comma = t.find(',', start);
    out.emplace_back(trim(t.substr(start, comma == std::string_view::npos ? std::string_view::npos : comma - start)));
    if (comma == std::string_view::npos) break;
    start = comma + 1;
  }
  return out;
}

std::string validate_value(const ConfigKey& key, std::string_view raw) {
  std::string_view v = trim(raw);
  switch (key.type) {
    case ConfigType::BOOLEAN: {
      std::string l(v);
      for (auto& c : l) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      if (l != "true" && l != "false") return invalid_value(key.name, raw, "Expected value to be either true or false");
      return "";
    }
    case ConfigType::SHORT:
    case ConfigType::INT:
    case ConfigType::LONG: {
      int64_t lo = key.type == ConfigType::SHORT ? INT16_MIN : key.type == ConfigType::INT ? INT32_MIN : INT64_MIN;
      int64_t hi = key.type == ConfigType::SHORT ? INT16_MAX : key.type == ConfigType::INT ? INT32_MAX : INT64_MAX;
      int64_t n = 0;
      if (!parse_integer(v, lo, hi, n)) {
        const char* t = key.type == ConfigType::SHORT ? "SHORT" : key.type == ConfigType::INT ? "INT" : "LONG";
        return invalid_value(key.name, raw, std::string("Not a number of type ") + t);
      }
      return check_range(key, static_cast<double>(n), std::to_string(n));
    }
    case ConfigType::DOUBLE: {
      double d = 0;
      if (!parse_double(v, d)) return invalid_value(key.name, raw, "Not a number of type DOUBLE");
      return check_range(key, d, java_double(d));
    }
    case ConfigType::STRING:
      if (!key.valid.empty() && !allowed(key, v)) return invalid_value(key.name, v, "String must be one of: " + join(key.valid));
      return "";
    case ConfigType::LIST:
      if (!key.valid.empty())
        for (const auto& e : split_list(v))
          if (!allowed(key, e)) return invalid_value(key.name, e, "String must be one of: " + join(key.valid));
      return "";
    default:
      return "";
  }
}

}  // namespace flotilla::config
