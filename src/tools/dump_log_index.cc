// `flotilla dump-log` for index files: `.index` (DumpLogSegments.dumpIndex)
// and `.timeindex` (dumpTimeIndex), each entry checked against the batch of
// its segment it names; mismatches are collected in the Context and printed
// after the last file. See tools/dump_log.h for the tool.
#include <algorithm>
#include <filesystem>

#include "common/bytes.h"
#include "tools/dump_log_internal.h"
#include "tools/mapped_file.h"

namespace flotilla::tools::dump {

namespace {

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

}  // namespace

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

}  // namespace flotilla::tools::dump
