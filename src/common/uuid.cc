#include "common/uuid.h"

#include <random>

namespace flotilla {
namespace {
constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

int decode_char(char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '-') return 62;
  if (c == '_') return 63;
  return -1;
}
}  // namespace

Uuid Uuid::random() {
  std::random_device rd;
  for (;;) {
    Uuid u;
    u.hi = (uint64_t(rd()) << 32) | rd();
    u.lo = (uint64_t(rd()) << 32) | rd();
    u.hi = (u.hi & ~0xF000ULL) | 0x4000ULL;            // version 4
    u.lo = (u.lo & ~(0xC0ULL << 56)) | (0x80ULL << 56);  // IETF variant
    if (u.is_zero()) continue;
    if (u.to_string()[0] == '-') continue;
    return u;
  }
}

std::string Uuid::to_string() const {
  uint8_t b[16];
  for (int i = 0; i < 8; ++i) {
    b[i] = uint8_t(hi >> (56 - 8 * i));
    b[8 + i] = uint8_t(lo >> (56 - 8 * i));
  }
  std::string out;
  out.reserve(22);
  int i = 0;
  for (; i + 3 <= 16; i += 3) {
    uint32_t v = (uint32_t(b[i]) << 16) | (uint32_t(b[i + 1]) << 8) | b[i + 2];
    out += kAlphabet[(v >> 18) & 63];
    out += kAlphabet[(v >> 12) & 63];
    out += kAlphabet[(v >> 6) & 63];
    out += kAlphabet[v & 63];
  }
  uint32_t v = uint32_t(b[15]) << 16;  // one byte left: two characters
  out += kAlphabet[(v >> 18) & 63];
  out += kAlphabet[(v >> 12) & 63];
  return out;
}

std::optional<Uuid> Uuid::parse(std::string_view s) {
  if (s.size() != 22) return std::nullopt;
  uint8_t b[16];
  int o = 0;
  for (size_t i = 0; i < 20; i += 4) {
    int c[4];
    for (int k = 0; k < 4; ++k)
      if ((c[k] = decode_char(s[i + k])) < 0) return std::nullopt;
    uint32_t v = (uint32_t(c[0]) << 18) | (uint32_t(c[1]) << 12) | (uint32_t(c[2]) << 6) | uint32_t(c[3]);
    b[o++] = uint8_t(v >> 16);
    b[o++] = uint8_t(v >> 8);
    b[o++] = uint8_t(v);
  }
  int c0 = decode_char(s[20]), c1 = decode_char(s[21]);
  if (c0 < 0 || c1 < 0 || (c1 & 15) != 0) return std::nullopt;
  b[15] = uint8_t((c0 << 2) | (c1 >> 4));
  Uuid u;
  for (int i = 0; i < 8; ++i) {
    u.hi = (u.hi << 8) | b[i];
    u.lo = (u.lo << 8) | b[8 + i];
  }
  return u;
}

}  // namespace flotilla
