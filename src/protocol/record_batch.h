// Record batch v2 (magic 2): header parsing, validation of produced batches,
// offset assignment in place, building batches and decoding their records.
//
// Layout: baseOffset int64, batchLength int32, partitionLeaderEpoch int32,
// magic int8, crc uint32 (CRC-32C of attributes..end), attributes int16,
// lastOffsetDelta int32, baseTimestamp int64, maxTimestamp int64, producerId
// int64, producerEpoch int16, baseSequence int32, recordsCount int32, records.
// baseOffset and partitionLeaderEpoch lie before the CRC'd range, so a broker
// rewrites them in place without recomputing the CRC.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "common/bytes.h"
#include "common/error.h"

namespace flotilla::records {

enum class Compression : int8_t { NONE = 0, GZIP = 1, SNAPPY = 2, LZ4 = 3, ZSTD = 4 };

constexpr size_t kHeaderSize = 61;
constexpr size_t kLogOverhead = 12;  // baseOffset + batchLength
constexpr size_t kCrcOffset = 17;
constexpr size_t kAttributesOffset = 21;
constexpr int16_t kCompressionMask = 0x07;
constexpr int16_t kTimestampTypeBit = 0x08;
constexpr int16_t kTransactionalBit = 0x10;
constexpr int16_t kControlBit = 0x20;

struct BatchHeader {
  int64_t base_offset = 0;
  int32_t batch_length = 0;
  int32_t partition_leader_epoch = -1;
  int8_t magic = 2;
  uint32_t crc = 0;
  int16_t attributes = 0;
  int32_t last_offset_delta = 0;
  int64_t base_timestamp = 0;
  int64_t max_timestamp = 0;
  int64_t producer_id = -1;
  int16_t producer_epoch = -1;
  int32_t base_sequence = -1;
  int32_t records_count = 0;

  Compression compression() const { return static_cast<Compression>(attributes & kCompressionMask); }
  bool is_transactional() const { return attributes & kTransactionalBit; }
  bool is_control() const { return attributes & kControlBit; }
  bool log_append_time() const { return attributes & kTimestampTypeBit; }
  int64_t last_offset() const { return base_offset + last_offset_delta; }
  int64_t total_size() const { return static_cast<int64_t>(kLogOverhead) + batch_length; }
};

// Parses the 61-byte header at p (no validation beyond size); false if too short.
bool parse_header(std::span<const uint8_t> p, BatchHeader& out);

struct ValidatedBatch {
  size_t position = 0;
  BatchHeader header;
};

struct Validation {
  ErrorCode error = ErrorCode::NONE;
  std::string message;
  std::vector<ValidatedBatch> batches;
  int64_t record_count = 0;  // sum of lastOffsetDelta + 1 (offsets the payload takes)
  int64_t max_timestamp = -1;
  int64_t offset_of_max_timestamp_delta = 0;  // offset delta from the first offset of the payload
};

// Validates a produce payload: a sequence of whole v2 batches. Sizes, magic
// (0/1 → UNSUPPORTED_VERSION), CRC32C, record count vs lastOffsetDelta and, for
// uncompressed batches, that every record parses (without allocating). A batch
// larger than max_batch_bytes → MESSAGE_TOO_LARGE. Others → CORRUPT_MESSAGE.
Validation validate_batches(std::span<const uint8_t> data, int32_t max_batch_bytes);

// Rewrites baseOffset and partitionLeaderEpoch of each batch in place,
// consecutively from first_offset; returns the next offset.
int64_t assign_offsets(std::span<uint8_t> data, const Validation& v, int64_t first_offset, int32_t leader_epoch);

// For LogAppendTime: sets the timestamp-type bit and maxTimestamp, recomputes the CRC.
void set_log_append_time(std::span<uint8_t> data, const Validation& v, int64_t now_ms);

struct Header {
  std::string key;
  std::optional<std::vector<uint8_t>> value;
  bool operator==(const Header&) const = default;
};

struct Record {
  int64_t offset = 0;
  int64_t timestamp = 0;
  std::optional<std::vector<uint8_t>> key;
  std::optional<std::vector<uint8_t>> value;
  std::vector<Header> headers;
};

// Decodes every record of one whole batch (decompressing if needed). Throws DecodeError.
std::vector<Record> decode_records(std::span<const uint8_t> batch);

// Calls f(header, batch bytes) for each whole batch of a fetched blob; stops
// at a trailing partial batch (fetch responses may end with one).
template <class F>
void for_each_batch(std::span<const uint8_t> blob, F&& f) {
  size_t pos = 0;
  while (blob.size() - pos >= kHeaderSize) {
    BatchHeader h;
    parse_header(blob.subspan(pos), h);
    if (h.batch_length < 0) return;
    size_t total = kLogOverhead + static_cast<size_t>(h.batch_length);
    if (blob.size() - pos < total) return;
    f(h, blob.subspan(pos, total));
    pos += total;
  }
}

class BatchBuilder {
 public:
  explicit BatchBuilder(Compression c = Compression::NONE, int64_t base_offset = 0);
  void set_producer(int64_t producer_id, int16_t epoch, int32_t base_sequence);
  void set_control(bool control) { control_ = control; }
  void set_transactional(bool t) { transactional_ = t; }
  void set_partition_leader_epoch(int32_t e) { leader_epoch_ = e; }
  void add(int64_t timestamp, std::optional<std::span<const uint8_t>> key, std::optional<std::span<const uint8_t>> value,
           const std::vector<Header>& headers = {});
  size_t record_count() const { return count_; }
  size_t estimated_size() const { return kHeaderSize + records_.size(); }
  std::vector<uint8_t> build();  // a complete batch with its CRC

 private:
  Compression compression_;
  int64_t base_offset_;
  int64_t producer_id_ = -1;
  int16_t producer_epoch_ = -1;
  int32_t base_sequence_ = -1;
  int32_t leader_epoch_ = -1;
  bool control_ = false;
  bool transactional_ = false;
  int64_t base_timestamp_ = -1;
  int64_t max_timestamp_ = -1;
  size_t count_ = 0;
  std::vector<uint8_t> records_;
};

}  // namespace flotilla::records
