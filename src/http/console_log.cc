#include "http/console_log.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>

#include "common/bytes.h"
#include "metadata/record_json.h"
#include "protocol/messages.h"
#include "protocol/metadata_record.h"
#include "protocol/record_batch.h"

namespace flotilla::http {

namespace fs = std::filesystem;

namespace {

struct Fd {
  int fd = -1;
  explicit Fd(const std::string& path) : fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC)) {}
  ~Fd() {
    if (fd >= 0) ::close(fd);
  }
  bool read_at(uint64_t pos, std::vector<uint8_t>& buf, size_t n) const {
    buf.resize(n);
    size_t got = 0;
    while (got < n) {
      ssize_t r = ::pread(fd, buf.data() + got, n - got, static_cast<off_t>(pos + got));
      if (r <= 0) return false;
      got += static_cast<size_t>(r);
    }
    return true;
  }
};

template <class T>
nlohmann::ordered_json control_body(const std::optional<std::vector<uint8_t>>& value) {
  T m;
  ByteReader r(value ? std::span<const uint8_t>(*value) : std::span<const uint8_t>{});
  m.decode(r, 0);  // KRaft control bodies: version 0 framing, the Version field says the rest
  return nlohmann::ordered_json::parse(m.to_json(m.version).dump());
}

// A control record of the metadata log (leader changes, voter sets).
void describe_control(const records::Record& rec, TimelineEntry& e) {
  e.control = true;
  if (!rec.key || rec.key->size() < 4) {
    e.type = "UNKNOWN_CONTROL";
    return;
  }
  ByteReader kr(*rec.key);
  kr.get_i16();
  int16_t type = kr.get_i16();
  e.type = protocol::control_type_constant(type);
  try {
    switch (type) {
      case 2: e.data = control_body<msg::LeaderChangeMessage>(rec.value); break;
      case 5: e.data = control_body<msg::KRaftVersionRecord>(rec.value); break;
      case 6: e.data = control_body<msg::VotersRecord>(rec.value); break;
      default: break;
    }
  } catch (const std::exception& ex) {
    e.data = {{"error", ex.what()}};
  }
}

}  // namespace

void MetadataLogTimeline::add(TimelineEntry e) {
  ++counts_[e.type];
  next_offset_ = e.offset + 1;
  if (e.type == "NO_OP_RECORD") return;
  if (e.data.dump().size() > kMaxDataChars) e.data = {{"truncated", true}};
  entries_.push_back(std::move(e));
  while (entries_.size() > max_entries_) entries_.pop_front();
}

void MetadataLogTimeline::scan_segment(const std::string& path, int64_t base, size_t& budget) {
  Fd f(path);
  if (f.fd < 0) {  // deleted by the cleaner since it was listed
    positions_.erase(base);
    return;
  }
  off_t size = ::lseek(f.fd, 0, SEEK_END);
  uint64_t& pos = positions_[base];
  if (size < 0) return;
  if (static_cast<uint64_t>(size) < pos) {  // truncated: read it again
    pos = 0;
    while (!entries_.empty() && entries_.back().offset >= base) entries_.pop_back();
    next_offset_ = std::min(next_offset_, base);
  }
  std::vector<uint8_t> head, batch;
  const int32_t min_length = static_cast<int32_t>(records::kHeaderSize - records::kLogOverhead);
  while (budget > 0 && static_cast<uint64_t>(size) - pos >= records::kHeaderSize) {
    if (!f.read_at(pos, head, records::kHeaderSize)) return;
    records::BatchHeader h;
    records::parse_header(head, h);
    // A preallocated zero tail or a batch still being written: stop here.
    if (h.batch_length < min_length || static_cast<uint64_t>(size) - pos < static_cast<uint64_t>(h.total_size())) return;
    size_t total = static_cast<size_t>(h.total_size());
    if (h.last_offset() < next_offset_) {  // read before (a rescanned segment)
      pos += total;
      continue;
    }
    if (!f.read_at(pos, batch, total)) return;
    pos += total;
    budget = budget > total ? budget - total : 0;
    std::vector<records::Record> recs;
    try {
      recs = records::decode_records(batch);
    } catch (const std::exception& ex) {
      TimelineEntry e;
      e.offset = h.base_offset;
      e.batch = h.base_offset;
      e.epoch = h.partition_leader_epoch;
      e.timestamp = h.base_timestamp;
      e.type = "CORRUPT_BATCH";
      e.data = {{"error", ex.what()}};
      add(std::move(e));
      next_offset_ = h.last_offset() + 1;
      continue;
    }
    for (const auto& rec : recs) {
      if (rec.offset < next_offset_) continue;
      TimelineEntry e;
      e.offset = rec.offset;
      e.batch = h.base_offset;
      e.epoch = h.partition_leader_epoch;
      e.timestamp = rec.timestamp;
      if (h.is_control()) {
        describe_control(rec, e);
      } else {
        std::optional<std::span<const uint8_t>> v;
        if (rec.value) v = std::span<const uint8_t>(*rec.value);
        metadata::DecodedRecord d = metadata::decode_metadata_record(v);
        if (d.ok) {
          e.type = d.type;
          e.data = std::move(d.data);
        } else {
          e.type = "UNDECODABLE";
          e.data = {{"error", d.error}};
        }
      }
      add(std::move(e));
    }
    next_offset_ = std::max(next_offset_, h.last_offset() + 1);
  }
}

void MetadataLogTimeline::refresh() {
  std::lock_guard lock(mu_);
  std::map<int64_t, std::string> segments;
  std::error_code ec;
  for (fs::directory_iterator it(dir_, ec), end; !ec && it != end; it.increment(ec)) {
    std::string name = it->path().filename().string();
    if (name.size() != 24 || name.compare(20, 4, ".log") != 0) continue;
    segments[std::strtoll(name.c_str(), nullptr, 10)] = it->path().string();
  }
  for (auto it = positions_.begin(); it != positions_.end();)  // deleted by the cleaner
    it = segments.count(it->first) ? std::next(it) : positions_.erase(it);
  size_t budget = kMaxScanBytes;
  for (auto it = segments.begin(); it != segments.end() && budget > 0; ++it) {
    auto next = std::next(it);
    // A segment wholly before what was read already needs no look.
    if (next != segments.end() && next->first <= next_offset_ && !positions_.count(it->first)) continue;
    scan_segment(it->second, it->first, budget);
  }
}

MetadataLogTimeline::Page MetadataLogTimeline::query(const std::set<std::string>& types, int64_t before, size_t limit) const {
  std::lock_guard lock(mu_);
  Page p;
  p.counts = counts_;
  p.next_offset = next_offset_;
  if (!entries_.empty()) {
    p.cached_from = entries_.front().offset;
    p.cached_to = entries_.back().offset;
  }
  auto it = entries_.rbegin();
  if (before >= 0)
    it = std::lower_bound(entries_.rbegin(), entries_.rend(), before,
                          [](const TimelineEntry& e, int64_t b) { return e.offset >= b; });
  for (; it != entries_.rend(); ++it) {
    if (!types.empty() && !types.count(it->type)) continue;
    if (p.entries.size() == limit) {
      p.next_before = p.entries.back().offset;
      break;
    }
    p.entries.push_back(*it);
  }
  return p;
}

}  // namespace flotilla::http
