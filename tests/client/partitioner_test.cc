// murmur2 as the Java client computes it (Utils.murmur2) and the default
// partitioner's keyed/sticky choices.
#include <gtest/gtest.h>

#include <random>
#include <set>
#include <string>

#include "client/partitioner.h"

namespace flotilla::client {
namespace {

std::span<const uint8_t> bytes(const std::string& s) { return {reinterpret_cast<const uint8_t*>(s.data()), s.size()}; }

// An independent transcription of Utils.murmur2 with Java's int semantics
// emulated in 64-bit signed arithmetic (wrap to 32 bits after every step).
int32_t java_int(int64_t x) { return static_cast<int32_t>(static_cast<uint32_t>(static_cast<uint64_t>(x) & 0xffffffffu)); }
int32_t ushr(int32_t x, int n) { return static_cast<int32_t>(static_cast<uint32_t>(x) >> n); }
int32_t reference_murmur2(const std::vector<int8_t>& data) {
  const int length = static_cast<int>(data.size());
  const int32_t seed = java_int(0x9747b28cLL);
  const int32_t m = 0x5bd1e995;
  const int r = 24;
  int32_t h = seed ^ length;
  const int length4 = length / 4;
  for (int i = 0; i < length4; i++) {
    const int i4 = i * 4;
    int32_t k = java_int((data[i4 + 0] & 0xff) + (int64_t(data[i4 + 1] & 0xff) << 8) + (int64_t(data[i4 + 2] & 0xff) << 16) +
                         (int64_t(data[i4 + 3] & 0xff) << 24));
    k = java_int(int64_t(k) * m);
    k ^= ushr(k, r);
    k = java_int(int64_t(k) * m);
    h = java_int(int64_t(h) * m);
    h ^= k;
  }
  switch (length % 4) {
    case 3: h ^= (data[(length & ~3) + 2] & 0xff) << 16; [[fallthrough]];
    case 2: h ^= (data[(length & ~3) + 1] & 0xff) << 8; [[fallthrough]];
    case 1:
      h ^= data[length & ~3] & 0xff;
      h = java_int(int64_t(h) * m);
  }
  h ^= ushr(h, 13);
  h = java_int(int64_t(h) * m);
  h ^= ushr(h, 15);
  return h;
}

TEST(Murmur2, PublishedJavaClientValues) {
  // The cases of Kafka's UtilsTest.testMurmur2.
  EXPECT_EQ(murmur2(bytes("21")), -973932308);
  EXPECT_EQ(murmur2(bytes("foobar")), -790332482);
  EXPECT_EQ(murmur2(bytes("a-little-bit-long-string")), -985981536);
  EXPECT_EQ(murmur2(bytes("a-little-bit-longer-string")), -1486304829);
  EXPECT_EQ(murmur2(bytes("lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8")), -58897971);
  EXPECT_EQ(murmur2(bytes("abc")), 479470107);
}

TEST(Murmur2, OtherValuesFromTheReferenceAlgorithm) {
  // Computed with a separate (Python) transcription of Utils.murmur2.
  EXPECT_EQ(murmur2(bytes("foo")), 597841616);
  EXPECT_EQ(murmur2(bytes("")), 275646681);
  EXPECT_EQ(murmur2(bytes("kafka")), -798503068);
  EXPECT_EQ(murmur2(bytes("key1")), 28543940);
  const uint8_t high[] = {0xff, 0xfe, 0x80, 0x01, 0x7f};
  EXPECT_EQ(murmur2(high), -562899086);
}

TEST(Murmur2, MatchesReferenceOnRandomInputs) {
  std::mt19937 rng(42);
  for (int i = 0; i < 2000; ++i) {
    size_t n = rng() % 64;
    std::vector<uint8_t> d(n);
    std::vector<int8_t> s(n);
    for (size_t j = 0; j < n; ++j) {
      d[j] = static_cast<uint8_t>(rng());
      s[j] = static_cast<int8_t>(d[j]);
    }
    ASSERT_EQ(murmur2(d), reference_murmur2(s)) << "length " << n;
  }
}

TEST(Partitioner, KeyedRecordsUseToPositiveMurmur2) {
  EXPECT_EQ(partition_for_key(bytes("21"), 8), 4);
  EXPECT_EQ(partition_for_key(bytes("foobar"), 8), 6);
  EXPECT_EQ(partition_for_key(bytes("foo"), 3), 2);
  EXPECT_EQ(partition_for_key(bytes("k1"), 3), 2);
  EXPECT_EQ(partition_for_key(bytes("k2"), 3), 0);
  EXPECT_EQ(partition_for_key(bytes("anything"), 1), 0);
  EXPECT_EQ(to_positive(-1), 0x7fffffff);
  EXPECT_EQ(to_positive(INT32_MIN), 0);
}

TEST(Partitioner, StickyKeepsAPartitionUntilTheBatchIsDone) {
  StickyPartitioner s(7);
  int32_t p = s.partition(6);
  ASSERT_GE(p, 0);
  ASSERT_LT(p, 6);
  for (int i = 0; i < 10; ++i) EXPECT_EQ(s.partition(6), p);
  std::set<int32_t> seen{p};
  for (int i = 0; i < 100; ++i) {
    int32_t before = s.partition(6);
    s.next_batch(6);
    int32_t after = s.partition(6);
    EXPECT_NE(before, after);
    seen.insert(after);
  }
  EXPECT_EQ(seen.size(), 6u);
  StickyPartitioner one(1);
  EXPECT_EQ(one.partition(1), 0);
  one.next_batch(1);
  EXPECT_EQ(one.partition(1), 0);
}

}  // namespace
}  // namespace flotilla::client
