// Regular expressions a client supplies over the network (a KIP-848 topic
// subscription, ListTransactions' transactional-id pattern, a client-metrics
// `match` selector), compiled and matched by RE2.
//
// Why not std::regex: libstdc++ compiles and matches by recursion, one frame
// chain per pattern term and per subject character, so a pattern of 100,000
// plain characters (or as many nested groups) overflows the stack and kills
// the process while compiling, and a backtracking pattern such as '(a|aa)*b'
// takes exponential time on a topic name. RE2 parses with an explicit stack
// (refusing nesting deeper than 1,000), builds its automata within a memory
// budget, and matches in time linear in the subject: whatever a client sends
// costs bounded memory and time. Kafka itself uses RE2/J for KIP-848
// subscriptions; its other patterns are java.util.regex, whose syntax RE2
// shares except backreferences and lookaround (those are refused here).
//
// Thread-safe: a compiled pattern may be matched from any number of threads.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace re2 {
class RE2;
}

namespace flotilla {

class ClientPattern {
 public:
  // RE2's budget for one pattern's automata; a pattern needing more does not compile.
  static constexpr int64_t kMaxMemoryBytes = 2 << 20;

  // nullopt with `error` (RE2's reason) when the pattern does not compile.
  static std::optional<ClientPattern> compile(std::string_view pattern, std::string* error = nullptr);

  // Java's Pattern.matches: the whole subject.
  bool full_match(std::string_view subject) const;
  const std::string& pattern() const;

 private:
  explicit ClientPattern(std::shared_ptr<const re2::RE2> re) : re_(std::move(re)) {}
  std::shared_ptr<const re2::RE2> re_;
};

}  // namespace flotilla
