// Kafka's Uuid: 128 bits, shown as 22 characters of URL-safe base64 without
// padding (the form of cluster ids and topic ids).
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

namespace flotilla {

struct Uuid {
  uint64_t hi = 0;
  uint64_t lo = 0;

  bool is_zero() const { return hi == 0 && lo == 0; }
  auto operator<=>(const Uuid&) const = default;

  // A random version-4 UUID from the OS entropy source; never the zero uuid,
  // and never one whose base64 form starts with '-' (as Kafka avoids).
  static Uuid random();
  static std::optional<Uuid> parse(std::string_view base64);
  std::string to_string() const;
};

}  // namespace flotilla

template <>
struct std::hash<flotilla::Uuid> {
  size_t operator()(const flotilla::Uuid& u) const noexcept { return std::hash<uint64_t>()(u.hi * 31 + u.lo); }
};
