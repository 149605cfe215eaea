// The console producer's line reader and the console consumer's formatter
// (Kafka's LineMessageReader and DefaultMessageFormatter).
#include <gtest/gtest.h>

#include "tools/console.h"

namespace flotilla::tools {
namespace {

std::vector<uint8_t> b(const std::string& s) { return std::vector<uint8_t>(s.begin(), s.end()); }

records::Record rec(std::optional<std::string> key, std::optional<std::string> value, int64_t offset = 5, int64_t ts = 1700000000123) {
  records::Record r;
  r.offset = offset;
  r.timestamp = ts;
  if (key) r.key = b(*key);
  if (value) r.value = b(*value);
  return r;
}

std::string fmt(const std::map<std::string, std::string>& props, const records::Record& r, int32_t partition = 2, bool lat = false) {
  std::string out;
  format_record(out, formatter_options(props), partition, r, lat);
  return out;
}

TEST(Formatter, ValueOnlyByDefault) {
  EXPECT_EQ(fmt({}, rec("k", "hello")), "hello\n");
  EXPECT_EQ(fmt({}, rec("k", std::nullopt)), "null\n");
}

TEST(Formatter, KeyAndValue) {
  EXPECT_EQ(fmt({{"print.key", "true"}}, rec("k1", "v1")), "k1\tv1\n");
  EXPECT_EQ(fmt({{"print.key", "true"}}, rec(std::nullopt, "v1")), "null\tv1\n");
  EXPECT_EQ(fmt({{"print.key", "true"}, {"key.separator", ":"}}, rec("k1", "v1")), "k1:v1\n");
  EXPECT_EQ(fmt({{"print.key", " TRUE "}}, rec("k1", "v1")), "k1\tv1\n");
  EXPECT_EQ(fmt({{"print.key", "yes"}}, rec("k1", "v1")), "v1\n");
}

TEST(Formatter, EveryColumnInKafkasOrder) {
  std::map<std::string, std::string> p = {{"print.timestamp", "true"}, {"print.partition", "true"}, {"print.offset", "true"},
                                          {"print.key", "true"}, {"print.value", "true"}};
  EXPECT_EQ(fmt(p, rec("k", "v", 42, 1000)), "CreateTime:1000\tPartition:2\tOffset:42\tk\tv\n");
  EXPECT_EQ(fmt(p, rec("k", "v", 42, 1000), 0, true), "LogAppendTime:1000\tPartition:0\tOffset:42\tk\tv\n");
}

TEST(Formatter, TrailingColumnEndsTheLine) {
  // Without the value, the last printed column is followed by the line separator.
  EXPECT_EQ(fmt({{"print.value", "false"}, {"print.key", "true"}}, rec("k", "v")), "k\n");
  EXPECT_EQ(fmt({{"print.value", "false"}, {"print.offset", "true"}}, rec("k", "v", 9)), "Offset:9\n");
  EXPECT_EQ(fmt({{"print.value", "false"}, {"print.timestamp", "true"}}, rec("k", "v", 9, 77)), "CreateTime:77\n");
}

TEST(Formatter, HeadersNullLiteralAndLineSeparator) {
  auto r = rec("k", "v");
  r.headers.push_back(records::Header{"h1", b("x")});
  r.headers.push_back(records::Header{"h2", std::nullopt});
  EXPECT_EQ(fmt({{"print.headers", "true"}}, r), "h1:x,h2:null\tv\n");
  EXPECT_EQ(fmt({{"print.headers", "true"}}, rec("k", "v")), "NO_HEADERS\tv\n");
  EXPECT_EQ(fmt({{"print.headers", "true"}, {"headers.separator", ";"}}, r), "h1:x;h2:null\tv\n");
  EXPECT_EQ(fmt({{"null.literal", "<nil>"}}, rec("k", std::nullopt)), "<nil>\n");
  EXPECT_EQ(fmt({{"line.separator", "|"}}, rec("k", "a")), "a|");
  EXPECT_EQ(fmt({{"print.key", "true"}, {"key.separator", "\\t-"}}, rec("k", "v")), "k\t-v\n");
}

TEST(LineReader, ValueOnly) {
  auto r = parse_line("This is my first event", line_reader_options({}), 1);
  EXPECT_FALSE(r.key);
  EXPECT_EQ(r.value, "This is my first event");
  EXPECT_TRUE(r.headers.empty());
  EXPECT_EQ(parse_line("", line_reader_options({}), 1).value, "");
}

TEST(LineReader, KeysWithDefaultAndCustomSeparators) {
  auto o = line_reader_options({{"parse.key", "true"}});
  auto r = parse_line("k1\tv1\tmore", o, 1);
  EXPECT_EQ(r.key, "k1");
  EXPECT_EQ(r.value, "v1\tmore");
  auto o2 = line_reader_options({{"parse.key", "true"}, {"key.separator", ":"}});
  r = parse_line("k2:v2:x", o2, 1);
  EXPECT_EQ(r.key, "k2");
  EXPECT_EQ(r.value, "v2:x");
  r = parse_line(":v", o2, 1);
  EXPECT_EQ(r.key, "");
  EXPECT_EQ(r.value, "v");
  auto o3 = line_reader_options({{"parse.key", "true"}, {"key.separator", "::"}});
  r = parse_line("a::b", o3, 1);
  EXPECT_EQ(r.key, "a");
  EXPECT_EQ(r.value, "b");
}

TEST(LineReader, MissingSeparatorIsAnErrorUnlessIgnored) {
  auto o = line_reader_options({{"parse.key", "true"}, {"key.separator", ":"}});
  try {
    parse_line("no separator", o, 3);
    FAIL();
  } catch (const LineFormatError& e) {
    EXPECT_STREQ(e.what(), "No key separator found on line number 3: 'no separator'");
  }
  auto ig = line_reader_options({{"parse.key", "true"}, {"key.separator", ":"}, {"ignore.error", "true"}});
  auto r = parse_line("no separator", ig, 3);
  EXPECT_FALSE(r.key);
  EXPECT_EQ(r.value, "no separator");
}

TEST(LineReader, NullMarker) {
  auto o = line_reader_options({{"parse.key", "true"}, {"key.separator", ":"}, {"null.marker", "NULL"}});
  auto r = parse_line("NULL:v", o, 1);
  EXPECT_FALSE(r.key);
  EXPECT_EQ(r.value, "v");
  r = parse_line("k:NULL", o, 1);
  EXPECT_EQ(r.key, "k");
  EXPECT_FALSE(r.value);
}

TEST(LineReader, Headers) {
  auto o = line_reader_options({{"parse.headers", "true"}, {"parse.key", "true"}, {"key.separator", "|"}});
  auto r = parse_line("h1:v1,h2:v2\tkey|value", o, 1);
  ASSERT_EQ(r.headers.size(), 2u);
  EXPECT_EQ(r.headers[0].key, "h1");
  EXPECT_EQ(r.headers[0].value, b("v1"));
  EXPECT_EQ(r.headers[1].key, "h2");
  EXPECT_EQ(r.key, "key");
  EXPECT_EQ(r.value, "value");
  EXPECT_THROW(parse_line("h1v1\tkey|value", o, 1), LineFormatError);
  EXPECT_THROW(line_reader_options({{"parse.headers", "true"}, {"headers.separator", "\\t"}}), std::invalid_argument);
}

TEST(Properties, KeyValueArguments) {
  auto m = parse_key_values({"parse.key=true", "key.separator==", "a=b=c", "empty="});
  EXPECT_EQ(m["parse.key"], "true");
  EXPECT_EQ(m["key.separator"], "=");
  EXPECT_EQ(m["a"], "b=c");
  EXPECT_EQ(m["empty"], "");
  EXPECT_THROW(parse_key_values({"novalue"}), std::invalid_argument);
  EXPECT_THROW(parse_key_values({"=x"}), std::invalid_argument);
}

TEST(Properties, CompressionAndAcks) {
  EXPECT_EQ(parse_compression("none"), records::Compression::NONE);
  EXPECT_EQ(parse_compression("GZIP"), records::Compression::GZIP);
  EXPECT_EQ(parse_compression("snappy"), records::Compression::SNAPPY);
  EXPECT_EQ(parse_compression("lz4"), records::Compression::LZ4);
  EXPECT_EQ(parse_compression("zstd"), records::Compression::ZSTD);
  EXPECT_FALSE(parse_compression("brotli"));
  EXPECT_EQ(parse_acks("all"), -1);
  EXPECT_EQ(parse_acks("-1"), -1);
  EXPECT_EQ(parse_acks("0"), 0);
  EXPECT_EQ(parse_acks("1"), 1);
  EXPECT_THROW(parse_acks("2"), std::invalid_argument);
}

}  // namespace
}  // namespace flotilla::tools
