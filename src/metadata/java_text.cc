#include "metadata/java_text.h"

#include <charconv>
#include <cmath>
#include <cstdlib>

namespace flotilla::metadata {

namespace {

void append_utf8(std::string& out, uint32_t cp) {
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xC0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xE0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (cp >> 18));
    out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  }
}

void append_jackson_string(std::string& out, std::string_view s) {
  static const char* hex = "0123456789ABCDEF";
  out += '"';
  for (char ch : s) {
    auto c = static_cast<unsigned char>(ch);
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\b': out += "\\b"; break;
      case '\t': out += "\\t"; break;
      case '\n': out += "\\n"; break;
      case '\f': out += "\\f"; break;
      case '\r': out += "\\r"; break;
      default:
        if (c < 0x20) {
          out += "\\u00";
          out += hex[c >> 4];
          out += hex[c & 15];
        } else {
          out += ch;
        }
    }
  }
  out += '"';
}

void append_jackson(std::string& out, const nlohmann::ordered_json& j) {
  using V = nlohmann::ordered_json::value_t;
  switch (j.type()) {
    case V::null: out += "null"; break;
    case V::boolean: out += j.get<bool>() ? "true" : "false"; break;
    case V::number_integer: out += std::to_string(j.get<int64_t>()); break;
    case V::number_unsigned: out += std::to_string(j.get<uint64_t>()); break;
    case V::number_float: {
      double d = j.get<double>();
      // Jackson quotes the non-finite values (QUOTE_NON_NUMERIC_NUMBERS).
      if (std::isfinite(d)) out += java_double_to_string(d);
      else append_jackson_string(out, java_double_to_string(d));
      break;
    }
    case V::string: append_jackson_string(out, java_utf8(std::span<const uint8_t>(
                                                   reinterpret_cast<const uint8_t*>(j.get_ref<const std::string&>().data()),
                                                   j.get_ref<const std::string&>().size())));
      break;
    case V::array: {
      out += '[';
      bool first = true;
      for (const auto& e : j) {
        if (!first) out += ',';
        first = false;
        append_jackson(out, e);
      }
      out += ']';
      break;
    }
    case V::object: {
      out += '{';
      bool first = true;
      for (const auto& [k, v] : j.items()) {
        if (!first) out += ',';
        first = false;
        append_jackson_string(out, k);
        out += ':';
        append_jackson(out, v);
      }
      out += '}';
      break;
    }
    case V::binary:
    case V::discarded: out += "null"; break;
  }
}

}  // namespace

std::string java_double_to_string(double d) {
  if (std::isnan(d)) return "NaN";
  if (std::isinf(d)) return d > 0 ? "Infinity" : "-Infinity";
  if (d == 0) return std::signbit(d) ? "-0.0" : "0.0";
  char buf[64];
  auto res = std::to_chars(buf, buf + sizeof buf, d, std::chars_format::scientific);
  std::string sci(buf, res.ptr);
  // Java prints at least two significant digits; when the shortest form has
  // one, it takes the two-digit decimal nearest the value if that reads back
  // (4.9E-324 rather than 5.0E-324).
  auto epos = sci.find('e');
  std::string mant = sci.substr(0, epos);
  int exp10 = std::stoi(sci.substr(epos + 1));
  std::string digits;
  for (char c : mant)
    if (c >= '0' && c <= '9') digits += c;
  bool negative = mant[0] == '-';
  if (digits.size() == 1) {
    auto r2 = std::to_chars(buf, buf + sizeof buf, d, std::chars_format::scientific, 1);
    std::string two(buf, r2.ptr);
    double back = std::strtod(two.c_str(), nullptr);
    if (back == d) {
      auto e2 = two.find('e');
      std::string m2 = two.substr(0, e2);
      digits.clear();
      for (char c : m2)
        if (c >= '0' && c <= '9') digits += c;
      exp10 = std::stoi(two.substr(e2 + 1));
    }
  }
  while (digits.size() > 1 && digits.back() == '0') digits.pop_back();
  std::string out = negative ? "-" : "";
  double a = std::fabs(d);
  if (a >= 1e-3 && a < 1e7) {
    if (exp10 >= 0) {
      std::string int_part = digits.substr(0, std::min(digits.size(), static_cast<size_t>(exp10 + 1)));
      while (int_part.size() < static_cast<size_t>(exp10 + 1)) int_part += '0';
      std::string frac = digits.size() > static_cast<size_t>(exp10 + 1) ? digits.substr(exp10 + 1) : "0";
      out += int_part + "." + frac;
    } else {
      out += "0." + std::string(static_cast<size_t>(-exp10 - 1), '0') + digits;
    }
  } else {
    out += digits.substr(0, 1) + "." + (digits.size() > 1 ? digits.substr(1) : "0") + "E" + std::to_string(exp10);
  }
  return out;
}

std::string java_utf8(std::span<const uint8_t> s) {
  // The decisions of Java's String(byte[], UTF_8) decoder (JDK 11-25): how
  // many bytes each U+FFFD replaces, and that a truncated sequence at the end
  // replaces the rest of the input, differ from the Unicode "maximal subpart"
  // rule; users diff payloads against Kafka's output, so these are followed.
  auto cont = [](uint8_t b) { return (b & 0xC0) == 0x80; };
  std::string out;
  out.reserve(s.size());
  const size_t n = s.size();
  size_t i = 0;
  while (i < n) {
    const size_t start = i;
    const uint8_t b1 = s[i++];
    if (b1 < 0x80) {
      out += static_cast<char>(b1);
    } else if (b1 >= 0xC2 && b1 <= 0xDF) {
      if (i >= n) {
        append_utf8(out, 0xFFFD);
        break;
      }
      if (cont(s[i])) {
        out.append(reinterpret_cast<const char*>(s.data() + start), 2);
        ++i;
      } else {
        append_utf8(out, 0xFFFD);  // the next byte starts afresh
      }
    } else if (b1 >= 0xE0 && b1 <= 0xEF) {
      // E0 80..9F is an overlong form: the lead byte alone is replaced.
      auto bad_second = [&](uint8_t b2) { return (b1 == 0xE0 && (b2 & 0xE0) == 0x80) || !cont(b2); };
      if (i + 1 < n) {
        uint8_t b2 = s[i], b3 = s[i + 1];
        if (bad_second(b2) || !cont(b3)) {
          append_utf8(out, 0xFFFD);
          i = start + (bad_second(b2) ? 1 : 2);
        } else {
          uint32_t c = ((b1 & 0x0Fu) << 12) | ((b2 & 0x3Fu) << 6) | (b3 & 0x3Fu);
          if (c >= 0xD800 && c <= 0xDFFF) append_utf8(out, 0xFFFD);  // a surrogate: all three bytes
          else out.append(reinterpret_cast<const char*>(s.data() + start), 3);
          i = start + 3;
        }
      } else if (i < n && bad_second(s[i])) {
        append_utf8(out, 0xFFFD);
      } else {
        append_utf8(out, 0xFFFD);  // truncated at the end: the rest is dropped
        break;
      }
    } else if (b1 >= 0xF0 && b1 <= 0xF7) {
      auto bad_second = [&](uint8_t b2) {
        return (b1 == 0xF0 && (b2 < 0x90 || b2 > 0xBF)) || (b1 == 0xF4 && (b2 & 0xF0) != 0x80) || !cont(b2);
      };
      if (i + 2 < n) {
        uint8_t b2 = s[i], b3 = s[i + 1], b4 = s[i + 2];
        uint32_t uc = ((b1 & 0x07u) << 18) | ((b2 & 0x3Fu) << 12) | ((b3 & 0x3Fu) << 6) | (b4 & 0x3Fu);
        if (!cont(b2) || !cont(b3) || !cont(b4) || uc < 0x10000 || uc > 0x10FFFF) {
          append_utf8(out, 0xFFFD);
          i = start + ((b1 > 0xF4 || bad_second(b2)) ? 1 : !cont(b3) ? 2 : 3);
        } else {
          out.append(reinterpret_cast<const char*>(s.data() + start), 4);
          i = start + 4;
        }
      } else if (b1 > 0xF4 || (i < n && bad_second(s[i]))) {
        append_utf8(out, 0xFFFD);
      } else {
        // A valid start cut short by the end of the input.
        append_utf8(out, 0xFFFD);
        ++i;
        if (i < n && !cont(s[i])) continue;
        break;
      }
    } else {
      append_utf8(out, 0xFFFD);  // 80..BF, C0, C1, F8..FF
    }
  }
  return out;
}

std::string jackson_json(const nlohmann::ordered_json& j) {
  std::string out;
  append_jackson(out, j);
  return out;
}

}  // namespace flotilla::metadata
