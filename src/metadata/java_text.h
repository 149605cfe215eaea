// Text exactly as the JVM writes it, for output users diff against Kafka's
// tools (dump-log's payloads and metadata records): Java's Double.toString,
// the replacement decisions of `new String(bytes, UTF_8)`, and Jackson's
// compact JSON. Pure functions.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <span>
#include <string>

namespace flotilla::metadata {

// Java's Double.toString (the shortest form that reads back, as JDK 19+
// prints it): "1.0", "0.001", "1.0E7", "1.234E-5", "NaN", "-Infinity".
std::string java_double_to_string(double d);

// What `new String(bytes, UTF_8)` holds, as UTF-8: every malformed sequence
// (maximal subpart) becomes U+FFFD, as Java's decoder replaces it.
std::string java_utf8(std::span<const uint8_t> bytes);

// Jackson's JsonNode.toString(): no spaces, members in insertion order,
// strings escaped as Jackson escapes them (\" \\ \b \t \n \f \r, other
// control characters as \u00XX with upper-case hex, everything else as is),
// doubles as Java prints them (NaN and infinities quoted).
std::string jackson_json(const nlohmann::ordered_json& j);

}  // namespace flotilla::metadata
