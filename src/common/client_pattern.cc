#include "common/client_pattern.h"

#include <re2/re2.h>

namespace flotilla {

std::optional<ClientPattern> ClientPattern::compile(std::string_view pattern, std::string* error) {
  RE2::Options options;
  options.set_log_errors(false);  // the pattern is the client's: no log line per bad one
  options.set_max_mem(kMaxMemoryBytes);
  auto re = std::make_shared<const RE2>(re2::StringPiece(pattern.data(), pattern.size()), options);
  if (!re->ok()) {
    if (error) *error = re->error();
    return std::nullopt;
  }
  return ClientPattern(std::move(re));
}

bool ClientPattern::full_match(std::string_view subject) const {
  return RE2::FullMatch(re2::StringPiece(subject.data(), subject.size()), *re_);
}

const std::string& ClientPattern::pattern() const { return re_->pattern(); }

}  // namespace flotilla
