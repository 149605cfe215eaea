// The nesting depth of a JSON text, checked before a parser builds it.
//
// nlohmann::json parses iteratively, but dump(), copies and comparisons
// recurse once per level: a body of 100,000 '[' (200 KB) parses fine and
// then overflows the stack of the thread that prints it. Every JSON text a
// client sends (REST bodies, a JWT's parts) is refused when nested deeper
// than Jackson's default limit (StreamReadConstraints: 1,000), which is what
// Kafka's own JSON readers accept.
#pragma once

#include <cstddef>
#include <string_view>

namespace flotilla {

inline constexpr size_t kMaxJsonDepth = 1000;

// False when some array or object lies deeper than `max_depth` (brackets
// inside strings do not count). Linear; no allocation.
inline bool json_depth_within(std::string_view text, size_t max_depth = kMaxJsonDepth) {
  size_t depth = 0;
  bool in_string = false, escaped = false;
  for (char c : text) {
    if (in_string) {
      if (escaped) escaped = false;
      else if (c == '\\') escaped = true;
      else if (c == '"') in_string = false;
    } else if (c == '"') {
      in_string = true;
    } else if (c == '{' || c == '[') {
      if (++depth > max_depth) return false;
    } else if ((c == '}' || c == ']') && depth > 0) {
      --depth;
    }
  }
  return true;
}

}  // namespace flotilla
