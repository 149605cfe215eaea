// What the Log's tests share to write a log: a client append as a leader
// does it, the bytes of a string, a compacted log's config, and the producer
// fields of a batch header for ProducerStateManager's checks.
#pragma once

#include <gtest/gtest.h>

#include <span>
#include <string>
#include <vector>

#include "protocol/record_batch.h"
#include "storage/log.h"
#include "storage/producer_state.h"

namespace flotilla::storage::testing {

inline std::span<const uint8_t> sp(const std::string& s) { return {reinterpret_cast<const uint8_t*>(s.data()), s.size()}; }

// Appends a produced batch (which must be valid) at leader epoch 0, its offsets assigned in place.
inline AppendInfo append(Log& log, std::vector<uint8_t> b) {
  auto v = records::validate_batches(b, 1 << 30);
  EXPECT_EQ(v.error, ErrorCode::NONE) << v.message;
  return log.append(b, v, 0);
}

// The header of a producer's data batch of `records` records at `base_offset`.
inline records::BatchHeader data_header(int64_t pid, int16_t epoch, int32_t seq, int records, int64_t base_offset,
                                        bool transactional = false) {
  records::BatchHeader h;
  h.producer_id = pid;
  h.producer_epoch = epoch;
  h.base_sequence = seq;
  h.last_offset_delta = records - 1;
  h.base_offset = base_offset;
  h.max_timestamp = 1000 + base_offset;
  if (transactional) h.attributes |= records::kTransactionalBit;
  return h;
}

// A log the cleaner compacts (cleanup.policy=compact only) as soon as anything is dirty.
inline LogConfig compact_config() {
  LogConfig c;
  c.cleanup_compact = true;
  c.cleanup_delete = false;
  c.min_cleanable_dirty_ratio = 0.01;
  c.index_interval_bytes = 64;
  return c;
}

// The gauges the metrics scrape reads off the loop (LogGauges) say what the
// log itself says.
inline void expect_gauges_match(const Log& log, const char* where) {
  const auto g = log.gauges();
  EXPECT_EQ(g->size_bytes.load(), log.size_bytes()) << where;
  EXPECT_EQ(g->segments.load(), log.segment_count()) << where;
  EXPECT_EQ(g->log_start_offset.load(), log.log_start_offset()) << where;
  EXPECT_EQ(g->log_end_offset.load(), log.log_end_offset()) << where;
}

// ProducerStateManager's checks of one client batch.
inline ProducerCheck check(const ProducerStateManager& m, const records::BatchHeader& h) { return m.check_client(std::span(&h, 1)); }

}  // namespace flotilla::storage::testing
