// The segment-level pieces every part of the Log shares (storage/segment.h):
// opening files, the sparse indexes a batch adds to, finding a batch by
// offset, trimming a preallocated file.
#include "storage/segment.h"

#include <fcntl.h>

#include <algorithm>
#include <cstring>

#include "common/bytes.h"

namespace flotilla::storage {

namespace fs = std::filesystem;
using records::BatchHeader;

void fail(const std::string& what, const fs::path& p) {
  const int err = errno;
  throw LogDirIoError(what + " " + p.string() + ": " + std::strerror(err), err);
}

int open_file(const fs::path& p, int flags) { return open_log_file(p.string(), flags); }

namespace {

void append_index_entry(Segment& s, int64_t offset, int64_t position, IndexPins& pins) {
  int32_t rel = static_cast<int32_t>(offset - s.base_offset);
  s.index.emplace_back(rel, static_cast<int32_t>(position));
  uint8_t e[8];
  store_be32(e, static_cast<uint32_t>(rel));
  store_be32(e + 4, static_cast<uint32_t>(position));
  if (!s.index_file) return;  // in memory only (a segment being built)
  if (!pins.index) pins.index = s.index_file->acquire();
  pwrite_all(pins.index->fd, e, 8, static_cast<int64_t>(s.index.size() - 1) * 8, s.index_file->path());
}

void append_time_entry(Segment& s, int64_t ts, int64_t offset, IndexPins& pins) {
  int32_t rel = static_cast<int32_t>(offset - s.base_offset);
  s.tindex.emplace_back(ts, rel);
  uint8_t e[12];
  store_be64(e, static_cast<uint64_t>(ts));
  store_be32(e + 8, static_cast<uint32_t>(rel));
  if (!s.time_file) return;
  if (!pins.time) pins.time = s.time_file->acquire();
  pwrite_all(pins.time->fd, e, 12, static_cast<int64_t>(s.tindex.size() - 1) * 12, s.time_file->path());
}

}  // namespace

void track_batch(Segment& s, const BatchHeader& h, int64_t pos, int32_t interval, IndexPins& pins) {
  if (s.bytes_since_index >= interval && pos > 0) {
    append_index_entry(s, h.base_offset, pos, pins);
    s.bytes_since_index = 0;
  }
  s.bytes_since_index += h.total_size();
  if (s.first_timestamp < 0) s.first_timestamp = h.max_timestamp;
  if (h.max_timestamp > s.max_timestamp) {
    s.max_timestamp = h.max_timestamp;
    s.max_timestamp_offset = h.last_offset();
    if (s.tindex.empty() || h.max_timestamp > s.tindex.back().first) append_time_entry(s, h.max_timestamp, h.last_offset(), pins);
  }
  s.next_offset = h.last_offset() + 1;
}

int64_t locate(const Segment& s, int fd, int64_t offset, BatchHeader* out) {
  int32_t rel = static_cast<int32_t>(std::max<int64_t>(0, offset - s.base_offset));
  auto it = std::upper_bound(s.index.begin(), s.index.end(), rel, [](int32_t r, const auto& e) { return r < e.first; });
  int64_t pos = it == s.index.begin() ? 0 : std::prev(it)->second;
  BatchHeader h;
  while (pos < s.size) {
    if (!read_header(s, fd, pos, h)) return s.size;
    if (h.last_offset() >= offset) {
      if (out) *out = h;
      return pos;
    }
    pos += h.total_size();
  }
  return s.size;
}

void trim(Segment& s) {
  if (s.allocated <= s.size) return;
  if (::ftruncate(s.file->acquire()->fd, s.size) != 0) fail("cannot trim", s.log_path);
  s.allocated = s.size;
}

}  // namespace flotilla::storage
