#include "common/utf8.h"

#include <cstdint>

namespace flotilla {
namespace {

// The length of the well-formed sequence at s[i], or 0 with `taken` set to the
// length of its maximal ill-formed prefix (at least 1).
size_t sequence_at(std::string_view s, size_t i, size_t& taken) {
  auto b = [&](size_t k) { return static_cast<uint8_t>(s[k]); };
  uint8_t lead = b(i);
  if (lead < 0x80) return 1;
  size_t need;
  uint8_t lo = 0x80, hi = 0xBF;  // the range of the second byte; the rest are 80..BF
  if (lead >= 0xC2 && lead <= 0xDF) {
    need = 2;
  } else if (lead >= 0xE0 && lead <= 0xEF) {
    need = 3;
    if (lead == 0xE0) lo = 0xA0;  // overlong
    if (lead == 0xED) hi = 0x9F;  // surrogates
  } else if (lead >= 0xF0 && lead <= 0xF4) {
    need = 4;
    if (lead == 0xF0) lo = 0x90;  // overlong
    if (lead == 0xF4) hi = 0x8F;  // above U+10FFFF
  } else {
    taken = 1;
    return 0;
  }
  size_t k = 1;
  for (; k < need && i + k < s.size(); ++k) {
    uint8_t c = b(i + k);
    uint8_t l = k == 1 ? lo : 0x80, h = k == 1 ? hi : 0xBF;
    if (c < l || c > h) break;
  }
  if (k == need) return need;
  taken = k;
  return 0;
}

}  // namespace

bool is_valid_utf8(std::string_view s) {
  size_t i = 0;
  while (i < s.size()) {
    if (static_cast<uint8_t>(s[i]) < 0x80) {
      ++i;
      continue;
    }
    size_t taken = 0;
    size_t n = sequence_at(s, i, taken);
    if (n == 0) return false;
    i += n;
  }
  return true;
}

void make_valid_utf8(std::string& s) {
  if (is_valid_utf8(s)) return;
  static constexpr std::string_view kReplacement = "\xEF\xBF\xBD";
  std::string out;
  out.reserve(s.size() + 8);
  size_t i = 0;
  while (i < s.size()) {
    size_t taken = 0;
    size_t n = sequence_at(s, i, taken);
    if (n > 0) {
      out.append(s, i, n);
      i += n;
    } else {
      out.append(kReplacement);
      i += taken;
    }
  }
  s = std::move(out);
}

}  // namespace flotilla
