// Fuzz target: a request frame as a connection reads it (after the 4-byte
// size) — the request header (version from the API table) and then the body
// through the decoder of that API and version (every request schema, every
// supported version, generated: protocol/request_dispatch.h). A Produce
// request's record batches also go through the broker's validation, as the
// handler does with what the decoder accepts.
#include <cstdint>

#include "common/bytes.h"
#include "protocol/api.h"
#include "protocol/messages.h"
#include "protocol/record_batch.h"
#include "protocol/request_dispatch.h"

using namespace flotilla;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  ByteReader r(data, size);
  try {
    const int16_t key = r.get_i16();
    const int16_t version = r.get_i16();
    r.get_i32();  // correlation id
    const int16_t hv = protocol::request_header_version(key, version);
    if (hv < 0) return 0;  // the server closes the connection
    if (hv >= 1) {
      const int16_t n = r.get_i16();
      if (n >= 0) r.get_string(static_cast<size_t>(n));
    }
    if (hv >= 2) {
      const uint32_t tags = r.get_uvarint32();
      for (uint32_t i = 0; i < tags; ++i) {
        r.get_uvarint32();
        r.skip(r.get_uvarint32());
      }
    }
    const size_t body = r.position();
    ByteReader any(data + body, size - body);
    if (!protocol::decode_request_body(key, version, any)) return 0;
    if (key == 0) {  // Produce: the batches the handler validates
      ByteReader pr(data + body, size - body);
      msg::ProduceRequest req;
      req.decode(pr, version);
      for (const auto& t : req.topic_data)
        for (const auto& p : t.partition_data)
          if (!p.records.is_null) (void)records::validate_batches(p.records.view, 1 << 20);
    }
  } catch (const DecodeError&) {
  }
  return 0;
}
