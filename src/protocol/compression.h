// Kafka's compression codecs, with the framing Kafka clients use:
// gzip (RFC 1952), snappy (xerial/snappy-java framing; raw snappy also read),
// lz4 (the LZ4 frame format), zstd (zstd frames).
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "protocol/record_batch.h"

namespace flotilla::records {

std::vector<uint8_t> compress(Compression c, std::span<const uint8_t> data);
// Throws DecodeError on corrupt input or an output beyond max_output bytes.
std::vector<uint8_t> decompress(Compression c, std::span<const uint8_t> data, size_t max_output = size_t(1) << 31);

}  // namespace flotilla::records
