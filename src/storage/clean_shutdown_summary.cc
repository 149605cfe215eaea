#include "storage/clean_shutdown_summary.h"

#include <cstring>

#include "common/bytes.h"
#include "common/crc32c.h"

namespace flotilla::storage {

namespace {

constexpr char kMagic[4] = {'F', 'L', 'C', 'S'};
constexpr int16_t kVersion = 0;
// A leader-epoch-checkpoint is read up to 1 MiB at a load (kMaxSmallFileBytes).
constexpr int32_t kMaxEpochCheckpointBytes = 1 << 20;

class Writer {
 public:
  void raw(const void* p, size_t n) { out_.append(static_cast<const char*>(p), n); }
  void i8(uint8_t v) { out_.push_back(static_cast<char>(v)); }
  void i16(int16_t v) {
    uint8_t b[2];
    store_be16(b, static_cast<uint16_t>(v));
    raw(b, 2);
  }
  void i32(int32_t v) {
    uint8_t b[4];
    store_be32(b, static_cast<uint32_t>(v));
    raw(b, 4);
  }
  void i64(int64_t v) {
    uint8_t b[8];
    store_be64(b, static_cast<uint64_t>(v));
    raw(b, 8);
  }
  std::string& out() { return out_; }

 private:
  std::string out_;
};

// Bounds-checked reading: every read past the end fails the whole decode.
class Reader {
 public:
  explicit Reader(std::span<const uint8_t> b) : b_(b) {}
  bool ok() const { return ok_; }
  size_t left() const { return b_.size() - pos_; }
  const uint8_t* take(size_t n) {
    if (!ok_ || n > left()) {
      ok_ = false;
      return nullptr;
    }
    const uint8_t* p = b_.data() + pos_;
    pos_ += n;
    return p;
  }
  uint8_t i8() {
    const uint8_t* p = take(1);
    return p ? *p : 0;
  }
  int16_t i16() {
    const uint8_t* p = take(2);
    return p ? static_cast<int16_t>(load_be16(p)) : 0;
  }
  int32_t i32() {
    const uint8_t* p = take(4);
    return p ? static_cast<int32_t>(load_be32(p)) : 0;
  }
  int64_t i64() {
    const uint8_t* p = take(8);
    return p ? static_cast<int64_t>(load_be64(p)) : 0;
  }
  // A count of entries of `entry_size` bytes each: never more than the bytes left can hold.
  size_t count(size_t entry_size) {
    const int32_t n = i32();
    if (!ok_ || n < 0 || static_cast<size_t>(n) > left() / entry_size) {
      ok_ = false;
      return 0;
    }
    return static_cast<size_t>(n);
  }
  void fail() { ok_ = false; }

 private:
  std::span<const uint8_t> b_;
  size_t pos_ = 0;
  bool ok_ = true;
};

// Sizes of the smallest encodings, for count checks.
constexpr size_t kMinSegmentBytes = 7 * 8 + 1 + 4 + 4;
constexpr size_t kMinLogBytes = 2 + 16 + 4 + 8 + 4;

// What a load could have produced: segments in offset order, each index
// inside its segment and in order. Anything else is not trusted.
bool consistent(const LogSummary& log) {
  if (log.name.empty() || log.segments.empty()) return false;
  int64_t prev_next = INT64_MIN;
  for (const auto& s : log.segments) {
    if (s.base_offset < 0 || s.base_offset < prev_next || s.next_offset < s.base_offset || s.size < 0 || s.size > INT32_MAX ||
        s.bytes_since_index < 0)
      return false;
    prev_next = s.next_offset;
    int64_t last_rel = -1, last_pos = -1;
    for (const auto& [rel, pos] : s.index) {
      if (rel <= last_rel || pos <= last_pos || pos >= s.size || s.base_offset + rel >= s.next_offset) return false;
      last_rel = rel;
      last_pos = pos;
    }
    last_rel = -1;
    int64_t last_ts = INT64_MIN;
    for (const auto& [ts, rel] : s.tindex) {
      if (rel < last_rel || ts < last_ts || rel < 0 || s.base_offset + rel >= s.next_offset) return false;
      last_rel = rel;
      last_ts = ts;
    }
  }
  return log.producer_snapshot >= -1;
}

}  // namespace

std::string encode_log_summaries(const std::vector<LogSummary>& logs) {
  Writer w;
  w.raw(kMagic, 4);
  w.i16(kVersion);
  w.i32(static_cast<int32_t>(logs.size()));
  for (const auto& l : logs) {
    w.i16(static_cast<int16_t>(l.name.size()));
    w.raw(l.name.data(), l.name.size());
    w.i64(static_cast<int64_t>(l.topic_id.hi));
    w.i64(static_cast<int64_t>(l.topic_id.lo));
    w.i32(static_cast<int32_t>(l.epoch_checkpoint.size()));
    w.raw(l.epoch_checkpoint.data(), l.epoch_checkpoint.size());
    w.i64(l.producer_snapshot);
    w.i32(static_cast<int32_t>(l.segments.size()));
    for (const auto& s : l.segments) {
      w.i64(s.base_offset);
      w.i64(s.next_offset);
      w.i64(s.size);
      w.i64(s.bytes_since_index);
      w.i64(s.max_timestamp);
      w.i64(s.max_timestamp_offset);
      w.i64(s.first_timestamp);
      w.i8(s.has_txn_index ? 1 : 0);
      w.i32(static_cast<int32_t>(s.index.size()));
      for (const auto& [rel, pos] : s.index) {
        w.i32(rel);
        w.i32(pos);
      }
      w.i32(static_cast<int32_t>(s.tindex.size()));
      for (const auto& [ts, rel] : s.tindex) {
        w.i64(ts);
        w.i32(rel);
      }
    }
  }
  const uint32_t crc = crc32c(w.out().data(), w.out().size());
  w.i32(static_cast<int32_t>(crc));
  return std::move(w.out());
}

std::optional<std::vector<LogSummary>> decode_log_summaries(std::span<const uint8_t> bytes, std::string* error) {
  auto fail = [&](const char* why) -> std::optional<std::vector<LogSummary>> {
    if (error) *error = why;
    return std::nullopt;
  };
  if (bytes.size() < 4 + 2 + 4 + 4) return fail("too short");
  if (std::memcmp(bytes.data(), kMagic, 4) != 0) return fail("not a clean-shutdown summary");
  const size_t body = bytes.size() - 4;
  if (crc32c(bytes.data(), body) != load_be32(bytes.data() + body)) return fail("CRC mismatch");
  Reader r(bytes.subspan(4, body - 4));
  if (r.i16() != kVersion) return fail("unknown version");
  const size_t n = r.count(kMinLogBytes);
  std::vector<LogSummary> logs;
  logs.reserve(n);
  for (size_t i = 0; i < n && r.ok(); ++i) {
    LogSummary l;
    const int16_t name_len = r.i16();
    if (name_len <= 0) r.fail();
    if (const uint8_t* p = r.take(name_len > 0 ? static_cast<size_t>(name_len) : 0)) l.name.assign(reinterpret_cast<const char*>(p), name_len);
    l.topic_id.hi = static_cast<uint64_t>(r.i64());
    l.topic_id.lo = static_cast<uint64_t>(r.i64());
    const int32_t epoch_len = r.i32();
    if (epoch_len < 0 || epoch_len > kMaxEpochCheckpointBytes) r.fail();
    if (const uint8_t* p = r.take(epoch_len > 0 ? static_cast<size_t>(epoch_len) : 0); p && epoch_len > 0)
      l.epoch_checkpoint.assign(reinterpret_cast<const char*>(p), epoch_len);
    l.producer_snapshot = r.i64();
    const size_t segs = r.count(kMinSegmentBytes);
    l.segments.resize(segs);
    for (auto& s : l.segments) {
      s.base_offset = r.i64();
      s.next_offset = r.i64();
      s.size = r.i64();
      s.bytes_since_index = r.i64();
      s.max_timestamp = r.i64();
      s.max_timestamp_offset = r.i64();
      s.first_timestamp = r.i64();
      const uint8_t txn = r.i8();
      if (txn > 1) r.fail();
      s.has_txn_index = txn == 1;
      s.index.resize(r.count(8));
      for (auto& [rel, pos] : s.index) {
        rel = r.i32();
        pos = r.i32();
      }
      s.tindex.resize(r.count(12));
      for (auto& [ts, rel] : s.tindex) {
        ts = r.i64();
        rel = r.i32();
      }
      if (!r.ok()) break;
    }
    if (r.ok() && !consistent(l)) return fail("inconsistent segments");
    logs.push_back(std::move(l));
  }
  if (!r.ok()) return fail("truncated");
  if (r.left() != 0) return fail("trailing bytes");
  return logs;
}

}  // namespace flotilla::storage
