// The config tests' lookup of one key in a described or effective config list.
#pragma once

#include <string>
#include <vector>

namespace flotilla::broker::testing {

// The entry named `name` in `v` (anything with a `name`), or nullptr.
template <class Named>
const Named* find(const std::vector<Named>& v, const std::string& name) {
  for (const auto& e : v)
    if (e.name == name) return &e;
  return nullptr;
}

}  // namespace flotilla::broker::testing
