// Fuzz target: a request frame as a connection reads it (after the 4-byte
// size) — the request header (version from the API table) and then the body
// through the decoder of that API and version (every request schema, every
// supported version, generated: protocol/request_dispatch.h). A Produce
// request's record batches also go through the broker's validation, as the
// handler does with what the decoder accepts.
#include <cstdint>

#include "request_path.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  flotilla::fuzz::one_request_frame(data, size);
  return 0;
}
