#include <gtest/gtest.h>

#include "common/utf8.h"

using namespace flotilla;

namespace {
std::string fixed(std::string s) {
  make_valid_utf8(s);
  return s;
}
const std::string R = "\xEF\xBF\xBD";  // U+FFFD
}  // namespace

TEST(Utf8, WellFormedTextIsLeftAlone) {
  for (std::string s : {std::string(""), std::string("max.message.bytes"), std::string("caf\xC3\xA9"),
                        std::string("\xE2\x82\xAC 10"), std::string("\xF0\x9F\x98\x80"), std::string("\xF4\x8F\xBF\xBF")}) {
    EXPECT_TRUE(is_valid_utf8(s)) << s;
    EXPECT_EQ(fixed(s), s);
  }
}

TEST(Utf8, EachMaximalIllFormedSubpartBecomesOneReplacementAsJavaDecodes) {
  // The bytes the mutation fuzzer stored as a broker config name.
  EXPECT_EQ(fixed("max.messag\xFF\xFF\xFF\xFF\x0F" "es"), "max.messag" + R + R + R + R + "\x0F" "es");
  EXPECT_EQ(fixed("a\x80z"), "a" + R + "z");                       // lone continuation
  EXPECT_EQ(fixed("\xC0\xAF"), R + R);                             // overlong lead is never valid
  EXPECT_EQ(fixed("\xE0\x80\x80"), R + R + R);                     // overlong 3-byte
  EXPECT_EQ(fixed("\xED\xA0\x80"), R + R + R);                     // a surrogate
  EXPECT_EQ(fixed("\xF4\x90\x80\x80"), R + R + R + R);             // above U+10FFFF
  EXPECT_EQ(fixed("\xE2\x82" "x"), R + "x");                       // truncated: one replacement
  EXPECT_EQ(fixed("\xF0\x9F\x98"), R);                             // truncated at the end
  EXPECT_EQ(fixed("\xF5"), R);
  for (std::string s : {std::string("\xFF"), std::string("\xE2\x82"), std::string("\xED\xBF\xBF")})
    EXPECT_FALSE(is_valid_utf8(s));
}

TEST(Utf8, EveryOutputIsWellFormed) {
  // Every two-byte input and a sweep of three-byte ones.
  for (int a = 0; a < 256; ++a)
    for (int b = 0; b < 256; ++b) {
      std::string s{char(a), char(b)};
      make_valid_utf8(s);
      ASSERT_TRUE(is_valid_utf8(s)) << a << "," << b;
      for (int c : {0x00, 0x80, 0xBF, 0xC2, 0xFF}) {
        std::string t{char(a), char(b), char(c)};
        make_valid_utf8(t);
        ASSERT_TRUE(is_valid_utf8(t));
      }
    }
}

#include "common/json_depth.h"

TEST(JsonDepth, CountsOnlyBracketsOutsideStrings) {
  EXPECT_TRUE(json_depth_within("{\"a\":[1,[2]]}", 3));
  EXPECT_FALSE(json_depth_within("{\"a\":[1,[2]]}", 2));
  EXPECT_TRUE(json_depth_within("\"[[[[[\\\"[[[\"", 1));  // inside a string, escaped quote included
  EXPECT_TRUE(json_depth_within(std::string(1000, '[') + std::string(1000, ']')));
  EXPECT_FALSE(json_depth_within(std::string(1001, '[')));
  EXPECT_TRUE(json_depth_within("]]]][", 1));  // stray closers do not buy depth
  EXPECT_FALSE(json_depth_within("]]]][[", 1));
}
