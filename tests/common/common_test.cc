#include <gtest/gtest.h>

#include "common/bytes.h"
#include "common/crc32c.h"
#include "common/error.h"
#include "common/uuid.h"

using namespace flotilla;

TEST(Crc32c, KnownVectors) {
  // RFC 3720 B.4 test vectors.
  std::vector<uint8_t> zeros(32, 0), ones(32, 0xff), inc(32);
  for (int i = 0; i < 32; ++i) inc[i] = uint8_t(i);
  EXPECT_EQ(crc32c(zeros.data(), 32), 0x8A9136AAu);
  EXPECT_EQ(crc32c(ones.data(), 32), 0x62A8AB43u);
  EXPECT_EQ(crc32c(inc.data(), 32), 0x46DD794Eu);
  EXPECT_EQ(crc32c("123456789", 9), 0xE3069283u);
}

TEST(Crc32c, HardwareMatchesPortableAtEveryLengthAndAlignment) {
  std::vector<uint8_t> buf(300);
  for (size_t i = 0; i < buf.size(); ++i) buf[i] = uint8_t(i * 7 + 3);
  for (size_t off = 0; off < 9; ++off)
    for (size_t n = 0; n + off <= buf.size(); n += 13)
      ASSERT_EQ(crc32c(buf.data() + off, n), crc32c_portable(buf.data() + off, n)) << off << " " << n;
  // Incremental equals one-shot.
  EXPECT_EQ(crc32c(buf.data() + 100, 200, crc32c(buf.data(), 100)), crc32c(buf.data(), 300));
}

TEST(Varint, RoundTripsAndSizes) {
  ByteWriter w;
  std::vector<int64_t> vals = {0, 1, -1, 63, -64, 64, 300, -300, INT32_MAX, INT32_MIN, INT64_MAX, INT64_MIN};
  for (auto v : vals) w.put_varlong(v);
  for (auto v : vals)
    if (v >= INT32_MIN && v <= INT32_MAX) w.put_varint(int32_t(v));
  w.put_uvarint(0);
  w.put_uvarint(127);
  w.put_uvarint(128);
  w.put_uvarint(UINT64_MAX);
  ByteReader r(w.buffer());
  for (auto v : vals) EXPECT_EQ(r.get_varlong(), v);
  for (auto v : vals) {
    if (v >= INT32_MIN && v <= INT32_MAX) {
      EXPECT_EQ(r.get_varint(), v);
    }
  }
  EXPECT_EQ(r.get_uvarint(), 0u);
  EXPECT_EQ(r.get_uvarint(), 127u);
  EXPECT_EQ(r.get_uvarint(), 128u);
  EXPECT_EQ(r.get_uvarint(), UINT64_MAX);
  EXPECT_TRUE(r.empty());
  EXPECT_EQ(uvarint_size(127), 1u);
  EXPECT_EQ(uvarint_size(128), 2u);
}

TEST(Varint, KnownEncodings) {
  ByteWriter w;
  w.put_varint(-1);   // zig-zag 1
  w.put_varint(150);  // zig-zag 300 = 0xAC 0x02
  EXPECT_EQ(w.buffer(), (std::vector<uint8_t>{0x01, 0xAC, 0x02}));
}

TEST(ByteReader, UnderflowThrows) {
  std::vector<uint8_t> b = {0, 1, 2};
  ByteReader r(b);
  EXPECT_THROW(r.get_i32(), DecodeError);
  std::vector<uint8_t> endless(12, 0xff);
  ByteReader r2(endless);
  EXPECT_THROW(r2.get_uvarint(), DecodeError);
}

TEST(ByteWriter, BigEndian) {
  ByteWriter w;
  w.put_i16(0x0102);
  w.put_i32(-2);
  w.put_i64(0x0102030405060708LL);
  EXPECT_EQ(w.buffer(), (std::vector<uint8_t>{1, 2, 0xff, 0xff, 0xff, 0xfe, 1, 2, 3, 4, 5, 6, 7, 8}));
}

TEST(Uuid, Base64RoundTripAndKnownForm) {
  for (int i = 0; i < 100; ++i) {
    Uuid u = Uuid::random();
    auto s = u.to_string();
    ASSERT_EQ(s.size(), 22u);
    ASSERT_NE(s[0], '-');
    auto back = Uuid::parse(s);
    ASSERT_TRUE(back.has_value());
    EXPECT_EQ(*back, u);
  }
  Uuid z;
  EXPECT_EQ(z.to_string(), "AAAAAAAAAAAAAAAAAAAAAA");
  Uuid one{0, 1};
  EXPECT_EQ(one.to_string(), "AAAAAAAAAAAAAAAAAAAAAQ");
  EXPECT_FALSE(Uuid::parse("short").has_value());
  EXPECT_FALSE(Uuid::parse("AAAAAAAAAAAAAAAAAAAA*A").has_value());
}

TEST(ErrorCode, NamesMatchKafka) {
  EXPECT_EQ(error_name(ErrorCode::UNKNOWN_TOPIC_OR_PARTITION), "UNKNOWN_TOPIC_OR_PARTITION");
  EXPECT_EQ(error_name(int16_t(35)), "UNSUPPORTED_VERSION");
  EXPECT_EQ(error_name(int16_t(-1)), "UNKNOWN_SERVER_ERROR");
}
