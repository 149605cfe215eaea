#include "tools/dump_log.h"

#include <algorithm>
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
#include "protocol/metadata_record.h"
#include "protocol/metadata_records.h"
#include "protocol/record_batch.h"
#include "tools/dump_log_internal.h"
#include "tools/mapped_file.h"

namespace flotilla::tools {

namespace dump {

// ------------------------------------------------------------ files

std::string java_file_string(const std::string& arg) {
  std::string out;
  for (char c : arg) {
    if (c == '/' && !out.empty() && out.back() == '/') continue;
    out += c;
  }
  if (out.size() > 1 && out.back() == '/') out.pop_back();
  return out;
}

std::vector<std::pair<int64_t, int64_t>>& pairs_for(
    std::vector<std::pair<std::string, std::vector<std::pair<int64_t, int64_t>>>>& list, const std::string& key) {
  for (auto& [k, v] : list)
    if (k == key) return v;
  list.emplace_back(key, std::vector<std::pair<int64_t, int64_t>>{});
  return list.back().second;
}

namespace {

std::string base_name(const std::string& path) {
  auto p = path.rfind('/');
  return p == std::string::npos ? path : path.substr(p + 1);
}

bool all_zero(std::span<const uint8_t> s) {
  return std::all_of(s.begin(), s.end(), [](uint8_t b) { return b == 0; });
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
      return std::string(" endTxnMarker: ") + protocol::control_type_constant(type) + " coordinatorEpoch: " + std::to_string(coordinator_epoch);
    }
    case 3: return control_json<msg::SnapshotHeaderRecord>("SnapshotHeader", value);
    case 4: return control_json<msg::SnapshotFooterRecord>("SnapshotFooter", value);
    case 5: return control_json<msg::KRaftVersionRecord>("KRaftVersion", value);
    case 6: return control_json<msg::VotersRecord>("KRaftVoters", value);
    default:
      // LEADER_CHANGE and unknown types: only the type (Kafka 3.9 prints no body).
      return std::string(" controlType: ") + protocol::control_type_constant(type) + "(" + std::to_string(type) + ")";
  }
}

// ------------------------------------------------------------ decoders

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
}  // namespace

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


void for_each_record(const records::BatchHeader& h, std::span<const uint8_t> batch, const std::function<void(const RecordView&)>& f) {
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

namespace {

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

}  // namespace

}  // namespace dump

using namespace dump;  // this file's own pieces, for the two entry points below

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
