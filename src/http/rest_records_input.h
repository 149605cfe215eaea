// The produce route's input (kafka-rest's ProduceRequest): one JSON object
// per record, several concatenated in a body for the streaming mode.
//
//   split_records(body)   the body's top-level JSON values, in order; a value
//                         that does not parse ends the list with its error
//   parse_record(value)   {"partition_id", "headers":[{"name","value"(base64)}],
//                         "key"/"value":{"type":"BINARY|JSON|STRING","data"},
//                         "timestamp":"2021-02-05T19:14:42Z"} -> bytes, as
//                         kafka-rest's NoSchemaRecordSerializer makes them:
//                         BINARY base64-decoded, JSON the compact JSON text,
//                         STRING the UTF-8 text, null data a null key/value.
//                         Bad input: RestError 400 (a negative partition
//                         404/40403), as kafka-rest answers it; a negative
//                         timestamp 400, as Kafka's ProducerRecord refuses it.
//   iso8601_ms / format_iso8601   the timestamps (Java's Instant text).
// Pure functions; thread-safe.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "http/rest_common.h"
#include "protocol/record_batch.h"

namespace flotilla::http::rest {

struct RecordPart {
  std::string type;                           // BINARY, JSON or STRING
  std::optional<std::vector<uint8_t>> bytes;  // nullopt for null data
};

struct ProduceInput {
  std::optional<int32_t> partition_id;
  std::vector<records::Header> headers;
  std::optional<RecordPart> key;  // nullopt when the request has no key (or key: null)
  std::optional<RecordPart> value;
  std::optional<int64_t> timestamp_ms;
};

// One top-level value of the body, or the reason it does not parse.
struct BodyValue {
  std::optional<json> value;
  std::string error;  // set when value is nullopt
};

std::vector<BodyValue> split_records(std::string_view body);
ProduceInput parse_record(const json& record);

// "2021-02-05T19:14:42Z", "...42.123Z", "...42+01:00" -> Unix ms; nullopt if not ISO 8601.
std::optional<int64_t> iso8601_ms(std::string_view text);
// Unix ms -> Java's Instant.toString ("2021-02-05T19:14:42Z", "...42.123Z").
std::string format_iso8601(int64_t ms);

}  // namespace flotilla::http::rest
