// Helpers the generated codecs call: Kafka's string, bytes, array and records
// encodings in their classic (int16/int32 length) and compact (unsigned varint
// length + 1) forms. Kept out of line-heavy templates so the generated
// translation units stay small and quick to compile.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "common/bytes.h"
#include "common/uuid.h"

namespace flotilla::wire {

void put_string(ByteWriter& w, const std::string& s, bool flex);
void put_nstring(ByteWriter& w, const std::optional<std::string>& s, bool flex);
std::string get_string(ByteReader& r, bool flex);  // null → DecodeError
std::optional<std::string> get_nstring(ByteReader& r, bool flex);

void put_bytes(ByteWriter& w, const std::vector<uint8_t>& b, bool flex);
void put_nbytes(ByteWriter& w, const std::optional<std::vector<uint8_t>>& b, bool flex);
std::vector<uint8_t> get_bytes(ByteReader& r, bool flex);
std::optional<std::vector<uint8_t>> get_nbytes(ByteReader& r, bool flex);

// Records: length (records size) then the payload; on decode a zero-copy view.
void put_records(ByteWriter& w, const Records& rec, bool flex);
Records get_records(ByteReader& r, bool flex);

void put_array_len(ByteWriter& w, size_t n, bool flex);
void put_null_array(ByteWriter& w, bool flex);
int32_t get_array_len(ByteReader& r, bool flex);  // -1 for null

inline void put_uuid(ByteWriter& w, const Uuid& u) {
  w.put_i64(static_cast<int64_t>(u.hi));
  w.put_i64(static_cast<int64_t>(u.lo));
}
inline Uuid get_uuid(ByteReader& r) {
  Uuid u;
  u.hi = static_cast<uint64_t>(r.get_i64());
  u.lo = static_cast<uint64_t>(r.get_i64());
  return u;
}

// Reserves room for n decoded elements, but never more than the bytes left
// could hold (a hostile count must not allocate gigabytes).
template <class V>
void reserve_for(V& v, int32_t n, const ByteReader& r) {
  if (n > 0) v.reserve(std::min<size_t>(static_cast<size_t>(n), r.remaining()));
}

std::string base64(const std::vector<uint8_t>& b);

}  // namespace flotilla::wire
