// Reading a whole log back in tests: every batch header (each batch's CRC
// checked) and every data record, in order.
#pragma once

#include <gtest/gtest.h>

#include <optional>
#include <string>
#include <vector>

#include "common/bytes.h"
#include "common/crc32c.h"
#include "protocol/record_batch.h"
#include "storage/log.h"

namespace flotilla::storage::testing {

inline std::vector<uint8_t> bytes_of(const Records& r) {
  ByteWriter w;
  w.put_records_payload(r);
  return w.flatten();
}

struct Seen {
  std::vector<records::Record> records;       // data records (control batches' are left out)
  std::vector<records::BatchHeader> batches;  // every batch, control ones too
};

inline Seen read_all(const Log& log) {
  Seen s;
  auto rr = log.read(log.log_start_offset(), 1 << 30, log.log_end_offset(), true);
  auto b = bytes_of(rr.records);
  records::for_each_batch(b, [&](const records::BatchHeader& h, std::span<const uint8_t> bytes) {
    EXPECT_EQ(crc32c(bytes.data() + records::kAttributesOffset, bytes.size() - records::kAttributesOffset), h.crc);
    s.batches.push_back(h);
    if (h.is_control()) return;
    for (auto& r : records::decode_records(bytes)) s.records.push_back(std::move(r));
  });
  return s;
}

inline std::string str(const std::optional<std::vector<uint8_t>>& v) { return v ? std::string(v->begin(), v->end()) : "<null>"; }

}  // namespace flotilla::storage::testing
