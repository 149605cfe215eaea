// Byte-exact message tests: a message encodes at a version to exactly the
// bytes laid out by hand from the schema, and those bytes decode back to it.
#pragma once

#include <gtest/gtest.h>

#include <cstdint>
#include <vector>

#include "common/bytes.h"

namespace flotilla::golden {

inline std::vector<uint8_t> encode_of(const auto& m, int16_t v) {
  ByteWriter w;
  m.encode(w, v);
  return w.flatten();
}

// `m` encodes at `v` to exactly `want`, which decodes back to `m`.
template <class M>
void expect_golden(const M& m, int16_t v, const std::vector<uint8_t>& want) {
  EXPECT_EQ(encode_of(m, v), want);
  M back;
  ByteReader rd(want);
  back.decode(rd, v);
  EXPECT_EQ(back, m);
}

}  // namespace flotilla::golden
