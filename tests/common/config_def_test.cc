// Kafka's ConfigDef value rules: types, ranges, allowed strings, messages.
#include <gtest/gtest.h>

#include "common/config_def.h"

using namespace flotilla::config;

TEST(ConfigDef, TypesAndRanges) {
  ConfigKey i{"segment.bytes", ConfigType::INT, "1073741824", 14, {}, {}};
  EXPECT_EQ(validate_value(i, "14"), "");
  EXPECT_EQ(validate_value(i, " 20 "), "");
  EXPECT_EQ(validate_value(i, "+20"), "");
  EXPECT_EQ(validate_value(i, "13"), "Invalid value 13 for configuration segment.bytes: Value must be at least 14");
  EXPECT_EQ(validate_value(i, "1e3"), "Invalid value 1e3 for configuration segment.bytes: Not a number of type INT");
  EXPECT_EQ(validate_value(i, "2147483648"), "Invalid value 2147483648 for configuration segment.bytes: Not a number of type INT");
  ConfigKey l{"retention.ms", ConfigType::LONG, {}, -1, {}, {}};
  EXPECT_EQ(validate_value(l, "9223372036854775807"), "");
  EXPECT_EQ(validate_value(l, ""), "Invalid value  for configuration retention.ms: Not a number of type LONG");
  ConfigKey d{"ratio", ConfigType::DOUBLE, "0.5", 0, 1, {}};
  EXPECT_EQ(validate_value(d, "0.25"), "");
  EXPECT_EQ(validate_value(d, "2"), "Invalid value 2.0 for configuration ratio: Value must be no more than 1");
  EXPECT_EQ(validate_value(d, "x"), "Invalid value x for configuration ratio: Not a number of type DOUBLE");
  ConfigKey b{"flag", ConfigType::BOOLEAN, "false", {}, {}, {}};
  EXPECT_EQ(validate_value(b, "True"), "");
  EXPECT_EQ(validate_value(b, "1"), "Invalid value 1 for configuration flag: Expected value to be either true or false");
  ConfigKey s{"mode", ConfigType::STRING, "a", {}, {}, {"a", "b"}};
  EXPECT_EQ(validate_value(s, "b"), "");
  EXPECT_EQ(validate_value(s, "c"), "Invalid value c for configuration mode: String must be one of: a, b");
  ConfigKey list{"policy", ConfigType::LIST, "delete", {}, {}, {"compact", "delete"}};
  EXPECT_EQ(validate_value(list, "compact , delete"), "");
  EXPECT_EQ(validate_value(list, "compact,x"), "Invalid value x for configuration policy: String must be one of: compact, delete");
  EXPECT_EQ(split_list(" a , b,c "), (std::vector<std::string>{"a", "b", "c"}));
  EXPECT_TRUE(split_list("  ").empty());
  EXPECT_EQ(java_double(2), "2.0");
  EXPECT_EQ(java_double(0.5), "0.5");
}
