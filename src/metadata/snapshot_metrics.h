// The metadata loader's and snapshot generator's figures /metrics renders
// (Kafka's `kafka.server:type=MetadataLoader` and `type=SnapshotEmitter`
// MBeans, the controller's last applied record, Flotilla's snapshot offset
// and generation time).
//
// Threading: written on the event loop only (MetadataLoader, the
// SnapshotGenerator's completion), read by the HTTP thread at scrape time;
// every field is a relaxed atomic, so a scrape may see the offset of one
// snapshot and the size of the next one, never a torn value. One per process
// (metadata_metrics()), as metrics::global() is.
#pragma once

#include <atomic>
#include <cstdint>

#include "common/clock.h"

namespace flotilla::metadata {

struct MetadataMetrics {
  // MetadataLoader: the last committed batch applied (offset, append time in
  // Unix ms), the metadata.version in force, snapshots loaded.
  std::atomic<int64_t> last_applied_offset{-1};
  std::atomic<int64_t> last_applied_timestamp{0};
  std::atomic<int32_t> current_metadata_version{0};
  std::atomic<int64_t> handle_load_snapshot_count{0};
  // SnapshotEmitter: the newest snapshot generated (or, before the first one,
  // loaded at start-up): its end offset (-1: none), size in bytes, when it
  // was written or loaded (Unix ms; the process start before any: Kafka's age
  // is then the time since start), how long encoding and writing took.
  std::atomic<int64_t> latest_snapshot_end_offset{-1};
  std::atomic<int64_t> latest_snapshot_bytes{0};
  std::atomic<int64_t> latest_snapshot_time_ms{wall_clock_ms()};
  std::atomic<int64_t> latest_snapshot_generation_us{0};
  std::atomic<int64_t> snapshots_generated{0};
};

inline MetadataMetrics& metadata_metrics() {
  static MetadataMetrics m;
  return m;
}

}  // namespace flotilla::metadata
