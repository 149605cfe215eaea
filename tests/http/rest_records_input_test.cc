// The REST produce route's input: concatenated JSON records, kafka-rest's
// data formats and errors, and Java Instant timestamps.
#include "http/rest_records_input.h"

#include <gtest/gtest.h>

#include <limits>

namespace flotilla::http::rest {
namespace {

std::vector<uint8_t> bytes(std::string_view s) { return {s.begin(), s.end()}; }

TEST(RestRecordsInput, SplitsConcatenatedValues) {
  auto v = split_records(" {\"a\":1}{\"b\":[2]}\n\n {\"c\":\"}\"} ");
  ASSERT_EQ(v.size(), 3u);
  EXPECT_EQ(*v[0].value, json({{"a", 1}}));
  EXPECT_EQ(*v[1].value, json({{"b", {2}}}));
  EXPECT_EQ(*v[2].value, json({{"c", "}"}}));
  EXPECT_TRUE(split_records("  \n ").empty());
}

TEST(RestRecordsInput, AValueThatDoesNotParseEndsTheList) {
  auto v = split_records("{\"a\":1} {\"b\": } {\"c\":3}");
  ASSERT_EQ(v.size(), 2u);
  EXPECT_TRUE(v[0].value);
  EXPECT_FALSE(v[1].value);
  EXPECT_NE(v[1].error.find("Error processing JSON"), std::string::npos);
}

// Found writing the http fuzz target (its input crashed it): json's
// out_of_range (a number too large for a double) escaped split_records, so the
// route refused the whole stream.
TEST(RestRecordsInput, ANumberTooLargeEndsTheListLikeAnyBadValue) {
  auto v = split_records("{\"a\":1} {\"value\": {\"type\": \"JSON\", \"data\": 1e999}} {\"c\":3}");
  ASSERT_EQ(v.size(), 2u);
  EXPECT_TRUE(v[0].value);
  EXPECT_FALSE(v[1].value);
  EXPECT_NE(v[1].error.find("number overflow"), std::string::npos);
}

// A value nested 100,000 deep parses (iteratively) but its dump() recursed
// per level and killed the HTTP thread's stack: refused before parsing.
TEST(RestRecordsInput, AValueNestedDeeperThanJacksonsLimitEndsTheList) {
  const std::string deep = "{\"value\":{\"type\":\"JSON\",\"data\":" + std::string(100000, '[') + std::string(100000, ']') + "}}";
  auto values = split_records(deep);
  ASSERT_EQ(values.size(), 1u);
  EXPECT_FALSE(values[0].value);
  EXPECT_NE(values[0].error.find("nested deeper than 1000"), std::string::npos) << values[0].error;
  const std::string ok = "{\"value\":{\"type\":\"JSON\",\"data\":" + std::string(997, '[') + std::string(997, ']') + "}}";
  values = split_records(ok);  // 997 + the two objects around it = 999 levels
  ASSERT_EQ(values.size(), 1u);
  ASSERT_TRUE(values[0].value) << values[0].error;
  EXPECT_EQ(parse_record(*values[0].value).value->bytes->size(), 1994u);
}

TEST(RestRecordsInput, ParsesFormatsHeadersAndPartition) {
  auto in = parse_record(json::parse(R"({"partition_id": 2,
      "headers": [{"name": "h", "value": "AAE="}, {"name": "n", "value": null}],
      "key": {"type": "BINARY", "data": "Zm9vYmFy"},
      "value": {"type": "JSON", "data": {"foo": "bar", "n": [1, 2.5]}},
      "timestamp": "2021-02-05T19:14:42Z"})"));
  EXPECT_EQ(in.partition_id, 2);
  ASSERT_EQ(in.headers.size(), 2u);
  EXPECT_EQ(in.headers[0].key, "h");
  EXPECT_EQ(in.headers[0].value, (std::vector<uint8_t>{0, 1}));
  EXPECT_FALSE(in.headers[1].value);
  EXPECT_EQ(in.key->type, "BINARY");
  EXPECT_EQ(in.key->bytes, bytes("foobar"));
  EXPECT_EQ(in.value->bytes, bytes(R"({"foo":"bar","n":[1,2.5]})"));
  EXPECT_EQ(in.timestamp_ms, 1612552482000);

  auto s = parse_record(json::parse(R"({"value": {"type": "STRING", "data": "héllo"}, "key": {"type": "JSON"}})"));
  EXPECT_EQ(s.value->bytes, bytes("héllo"));
  ASSERT_TRUE(s.key);
  EXPECT_FALSE(s.key->bytes);  // null data: a null key of a known type
  EXPECT_FALSE(parse_record(json::object()).value);
}

int status_of(const std::string& body) {
  try {
    parse_record(json::parse(body));
  } catch (const RestError& e) {
    return e.status * 100000 + e.error_code;
  }
  return 0;
}

TEST(RestRecordsInput, BadInputAsKafkaRestAnswersIt) {
  EXPECT_EQ(status_of(R"({"value": {"type": "BINARY", "data": "abc"}})"), 400 * 100000 + 400);  // not base64
  EXPECT_EQ(status_of(R"({"value": {"type": "BINARY", "data": 1}})"), 400 * 100000 + 400);
  EXPECT_EQ(status_of(R"({"value": {"type": "STRING", "data": {}}})"), 400 * 100000 + 400);
  EXPECT_EQ(status_of(R"({"value": {"type": "AVRO", "data": "x"}})"), 400 * 100000 + 400);  // needs a registry
  EXPECT_EQ(status_of(R"({"value": {"data": "x"}})"), 400 * 100000 + 400);
  EXPECT_EQ(status_of(R"({"value": "x"})"), 400 * 100000 + 400);
  EXPECT_EQ(status_of(R"({"headers": [{"value": "AA=="}]})"), 400 * 100000 + 400);  // no name
  EXPECT_EQ(status_of(R"({"headers": [{"name": "h", "value": "A"}]})"), 400 * 100000 + 400);
  EXPECT_EQ(status_of(R"({"timestamp": "2021-02-30T00:00:00Z"})"), 400 * 100000 + 400);
  EXPECT_EQ(status_of(R"({"partition_id": -1})"), 404 * 100000 + 40403);
  // Negative timestamps (found writing the http fuzz target: two records of one
  // batch at INT64_MIN and INT64_MAX overflowed the batch's timestamp delta).
  EXPECT_EQ(status_of(R"({"timestamp": -9223372036854775808})"), 400 * 100000 + 400);
  EXPECT_EQ(status_of(R"({"timestamp": "1969-12-31T23:59:59.999Z"})"), 400 * 100000 + 400);
  EXPECT_EQ(status_of(R"({"timestamp": 9223372036854775807})"), 0);
  EXPECT_EQ(status_of(R"([1])"), 400 * 100000 + 400);
  EXPECT_EQ(status_of(R"({"partition_id": 0})"), 0);
}

TEST(RestRecordsInput, Iso8601AsJavaInstant) {
  EXPECT_EQ(iso8601_ms("1970-01-01T00:00:00Z"), 0);
  EXPECT_EQ(iso8601_ms("2021-02-05T19:14:42.123Z"), 1612552482123);
  EXPECT_EQ(iso8601_ms("2021-02-05T19:14:42.1234567Z"), 1612552482123);
  EXPECT_EQ(iso8601_ms("2021-02-05T20:14:42+01:00"), 1612552482000);
  EXPECT_EQ(iso8601_ms("1969-12-31T23:59:59.999Z"), -1);
  EXPECT_FALSE(iso8601_ms("2021-02-05 19:14:42Z"));
  EXPECT_FALSE(iso8601_ms("2021-02-05T19:14:42"));
  EXPECT_FALSE(iso8601_ms("2021-02-05T24:00:00Z"));
  EXPECT_EQ(format_iso8601(1612552482000), "2021-02-05T19:14:42Z");
  EXPECT_EQ(format_iso8601(1612552482120), "2021-02-05T19:14:42.120Z");
  EXPECT_EQ(format_iso8601(-1), "1969-12-31T23:59:59.999Z");
  for (int64_t ms : {int64_t{0}, int64_t{951782400000}, int64_t{4102444799999}})
    EXPECT_EQ(iso8601_ms(format_iso8601(ms)), ms);
  // A record's CreateTime may be any int64: Java's Instant.ofEpochMilli(...).toString()
  // (the http fuzzer found std::chrono overflowing at INT64_MIN).
  EXPECT_EQ(format_iso8601(std::numeric_limits<int64_t>::min()), "-292275055-05-16T16:47:04.192Z");
  EXPECT_EQ(format_iso8601(std::numeric_limits<int64_t>::max()), "+292278994-08-17T07:12:55.807Z");
  EXPECT_EQ(format_iso8601(253402300800000), "+10000-01-01T00:00:00Z");
  EXPECT_EQ(format_iso8601(-62167219200001), "-0001-12-31T23:59:59.999Z");
  EXPECT_EQ(format_iso8601(-62135596800000), "0001-01-01T00:00:00Z");
}

}  // namespace
}  // namespace flotilla::http::rest
