#include <gtest/gtest.h>

#include "common/crc32c.h"
#include "protocol/compression.h"
#include "protocol/record_batch.h"

#include <snappy.h>

using namespace flotilla;
using namespace flotilla::records;

namespace {
std::span<const uint8_t> sp(const std::string& s) { return {reinterpret_cast<const uint8_t*>(s.data()), s.size()}; }

std::vector<uint8_t> sample_batch(Compression c, int n, int64_t ts = 1000) {
  BatchBuilder b(c);
  for (int i = 0; i < n; ++i) {
    std::string k = "key-" + std::to_string(i), v = "value-" + std::to_string(i) + std::string(i % 50, 'x');
    std::vector<Header> h;
    if (i % 3 == 0) h.push_back(Header{"h" + std::to_string(i), std::vector<uint8_t>{1, 2}});
    if (i % 5 == 0) h.push_back(Header{"null-header", std::nullopt});
    b.add(ts + i, i % 7 == 0 ? std::nullopt : std::optional(sp(k)), i % 11 == 0 ? std::nullopt : std::optional(sp(v)), h);
  }
  return b.build();
}
}  // namespace

TEST(RecordBatch, GoldenUncompressedBatch) {
  // One record, key "k", value "v", timestamp 5, no headers, laid out by hand.
  BatchBuilder b;
  b.add(5, sp("k"), sp("v"));
  auto got = b.build();
  std::vector<uint8_t> rec = {0x10 /*len 8 zigzag*/, 0, 0, 0, 0x02, 'k', 0x02, 'v', 0};
  std::vector<uint8_t> want = {0, 0, 0, 0, 0, 0, 0, 0,  // base offset
                               0, 0, 0, 0,              // batch length (patched below)
                               0xff, 0xff, 0xff, 0xff,  // leader epoch -1
                               2,                       // magic
                               0, 0, 0, 0,              // crc (patched below)
                               0, 0,                    // attributes
                               0, 0, 0, 0,              // last offset delta
                               0, 0, 0, 0, 0, 0, 0, 5,  // base ts
                               0, 0, 0, 0, 0, 0, 0, 5,  // max ts
                               0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,  // producer id
                               0xff, 0xff,              // producer epoch
                               0xff, 0xff, 0xff, 0xff,  // base sequence
                               0, 0, 0, 1};             // count
  want.insert(want.end(), rec.begin(), rec.end());
  store_be32(want.data() + 8, static_cast<uint32_t>(want.size() - 12));
  store_be32(want.data() + 17, crc32c_portable(want.data() + 21, want.size() - 21));
  EXPECT_EQ(got, want);
  auto v = validate_batches(got, 1 << 20);
  EXPECT_EQ(v.error, ErrorCode::NONE) << v.message;
}

TEST(RecordBatch, EveryCodecRoundTrips) {
  for (auto c : {Compression::NONE, Compression::GZIP, Compression::SNAPPY, Compression::LZ4, Compression::ZSTD}) {
    auto batch = sample_batch(c, 500);
    auto v = validate_batches(batch, 1 << 24);
    ASSERT_EQ(v.error, ErrorCode::NONE) << int(c) << " " << v.message;
    EXPECT_EQ(v.record_count, 500);
    auto recs = decode_records(batch);
    ASSERT_EQ(recs.size(), 500u);
    for (int i = 0; i < 500; ++i) {
      EXPECT_EQ(recs[i].offset, i);
      EXPECT_EQ(recs[i].timestamp, 1000 + i);
      if (i % 7 == 0) {
        EXPECT_FALSE(recs[i].key.has_value());
      } else {
        EXPECT_EQ(std::string(recs[i].key->begin(), recs[i].key->end()), "key-" + std::to_string(i));
      }
      if (i % 11 == 0) {
        EXPECT_FALSE(recs[i].value.has_value());
      }
      if (i % 3 == 0) {
        ASSERT_FALSE(recs[i].headers.empty());
        EXPECT_EQ(recs[i].headers[0].key, "h" + std::to_string(i));
      }
    }
  }
}

TEST(RecordBatch, ValidationErrors) {
  auto batch = sample_batch(Compression::NONE, 10);
  // Bad CRC.
  auto bad = batch;
  bad[bad.size() - 1] ^= 0xff;
  EXPECT_EQ(validate_batches(bad, 1 << 20).error, ErrorCode::CORRUPT_MESSAGE);
  // Truncated.
  EXPECT_EQ(validate_batches(std::span(batch).first(batch.size() - 3), 1 << 20).error, ErrorCode::CORRUPT_MESSAGE);
  EXPECT_EQ(validate_batches(std::span(batch).first(30), 1 << 20).error, ErrorCode::CORRUPT_MESSAGE);
  // Old magic.
  auto old = batch;
  old[16] = 1;
  EXPECT_EQ(validate_batches(old, 1 << 20).error, ErrorCode::UNSUPPORTED_VERSION);
  // Count mismatch (CRC recomputed so only the count is wrong).
  auto cnt = batch;
  store_be32(cnt.data() + 57, 11);
  store_be32(cnt.data() + 17, crc32c(cnt.data() + 21, cnt.size() - 21));
  EXPECT_EQ(validate_batches(cnt, 1 << 20).error, ErrorCode::CORRUPT_MESSAGE);
  // Too large.
  EXPECT_EQ(validate_batches(batch, 100).error, ErrorCode::MESSAGE_TOO_LARGE);
  // Empty.
  EXPECT_EQ(validate_batches({}, 100).error, ErrorCode::CORRUPT_MESSAGE);
}

TEST(RecordBatch, AssignOffsetsInPlaceKeepsCrcValid) {
  auto a = sample_batch(Compression::NONE, 3);
  auto b = sample_batch(Compression::LZ4, 4);
  std::vector<uint8_t> payload = a;
  payload.insert(payload.end(), b.begin(), b.end());
  auto v = validate_batches(payload, 1 << 20);
  ASSERT_EQ(v.error, ErrorCode::NONE);
  ASSERT_EQ(v.batches.size(), 2u);
  EXPECT_EQ(assign_offsets(payload, v, 100, 7), 107);
  EXPECT_EQ(validate_batches(payload, 1 << 20).error, ErrorCode::NONE);
  BatchHeader h;
  parse_header(std::span(payload).subspan(v.batches[1].position), h);
  EXPECT_EQ(h.base_offset, 103);
  EXPECT_EQ(h.partition_leader_epoch, 7);
  int seen = 0;
  for_each_batch(std::span<const uint8_t>(payload).first(payload.size() - 5), [&](const BatchHeader&, std::span<const uint8_t>) { ++seen; });
  EXPECT_EQ(seen, 1);  // the trailing partial batch is skipped
}

TEST(Compression, SnappyReadsRawAndXerialAndRejectsGarbage) {
  std::string text(10000, 'a');
  for (size_t i = 0; i < text.size(); i += 7) text[i] = char('a' + i % 26);
  auto x = compress(Compression::SNAPPY, sp(text));
  EXPECT_EQ(x[0], 0x82);
  auto back = decompress(Compression::SNAPPY, x);
  EXPECT_EQ(std::string(back.begin(), back.end()), text);
  std::string raw;
  snappy::Compress(text.data(), text.size(), &raw);
  auto back2 = decompress(Compression::SNAPPY, sp(raw));
  EXPECT_EQ(std::string(back2.begin(), back2.end()), text);
  std::vector<uint8_t> garbage(100, 0x5a);
  for (auto c : {Compression::GZIP, Compression::SNAPPY, Compression::LZ4, Compression::ZSTD})
    EXPECT_THROW(decompress(c, garbage), DecodeError) << int(c);
}
