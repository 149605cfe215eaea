// common/client_pattern.h: whatever pattern and subject a client sends, the
// node answers in bounded time and stack.
#include "common/client_pattern.h"

#include <gtest/gtest.h>

#include <string>

namespace flotilla {
namespace {

TEST(ClientPattern, FullMatchesAsJavasPatternMatches) {
  auto re = ClientPattern::compile("tx-a.");
  ASSERT_TRUE(re);
  EXPECT_TRUE(re->full_match("tx-a1"));
  EXPECT_FALSE(re->full_match("tx-a12"));
  EXPECT_FALSE(re->full_match("xtx-a1"));
  EXPECT_EQ(re->pattern(), "tx-a.");
  auto topics = ClientPattern::compile("orders-(eu|us)\\d+");
  ASSERT_TRUE(topics);
  EXPECT_TRUE(topics->full_match("orders-eu12"));
  EXPECT_FALSE(topics->full_match("orders-asia1"));
}

TEST(ClientPattern, AnInvalidPatternSaysWhy) {
  std::string why;
  EXPECT_FALSE(ClientPattern::compile("(unclosed", &why));
  EXPECT_NE(why.find("missing )"), std::string::npos) << why;
  EXPECT_FALSE(ClientPattern::compile("(a)\\1"));     // backreferences: not linear-time
  EXPECT_FALSE(ClientPattern::compile("a(?=b)"));    // lookahead: neither
}

// Each of these killed the process with std::regex (a stack overflow while
// compiling or matching) or kept a thread for an exponential time.
TEST(ClientPattern, HostilePatternsAndSubjectsCostBoundedStackAndTime) {
  const std::string long_literal(100000, 'a');
  auto lit = ClientPattern::compile(long_literal);
  if (lit) EXPECT_TRUE(lit->full_match(long_literal));  // or refused for its size: either way, no crash
  const std::string nested = std::string(100000, '(') + "a" + std::string(100000, ')');
  EXPECT_FALSE(ClientPattern::compile(nested));  // deeper than RE2's nesting limit
  auto any = ClientPattern::compile("(a|b)*");
  ASSERT_TRUE(any);
  EXPECT_TRUE(any->full_match(std::string(1 << 20, 'a')));  // 1 MiB subject: linear, no recursion
  auto backtracking = ClientPattern::compile("(a|aa)*b");
  ASSERT_TRUE(backtracking);
  EXPECT_FALSE(backtracking->full_match(std::string(249, 'a')));  // exponential for a backtracking engine
}

}  // namespace
}  // namespace flotilla
