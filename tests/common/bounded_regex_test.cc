// common/bounded_regex.h: long client-supplied subjects never reach std::regex's recursion.
#include "common/bounded_regex.h"

#include <gtest/gtest.h>

#include <string>

namespace flotilla {
namespace {

TEST(BoundedRegex, FullMatchesUpToTheBound) {
  std::regex re("tx-a.");
  EXPECT_TRUE(bounded_regex_match("tx-a1", re));
  EXPECT_FALSE(bounded_regex_match("tx-a12", re));  // a full match, as Java's Pattern.matches
  EXPECT_TRUE(bounded_regex_match(std::string(kMaxRegexSubject, 'a'), std::regex("(a|b)*")));
}

TEST(BoundedRegex, ALongSubjectDoesNotMatchAndDoesNotOverflowTheStack) {
  // 32 KiB (a transactional id's limit): std::regex_match on this overflows an 8 MiB stack.
  std::string id(32767, 'a');
  EXPECT_FALSE(bounded_regex_match(id, std::regex("(a|b)*")));
  EXPECT_FALSE(bounded_regex_match(id, std::regex(".*")));
}

}  // namespace
}  // namespace flotilla
