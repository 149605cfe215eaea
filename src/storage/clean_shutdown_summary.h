// The clean-shutdown summary of a log dir (`.flotilla-clean-logs`): what a
// load would find in each partition directory, written by a clean shutdown
// next to Kafka's `.kafka_cleanshutdown` marker, so that the next start-up
// opens no file of a partition to serve it. Flotilla's own file (Kafka has
// none): at 100,000 partitions, reading each partition's directory, its
// partition.metadata, leader-epoch-checkpoint, segment headers and index sizes
// was ~17 system calls each and five seconds of a start-up.
//
// Invariants: written (synced) after every log of the dir was flushed and
// closed and before the marker, and removed at start-up before the marker, so
// the summary is used only while the marker vouches for the dir as that
// shutdown left it. A log that could not be summarized (a failed producer
// snapshot, a failed log) is left out and loaded the usual way. Any doubt
// about the file — a CRC mismatch, a count past its end, segments out of
// order — discards the whole summary: the logs are then loaded from their
// files, as without it.
//
// Layout (big-endian): "FLCS", int16 version (0), int32 log count, the logs,
// uint32 CRC32C of everything before it. A log: int16 name length + name
// ("<topic>-<partition>"), 16-byte topic id, int32 length + the
// leader-epoch-checkpoint's bytes, int64 producer snapshot offset (-1: none),
// int32 segment count (>= 1), the segments. A segment: int64 base offset, next
// offset, size, bytes since the last index entry, max timestamp, its offset,
// first timestamp; int8 has-.txnindex; int32 count + (int32 relative offset,
// int32 position) index entries; int32 count + (int64 timestamp, int32
// relative offset) time index entries.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "common/uuid.h"

namespace flotilla::storage {

constexpr const char* kCleanShutdownSummaryFile = ".flotilla-clean-logs";

struct SegmentSummary {
  int64_t base_offset = 0;
  int64_t next_offset = 0;
  int64_t size = 0;
  int64_t bytes_since_index = 0;
  int64_t max_timestamp = -1;
  int64_t max_timestamp_offset = -1;
  int64_t first_timestamp = -1;
  bool has_txn_index = false;
  std::vector<std::pair<int32_t, int32_t>> index;   // (relative offset, position)
  std::vector<std::pair<int64_t, int32_t>> tindex;  // (timestamp, relative offset)
  bool operator==(const SegmentSummary&) const = default;
};

struct LogSummary {
  std::string name;  // the partition directory's name
  Uuid topic_id;
  std::string epoch_checkpoint;       // leader-epoch-checkpoint's bytes ("" when there is none)
  int64_t producer_snapshot = -1;     // the `<offset>.snapshot` at the log end, -1 if none
  std::vector<SegmentSummary> segments;
  bool operator==(const LogSummary&) const = default;
};

std::string encode_log_summaries(const std::vector<LogSummary>& logs);
// nullopt (and *error set) for anything but a whole, consistent file.
std::optional<std::vector<LogSummary>> decode_log_summaries(std::span<const uint8_t> bytes, std::string* error = nullptr);

}  // namespace flotilla::storage
