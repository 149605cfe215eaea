// The request path as a connection takes a frame (after its 4-byte size):
// the request header at the version the API table gives, the body through
// that API's decoder, and a Produce request's batches through the broker's
// validation. Shared by the request and tls targets.
#pragma once

#include <cstddef>
#include <cstdint>

#include "common/bytes.h"
#include "protocol/api.h"
#include "protocol/messages.h"
#include "protocol/record_batch.h"
#include "protocol/request_dispatch.h"

namespace flotilla::fuzz {

inline void one_request_frame(const uint8_t* data, size_t size) {
  ByteReader r(data, size);
  try {
    const int16_t key = r.get_i16();
    const int16_t version = r.get_i16();
    r.get_i32();  // correlation id
    const int16_t hv = protocol::request_header_version(key, version);
    if (hv < 0) return;  // the server closes the connection
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
    if (!protocol::decode_request_body(key, version, any)) return;
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
}

}  // namespace flotilla::fuzz
