// The console's metadata-log timeline: the records of `__cluster_metadata-0`
// decoded from the node's log segment files (type, offset, leader epoch,
// timestamp and the record's fields), read incrementally on HTTP threads.
//
// Invariants: each refresh() reads only the bytes appended since the last one
// (a position per segment; at most kMaxScanBytes per call, the rest on the
// next), so polling costs what was appended. The cache is bounded: at most
// max_entries records are kept (the oldest dropped first); NO_OP_RECORDs are
// counted, not kept (the leader writes one every metadata.max.idle.interval.ms,
// they would push everything else out). A segment the cleaner deleted is
// forgotten silently; a segment shorter than what was read (a truncated log)
// is read again from its start. Preallocated zero tails and a torn last batch
// end a segment's scan until more is written. Never touches the event loop.
// Threading: every method locks one mutex (reads block each other only).
#pragma once

#include <cstdint>
#include <deque>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <vector>

namespace flotilla::http {

struct TimelineEntry {
  int64_t offset = 0;
  int64_t batch = 0;        // the base offset of its batch (the controller writes an event's records as one batch)
  int32_t epoch = -1;       // the batch's partition leader epoch
  int64_t timestamp = -1;   // the record's timestamp (ms)
  std::string type;         // "TOPIC_RECORD", ..., or a control type ("LEADER_CHANGE", ...)
  bool control = false;
  nlohmann::ordered_json data;  // the record's fields (Kafka's JSON names); {"error":...} when undecodable
};

class MetadataLogTimeline {
 public:
  static constexpr size_t kMaxScanBytes = 32u << 20;
  static constexpr size_t kMaxDataChars = 4096;  // larger records keep a stub

  explicit MetadataLogTimeline(std::string partition_dir, size_t max_entries = 10000)
      : dir_(std::move(partition_dir)), max_entries_(max_entries) {}

  // Reads what was appended since the last call.
  void refresh();

  struct Page {
    std::vector<TimelineEntry> entries;  // newest first
    int64_t next_before = -1;            // pass as `before` for the next older page; -1 at the end
    int64_t cached_from = -1, cached_to = -1;  // offsets held
    int64_t next_offset = 0;             // the offset after the last record read
    std::map<std::string, int64_t> counts;  // records read per type (NO_OP_RECORD included)
  };
  // Entries with offset < before (all when before < 0), of `types` (all when
  // empty), newest first, at most `limit`.
  Page query(const std::set<std::string>& types, int64_t before, size_t limit) const;

 private:
  void scan_segment(const std::string& path, int64_t base, size_t& budget);
  void add(TimelineEntry e);

  std::string dir_;
  size_t max_entries_;
  mutable std::mutex mu_;
  std::map<int64_t, uint64_t> positions_;  // segment base offset -> bytes read
  std::deque<TimelineEntry> entries_;      // offset ascending
  std::map<std::string, int64_t> counts_;
  int64_t next_offset_ = 0;
};

}  // namespace flotilla::http
