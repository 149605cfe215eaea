// What the fuzz targets share: a bounded reader of the input and the rule that
// a target catches exactly the exceptions its code under test documents
// (DecodeError, StorageError, ...) — anything else escaping, a crash, or a
// sanitizer report is a finding.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

namespace flotilla::fuzz {

inline std::span<const uint8_t> input(const uint8_t* data, size_t size) { return {data, size}; }

}  // namespace flotilla::fuzz
