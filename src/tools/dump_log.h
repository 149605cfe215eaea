// `flotilla dump-log` (kafka-dump-log.sh): prints the record batches of log
// segments (`.log`, any partition and `__cluster_metadata-0`) and of KRaft
// snapshots (`.checkpoint`) exactly as Kafka 3.9's DumpLogSegments does, so
// that its output can be diffed against Kafka's. The options are
// DumpLogOptions (tools/commands.h); this header exposes the pieces the tests
// check on their own.
//
// Where Kafka would stop with an exception (a corrupt batch, an unparsable
// file name) the tool prints the reason to stderr and exits 1, after the lines
// it has printed so far. One deliberate difference: Flotilla preallocates the
// active metadata segment with zeros; an all-zero tail ends the file
// silently (Kafka, which does not write such tails, would throw on it).
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <span>
#include <string>

namespace flotilla::tools {

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

// The payload Kafka's ClusterMetadataLogMessageParser prints for one record
// value of __cluster_metadata: {"type":"TOPIC_RECORD","version":0,"data":{...}},
// or "Error at <offset>, skipping. <reason>" when it does not decode.
std::string format_metadata_record(std::optional<std::span<const uint8_t>> value, int64_t offset);

}  // namespace flotilla::tools
