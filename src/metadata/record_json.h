// One `__cluster_metadata` record value decoded to JSON, as Kafka's
// ClusterMetadataLogMessageParser shows it: {"type":"TOPIC_RECORD",
// "version":0,"data":{...}}. `flotilla dump-log` prints format_metadata_record;
// the console's metadata-log timeline uses decode_metadata_record. A
// UserScramCredentialRecord shows what the segment holds (salt, StoredKey,
// ServerKey, iterations); no password is ever in a record. Pure functions.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <span>
#include <string>

namespace flotilla::metadata {

struct DecodedRecord {
  bool ok = false;
  std::string error;             // why it does not decode (Kafka's wording), when !ok
  int16_t api_key = -1;          // the record type's id
  std::string type;              // "TOPIC_RECORD", ...
  int16_t version = 0;
  nlohmann::ordered_json data;   // the record's fields, Kafka's JSON names
};

// Frame version, type and version (three unsigned varints), then the body;
// nothing may follow it.
DecodedRecord decode_metadata_record(std::optional<std::span<const uint8_t>> value);

// dump-log's payload text: the Jackson JSON of {"type","version","data"}, or
// "Error at <offset>, skipping. <reason>".
std::string format_metadata_record(std::optional<std::span<const uint8_t>> value, int64_t offset);

}  // namespace flotilla::metadata
