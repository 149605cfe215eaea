// Legacy message sets (magic 0/1) converted to one v2 batch.
#include "protocol/legacy_records.h"

#include <gtest/gtest.h>

#include "protocol/compression.h"
#include "protocol/record_batch.h"

using namespace flotilla;
using namespace flotilla::records;

namespace {

std::vector<uint8_t> b(const std::string& s) { return {s.begin(), s.end()}; }

std::vector<uint8_t> concat(std::initializer_list<std::vector<uint8_t>> parts) {
  std::vector<uint8_t> out;
  for (const auto& p : parts) out.insert(out.end(), p.begin(), p.end());
  return out;
}

}  // namespace

TEST(LegacyRecords, Magic1MessagesBecomeOneV2Batch) {
  auto k = b("key"), v1 = b("one"), v2 = b("two");
  auto set = concat({legacy_message(1, 0, 1111, &k, &v1), legacy_message(1, 1, 2222, nullptr, &v2)});
  EXPECT_TRUE(is_legacy_message_set(set));
  LegacyConversion c = convert_legacy_message_set(set);
  ASSERT_EQ(c.error, ErrorCode::NONE) << c.message;
  EXPECT_EQ(c.records, 2);
  EXPECT_FALSE(is_legacy_message_set(c.batch));
  EXPECT_EQ(validate_batches(c.batch, 1 << 20).error, ErrorCode::NONE);
  auto recs = decode_records(c.batch);
  ASSERT_EQ(recs.size(), 2u);
  EXPECT_EQ(recs[0].timestamp, 1111);
  EXPECT_EQ(recs[0].key, k);
  EXPECT_EQ(recs[0].value, v1);
  EXPECT_EQ(recs[1].timestamp, 2222);
  EXPECT_FALSE(recs[1].key.has_value());
  EXPECT_EQ(recs[1].value, v2);
}

TEST(LegacyRecords, Magic0HasNoTimestamp) {
  auto v = b("x");
  LegacyConversion c = convert_legacy_message_set(legacy_message(0, 0, 0, nullptr, &v));
  ASSERT_EQ(c.error, ErrorCode::NONE) << c.message;
  auto recs = decode_records(c.batch);
  ASSERT_EQ(recs.size(), 1u);
  EXPECT_EQ(recs[0].timestamp, -1);
}

TEST(LegacyRecords, CompressedWrapperGivesItsInnerMessagesAndCodec) {
  auto v1 = b("inner-1"), v2 = b("inner-2");
  auto inner = concat({legacy_message(1, 0, 500, nullptr, &v1), legacy_message(1, 1, 600, nullptr, &v2)});
  auto gz = compress(Compression::GZIP, inner);
  // A wrapper with LogAppendTime: its timestamp is every inner message's.
  auto set = legacy_message(1, 1, 9999, nullptr, &gz, 0x01 | 0x08);
  LegacyConversion c = convert_legacy_message_set(set);
  ASSERT_EQ(c.error, ErrorCode::NONE) << c.message;
  BatchHeader h;
  ASSERT_TRUE(parse_header(c.batch, h));
  EXPECT_EQ(h.compression(), Compression::GZIP);
  auto recs = decode_records(c.batch);
  ASSERT_EQ(recs.size(), 2u);
  EXPECT_EQ(recs[0].value, v1);
  EXPECT_EQ(recs[1].value, v2);
  EXPECT_EQ(recs[0].timestamp, 9999);
  EXPECT_EQ(recs[1].timestamp, 9999);
  // CreateTime wrapper: the inner timestamps.
  c = convert_legacy_message_set(legacy_message(1, 1, 9999, nullptr, &gz, 0x01));
  ASSERT_EQ(c.error, ErrorCode::NONE) << c.message;
  EXPECT_EQ(decode_records(c.batch)[1].timestamp, 600);
}

TEST(LegacyRecords, BadInputIsRefusedWithKafkasCodes) {
  auto v = b("x");
  auto m = legacy_message(1, 0, 1, nullptr, &v);
  auto bad_crc = m;
  bad_crc.back() ^= 1;
  EXPECT_EQ(convert_legacy_message_set(bad_crc).error, ErrorCode::CORRUPT_MESSAGE);
  auto truncated = m;
  truncated.pop_back();
  EXPECT_EQ(convert_legacy_message_set(truncated).error, ErrorCode::CORRUPT_MESSAGE);
  EXPECT_EQ(convert_legacy_message_set(legacy_message(1, 0, 1, nullptr, &v, 0x04)).error, ErrorCode::UNSUPPORTED_COMPRESSION_TYPE);
  auto garbage = b("not gzip");
  EXPECT_EQ(convert_legacy_message_set(legacy_message(1, 0, 1, nullptr, &garbage, 0x01)).error, ErrorCode::CORRUPT_MESSAGE);
  EXPECT_EQ(convert_legacy_message_set({}).error, ErrorCode::CORRUPT_MESSAGE);
}
