#include "protocol/wire.h"

#include "common/utf8.h"

namespace flotilla::wire {
namespace {
// Reads a length: compact (uvarint of len+1, 0 = null) or classic signed.
int64_t get_len(ByteReader& r, bool flex, bool int32_len) {
  if (flex) return static_cast<int64_t>(r.get_uvarint32()) - 1;
  return int32_len ? r.get_i32() : r.get_i16();
}
void put_len(ByteWriter& w, int64_t n, bool flex, bool int32_len) {
  if (flex) w.put_uvarint(static_cast<uint64_t>(n + 1));
  else if (int32_len) w.put_i32(static_cast<int32_t>(n));
  else w.put_i16(static_cast<int16_t>(n));
}
}  // namespace

void put_string(ByteWriter& w, const std::string& s, bool flex) {
  put_len(w, static_cast<int64_t>(s.size()), flex, false);
  w.put_str(s);
}
void put_nstring(ByteWriter& w, const std::optional<std::string>& s, bool flex) {
  if (!s) return put_len(w, -1, flex, false);
  put_string(w, *s, flex);
}
std::string get_string(ByteReader& r, bool flex) {
  int64_t n = get_len(r, flex, false);
  if (n < 0) throw DecodeError("null string in a non-nullable field");
  std::string s = r.get_string(static_cast<size_t>(n));
  make_valid_utf8(s);
  return s;
}
std::optional<std::string> get_nstring(ByteReader& r, bool flex) {
  int64_t n = get_len(r, flex, false);
  if (n < 0) return std::nullopt;
  std::string s = r.get_string(static_cast<size_t>(n));
  make_valid_utf8(s);
  return s;
}

void put_bytes(ByteWriter& w, const std::vector<uint8_t>& b, bool flex) {
  put_len(w, static_cast<int64_t>(b.size()), flex, true);
  w.put_bytes(b.data(), b.size());
}
void put_nbytes(ByteWriter& w, const std::optional<std::vector<uint8_t>>& b, bool flex) {
  if (!b) return put_len(w, -1, flex, true);
  put_bytes(w, *b, flex);
}
std::vector<uint8_t> get_bytes(ByteReader& r, bool flex) {
  int64_t n = get_len(r, flex, true);
  if (n < 0) throw DecodeError("null bytes in a non-nullable field");
  auto s = r.get_span(static_cast<size_t>(n));
  return std::vector<uint8_t>(s.begin(), s.end());
}
std::optional<std::vector<uint8_t>> get_nbytes(ByteReader& r, bool flex) {
  int64_t n = get_len(r, flex, true);
  if (n < 0) return std::nullopt;
  auto s = r.get_span(static_cast<size_t>(n));
  return std::vector<uint8_t>(s.begin(), s.end());
}

void put_records(ByteWriter& w, const Records& rec, bool flex) {
  if (rec.is_null) return put_len(w, -1, flex, true);
  put_len(w, rec.size(), flex, true);
  w.put_records_payload(rec);
}
Records get_records(ByteReader& r, bool flex) {
  int64_t n = get_len(r, flex, true);
  if (n < 0) return Records::null();
  return Records::of_view(r.get_span(static_cast<size_t>(n)));
}

void put_array_len(ByteWriter& w, size_t n, bool flex) { put_len(w, static_cast<int64_t>(n), flex, true); }
void put_null_array(ByteWriter& w, bool flex) { put_len(w, -1, flex, true); }
int32_t get_array_len(ByteReader& r, bool flex) {
  int64_t n = get_len(r, flex, true);
  if (n < -1) throw DecodeError("negative array length");
  // Every element takes at least one byte: a count beyond the bytes left is corrupt.
  if (n > static_cast<int64_t>(r.remaining())) throw DecodeError("array length exceeds the request");
  return static_cast<int32_t>(n);
}

std::string base64(const std::vector<uint8_t>& b) {
  static const char* a = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  size_t i = 0;
  for (; i + 3 <= b.size(); i += 3) {
    uint32_t v = (uint32_t(b[i]) << 16) | (uint32_t(b[i + 1]) << 8) | b[i + 2];
    out += a[v >> 18];
    out += a[(v >> 12) & 63];
    out += a[(v >> 6) & 63];
    out += a[v & 63];
  }
  if (i + 1 == b.size()) {
    uint32_t v = uint32_t(b[i]) << 16;
    out += a[v >> 18];
    out += a[(v >> 12) & 63];
    out += "==";
  } else if (i + 2 == b.size()) {
    uint32_t v = (uint32_t(b[i]) << 16) | (uint32_t(b[i + 1]) << 8);
    out += a[v >> 18];
    out += a[(v >> 12) & 63];
    out += a[(v >> 6) & 63];
    out += '=';
  }
  return out;
}

}  // namespace flotilla::wire
