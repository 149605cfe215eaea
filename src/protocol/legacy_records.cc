#include "protocol/legacy_records.h"

#include <zlib.h>

#include <optional>

#include "protocol/compression.h"
#include "protocol/record_batch.h"

namespace flotilla::records {

namespace {

constexpr size_t kLegacyEntryOverhead = 12;  // offset (8) + message size (4)
constexpr int8_t kLegacyCodecMask = 0x07;
constexpr int8_t kLegacyLogAppendTimeBit = 0x08;

uint32_t legacy_be32(const uint8_t* p) { return (uint32_t(p[0]) << 24) | (uint32_t(p[1]) << 16) | (uint32_t(p[2]) << 8) | uint32_t(p[3]); }
uint64_t legacy_be64(const uint8_t* p) { return (uint64_t(legacy_be32(p)) << 32) | legacy_be32(p + 4); }

struct LegacyMessage {
  int8_t magic = 0;
  int8_t attributes = 0;
  int64_t timestamp = -1;
  std::optional<std::span<const uint8_t>> key, value;
};

struct LegacyFailure {
  ErrorCode error;
  std::string message;
};

// Parses the messages of a set; throws Failure.
std::vector<LegacyMessage> parse_legacy_set(std::span<const uint8_t> data) {
  std::vector<LegacyMessage> out;
  size_t pos = 0;
  while (pos < data.size()) {
    if (data.size() - pos < kLegacyEntryOverhead) throw LegacyFailure{ErrorCode::CORRUPT_MESSAGE, "truncated legacy message set"};
    const int32_t size = static_cast<int32_t>(legacy_be32(data.data() + pos + 8));
    if (size < 14 || static_cast<size_t>(size) > data.size() - pos - kLegacyEntryOverhead)
      throw LegacyFailure{ErrorCode::CORRUPT_MESSAGE, "legacy message size " + std::to_string(size) + " is invalid"};
    std::span<const uint8_t> m = data.subspan(pos + kLegacyEntryOverhead, static_cast<size_t>(size));
    pos += kLegacyEntryOverhead + static_cast<size_t>(size);
    const uint32_t crc = legacy_be32(m.data());
    const uint32_t actual = static_cast<uint32_t>(::crc32(0L, m.data() + 4, static_cast<uInt>(m.size() - 4)));
    if (crc != actual) throw LegacyFailure{ErrorCode::CORRUPT_MESSAGE, "legacy message CRC mismatch"};
    LegacyMessage msg;
    msg.magic = static_cast<int8_t>(m[4]);
    msg.attributes = static_cast<int8_t>(m[5]);
    size_t p = 6;
    if (msg.magic > 1) throw LegacyFailure{ErrorCode::CORRUPT_MESSAGE, "a legacy message set holds a message of magic " + std::to_string(msg.magic)};
    if (msg.magic == 1) {
      if (m.size() < p + 8) throw LegacyFailure{ErrorCode::CORRUPT_MESSAGE, "truncated legacy message"};
      msg.timestamp = static_cast<int64_t>(legacy_be64(m.data() + p));
      p += 8;
    }
    auto bytes = [&]() -> std::optional<std::span<const uint8_t>> {
      if (m.size() < p + 4) throw LegacyFailure{ErrorCode::CORRUPT_MESSAGE, "truncated legacy message"};
      const int32_t n = static_cast<int32_t>(legacy_be32(m.data() + p));
      p += 4;
      if (n < 0) return std::nullopt;
      if (m.size() - p < static_cast<size_t>(n)) throw LegacyFailure{ErrorCode::CORRUPT_MESSAGE, "truncated legacy message"};
      auto s = m.subspan(p, static_cast<size_t>(n));
      p += static_cast<size_t>(n);
      return s;
    };
    msg.key = bytes();
    msg.value = bytes();
    out.push_back(msg);
  }
  return out;
}

Compression legacy_codec_of(int8_t attributes) {
  switch (attributes & kLegacyCodecMask) {
    case 0: return Compression::NONE;
    case 1: return Compression::GZIP;
    case 2: return Compression::SNAPPY;
    case 3: return Compression::LZ4;
    default:
      throw LegacyFailure{ErrorCode::UNSUPPORTED_COMPRESSION_TYPE,
                    "compression codec " + std::to_string(attributes & kLegacyCodecMask) + " is not valid in a legacy message"};
  }
}

}  // namespace

bool is_legacy_message_set(std::span<const uint8_t> data) { return data.size() > 16 && data[16] < 2; }

LegacyConversion convert_legacy_message_set(std::span<const uint8_t> data) {
  LegacyConversion out;
  try {
    std::vector<LegacyMessage> outer = parse_legacy_set(data);
    Compression codec = Compression::NONE;
    struct Rec {
      int64_t timestamp;
      std::optional<std::span<const uint8_t>> key, value;
    };
    std::vector<Rec> recs;
    std::vector<std::vector<uint8_t>> inflated;  // keeps the inner messages' bytes
    for (const LegacyMessage& m : outer) {
      const Compression c = legacy_codec_of(m.attributes);
      if (c == Compression::NONE) {
        recs.push_back(Rec{m.timestamp, m.key, m.value});
        continue;
      }
      if (!m.value) throw LegacyFailure{ErrorCode::CORRUPT_MESSAGE, "a compressed legacy message has no value"};
      codec = c;
      try {
        inflated.push_back(decompress(c, *m.value));
      } catch (const std::exception& e) {
        throw LegacyFailure{ErrorCode::CORRUPT_MESSAGE, std::string("cannot decompress a legacy message: ") + e.what()};
      }
      for (const LegacyMessage& in : parse_legacy_set(inflated.back())) {
        if (legacy_codec_of(in.attributes) != Compression::NONE) throw LegacyFailure{ErrorCode::CORRUPT_MESSAGE, "nested compressed legacy message"};
        const bool wrapper_time = m.magic == 1 && (m.attributes & kLegacyLogAppendTimeBit);
        recs.push_back(Rec{wrapper_time ? m.timestamp : (in.magic == 1 ? in.timestamp : -1), in.key, in.value});
      }
    }
    if (recs.empty()) throw LegacyFailure{ErrorCode::CORRUPT_MESSAGE, "empty legacy message set"};
    BatchBuilder b(codec);
    for (const Rec& r : recs) b.add(r.timestamp, r.key, r.value);
    out.batch = b.build();
    out.records = static_cast<int32_t>(recs.size());
  } catch (const LegacyFailure& f) {
    out.error = f.error;
    out.message = f.message;
  }
  return out;
}

std::vector<uint8_t> legacy_message(int8_t magic, int64_t offset, int64_t timestamp, const std::vector<uint8_t>* key,
                                    const std::vector<uint8_t>* value, int8_t attributes) {
  std::vector<uint8_t> m(4, 0);  // the CRC, set below
  m.push_back(static_cast<uint8_t>(magic));
  m.push_back(static_cast<uint8_t>(attributes));
  auto put32 = [&](uint32_t v) {
    for (int s = 24; s >= 0; s -= 8) m.push_back(static_cast<uint8_t>(v >> s));
  };
  if (magic == 1) {
    put32(static_cast<uint32_t>(static_cast<uint64_t>(timestamp) >> 32));
    put32(static_cast<uint32_t>(timestamp));
  }
  for (const auto* b : {key, value}) {
    if (!b) {
      put32(0xffffffffu);
      continue;
    }
    put32(static_cast<uint32_t>(b->size()));
    m.insert(m.end(), b->begin(), b->end());
  }
  const uint32_t crc = static_cast<uint32_t>(::crc32(0L, m.data() + 4, static_cast<uInt>(m.size() - 4)));
  for (int i = 0; i < 4; ++i) m[i] = static_cast<uint8_t>(crc >> (24 - 8 * i));
  std::vector<uint8_t> e;
  for (int s = 56; s >= 0; s -= 8) e.push_back(static_cast<uint8_t>(static_cast<uint64_t>(offset) >> s));
  const uint32_t n = static_cast<uint32_t>(m.size());
  for (int s = 24; s >= 0; s -= 8) e.push_back(static_cast<uint8_t>(n >> s));
  e.insert(e.end(), m.begin(), m.end());
  return e;
}

}  // namespace flotilla::records
