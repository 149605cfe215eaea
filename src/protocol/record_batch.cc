#include "protocol/record_batch.h"

#include "common/crc32c.h"
#include "protocol/compression.h"

namespace flotilla::records {

bool parse_header(std::span<const uint8_t> p, BatchHeader& h) {
  if (p.size() < kHeaderSize) return false;
  const uint8_t* b = p.data();
  h.base_offset = static_cast<int64_t>(load_be64(b));
  h.batch_length = static_cast<int32_t>(load_be32(b + 8));
  h.partition_leader_epoch = static_cast<int32_t>(load_be32(b + 12));
  h.magic = static_cast<int8_t>(b[16]);
  h.crc = load_be32(b + 17);
  h.attributes = static_cast<int16_t>(load_be16(b + 21));
  h.last_offset_delta = static_cast<int32_t>(load_be32(b + 23));
  h.base_timestamp = static_cast<int64_t>(load_be64(b + 27));
  h.max_timestamp = static_cast<int64_t>(load_be64(b + 35));
  h.producer_id = static_cast<int64_t>(load_be64(b + 43));
  h.producer_epoch = static_cast<int16_t>(load_be16(b + 51));
  h.base_sequence = static_cast<int32_t>(load_be32(b + 53));
  h.records_count = static_cast<int32_t>(load_be32(b + 57));
  return true;
}

namespace {

// Walks the records of an uncompressed batch without allocating; returns the
// number of well-formed records or -1.
int64_t count_records(const uint8_t* p, size_t n) {
  ByteReader r(p, n);
  int64_t count = 0;
  try {
    while (!r.empty()) {
      int32_t len = r.get_varint();
      if (len <= 0 || static_cast<size_t>(len) > r.remaining()) return -1;
      ByteReader rec(r.current(), static_cast<size_t>(len));
      rec.get_i8();       // attributes
      rec.get_varlong();  // timestamp delta
      rec.get_varint();   // offset delta
      int32_t klen = rec.get_varint();
      if (klen >= 0) rec.skip(static_cast<size_t>(klen));
      else if (klen < -1) return -1;
      int32_t vlen = rec.get_varint();
      if (vlen >= 0) rec.skip(static_cast<size_t>(vlen));
      else if (vlen < -1) return -1;
      int32_t nh = rec.get_varint();
      if (nh < 0) return -1;
      for (int32_t i = 0; i < nh; ++i) {
        int32_t hk = rec.get_varint();
        if (hk < 0) return -1;
        rec.skip(static_cast<size_t>(hk));
        int32_t hv = rec.get_varint();
        if (hv >= 0) rec.skip(static_cast<size_t>(hv));
        else if (hv < -1) return -1;
      }
      if (!rec.empty()) return -1;
      r.skip(static_cast<size_t>(len));
      ++count;
    }
  } catch (const DecodeError&) {
    return -1;
  }
  return count;
}

Validation fail(ErrorCode e, std::string msg) {
  Validation v;
  v.error = e;
  v.message = std::move(msg);
  return v;
}

}  // namespace

Validation validate_batches(std::span<const uint8_t> data, int32_t max_batch_bytes) {
  Validation v;
  if (data.empty()) return fail(ErrorCode::CORRUPT_MESSAGE, "empty record set");
  size_t pos = 0;
  int64_t offset_delta = 0;
  while (pos < data.size()) {
    size_t left = data.size() - pos;
    if (left < kLogOverhead + 5) return fail(ErrorCode::CORRUPT_MESSAGE, "truncated record batch header");
    const uint8_t* b = data.data() + pos;
    int8_t magic = static_cast<int8_t>(b[16]);
    if (magic < 2) {
      return fail(ErrorCode::UNSUPPORTED_VERSION,
                  "message format v" + std::to_string(magic) + " is not supported; use record batch v2 (Kafka clients 0.11+)");
    }
    if (magic > 2) return fail(ErrorCode::CORRUPT_MESSAGE, "unknown record batch magic " + std::to_string(magic));
    if (left < kHeaderSize) return fail(ErrorCode::CORRUPT_MESSAGE, "truncated record batch header");
    BatchHeader h;
    parse_header(data.subspan(pos), h);
    if (h.batch_length < static_cast<int32_t>(kHeaderSize - kLogOverhead))
      return fail(ErrorCode::CORRUPT_MESSAGE, "record batch length " + std::to_string(h.batch_length) + " is too small");
    int64_t total = h.total_size();
    if (static_cast<uint64_t>(total) > left) return fail(ErrorCode::CORRUPT_MESSAGE, "record batch extends past the request");
    if (total > max_batch_bytes)
      return fail(ErrorCode::MESSAGE_TOO_LARGE, "record batch of " + std::to_string(total) + " bytes exceeds the maximum of " +
                                                    std::to_string(max_batch_bytes));
    uint32_t crc = crc32c(b + kAttributesOffset, static_cast<size_t>(total) - kAttributesOffset);
    if (crc != h.crc) return fail(ErrorCode::CORRUPT_MESSAGE, "record batch CRC mismatch");
    if (h.last_offset_delta < 0 || h.records_count < 0 || h.records_count != h.last_offset_delta + 1)
      return fail(ErrorCode::CORRUPT_MESSAGE, "record count " + std::to_string(h.records_count) + " does not match last offset delta " +
                                                  std::to_string(h.last_offset_delta));
    if (h.is_control()) return fail(ErrorCode::INVALID_RECORD, "control batches cannot be produced by clients");
    if (h.compression() == Compression::NONE) {
      int64_t n = count_records(b + kHeaderSize, static_cast<size_t>(total) - kHeaderSize);
      if (n != h.records_count) return fail(ErrorCode::CORRUPT_MESSAGE, "records of the batch are malformed or miscounted");
    } else if (static_cast<int>(h.compression()) > 4) {
      return fail(ErrorCode::UNSUPPORTED_COMPRESSION_TYPE, "unknown compression codec " + std::to_string(int(h.compression())));
    }
    if (h.max_timestamp > v.max_timestamp) {
      v.max_timestamp = h.max_timestamp;
      v.offset_of_max_timestamp_delta = offset_delta + h.last_offset_delta;
    }
    v.batches.push_back(ValidatedBatch{pos, h});
    v.record_count += h.last_offset_delta + 1;
    offset_delta += h.last_offset_delta + 1;
    pos += static_cast<size_t>(total);
  }
  return v;
}

int64_t assign_offsets(std::span<uint8_t> data, const Validation& v, int64_t first_offset, int32_t leader_epoch) {
  int64_t next = first_offset;
  for (const auto& b : v.batches) {
    uint8_t* p = data.data() + b.position;
    store_be64(p, static_cast<uint64_t>(next));
    store_be32(p + 12, static_cast<uint32_t>(leader_epoch));
    next += b.header.last_offset_delta + 1;
  }
  return next;
}

void set_log_append_time(std::span<uint8_t> data, const Validation& v, int64_t now_ms) {
  for (const auto& b : v.batches) {
    uint8_t* p = data.data() + b.position;
    uint16_t attrs = load_be16(p + kAttributesOffset) | kTimestampTypeBit;
    store_be16(p + kAttributesOffset, attrs);
    store_be64(p + 35, static_cast<uint64_t>(now_ms));
    size_t total = static_cast<size_t>(b.header.total_size());
    store_be32(p + kCrcOffset, crc32c(p + kAttributesOffset, total - kAttributesOffset));
  }
}

std::vector<Record> decode_records(std::span<const uint8_t> batch) {
  BatchHeader h;
  if (!parse_header(batch, h)) throw DecodeError("record batch shorter than its header");
  if (h.magic != 2) throw DecodeError("unsupported record batch magic");
  if (h.total_size() > static_cast<int64_t>(batch.size())) throw DecodeError("truncated record batch");
  std::span<const uint8_t> body = batch.subspan(kHeaderSize, static_cast<size_t>(h.total_size()) - kHeaderSize);
  std::vector<uint8_t> inflated;
  if (h.compression() != Compression::NONE) {
    inflated = decompress(h.compression(), body);
    body = inflated;
  }
  std::vector<Record> out;
  out.reserve(static_cast<size_t>(std::max(0, std::min(h.records_count, 1 << 20))));
  ByteReader r(body);
  for (int32_t i = 0; i < h.records_count; ++i) {
    int32_t len = r.get_varint();
    if (len < 0) throw DecodeError("negative record length");
    ByteReader rec(r.get_span(static_cast<size_t>(len)));
    Record out_rec;
    rec.get_i8();
    int64_t ts_delta = rec.get_varlong();
    int32_t off_delta = rec.get_varint();
    out_rec.offset = h.base_offset + off_delta;
    out_rec.timestamp = h.log_append_time() ? h.max_timestamp : h.base_timestamp + ts_delta;
    int32_t klen = rec.get_varint();
    if (klen >= 0) {
      auto k = rec.get_span(static_cast<size_t>(klen));
      out_rec.key.emplace(k.begin(), k.end());
    }
    int32_t vlen = rec.get_varint();
    if (vlen >= 0) {
      auto val = rec.get_span(static_cast<size_t>(vlen));
      out_rec.value.emplace(val.begin(), val.end());
    }
    int32_t nh = rec.get_varint();
    if (nh < 0) throw DecodeError("negative header count");
    for (int32_t j = 0; j < nh; ++j) {
      Header hd;
      int32_t hk = rec.get_varint();
      if (hk < 0) throw DecodeError("null header key");
      hd.key = rec.get_string(static_cast<size_t>(hk));
      int32_t hv = rec.get_varint();
      if (hv >= 0) {
        auto s = rec.get_span(static_cast<size_t>(hv));
        hd.value.emplace(s.begin(), s.end());
      }
      out_rec.headers.push_back(std::move(hd));
    }
    out.push_back(std::move(out_rec));
  }
  return out;
}

BatchBuilder::BatchBuilder(Compression c, int64_t base_offset) : compression_(c), base_offset_(base_offset) {}

void BatchBuilder::set_producer(int64_t producer_id, int16_t epoch, int32_t base_sequence) {
  producer_id_ = producer_id;
  producer_epoch_ = epoch;
  base_sequence_ = base_sequence;
}

namespace {
void put_varint_raw(std::vector<uint8_t>& out, int64_t v) {
  uint64_t u = (static_cast<uint64_t>(v) << 1) ^ static_cast<uint64_t>(v >> 63);
  while (u >= 0x80) {
    out.push_back(static_cast<uint8_t>(u | 0x80));
    u >>= 7;
  }
  out.push_back(static_cast<uint8_t>(u));
}
size_t varint_size(int64_t v) { return uvarint_size((static_cast<uint64_t>(v) << 1) ^ static_cast<uint64_t>(v >> 63)); }
}  // namespace

void BatchBuilder::add(int64_t timestamp, std::optional<std::span<const uint8_t>> key, std::optional<std::span<const uint8_t>> value,
                       const std::vector<Header>& headers) {
  if (count_ == 0) base_timestamp_ = timestamp;
  max_timestamp_ = std::max(max_timestamp_, timestamp);
  int64_t ts_delta = timestamp - base_timestamp_;
  int64_t off_delta = static_cast<int64_t>(count_);
  // Body size first: the record starts with its length.
  size_t body = 1 + varint_size(ts_delta) + varint_size(off_delta);
  body += key ? varint_size(static_cast<int64_t>(key->size())) + key->size() : 1;
  body += value ? varint_size(static_cast<int64_t>(value->size())) + value->size() : 1;
  body += varint_size(static_cast<int64_t>(headers.size()));
  for (const auto& h : headers) {
    body += varint_size(static_cast<int64_t>(h.key.size())) + h.key.size();
    body += h.value ? varint_size(static_cast<int64_t>(h.value->size())) + h.value->size() : 1;
  }
  size_t need = records_.size() + body + 10;
  if (records_.capacity() < need) records_.reserve(std::max(need, records_.capacity() * 2));  // geometric: O(n) total
  put_varint_raw(records_, static_cast<int64_t>(body));
  records_.push_back(0);
  put_varint_raw(records_, ts_delta);
  put_varint_raw(records_, off_delta);
  if (key) {
    put_varint_raw(records_, static_cast<int64_t>(key->size()));
    records_.insert(records_.end(), key->begin(), key->end());
  } else {
    put_varint_raw(records_, -1);
  }
  if (value) {
    put_varint_raw(records_, static_cast<int64_t>(value->size()));
    records_.insert(records_.end(), value->begin(), value->end());
  } else {
    put_varint_raw(records_, -1);
  }
  put_varint_raw(records_, static_cast<int64_t>(headers.size()));
  for (const auto& h : headers) {
    put_varint_raw(records_, static_cast<int64_t>(h.key.size()));
    records_.insert(records_.end(), h.key.begin(), h.key.end());
    if (h.value) {
      put_varint_raw(records_, static_cast<int64_t>(h.value->size()));
      records_.insert(records_.end(), h.value->begin(), h.value->end());
    } else {
      put_varint_raw(records_, -1);
    }
  }
  ++count_;
}

std::vector<uint8_t> BatchBuilder::build() {
  std::vector<uint8_t> compressed;
  std::span<const uint8_t> body = records_;
  if (compression_ != Compression::NONE) {
    compressed = compress(compression_, records_);
    body = compressed;
  }
  std::vector<uint8_t> out(kHeaderSize + body.size());
  uint8_t* p = out.data();
  store_be64(p, static_cast<uint64_t>(base_offset_));
  store_be32(p + 8, static_cast<uint32_t>(out.size() - kLogOverhead));
  store_be32(p + 12, static_cast<uint32_t>(leader_epoch_));
  p[16] = 2;
  int16_t attrs = static_cast<int16_t>(compression_);
  if (transactional_) attrs |= kTransactionalBit;
  if (control_) attrs |= kControlBit;
  store_be16(p + 21, static_cast<uint16_t>(attrs));
  store_be32(p + 23, static_cast<uint32_t>(count_ == 0 ? 0 : count_ - 1));
  store_be64(p + 27, static_cast<uint64_t>(count_ == 0 ? -1 : base_timestamp_));
  store_be64(p + 35, static_cast<uint64_t>(count_ == 0 ? -1 : max_timestamp_));
  store_be64(p + 43, static_cast<uint64_t>(producer_id_));
  store_be16(p + 51, static_cast<uint16_t>(producer_epoch_));
  store_be32(p + 53, static_cast<uint32_t>(base_sequence_));
  store_be32(p + 57, static_cast<uint32_t>(count_));
  if (!body.empty()) std::memcpy(p + kHeaderSize, body.data(), body.size());
  store_be32(p + kCrcOffset, crc32c(p + kAttributesOffset, out.size() - kAttributesOffset));
  return out;
}

}  // namespace flotilla::records
