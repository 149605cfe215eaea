// The request path as a connection takes a frame (after its 4-byte size):
// the request header at the version the API table gives, the body through
// that API's decoder, and a Produce request's batches through the broker's
// validation (a control batch's END_TXN marker parsed as the log does), a
// JoinGroup's ConsumerProtocol subscriptions and a SyncGroup's assignments
// decoded as the group coordinator and the REST group model read them (the
// version first, then the newest schema we know for a newer one). Shared by
// the request and tls targets.
#pragma once

#include <cstddef>
#include <algorithm>
#include <cstdint>
#include <vector>

#include "common/bytes.h"
#include "protocol/api.h"
#include "protocol/messages.h"
#include "protocol/record_batch.h"
#include "protocol/request_dispatch.h"
#include "storage/producer_state.h"

namespace flotilla::fuzz {

// An embedded ConsumerProtocol struct: int16 version, then the body at that
// version, or at our newest for a newer one (they only add fields at the end).
template <class M>
void consumer_protocol(const std::vector<uint8_t>& bytes) {
  if (bytes.size() < 2) return;
  try {
    ByteReader r(bytes);
    const int16_t v = r.get_i16();
    if (v < 0) return;
    M m;
    m.decode(r, std::min<int16_t>(v, M::kMaxVersion));
  } catch (const DecodeError&) {
  }
}

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
        for (const auto& p : t.partition_data) {
          if (p.records.is_null) continue;
          auto v = records::validate_batches(p.records.view, 1 << 20);
          if (v.error != ErrorCode::NONE) continue;
          for (const auto& b : v.batches)
            if (b.header.is_control())
              (void)storage::parse_end_txn_marker(p.records.view.subspan(b.position, static_cast<size_t>(b.header.total_size())));
        }
    } else if (key == 11) {  // JoinGroup: a consumer's subscription
      ByteReader jr(data + body, size - body);
      msg::JoinGroupRequest req;
      req.decode(jr, version);
      for (const auto& p : req.protocols) consumer_protocol<msg::ConsumerProtocolSubscription>(p.metadata);
    } else if (key == 14) {  // SyncGroup: the leader's assignments
      ByteReader sr(data + body, size - body);
      msg::SyncGroupRequest req;
      req.decode(sr, version);
      for (const auto& a : req.assignments) consumer_protocol<msg::ConsumerProtocolAssignment>(a.assignment);
    }
  } catch (const DecodeError&) {
  }
}

}  // namespace flotilla::fuzz
