#include "tools/dump_log.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <map>
#include <ostream>
#include <stdexcept>
#include <vector>

#include "common/bytes.h"
#include "common/crc32c.h"
#include "protocol/compression.h"
#include "protocol/messages.h"
#include "protocol/metadata_records.h"
#include "protocol/record_batch.h"
#include "tools/commands.h"
#include "tools/mapped_file.h"

namespace flotilla::tools {

namespace {

// Where Kafka's tool would die with an exception: the message is printed to
// stderr and the run ends with exit code 1.
struct DumpError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// ------------------------------------------------------------ Java formatting

void append_utf8(std::string& out, uint32_t cp) {
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xC0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xE0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (cp >> 18));
    out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  }
}

void append_jackson_string(std::string& out, std::string_view s) {
  static const char* hex = "0123456789ABCDEF";
  out += '"';
  for (char ch : s) {
    auto c = static_cast<unsigned char>(ch);
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\b': out += "\\b"; break;
      case '\t': out += "\\t"; break;
      case '\n': out += "\\n"; break;
      case '\f': out += "\\f"; break;
      case '\r': out += "\\r"; break;
      default:
        if (c < 0x20) {
          out += "\\u00";
          out += hex[c >> 4];
          out += hex[c & 15];
        } else {
          out += ch;
        }
    }
  }
  out += '"';
}

void append_jackson(std::string& out, const nlohmann::ordered_json& j) {
  using V = nlohmann::ordered_json::value_t;
  switch (j.type()) {
    case V::null: out += "null"; break;
    case V::boolean: out += j.get<bool>() ? "true" : "false"; break;
    case V::number_integer: out += std::to_string(j.get<int64_t>()); break;
    case V::number_unsigned: out += std::to_string(j.get<uint64_t>()); break;
    case V::number_float: {
      double d = j.get<double>();
      // Jackson quotes the non-finite values (QUOTE_NON_NUMERIC_NUMBERS).
      if (std::isfinite(d)) out += java_double_to_string(d);
      else append_jackson_string(out, java_double_to_string(d));
      break;
    }
    case V::string: append_jackson_string(out, java_utf8(std::span<const uint8_t>(
                                                   reinterpret_cast<const uint8_t*>(j.get_ref<const std::string&>().data()),
                                                   j.get_ref<const std::string&>().size())));
      break;
    case V::array: {
      out += '[';
      bool first = true;
      for (const auto& e : j) {
        if (!first) out += ',';
        first = false;
        append_jackson(out, e);
      }
      out += ']';
      break;
    }
    case V::object: {
      out += '{';
      bool first = true;
      for (const auto& [k, v] : j.items()) {
        if (!first) out += ',';
        first = false;
        append_jackson_string(out, k);
        out += ':';
        append_jackson(out, v);
      }
      out += '}';
      break;
    }
    case V::binary:
    case V::discarded: out += "null"; break;
  }
}

// ------------------------------------------------------------ files

// java.io.File's toString of a path as given: repeated separators collapsed,
// a trailing one dropped.
std::string java_file_string(const std::string& arg) {
  std::string out;
  for (char c : arg) {
    if (c == '/' && !out.empty() && out.back() == '/') continue;
    out += c;
  }
  if (out.size() > 1 && out.back() == '/') out.pop_back();
  return out;
}

std::string base_name(const std::string& path) {
  auto p = path.rfind('/');
  return p == std::string::npos ? path : path.substr(p + 1);
}

// Long.parseLong / Integer.parseInt: optional sign, decimal digits, in range.
template <class T>
T java_parse(std::string_view s) {
  std::string_view digits = s;
  if (!digits.empty() && digits[0] == '+') digits.remove_prefix(1);
  T v{};
  auto [p, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), v);
  if (digits.empty() || ec != std::errc() || p != digits.data() + digits.size() ||
      (s[0] == '+' && digits[0] == '-'))
    throw DumpError("java.lang.NumberFormatException: For input string: \"" + std::string(s) + "\"");
  return v;
}

// ------------------------------------------------------------ records

const char* compression_name(int c) {
  switch (c) {
    case 0: return "none";
    case 1: return "gzip";
    case 2: return "snappy";
    case 3: return "lz4";
    case 4: return "zstd";
  }
  return nullptr;
}

// Kafka's DefaultRecordBatch.incrementSequence: sequences wrap at INT32_MAX to 0.
int32_t increment_sequence(int32_t sequence, int32_t increment) {
  if (sequence > INT32_MAX - increment) return increment - (INT32_MAX - sequence) - 1;
  return sequence + increment;
}

struct RecordView {
  int64_t offset = 0;
  int64_t timestamp = 0;
  int32_t offset_delta = 0;
  std::optional<std::span<const uint8_t>> key, value;
  std::vector<std::string> header_keys;
};

// One record of a v2 batch (Kafka's DefaultRecord.readFrom), with its checks
// and their messages.
RecordView read_record(ByteReader& r, const records::BatchHeader& h) {
  int32_t size = r.get_varint();
  if (size < 0 || static_cast<size_t>(size) > r.remaining())
    throw DumpError("Invalid record size: expected " + std::to_string(size) +
                    " bytes in record payload, but instead the buffer has only " + std::to_string(r.remaining()) +
                    " remaining bytes.");
  ByteReader rec(r.get_span(static_cast<size_t>(size)));
  RecordView v;
  try {
    rec.get_i8();  // attributes (unused in v2)
    int64_t ts_delta = rec.get_varlong();
    v.offset_delta = rec.get_varint();
    v.offset = h.base_offset + v.offset_delta;
    v.timestamp = h.log_append_time() ? h.max_timestamp : h.base_timestamp + ts_delta;
    int32_t klen = rec.get_varint();
    if (klen >= 0) v.key = rec.get_span(static_cast<size_t>(klen));
    int32_t vlen = rec.get_varint();
    if (vlen >= 0) v.value = rec.get_span(static_cast<size_t>(vlen));
    int32_t nh = rec.get_varint();
    if (nh < 0) throw DumpError("Found invalid number of record headers " + std::to_string(nh));
    for (int32_t i = 0; i < nh; ++i) {
      int32_t hk = rec.get_varint();
      if (hk < 0) throw DumpError("Invalid negative header key size " + std::to_string(hk));
      v.header_keys.push_back(java_utf8(rec.get_span(static_cast<size_t>(hk))));
      int32_t hv = rec.get_varint();
      if (hv >= 0) rec.skip(static_cast<size_t>(hv));
    }
  } catch (const DecodeError&) {
    throw DumpError("Found invalid record structure");
  }
  if (!rec.empty())
    throw DumpError("Invalid record size: expected to read " + std::to_string(size) +
                    " bytes in record payload, but instead read " + std::to_string(rec.position()));
  return v;
}

const char* control_type_name(int16_t id) {
  switch (id) {
    case 0: return "ABORT";
    case 1: return "COMMIT";
    case 2: return "LEADER_CHANGE";
    case 3: return "SNAPSHOT_HEADER";
    case 4: return "SNAPSHOT_FOOTER";
    case 5: return "KRAFT_VERSION";
    case 6: return "KRAFT_VOTERS";
  }
  return "UNKNOWN";
}

// A KRaft control body, decoded at version 0 as Kafka's ControlRecordUtils
// does, printed by its JsonConverter at the version its Version field names.
template <class T>
std::string control_json(const char* label, std::span<const uint8_t> value) {
  T m;
  try {
    ByteReader r(value);
    m.decode(r, 0);
  } catch (const DecodeError& e) {
    throw DumpError(std::string("Failed to decode ") + label + " control record: " + e.what());
  }
  if (m.version < T::kMinVersion || m.version > T::kMaxVersion)
    throw DumpError("org.apache.kafka.common.errors.UnsupportedVersionException: Can't write version " +
                    std::to_string(m.version) + " of " + label + "Record");
  return std::string(" ") + label + " " + jackson_json(msg::to_json(m, m.version));
}

// The text after the record's metadata for a record of a control batch.
std::string describe_control_record(const RecordView& rec) {
  if (!rec.key || rec.key->size() < 4)
    throw DumpError("Invalid value size found for end control record key. Must have at least 4 bytes, but found only " +
                    std::to_string(rec.key ? rec.key->size() : 0));
  ByteReader kr(*rec.key);
  int16_t key_version = kr.get_i16();
  if (key_version < 0)
    throw DumpError("Invalid version found for control record: " + std::to_string(key_version) +
                    ". May indicate data corruption");
  int16_t type = kr.get_i16();
  std::span<const uint8_t> value = rec.value.value_or(std::span<const uint8_t>{});
  switch (type) {
    case 0:
    case 1: {
      if (value.size() < 6)
        throw DumpError("Invalid value size found for end transaction marker. Must have at least 6 bytes, but found only " +
                        std::to_string(value.size()));
      ByteReader vr(value);
      int16_t version = vr.get_i16();
      if (version < 0)
        throw DumpError("Invalid version found for end transaction marker: " + std::to_string(version) +
                        ". May indicate data corruption");
      int32_t coordinator_epoch = vr.get_i32();
      return std::string(" endTxnMarker: ") + control_type_name(type) + " coordinatorEpoch: " + std::to_string(coordinator_epoch);
    }
    case 3: return control_json<msg::SnapshotHeaderRecord>("SnapshotHeader", value);
    case 4: return control_json<msg::SnapshotFooterRecord>("SnapshotFooter", value);
    case 5: return control_json<msg::KRaftVersionRecord>("KRaftVersion", value);
    case 6: return control_json<msg::VotersRecord>("KRaftVoters", value);
    default:
      // LEADER_CHANGE and unknown types: only the type (Kafka 3.9 prints no body).
      return std::string(" controlType: ") + control_type_name(type) + "(" + std::to_string(type) + ")";
  }
}

// ------------------------------------------------------------ decoders

// --key-decoder-class / --value-decoder-class: the decoders Kafka ships
// that print text (StringDecoder, IntegerDecoder, LongDecoder).
enum class Decoder { STRING, INTEGER, LONG };

struct DecoderChoice {
  Decoder decoder = Decoder::STRING;
  const char* deprecation = nullptr;  // printed (to stdout) when the old class name was given
};

DecoderChoice decoder_for(const std::optional<std::string>& cls) {
  if (!cls || cls->empty() || *cls == "org.apache.kafka.tools.api.StringDecoder") return {};
  if (*cls == "org.apache.kafka.tools.api.IntegerDecoder") return {Decoder::INTEGER, nullptr};
  if (*cls == "org.apache.kafka.tools.api.LongDecoder") return {Decoder::LONG, nullptr};
  if (*cls == "kafka.serializer.StringDecoder")
    return {Decoder::STRING,
            "kafka.serializer.StringDecoder is deprecated. Please use org.apache.kafka.tools.api.StringDecoder instead"};
  if (*cls == "kafka.serializer.IntegerDecoder")
    return {Decoder::INTEGER,
            "kafka.serializer.IntegerDecoder is deprecated. Please use org.apache.kafka.tools.api.IntegerDecoder instead"};
  if (*cls == "kafka.serializer.LongDecoder")
    return {Decoder::LONG, "kafka.serializer.LongDecoder is deprecated. Please use org.apache.kafka.tools.api.LongDecoder instead"};
  throw DumpError("unsupported decoder class " + *cls +
                  " (built in: org.apache.kafka.tools.api.StringDecoder, IntegerDecoder, LongDecoder)");
}

std::string decode_with(Decoder d, std::span<const uint8_t> bytes) {
  switch (d) {
    case Decoder::STRING: return java_utf8(bytes);
    case Decoder::INTEGER: {
      // ByteBuffer.wrap(bytes).getInt(): the first four bytes.
      if (bytes.size() < 4) throw DumpError("java.nio.BufferUnderflowException");
      return std::to_string(ByteReader(bytes).get_i32());
    }
    case Decoder::LONG: {
      if (bytes.size() < 8) throw DumpError("java.nio.BufferUnderflowException");
      return std::to_string(ByteReader(bytes).get_i64());
    }
  }
  return {};
}

// ------------------------------------------------------------ dumping

struct Context {
  Context(const DumpLogOptions& opts, std::ostream& os) : o(opts), out(os) {}
  const DumpLogOptions& o;
  std::ostream& out;
  bool print_contents = false;
  bool deep = false;
  Decoder key_decoder = Decoder::STRING, value_decoder = Decoder::STRING;
  // Reported on stderr after every file, as Kafka does: absolute path ->
  // (previous offset, next offset) pairs, printed latest first.
  std::vector<std::pair<std::string, std::vector<std::pair<int64_t, int64_t>>>> non_consecutive;
  std::vector<std::pair<std::string, std::vector<std::pair<int64_t, int64_t>>>> index_mismatches;  // latest first
  // TimeIndexDumpErrors: (index timestamp, log timestamp), (index timestamp,
  // previous index timestamp), (indexed offset, log offset found), in order.
  std::vector<std::pair<std::string, std::vector<std::pair<int64_t, int64_t>>>> time_mismatches, out_of_order,
      shallow_offset_not_found;
};

std::vector<std::pair<int64_t, int64_t>>& pairs_for(
    std::vector<std::pair<std::string, std::vector<std::pair<int64_t, int64_t>>>>& list, const std::string& key) {
  for (auto& [k, v] : list)
    if (k == key) return v;
  list.emplace_back(key, std::vector<std::pair<int64_t, int64_t>>{});
  return list.back().second;
}

bool all_zero(std::span<const uint8_t> s) {
  return std::all_of(s.begin(), s.end(), [](uint8_t b) { return b == 0; });
}

// Kafka's FileLogInputStream over [0, end): the next whole batch at pos, or
// nothing at the end (or before a trailing partial batch).
// kHeaderSizeUpToMagic: offset + length + partitionLeaderEpoch + magic.
constexpr size_t kHeaderSizeUpToMagic = 17;
constexpr int32_t kMinRecordOverhead = 14;  // LegacyRecord.RECORD_OVERHEAD_V0

std::optional<std::span<const uint8_t>> next_batch(std::span<const uint8_t> data, size_t pos, size_t end,
                                                   const std::string& file) {
  if (end < kHeaderSizeUpToMagic || pos >= end - kHeaderSizeUpToMagic) return std::nullopt;
  ByteReader r(data.subspan(pos));
  r.get_i64();
  int32_t size = r.get_i32();
  // Flotilla's preallocated metadata segment: the log ends where the zeros begin.
  if (size == 0 && all_zero(data.subspan(pos))) return std::nullopt;
  if (size < kMinRecordOverhead)
    throw DumpError("org.apache.kafka.common.errors.CorruptRecordException: Found record size " + std::to_string(size) +
                    " smaller than minimum record overhead (" + std::to_string(kMinRecordOverhead) + ") in file " + file +
                    ".");
  if (pos + records::kLogOverhead + static_cast<size_t>(size) > end) return std::nullopt;
  return data.subspan(pos, records::kLogOverhead + static_cast<size_t>(size));
}

void print_batch_line(std::string& line, const records::BatchHeader& h, std::span<const uint8_t> batch, size_t position) {
  int32_t last_sequence = h.base_sequence == -1 ? -1 : increment_sequence(h.base_sequence, h.last_offset_delta);
  bool delete_horizon = h.attributes & 0x40;
  const char* codec = compression_name(h.attributes & records::kCompressionMask);
  if (!codec)
    throw DumpError("java.lang.IllegalArgumentException: Unknown compression type id: " +
                    std::to_string(h.attributes & records::kCompressionMask));
  bool valid = batch.size() >= records::kHeaderSize &&
               h.crc == crc32c(batch.data() + records::kAttributesOffset, batch.size() - records::kAttributesOffset);
  line += "baseOffset: " + std::to_string(h.base_offset) + " lastOffset: " + std::to_string(h.last_offset()) +
          " count: " + std::to_string(h.records_count) + " baseSequence: " + std::to_string(h.base_sequence) +
          " lastSequence: " + std::to_string(last_sequence) + " producerId: " + std::to_string(h.producer_id) +
          " producerEpoch: " + std::to_string(h.producer_epoch) + " partitionLeaderEpoch: " +
          std::to_string(h.partition_leader_epoch) + " isTransactional: " + (h.is_transactional() ? "true" : "false") +
          " isControl: " + (h.is_control() ? "true" : "false") + " deleteHorizonMs: " +
          (delete_horizon ? "OptionalLong[" + std::to_string(h.base_timestamp) + "]" : std::string("OptionalLong.empty"));
  line += " position: " + std::to_string(position) + " " + (h.log_append_time() ? "LogAppendTime" : "CreateTime") + ": " +
          std::to_string(h.max_timestamp) + " size: " + std::to_string(batch.size()) + " magic: " +
          std::to_string(h.magic) + " compresscodec: " + codec + " crc: " + std::to_string(h.crc) +
          " isvalid: " + (valid ? "true" : "false") + "\n";
}

// Calls f(record) for every record of a v2 batch, as Kafka's
// DefaultRecordBatch iterator yields them (decompressing first).
template <class F>
void for_each_record(const records::BatchHeader& h, std::span<const uint8_t> batch, F&& f) {
  if (h.records_count == 0) return;
  if (h.records_count < 0)
    throw DumpError("Found invalid record count " + std::to_string(h.records_count) + " in magic v2 batch");
  std::span<const uint8_t> body = batch.subspan(records::kHeaderSize);
  std::vector<uint8_t> inflated;
  if (h.compression() != records::Compression::NONE) {
    try {
      inflated = records::decompress(h.compression(), body);
    } catch (const DecodeError& e) {
      const char* codec = compression_name(h.attributes & records::kCompressionMask);
      throw DumpError(std::string("failed to decompress the ") + (codec ? codec : "unknown") + " batch at offset " +
                      std::to_string(h.base_offset) + ": " + e.what());
    }
    body = inflated;
  }
  ByteReader r(body);
  for (int32_t i = 0; i < h.records_count; ++i) {
    RecordView rec;
    try {
      rec = read_record(r, h);
    } catch (const DecodeError&) {
      throw DumpError("Found invalid record structure");
    }
    // The last record must end the batch (Kafka checks before returning it).
    if (i + 1 == h.records_count && !r.empty())
      throw DumpError("Incorrect declared batch size, records still remaining in file");
    f(rec);
  }
}

void dump_records(Context& ctx, const std::string& abs_path, const records::BatchHeader& h, std::span<const uint8_t> batch,
                  int64_t& last_offset) {
  for_each_record(h, batch, [&](const RecordView& rec) {
    if (last_offset != -1 && rec.offset != last_offset + 1)
      pairs_for(ctx.non_consecutive, abs_path).emplace_back(last_offset, rec.offset);
    last_offset = rec.offset;

    std::string line;
    std::string prefix = "| ";
    if (!ctx.o.skip_record_metadata) {
      int32_t key_size = rec.key ? static_cast<int32_t>(rec.key->size()) : -1;
      int32_t value_size = rec.value ? static_cast<int32_t>(rec.value->size()) : -1;
      line += prefix + "offset: " + std::to_string(rec.offset) + " " + (h.log_append_time() ? "LogAppendTime" : "CreateTime") +
              ": " + std::to_string(rec.timestamp) + " keySize: " + std::to_string(key_size) +
              " valueSize: " + std::to_string(value_size);
      prefix = " ";
      int32_t sequence = h.base_sequence >= 0 ? increment_sequence(h.base_sequence, rec.offset_delta) : -1;
      line += " sequence: " + std::to_string(sequence) + " headerKeys: [";
      for (size_t k = 0; k < rec.header_keys.size(); ++k) {
        if (k) line += ',';
        line += rec.header_keys[k];
      }
      line += "]";
      if (h.is_control()) line += describe_control_record(rec);
    }
    if (ctx.print_contents && !h.is_control()) {
      if (ctx.o.cluster_metadata_decoder) {
        // Metadata records have no keys; the value decodes or reports its error.
        line += " payload: " + format_metadata_record(rec.value, rec.offset);
      } else {
        if (rec.key) {
          line += prefix + "key: " + decode_with(ctx.key_decoder, *rec.key);
          prefix = " ";
        }
        if (rec.value) line += " payload: " + decode_with(ctx.value_decoder, *rec.value);
      }
    }
    line += '\n';
    ctx.out << line;
  });
}

void dump_log_file(Context& ctx, const std::string& file, const std::string& name) {
  if (name.size() >= 4 && name.compare(name.size() - 4, 4, ".log") == 0) {
    ctx.out << "Log starting offset: " << java_parse<int64_t>(name.substr(0, name.find('.'))) << "\n";
  } else if (name == "bootstrap.checkpoint") {
    ctx.out << "KRaft bootstrap snapshot\n";
  } else {
    // <20-digit end offset>-<10-digit epoch>.checkpoint
    if (name.size() < 31) throw DumpError("java.lang.StringIndexOutOfBoundsException: " + name);
    ctx.out << "Snapshot end offset: " << java_parse<int64_t>(name.substr(0, 20))
            << ", epoch: " << java_parse<int32_t>(name.substr(21, 10)) << "\n";
  }
  MappedFile mf(file);
  auto data = mf.bytes();
  size_t end = std::min(data.size(), static_cast<size_t>(std::max(0, ctx.o.max_bytes)));
  std::string abs_path = std::filesystem::absolute(file).string();
  size_t pos = 0;
  int64_t last_offset = -1;
  bool zero_tail = false;
  while (true) {
    auto batch = next_batch(data, pos, end, java_file_string(file));
    if (!batch) {
      zero_tail = pos < data.size() && all_zero(data.subspan(pos));
      break;
    }
    records::BatchHeader h;
    int8_t magic = static_cast<int8_t>((*batch)[16]);
    if (magic < 2)
      throw DumpError("record batch magic " + std::to_string(magic) + " at position " + std::to_string(pos) +
                      ": only magic 2 batches are supported");
    if (!records::parse_header(*batch, h))
      throw DumpError("java.io.EOFException: Failed to read `record batch header` from file channel: batch at position " +
                      std::to_string(pos) + " is shorter than its header");
    std::string line;
    print_batch_line(line, h, *batch, pos);
    ctx.out << line;
    if (ctx.deep) dump_records(ctx, abs_path, h, *batch, last_offset);
    pos += batch->size();
  }
  size_t trailing = end - std::min(end, pos);
  if (trailing > 0 && ctx.o.max_bytes == INT32_MAX && !zero_tail)
    ctx.out << "Found " << trailing << " invalid bytes at the end of " << name << "\n";
}

// ------------------------------------------------------------ indexes

// A segment's offset index as Kafka opens it read-only: 8-byte entries
// (offset relative to the base offset, file position), as many as whole
// entries fit in the file.
struct OffsetIndexView {
  int64_t base = 0;
  std::span<const uint8_t> bytes;
  size_t entries() const { return bytes.size() / 8; }
  std::pair<int64_t, int32_t> entry(size_t i) const {
    ByteReader r(bytes.subspan(i * 8, 8));
    int64_t rel = r.get_i32();
    return {base + rel, r.get_i32()};
  }
  // OffsetIndex.lookup: the last entry whose offset <= target (binary search,
  // as Kafka searches), or (base, 0).
  std::pair<int64_t, int32_t> lookup(int64_t target) const {
    size_t n = entries();
    if (n == 0 || entry(0).first > target) return {base, 0};
    size_t lo = 0, hi = n - 1;
    while (lo < hi) {
      size_t mid = (lo + hi + 1) / 2;
      if (entry(mid).first <= target) lo = mid;
      else hi = mid - 1;
    }
    return entry(lo);
  }
};

// "<dir>/<base>.log" beside an index file, and the base offset its name holds.
std::pair<std::string, int64_t> segment_of(const std::string& file, const std::string& name, const char* suffix) {
  std::string stem = name.substr(0, name.find('.'));
  std::string dir = std::filesystem::absolute(file).parent_path().string();
  return {dir + "/" + stem + suffix, java_parse<int64_t>(stem)};
}

// `.index` (DumpLogSegments.dumpIndex): each entry, checked against the last
// offset of the batch at its position; it stops at the first all-zero entry
// after the first (a preallocated tail).
void dump_index_file(Context& ctx, const std::string& file, const std::string& name) {
  auto [log_path, base] = segment_of(file, name, ".log");
  MappedFile log(log_path);
  MappedFile index_file(file);
  OffsetIndexView index{base, index_file.bytes()};
  std::string abs_path = std::filesystem::absolute(file).string();
  if (index.entries() == 0) {
    ctx.out << java_file_string(file) << " is empty.\n";
    return;
  }
  if (ctx.o.index_sanity_check) {
    int64_t last = index.entry(index.entries() - 1).first;
    if (last < base)
      throw DumpError("org.apache.kafka.common.errors.CorruptIndexException: Corrupt index found, index file " + abs_path +
                      " has non-zero size but the last offset is " + std::to_string(last) +
                      " which is less than the base offset " + std::to_string(base));
    if (index.bytes.size() % 8 != 0)
      throw DumpError("org.apache.kafka.common.errors.CorruptIndexException: Index file " + abs_path + " is corrupt, found " +
                      std::to_string(index.bytes.size()) + " bytes which is neither positive nor a multiple of 8");
    ctx.out << java_file_string(file) << " passed sanity check.\n";
    return;
  }
  auto data = log.bytes();
  for (size_t i = 0; i < index.entries(); ++i) {
    auto [offset, position] = index.entry(i);
    if (offset == base && i > 0) return;
    // fileRecords.slice(position, maxMessageSize): the first batch there.
    size_t start = std::min(data.size(), static_cast<size_t>(std::max(0, position)));
    size_t end = std::min(data.size(), start + static_cast<size_t>(std::max(0, ctx.o.max_message_size)));
    auto batch = next_batch(data.subspan(0, end), start, end, log_path);
    records::BatchHeader h;
    if (!batch || !records::parse_header(*batch, h)) throw DumpError("java.util.NoSuchElementException");
    if (h.last_offset() != offset) pairs_for(ctx.index_mismatches, abs_path).emplace_back(offset, h.last_offset());
    if (!ctx.o.verify_index_only) ctx.out << "offset: " << offset << " position: " << position << "\n";
  }
}

// `.timeindex` (DumpLogSegments.dumpTimeIndex): 12-byte entries (timestamp,
// relative offset); each is checked against the batch whose last offset it
// names (found through the offset index): the batch's largest record
// timestamp must equal it and timestamps must increase.
void dump_time_index_file(Context& ctx, const std::string& file, const std::string& name) {
  auto [log_path, base] = segment_of(file, name, ".log");
  MappedFile log(log_path);
  MappedFile offset_index_file(segment_of(file, name, ".index").first);
  MappedFile time_index(file);
  OffsetIndexView index{base, offset_index_file.bytes()};
  auto tbytes = time_index.bytes();
  size_t entries = tbytes.size() / 12;
  std::string abs_path = std::filesystem::absolute(file).string();
  auto tentry = [&](size_t i) {
    ByteReader r(tbytes.subspan(i * 12, 12));
    int64_t ts = r.get_i64();
    return std::pair<int64_t, int64_t>{ts, base + r.get_i32()};
  };
  if (ctx.o.index_sanity_check) {
    if (entries != 0) {
      auto [last_ts, last_offset] = tentry(entries - 1);
      int64_t first_ts = tentry(0).first;
      if (last_ts < first_ts)
        throw DumpError("org.apache.kafka.common.errors.CorruptIndexException: Corrupt time index found, time index file (" +
                        abs_path + ") has non-zero size but the last timestamp is " + std::to_string(last_ts) +
                        " which is less than the first timestamp " + std::to_string(first_ts));
      if (last_offset < base)
        throw DumpError("org.apache.kafka.common.errors.CorruptIndexException: Corrupt time index found, time index file (" +
                        abs_path + ") has non-zero size but the last offset is " + std::to_string(last_offset) +
                        " which is less than the first offset " + std::to_string(base));
    }
    if (tbytes.size() % 12 != 0)
      throw DumpError("org.apache.kafka.common.errors.CorruptIndexException: Time index file " + abs_path +
                      " is corrupt, found " + std::to_string(tbytes.size()) +
                      " bytes which is neither positive nor a multiple of 12");
    ctx.out << java_file_string(file) << " passed sanity check.\n";
    return;
  }
  auto data = log.bytes();
  int64_t prev_timestamp = -1;
  for (size_t i = 0; i < entries; ++i) {
    auto [timestamp, offset] = tentry(i);
    if (offset == base && i > 0) return;
    size_t pos = std::min(data.size(), static_cast<size_t>(std::max(0, index.lookup(offset).second)));
    // The first batch from there whose last offset reaches the entry's.
    std::optional<std::pair<records::BatchHeader, std::span<const uint8_t>>> found;
    while (auto batch = next_batch(data, pos, data.size(), log_path)) {
      records::BatchHeader h;
      if (!records::parse_header(*batch, h)) break;
      if (h.last_offset() >= offset) {
        found.emplace(h, *batch);
        break;
      }
      pos += batch->size();
    }
    if (!found) {
      pairs_for(ctx.shallow_offset_not_found, abs_path).emplace_back(offset, -1);
    } else if (found->first.last_offset() != offset) {
      pairs_for(ctx.shallow_offset_not_found, abs_path).emplace_back(offset, found->first.last_offset());
    } else {
      int64_t max_timestamp = -1;
      for_each_record(found->first, found->second,
                      [&](const RecordView& rec) { max_timestamp = std::max(max_timestamp, rec.timestamp); });
      if (max_timestamp != timestamp) pairs_for(ctx.time_mismatches, abs_path).emplace_back(timestamp, max_timestamp);
      if (prev_timestamp >= timestamp) pairs_for(ctx.out_of_order, abs_path).emplace_back(timestamp, prev_timestamp);
    }
    if (!ctx.o.verify_index_only) ctx.out << "timestamp: " << timestamp << " offset: " << offset << "\n";
    prev_timestamp = timestamp;
  }
}

}  // namespace

// ------------------------------------------------------------ public helpers

std::string java_double_to_string(double d) {
  if (std::isnan(d)) return "NaN";
  if (std::isinf(d)) return d > 0 ? "Infinity" : "-Infinity";
  if (d == 0) return std::signbit(d) ? "-0.0" : "0.0";
  char buf[64];
  auto res = std::to_chars(buf, buf + sizeof buf, d, std::chars_format::scientific);
  std::string sci(buf, res.ptr);
  // Java prints at least two significant digits; when the shortest form has
  // one, it takes the two-digit decimal nearest the value if that reads back
  // (4.9E-324 rather than 5.0E-324).
  auto epos = sci.find('e');
  std::string mant = sci.substr(0, epos);
  int exp10 = std::stoi(sci.substr(epos + 1));
  std::string digits;
  for (char c : mant)
    if (c >= '0' && c <= '9') digits += c;
  bool negative = mant[0] == '-';
  if (digits.size() == 1) {
    auto r2 = std::to_chars(buf, buf + sizeof buf, d, std::chars_format::scientific, 1);
    std::string two(buf, r2.ptr);
    double back = std::strtod(two.c_str(), nullptr);
    if (back == d) {
      auto e2 = two.find('e');
      std::string m2 = two.substr(0, e2);
      digits.clear();
      for (char c : m2)
        if (c >= '0' && c <= '9') digits += c;
      exp10 = std::stoi(two.substr(e2 + 1));
    }
  }
  while (digits.size() > 1 && digits.back() == '0') digits.pop_back();
  std::string out = negative ? "-" : "";
  double a = std::fabs(d);
  if (a >= 1e-3 && a < 1e7) {
    if (exp10 >= 0) {
      std::string int_part = digits.substr(0, std::min(digits.size(), static_cast<size_t>(exp10 + 1)));
      while (int_part.size() < static_cast<size_t>(exp10 + 1)) int_part += '0';
      std::string frac = digits.size() > static_cast<size_t>(exp10 + 1) ? digits.substr(exp10 + 1) : "0";
      out += int_part + "." + frac;
    } else {
      out += "0." + std::string(static_cast<size_t>(-exp10 - 1), '0') + digits;
    }
  } else {
    out += digits.substr(0, 1) + "." + (digits.size() > 1 ? digits.substr(1) : "0") + "E" + std::to_string(exp10);
  }
  return out;
}

std::string java_utf8(std::span<const uint8_t> s) {
  // The decisions of Java's String(byte[], UTF_8) decoder (JDK 11-25): how
  // many bytes each U+FFFD replaces, and that a truncated sequence at the end
  // replaces the rest of the input, differ from the Unicode "maximal subpart"
  // rule; users diff payloads against Kafka's output, so these are followed.
  auto cont = [](uint8_t b) { return (b & 0xC0) == 0x80; };
  std::string out;
  out.reserve(s.size());
  const size_t n = s.size();
  size_t i = 0;
  while (i < n) {
    const size_t start = i;
    const uint8_t b1 = s[i++];
    if (b1 < 0x80) {
      out += static_cast<char>(b1);
    } else if (b1 >= 0xC2 && b1 <= 0xDF) {
      if (i >= n) {
        append_utf8(out, 0xFFFD);
        break;
      }
      if (cont(s[i])) {
        out.append(reinterpret_cast<const char*>(s.data() + start), 2);
        ++i;
      } else {
        append_utf8(out, 0xFFFD);  // the next byte starts afresh
      }
    } else if (b1 >= 0xE0 && b1 <= 0xEF) {
      // E0 80..9F is an overlong form: the lead byte alone is replaced.
      auto bad_second = [&](uint8_t b2) { return (b1 == 0xE0 && (b2 & 0xE0) == 0x80) || !cont(b2); };
      if (i + 1 < n) {
        uint8_t b2 = s[i], b3 = s[i + 1];
        if (bad_second(b2) || !cont(b3)) {
          append_utf8(out, 0xFFFD);
          i = start + (bad_second(b2) ? 1 : 2);
        } else {
          uint32_t c = ((b1 & 0x0Fu) << 12) | ((b2 & 0x3Fu) << 6) | (b3 & 0x3Fu);
          if (c >= 0xD800 && c <= 0xDFFF) append_utf8(out, 0xFFFD);  // a surrogate: all three bytes
          else out.append(reinterpret_cast<const char*>(s.data() + start), 3);
          i = start + 3;
        }
      } else if (i < n && bad_second(s[i])) {
        append_utf8(out, 0xFFFD);
      } else {
        append_utf8(out, 0xFFFD);  // truncated at the end: the rest is dropped
        break;
      }
    } else if (b1 >= 0xF0 && b1 <= 0xF7) {
      auto bad_second = [&](uint8_t b2) {
        return (b1 == 0xF0 && (b2 < 0x90 || b2 > 0xBF)) || (b1 == 0xF4 && (b2 & 0xF0) != 0x80) || !cont(b2);
      };
      if (i + 2 < n) {
        uint8_t b2 = s[i], b3 = s[i + 1], b4 = s[i + 2];
        uint32_t uc = ((b1 & 0x07u) << 18) | ((b2 & 0x3Fu) << 12) | ((b3 & 0x3Fu) << 6) | (b4 & 0x3Fu);
        if (!cont(b2) || !cont(b3) || !cont(b4) || uc < 0x10000 || uc > 0x10FFFF) {
          append_utf8(out, 0xFFFD);
          i = start + ((b1 > 0xF4 || bad_second(b2)) ? 1 : !cont(b3) ? 2 : 3);
        } else {
          out.append(reinterpret_cast<const char*>(s.data() + start), 4);
          i = start + 4;
        }
      } else if (b1 > 0xF4 || (i < n && bad_second(s[i]))) {
        append_utf8(out, 0xFFFD);
      } else {
        // A valid start cut short by the end of the input.
        append_utf8(out, 0xFFFD);
        ++i;
        if (i < n && !cont(s[i])) continue;
        break;
      }
    } else {
      append_utf8(out, 0xFFFD);  // 80..BF, C0, C1, F8..FF
    }
  }
  return out;
}

std::string jackson_json(const nlohmann::ordered_json& j) {
  std::string out;
  append_jackson(out, j);
  return out;
}

std::string format_metadata_record(std::optional<std::span<const uint8_t>> value, int64_t offset) {
  std::string error;
  auto fail = [&](const std::string& why) { return "Error at " + std::to_string(offset) + ", skipping. " + why; };
  std::span<const uint8_t> v = value.value_or(std::span<const uint8_t>{});
  ByteReader r(v);
  // Kafka's AbstractApiMessageSerde.read: three unsigned varints, each at most
  // Short.MAX_VALUE, then the body; nothing may follow it.
  auto read_short = [&](const char* entity) -> int16_t {
    uint64_t x;
    try {
      x = r.get_uvarint();
      if (x > 0xffffffffULL) throw DecodeError("varint too long");
    } catch (const DecodeError&) {
      throw DumpError(std::string("Error while reading ") + entity);
    }
    if (x > 0x7fff) throw DumpError(std::string("Value for ") + entity + " was too large.");
    return static_cast<int16_t>(x);
  };
  try {
    int16_t frame = read_short("frame version");
    if (frame == 0)
      throw DumpError(
          "Could not deserialize metadata record with frame version 0. Note that upgrades from the preview release of "
          "KRaft in 2.8 to newer versions are not supported.");
    if (frame != 1)
      throw DumpError("Could not deserialize metadata record due to unknown frame version " + std::to_string(frame) +
                      "(only frame version 1 is supported)");
    int16_t api_key = read_short("type");
    int16_t version = read_short("version");
    if (!protocol::metadata_record_type_name(api_key))
      throw DumpError("org.apache.kafka.common.errors.UnsupportedVersionException: Unknown metadata id " +
                      std::to_string(api_key));
    protocol::MetadataRecordVariant rec;
    try {
      protocol::decode_metadata_body(api_key, version, r, rec);
    } catch (const DecodeError&) {
      throw DumpError("Failed to deserialize record with type " + std::to_string(api_key));
    }
    if (!r.empty())
      throw DumpError("Found " + std::to_string(r.remaining()) + " byte(s) of garbage after " + std::to_string(api_key));
    nlohmann::ordered_json j = nlohmann::ordered_json::object();
    j["type"] = protocol::metadata_record_type_name(api_key);
    j["version"] = version;
    j["data"] = std::visit([&](const auto& m) { return msg::to_json(m, version); }, rec);
    return jackson_json(j);
  } catch (const DumpError& e) {
    return fail(e.what());
  }
}

int run_dump_log(const DumpLogOptions& o, std::ostream& out, std::ostream& err) {
  if (o.offsets_decoder || o.transaction_log_decoder || o.remote_log_metadata_decoder) {
    err << "dump-log: --offsets-decoder, --transaction-log-decoder and --remote-log-metadata-decoder are not supported "
           "(Flotilla has no such internal topics yet)\n";
    return 1;
  }
  Context ctx(o, out);
  bool decoder_given = o.key_decoder_class.has_value() || o.value_decoder_class.has_value();
  ctx.print_contents = o.print_data_log || o.cluster_metadata_decoder || decoder_given;
  ctx.deep = o.deep_iteration || ctx.print_contents;
  DecoderChoice key_choice, value_choice;
  try {
    value_choice = decoder_for(o.value_decoder_class);
    key_choice = decoder_for(o.key_decoder_class);
  } catch (const DumpError& e) {
    err << "dump-log: " << e.what() << "\n";
    return 1;
  }
  ctx.key_decoder = key_choice.decoder;
  ctx.value_decoder = value_choice.decoder;

  // Java's String.split(","): trailing empty names are dropped.
  std::vector<std::string> files;
  {
    std::string cur;
    for (char c : o.files) {
      if (c == ',') {
        files.push_back(cur);
        cur.clear();
      } else {
        cur += c;
      }
    }
    files.push_back(cur);
    while (!files.empty() && files.back().empty()) files.pop_back();
  }

  int rc = 0;
  for (const auto& arg : files) {
    std::string shown = java_file_string(arg);
    out << "Dumping " << shown << "\n";
    std::string name = base_name(shown);
    auto dot = name.rfind('.');
    std::string suffix = dot == std::string::npos ? "" : name.substr(dot);
    try {
      if (suffix == ".log" || suffix == ".checkpoint") {
        // The decoders are made per file, which is when Kafka prints its
        // deprecation notes (value decoder first).
        if (!o.cluster_metadata_decoder) {
          if (value_choice.deprecation) out << value_choice.deprecation << "\n";
          if (key_choice.deprecation) out << key_choice.deprecation << "\n";
        }
        dump_log_file(ctx, arg, name);
      } else if (suffix == ".index") {
        dump_index_file(ctx, arg, name);
      } else if (suffix == ".timeindex") {
        dump_time_index_file(ctx, arg, name);
      } else {
        out.flush();
        err << "Ignoring unknown file " << shown << "\n";
      }
    } catch (const DumpError& e) {
      out.flush();
      err << "Error dumping " << shown << ": " << e.what() << "\n";
      rc = 1;
      break;
    } catch (const std::exception& e) {
      out.flush();
      err << "Error dumping " << shown << ": " << e.what() << "\n";
      rc = 1;
      break;
    }
  }
  out.flush();
  // Kafka collects these pairs by prepending, so the latest comes first.
  for (const auto& [file, list] : ctx.index_mismatches) {
    err << "Mismatches in :" << file << "\n";
    for (auto it = list.rbegin(); it != list.rend(); ++it)
      err << "  Index offset: " << it->first << ", log offset: " << it->second << "\n";
  }
  for (const auto& [file, list] : ctx.time_mismatches) {
    err << "Found timestamp mismatch in :" << file << "\n";
    for (const auto& [index_ts, log_ts] : list)
      err << "  Index timestamp: " << index_ts << ", log timestamp: " << log_ts << "\n";
  }
  for (const auto& [file, list] : ctx.out_of_order) {
    err << "Found out of order timestamp in :" << file << "\n";
    for (const auto& [index_ts, prev_ts] : list)
      err << "  Index timestamp: " << index_ts << ", Previously indexed timestamp: " << prev_ts << "\n";
  }
  for (const auto& [file, list] : ctx.shallow_offset_not_found) {
    err << "The following indexed offsets are not found in the log.\n";
    for (const auto& [indexed, found] : list) err << "Indexed offset: " << indexed << ", found log offset: " << found << "\n";
  }
  for (const auto& [file, list] : ctx.non_consecutive) {
    err << "Non-consecutive offsets in " << file << "\n";
    for (auto it = list.rbegin(); it != list.rend(); ++it) err << "  " << it->first << " is followed by " << it->second << "\n";
  }
  return rc;
}

}  // namespace flotilla::tools
