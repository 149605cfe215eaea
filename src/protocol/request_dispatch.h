// Every request's decoder reached by API key (generated from schemas/ by
// gen/generate.py): what the request fuzz target (tests/fuzz) drives, and
// where its seeds come from.
#pragma once

#include <cstdint>
#include <vector>

#include "common/bytes.h"

namespace flotilla::protocol {

// Decodes a request body of `api_key` at `version` (into a message that is
// dropped). false for an unknown key or unsupported version; throws
// DecodeError for malformed bytes.
bool decode_request_body(int16_t api_key, int16_t version, ByteReader& r);
// The body of a default-valued request of `api_key` at `version`; empty for an
// unknown key or unsupported version.
std::vector<uint8_t> encode_default_request(int16_t api_key, int16_t version);

}  // namespace flotilla::protocol
