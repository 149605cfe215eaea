// Full matches of client-supplied subjects against std::regex, bounded.
//
// libstdc++'s std::regex matches by recursion, about one stack frame chain
// per subject character: a subject of ~16,000 characters overflows an 8 MiB
// stack and kills the process (measured: '(a|b)*' against 16,000 'a's).
// Subjects that reach a regex from the network — transactional ids (up to
// 32 KiB), client ids and software names — are therefore matched only up to
// kMaxRegexSubject characters; a longer subject does not match. This bounds
// stack use, not time: a backtracking pattern ('(a|aa)*b') still takes
// exponential time within the bound: a linear-time engine (RE2, which KIP-848
// names for subscription patterns) is the fix, not yet made.
#pragma once

#include <cstddef>
#include <regex>
#include <string_view>

namespace flotilla {

inline constexpr size_t kMaxRegexSubject = 1024;

inline bool bounded_regex_match(std::string_view subject, const std::regex& re) {
  if (subject.size() > kMaxRegexSubject) return false;
  return std::regex_match(subject.begin(), subject.end(), re);
}

}  // namespace flotilla
