// Legacy message sets (magic 0 and 1: what Produce v0-2 may carry) converted
// to one record batch v2, as Kafka's LogValidator converts them when the log's
// format is v2 (every log since Kafka 3.0: message.format.version is ignored).
// The log, replication, fetch and LogAppendTime then treat them as any batch.
//
// What is kept: each message's key, value and (magic 1) timestamp; magic 0
// has no timestamp (-1, Kafka's NO_TIMESTAMP). A compressed wrapper's inner
// messages become the batch's records, compressed with the wrapper's codec
// (gzip, snappy, lz4); a magic 1 wrapper with LogAppendTime gives its
// timestamp to every inner message. Offsets are the log's to assign.
//
// Refused: a CRC32 that does not match, a truncated or empty set, a nested
// wrapper → CORRUPT_MESSAGE; zstd or an unknown codec → UNSUPPORTED_COMPRESSION_TYPE.
//
// Pure functions; no state.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "common/error.h"

namespace flotilla::records {

// Whether a produce payload is a legacy message set: its first entry's magic
// byte (at offset 16, where a v2 batch has its magic too) is 0 or 1.
bool is_legacy_message_set(std::span<const uint8_t> data);

struct LegacyConversion {
  ErrorCode error = ErrorCode::NONE;
  std::string message;
  std::vector<uint8_t> batch;  // one whole v2 batch (base offset 0, CRC set)
  int32_t records = 0;
};

LegacyConversion convert_legacy_message_set(std::span<const uint8_t> data);

// A legacy message (for tests and tools): key/value null when nullopt;
// timestamp only for magic 1. Its offset field is `offset`.
std::vector<uint8_t> legacy_message(int8_t magic, int64_t offset, int64_t timestamp, const std::vector<uint8_t>* key,
                                    const std::vector<uint8_t>* value, int8_t attributes = 0);

}  // namespace flotilla::records
