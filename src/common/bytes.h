// Byte buffers for Kafka's wire and disk formats: big-endian integers, varints
// (unsigned LEB128 and zig-zag signed), and a writer whose output may splice in
// file regions so that fetch responses go out with sendfile(2) instead of copies.
#pragma once

#include <cstdint>
#include <cstring>
#include <memory>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace flotilla {

// An allocator that leaves new elements uninitialized: request frames are
// filled by the socket, so zeroing them first would only burn memory bandwidth.
template <class T>
struct DefaultInitAllocator : std::allocator<T> {
  template <class U>
  struct rebind {
    using other = DefaultInitAllocator<U>;
  };
  using std::allocator<T>::allocator;
  template <class U>
  void construct(U* p) noexcept {
    ::new (static_cast<void*>(p)) U;
  }
  template <class U, class... Args>
  void construct(U* p, Args&&... args) {
    ::new (static_cast<void*>(p)) U(std::forward<Args>(args)...);
  }
};
using FrameBuffer = std::vector<uint8_t, DefaultInitAllocator<uint8_t>>;

// Thrown by ByteReader when input ends early or a length is impossible. Request
// decoding catches it and answers with a Kafka error; it never escapes a loop.
class DecodeError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// A byte range of an open file, sent with sendfile(2). `keepalive` owns whatever
// keeps `fd` open (a segment) until the bytes are on the socket.
struct FileRegion {
  int fd = -1;
  int64_t offset = 0;
  int64_t length = 0;
  std::shared_ptr<const void> keepalive;
};

// The `records` type of the schemas: a nullable blob of record batches. On decode
// it is a view into the request buffer (zero-copy; valid while that buffer is
// alive). On encode it may instead carry owned bytes and/or file regions, which
// are written in order: owned bytes first, then `view`, then each file region.
struct Records {
  bool is_null = true;
  std::span<const uint8_t> view;
  std::shared_ptr<const std::vector<uint8_t>> owned;  // keeps `view` alive if set
  std::vector<FileRegion> files;

  static Records null() { return Records{}; }
  static Records of_view(std::span<const uint8_t> v) {
    Records r;
    r.is_null = false;
    r.view = v;
    return r;
  }
  static Records of_bytes(std::vector<uint8_t> bytes) {
    Records r;
    r.is_null = false;
    auto p = std::make_shared<const std::vector<uint8_t>>(std::move(bytes));
    r.view = std::span<const uint8_t>(p->data(), p->size());
    r.owned = std::move(p);
    return r;
  }
  int64_t size() const {
    int64_t n = static_cast<int64_t>(view.size());
    for (const auto& f : files) n += f.length;
    return n;
  }
  bool operator==(const Records& o) const {
    if (is_null != o.is_null || !files.empty() || !o.files.empty()) return is_null == o.is_null && files.empty() && o.files.empty();
    return view.size() == o.view.size() && (view.empty() || std::memcmp(view.data(), o.view.data(), view.size()) == 0);
  }
};

class ByteWriter {
 public:
  // One piece of output: bytes [begin, end) of the buffer, or a file region.
  struct Chunk {
    size_t begin = 0, end = 0;
    bool is_file = false;
    FileRegion file;
  };

  ByteWriter() { buf_.reserve(256); }

  void put_u8(uint8_t v) { buf_.push_back(v); }
  void put_i8(int8_t v) { put_u8(static_cast<uint8_t>(v)); }
  void put_bool(bool v) { put_u8(v ? 1 : 0); }
  void put_i16(int16_t v) { put_be(static_cast<uint16_t>(v)); }
  void put_u16(uint16_t v) { put_be(v); }
  void put_i32(int32_t v) { put_be(static_cast<uint32_t>(v)); }
  void put_u32(uint32_t v) { put_be(v); }
  void put_i64(int64_t v) { put_be(static_cast<uint64_t>(v)); }
  void put_f64(double v) {
    uint64_t u;
    std::memcpy(&u, &v, 8);
    put_be(u);
  }
  void put_uvarint(uint64_t v) {
    while (v >= 0x80) {
      buf_.push_back(static_cast<uint8_t>(v | 0x80));
      v >>= 7;
    }
    buf_.push_back(static_cast<uint8_t>(v));
  }
  void put_varint(int32_t v) { put_uvarint(static_cast<uint32_t>((static_cast<uint32_t>(v) << 1) ^ static_cast<uint32_t>(v >> 31))); }
  void put_varlong(int64_t v) { put_uvarint((static_cast<uint64_t>(v) << 1) ^ static_cast<uint64_t>(v >> 63)); }
  void put_bytes(const void* p, size_t n) {
    const auto* b = static_cast<const uint8_t*>(p);
    buf_.insert(buf_.end(), b, b + n);
  }
  void put_bytes(std::span<const uint8_t> s) { put_bytes(s.data(), s.size()); }
  void put_str(std::string_view s) { put_bytes(s.data(), s.size()); }

  // Appends the payload of `r` (no length prefix): bytes are copied, file
  // regions are recorded as chunks and sent later without copying.
  void put_records_payload(const Records& r) {
    if (!r.view.empty()) put_bytes(r.view);
    for (const auto& f : r.files) {
      if (f.length <= 0) continue;
      close_chunk();
      Chunk c;
      c.is_file = true;
      c.file = f;
      chunks_.push_back(std::move(c));
      file_bytes_ += f.length;
      chunk_start_ = buf_.size();
    }
  }

  // Overwrite helpers for length/CRC fields written after their content.
  void patch_i32(size_t pos, int32_t v) {
    uint32_t u = static_cast<uint32_t>(v);
    for (int i = 3; i >= 0; --i) {
      buf_[pos + i] = static_cast<uint8_t>(u);
      u >>= 8;
    }
  }
  void patch_u32(size_t pos, uint32_t v) { patch_i32(pos, static_cast<int32_t>(v)); }

  size_t position() const { return buf_.size(); }  // bytes in the buffer (files excluded)
  int64_t total_size() const { return static_cast<int64_t>(buf_.size()) + file_bytes_; }
  std::vector<uint8_t>& buffer() { return buf_; }
  const std::vector<uint8_t>& buffer() const { return buf_; }
  bool has_files() const { return file_bytes_ > 0; }

  // Output in order; valid until the writer is modified.
  std::vector<Chunk> chunks() const {
    std::vector<Chunk> out = chunks_;
    if (buf_.size() > chunk_start_ || out.empty()) out.push_back(Chunk{chunk_start_, buf_.size(), false, {}});
    return out;
  }
  // Everything as one byte vector, reading file regions with pread (tests, small responses).
  std::vector<uint8_t> flatten() const;
  std::vector<uint8_t> take() && { return std::move(buf_); }  // only when !has_files()

 private:
  template <typename U>
  void put_be(U v) {
    uint8_t tmp[sizeof(U)];
    for (int i = sizeof(U) - 1; i >= 0; --i) {
      tmp[i] = static_cast<uint8_t>(v);
      v = static_cast<U>(v >> 8);
    }
    buf_.insert(buf_.end(), tmp, tmp + sizeof(U));
  }
  void close_chunk() {
    if (buf_.size() > chunk_start_) chunks_.push_back(Chunk{chunk_start_, buf_.size(), false, {}});
    chunk_start_ = buf_.size();
  }

  std::vector<uint8_t> buf_;
  std::vector<Chunk> chunks_;
  size_t chunk_start_ = 0;
  int64_t file_bytes_ = 0;
};

class ByteReader {
 public:
  ByteReader() = default;
  explicit ByteReader(std::span<const uint8_t> s) : data_(s.data()), size_(s.size()) {}
  ByteReader(const uint8_t* p, size_t n) : data_(p), size_(n) {}

  size_t remaining() const { return size_ - pos_; }
  size_t position() const { return pos_; }
  bool empty() const { return pos_ >= size_; }
  const uint8_t* current() const { return data_ + pos_; }

  uint8_t get_u8() {
    need(1);
    return data_[pos_++];
  }
  int8_t get_i8() { return static_cast<int8_t>(get_u8()); }
  bool get_bool() { return get_u8() != 0; }
  int16_t get_i16() { return static_cast<int16_t>(get_be<uint16_t>()); }
  uint16_t get_u16() { return get_be<uint16_t>(); }
  int32_t get_i32() { return static_cast<int32_t>(get_be<uint32_t>()); }
  uint32_t get_u32() { return get_be<uint32_t>(); }
  int64_t get_i64() { return static_cast<int64_t>(get_be<uint64_t>()); }
  double get_f64() {
    uint64_t u = get_be<uint64_t>();
    double d;
    std::memcpy(&d, &u, 8);
    return d;
  }
  uint64_t get_uvarint() {
    uint64_t v = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      uint8_t b = get_u8();
      v |= static_cast<uint64_t>(b & 0x7f) << shift;
      if (!(b & 0x80)) return v;
    }
    throw DecodeError("varint too long");
  }
  uint32_t get_uvarint32() {
    uint64_t v = get_uvarint();
    if (v > 0xffffffffULL) throw DecodeError("unsigned varint out of range");
    return static_cast<uint32_t>(v);
  }
  int32_t get_varint() {
    uint32_t u = get_uvarint32();
    return static_cast<int32_t>((u >> 1) ^ (~(u & 1) + 1));
  }
  int64_t get_varlong() {
    uint64_t u = get_uvarint();
    return static_cast<int64_t>((u >> 1) ^ (~(u & 1) + 1));
  }
  std::span<const uint8_t> get_span(size_t n) {
    need(n);
    std::span<const uint8_t> s(data_ + pos_, n);
    pos_ += n;
    return s;
  }
  std::string get_string(size_t n) {
    auto s = get_span(n);
    return std::string(reinterpret_cast<const char*>(s.data()), s.size());
  }
  void skip(size_t n) {
    need(n);
    pos_ += n;
  }

 private:
  void need(size_t n) const {
    if (n > size_ - pos_) throw DecodeError("buffer underflow");
  }
  template <typename U>
  U get_be() {
    need(sizeof(U));
    U v = 0;
    for (size_t i = 0; i < sizeof(U); ++i) v = static_cast<U>((v << 8) | data_[pos_ + i]);
    pos_ += sizeof(U);
    return v;
  }

  const uint8_t* data_ = nullptr;
  size_t size_ = 0;
  size_t pos_ = 0;
};

// Size in bytes of an unsigned varint, for pre-computing frame lengths.
inline size_t uvarint_size(uint64_t v) {
  size_t n = 1;
  while (v >= 0x80) {
    v >>= 7;
    ++n;
  }
  return n;
}

// Big-endian loads/stores on raw memory (record batch headers patched in place).
inline uint32_t load_be32(const uint8_t* p) { return (uint32_t(p[0]) << 24) | (uint32_t(p[1]) << 16) | (uint32_t(p[2]) << 8) | p[3]; }
inline uint16_t load_be16(const uint8_t* p) { return static_cast<uint16_t>((p[0] << 8) | p[1]); }
inline uint64_t load_be64(const uint8_t* p) { return (uint64_t(load_be32(p)) << 32) | load_be32(p + 4); }
inline void store_be32(uint8_t* p, uint32_t v) {
  p[0] = uint8_t(v >> 24);
  p[1] = uint8_t(v >> 16);
  p[2] = uint8_t(v >> 8);
  p[3] = uint8_t(v);
}
inline void store_be64(uint8_t* p, uint64_t v) {
  store_be32(p, uint32_t(v >> 32));
  store_be32(p + 4, uint32_t(v));
}
inline void store_be16(uint8_t* p, uint16_t v) {
  p[0] = uint8_t(v >> 8);
  p[1] = uint8_t(v);
}

}  // namespace flotilla
