// A reader of the protocol-buffers wire format (no protobuf library): the
// fields of one message in order, each with its number, wire type and value
// (a varint, a fixed32/fixed64, or the bytes of a length-delimited field,
// which may be a nested message, a string or a packed array).
//
// Invariants: never reads outside the span it was given; every malformed
// input (truncated varint or field, a varint over 10 bytes, a length beyond
// the end, wire types 3/4 (groups), 6, 7, field number 0) throws DecodeError.
// The spans it hands out point into the caller's buffer.
//
// Threading: none (a value type over caller-owned bytes).
#pragma once

#include <cstdint>
#include <cstring>
#include <span>
#include <string>

#include "common/bytes.h"

namespace flotilla::protobuf {

enum class WireType : uint8_t { VARINT = 0, FIXED64 = 1, LEN = 2, FIXED32 = 5 };

struct Field {
  uint32_t number = 0;
  WireType type = WireType::VARINT;
  uint64_t varint = 0;                // VARINT, FIXED64, FIXED32 (raw bits)
  std::span<const uint8_t> bytes;     // LEN

  double as_double() const {
    double d;
    std::memcpy(&d, &varint, sizeof d);
    return d;
  }
  int64_t as_int64() const { return static_cast<int64_t>(varint); }
  std::string as_string() const { return std::string(reinterpret_cast<const char*>(bytes.data()), bytes.size()); }
};

class Reader {
 public:
  explicit Reader(std::span<const uint8_t> data) : data_(data) {}

  bool done() const { return pos_ >= data_.size(); }

  // The next field; false at the end of the message.
  bool next(Field& f) {
    if (done()) return false;
    uint64_t key = varint();
    uint64_t number = key >> 3;
    if (number == 0 || number > 0x1fffffff) throw DecodeError("protobuf: invalid field number");
    f.number = static_cast<uint32_t>(number);
    f.bytes = {};
    switch (key & 7) {
      case 0:
        f.type = WireType::VARINT;
        f.varint = varint();
        break;
      case 1:
        f.type = WireType::FIXED64;
        f.varint = fixed(8);
        break;
      case 2: {
        f.type = WireType::LEN;
        uint64_t n = varint();
        if (n > data_.size() - pos_) throw DecodeError("protobuf: length-delimited field beyond the end");
        f.bytes = data_.subspan(pos_, static_cast<size_t>(n));
        pos_ += static_cast<size_t>(n);
        break;
      }
      case 5:
        f.type = WireType::FIXED32;
        f.varint = fixed(4);
        break;
      default:
        throw DecodeError("protobuf: unsupported wire type " + std::to_string(key & 7));
    }
    return true;
  }

 private:
  uint64_t varint() {
    uint64_t v = 0;
    for (int shift = 0; shift < 70; shift += 7) {
      if (pos_ >= data_.size()) throw DecodeError("protobuf: truncated varint");
      uint8_t b = data_[pos_++];
      v |= static_cast<uint64_t>(b & 0x7f) << shift;
      if (!(b & 0x80)) return v;
    }
    throw DecodeError("protobuf: varint longer than 10 bytes");
  }
  uint64_t fixed(size_t n) {
    if (data_.size() - pos_ < n) throw DecodeError("protobuf: truncated fixed-width field");
    uint64_t v = 0;
    for (size_t i = 0; i < n; ++i) v |= static_cast<uint64_t>(data_[pos_ + i]) << (8 * i);
    pos_ += n;
    return v;
  }

  std::span<const uint8_t> data_;
  size_t pos_ = 0;
};

}  // namespace flotilla::protobuf
