// ProducerStateManager: Kafka 3.9's checks of idempotent batches (duplicates
// of the last 5 batches, sequence gaps with wrap-around, epochs), snapshots in
// Kafka's layout, and the Log's use of it (dedup, snapshots at roll and
// close, recovery from snapshot + replay, truncation).
#include "log_helpers.h"
#include "temp_dir.h"
#include "storage/producer_state.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "common/bytes.h"
#include "common/crc32c.h"
#include "storage/log.h"

using namespace flotilla;
using namespace flotilla::storage;
using namespace flotilla::storage::testing;
namespace fs = std::filesystem;

namespace {

std::vector<uint8_t> idem_batch(int64_t pid, int16_t epoch, int32_t seq, int records) {
  records::BatchBuilder b;
  b.set_producer(pid, epoch, seq);
  std::vector<uint8_t> v(10, 'v');
  for (int i = 0; i < records; ++i) b.add(1000 + i, std::nullopt, std::span<const uint8_t>(v));
  return b.build();
}

// Segments small enough that a few batches span several (each roll writes a producer snapshot).
LogConfig small_segments() {
  LogConfig c;
  c.segment_bytes = 300;
  return c;
}

// Producer 7 at epoch 0 writes six batches of two records: sequences 0..11 at offsets 0..11.
void append_six_batches(Log& log) {
  for (int i = 0; i < 6; ++i) append(log, idem_batch(7, 0, i * 2, 2));
}

}  // namespace

TEST(ProducerState, SequenceHelpersWrap) {
  EXPECT_EQ(last_sequence_of(0, 4), 4);
  EXPECT_EQ(last_sequence_of(INT32_MAX, 0), INT32_MAX);
  EXPECT_EQ(last_sequence_of(INT32_MAX, 1), 0);
  EXPECT_EQ(last_sequence_of(INT32_MAX - 1, 3), 1);
  EXPECT_TRUE(in_sequence(4, 5));
  EXPECT_TRUE(in_sequence(INT32_MAX, 0));
  EXPECT_FALSE(in_sequence(4, 6));
  EXPECT_FALSE(in_sequence(4, 4));
}

TEST(ProducerState, InSequenceBatchesAreAccepted) {
  ProducerStateManager m;
  auto h1 = data_header(7, 0, 0, 3, 0);
  EXPECT_EQ(check(m, h1).error, ErrorCode::NONE);
  m.apply(h1);
  auto h2 = data_header(7, 0, 3, 2, 3);
  auto c = check(m, h2);
  EXPECT_EQ(c.error, ErrorCode::NONE);
  EXPECT_FALSE(c.duplicate);
  m.apply(h2);
  ASSERT_NE(m.find(7), nullptr);
  EXPECT_EQ(m.find(7)->last_seq(), 4);
  EXPECT_EQ(m.find(7)->last_offset(), 4);
  EXPECT_EQ(m.map_end_offset(), 5);
}

TEST(ProducerState, DuplicateOfAnyOfTheLastFiveBatches) {
  ProducerStateManager m;
  for (int i = 0; i < 7; ++i) m.apply(data_header(7, 0, i * 2, 2, 100 + i * 2));
  // Batches 2..6 (seqs 4..13) are remembered; 0 and 1 are not.
  for (int i = 2; i < 7; ++i) {
    auto c = check(m, data_header(7, 0, i * 2, 2, 999));
    EXPECT_EQ(c.error, ErrorCode::NONE);
    ASSERT_TRUE(c.duplicate) << i;
    EXPECT_EQ(c.duplicate->first_offset, 100 + i * 2);
    EXPECT_EQ(c.duplicate->last_offset, 101 + i * 2);
  }
  auto old = check(m, data_header(7, 0, 2, 2, 999));  // too old to be remembered: a gap backwards
  EXPECT_FALSE(old.duplicate);
  EXPECT_EQ(old.error, ErrorCode::OUT_OF_ORDER_SEQUENCE_NUMBER);
  // Same first sequence, other length: not the same batch.
  EXPECT_EQ(check(m, data_header(7, 0, 12, 3, 999)).error, ErrorCode::OUT_OF_ORDER_SEQUENCE_NUMBER);
}

TEST(ProducerState, GapIsOutOfOrder) {
  ProducerStateManager m;
  m.apply(data_header(7, 0, 0, 5, 0));
  EXPECT_EQ(check(m, data_header(7, 0, 6, 1, 5)).error, ErrorCode::OUT_OF_ORDER_SEQUENCE_NUMBER);
  EXPECT_EQ(check(m, data_header(7, 0, 5, 1, 5)).error, ErrorCode::NONE);
}

TEST(ProducerState, SequenceWrapsAtInt32Max) {
  ProducerStateManager m;
  m.apply(data_header(7, 0, INT32_MAX - 1, 2, 0));  // seqs MAX-1, MAX
  EXPECT_EQ(check(m, data_header(7, 0, 0, 1, 2)).error, ErrorCode::NONE);
  EXPECT_EQ(check(m, data_header(7, 0, 1, 1, 2)).error, ErrorCode::OUT_OF_ORDER_SEQUENCE_NUMBER);
  m.apply(data_header(8, 0, INT32_MAX, 3, 10));  // wraps inside the batch: MAX, 0, 1
  EXPECT_EQ(m.find(8)->last_seq(), 1);
  EXPECT_TRUE(check(m, data_header(8, 0, INT32_MAX, 3, 20)).duplicate);
  EXPECT_EQ(check(m, data_header(8, 0, 2, 1, 20)).error, ErrorCode::NONE);
}

TEST(ProducerState, EpochRules) {
  ProducerStateManager m;
  m.apply(data_header(7, 3, 0, 5, 0));
  EXPECT_EQ(check(m, data_header(7, 2, 5, 1, 5)).error, ErrorCode::INVALID_PRODUCER_EPOCH);
  EXPECT_EQ(check(m, data_header(7, 4, 5, 1, 5)).error, ErrorCode::OUT_OF_ORDER_SEQUENCE_NUMBER);  // a new epoch starts at 0
  EXPECT_EQ(check(m, data_header(7, 4, 0, 1, 5)).error, ErrorCode::NONE);
  m.apply(data_header(7, 4, 0, 1, 5));
  EXPECT_EQ(m.find(7)->epoch, 4);
  EXPECT_EQ(m.find(7)->batches.size(), 1u);  // the old epoch's batches are gone
  // A retry of the old epoch's batch is fenced, not a duplicate.
  EXPECT_EQ(check(m, data_header(7, 3, 0, 5, 9)).error, ErrorCode::INVALID_PRODUCER_EPOCH);
}

TEST(ProducerState, UnknownProducerIsAcceptedAtAnySequenceAsKafka39) {
  // Kafka 3.9's ProducerAppendInfo: with no epoch known (never seen, or its
  // state removed) any sequence is accepted.
  ProducerStateManager m;
  EXPECT_EQ(check(m, data_header(9, 0, 0, 1, 0)).error, ErrorCode::NONE);
  EXPECT_EQ(check(m, data_header(9, 0, 42, 1, 0)).error, ErrorCode::NONE);
  EXPECT_EQ(check(m, data_header(9, 0, -1, 1, 0)).error, ErrorCode::INVALID_RECORD);
}

TEST(ProducerState, BatchesOfOneAppendAreCheckedInOrder) {
  ProducerStateManager m;
  std::vector<records::BatchHeader> hs = {data_header(7, 0, 0, 2, 0), data_header(7, 0, 2, 2, 2)};
  EXPECT_EQ(m.check_client(hs).error, ErrorCode::NONE);
  hs[1].base_sequence = 5;
  EXPECT_EQ(m.check_client(hs).error, ErrorCode::OUT_OF_ORDER_SEQUENCE_NUMBER);
}

TEST(ProducerState, NonIdempotentAndControlBatchesOnlyMoveTheEnd) {
  ProducerStateManager m;
  auto plain = data_header(-1, -1, -1, 4, 0);
  EXPECT_EQ(check(m, plain).error, ErrorCode::NONE);
  m.apply(plain);
  EXPECT_TRUE(m.empty());
  EXPECT_EQ(m.map_end_offset(), 4);
}

TEST(ProducerState, SnapshotLayoutIsKafkas) {
  ProducerStateManager m;
  m.apply(data_header(7, 2, 10, 3, 40));  // seqs 10..12, offsets 40..42
  m.apply(data_header(5, 0, 0, 1, 43));
  m.set_map_end_offset(44);
  std::string s = m.encode_snapshot();
  ASSERT_EQ(s.size(), 2u + 4 + 4 + 2 * 46);
  auto* p = reinterpret_cast<const uint8_t*>(s.data());
  EXPECT_EQ(load_be16(p), 1);                                   // version
  EXPECT_EQ(load_be32(p + 2), crc32c(p + 6, s.size() - 6));     // crc32c of the rest
  EXPECT_EQ(load_be32(p + 6), 2u);                              // entries
  const uint8_t* e = p + 10;                                    // sorted: producer 5 first
  EXPECT_EQ(static_cast<int64_t>(load_be64(e)), 5);
  e += 46;
  EXPECT_EQ(static_cast<int64_t>(load_be64(e)), 7);             // ProducerId
  EXPECT_EQ(static_cast<int16_t>(load_be16(e + 8)), 2);         // Epoch
  EXPECT_EQ(static_cast<int32_t>(load_be32(e + 10)), 12);       // LastSequence
  EXPECT_EQ(static_cast<int64_t>(load_be64(e + 14)), 42);       // LastOffset
  EXPECT_EQ(static_cast<int32_t>(load_be32(e + 22)), 2);        // OffsetDelta
  EXPECT_EQ(static_cast<int64_t>(load_be64(e + 26)), 1040);     // Timestamp
  EXPECT_EQ(static_cast<int32_t>(load_be32(e + 34)), -1);       // CoordinatorEpoch
  EXPECT_EQ(static_cast<int64_t>(load_be64(e + 38)), -1);       // CurrentTxnFirstOffset

  ProducerStateManager r;
  ASSERT_TRUE(r.decode_snapshot(std::span(p, s.size()), 44));
  EXPECT_EQ(r.map_end_offset(), 44);
  ASSERT_NE(r.find(7), nullptr);
  EXPECT_EQ(r.find(7)->epoch, 2);
  ASSERT_EQ(r.find(7)->batches.size(), 1u);
  EXPECT_EQ(r.find(7)->batches.back(), (ProducerBatch{10, 12, 40, 42, 1040}));
  EXPECT_TRUE(check(r, data_header(7, 2, 10, 3, 50)).duplicate);
  EXPECT_EQ(check(r, data_header(7, 2, 13, 1, 50)).error, ErrorCode::NONE);

  std::string bad = s;
  bad[20] ^= 1;
  EXPECT_FALSE(r.decode_snapshot(std::span(reinterpret_cast<const uint8_t*>(bad.data()), bad.size()), 1));
  EXPECT_NE(r.find(7), nullptr);  // untouched
}

TEST(ProducerStateLog, LeaderAppendDeduplicatesAndRejects) {
  TempDir d;
  auto log = Log::open(d.path / "t-0", LogConfig{}, Uuid{});
  auto a = append(*log, idem_batch(7, 0, 0, 3));
  EXPECT_EQ(a.error, ErrorCode::NONE);
  EXPECT_EQ(a.first_offset, 0);
  auto b = append(*log, idem_batch(7, 0, 3, 2));
  EXPECT_EQ(b.first_offset, 3);
  auto dup = append(*log, idem_batch(7, 0, 0, 3));
  EXPECT_EQ(dup.error, ErrorCode::NONE);
  EXPECT_TRUE(dup.duplicate);
  EXPECT_EQ(dup.first_offset, 0);
  EXPECT_EQ(dup.last_offset, 2);
  EXPECT_EQ(log->log_end_offset(), 5);
  EXPECT_EQ(append(*log, idem_batch(7, 0, 9, 1)).error, ErrorCode::OUT_OF_ORDER_SEQUENCE_NUMBER);
  EXPECT_EQ(log->log_end_offset(), 5);
}

TEST(ProducerStateLog, SnapshotsAtRollAndCloseAndRecovery) {
  TempDir d;
  const LogConfig c = small_segments();
  fs::path dir = d.path / "t-0";
  {
    auto log = Log::open(dir, c, Uuid{});
    for (int i = 0; i < 6; ++i) ASSERT_EQ(append(*log, idem_batch(7, 0, i * 2, 2)).error, ErrorCode::NONE);
    EXPECT_GT(log->segment_count(), 1);
    EXPECT_FALSE(ProducerStateManager::list_snapshots(dir).empty());  // written at roll
    log->close();
    EXPECT_TRUE(fs::exists(ProducerStateManager::snapshot_path(dir, 12)));  // and at close
  }
  {
    auto log = Log::open(dir, c, Uuid{});
    auto dup = append(*log, idem_batch(7, 0, 10, 2));
    EXPECT_TRUE(dup.duplicate);
    EXPECT_EQ(dup.first_offset, 10);
    EXPECT_EQ(append(*log, idem_batch(7, 0, 13, 1)).error, ErrorCode::OUT_OF_ORDER_SEQUENCE_NUMBER);
    EXPECT_EQ(append(*log, idem_batch(7, 0, 12, 2)).error, ErrorCode::NONE);
  }
}

TEST(ProducerStateLog, RecoveryFromAnOlderSnapshotReplaysTheRest) {
  // As after a crash: the newest snapshot is from the last roll, the batches
  // after it come from the log.
  TempDir d;
  const LogConfig c = small_segments();
  fs::path dir = d.path / "t-0";
  {
    auto log = Log::open(dir, c, Uuid{});
    append_six_batches(*log);
    log->close();
  }
  fs::remove(ProducerStateManager::snapshot_path(dir, 12));  // the one close wrote
  auto snaps = ProducerStateManager::list_snapshots(dir);
  ASSERT_FALSE(snaps.empty());
  EXPECT_LT(snaps.rbegin()->first, 12);
  auto log = Log::open(dir, c, Uuid{});
  EXPECT_EQ(log->producer_state().find(7)->last_seq(), 11);
  EXPECT_TRUE(append(*log, idem_batch(7, 0, 10, 2)).duplicate);
  EXPECT_TRUE(append(*log, idem_batch(7, 0, 8, 2)).duplicate);
}

TEST(ProducerStateLog, RecoveryWithoutSnapshotReplaysTheLog) {
  TempDir d;
  fs::path dir = d.path / "t-0";
  {
    auto log = Log::open(dir, LogConfig{}, Uuid{});
    for (int i = 0; i < 3; ++i) append(*log, idem_batch(7, 1, i, 1));
    log->close();
  }
  for (const auto& [o, p] : ProducerStateManager::list_snapshots(dir)) fs::remove(p);
  auto log = Log::open(dir, LogConfig{}, Uuid{});
  EXPECT_TRUE(append(*log, idem_batch(7, 1, 2, 1)).duplicate);
  EXPECT_TRUE(append(*log, idem_batch(7, 1, 1, 1)).duplicate);  // replay keeps all 5 batches
  EXPECT_EQ(append(*log, idem_batch(7, 0, 3, 1)).error, ErrorCode::INVALID_PRODUCER_EPOCH);
}

TEST(ProducerStateLog, TruncationReloadsState) {
  TempDir d;
  const LogConfig c = small_segments();
  fs::path dir = d.path / "t-0";
  auto log = Log::open(dir, c, Uuid{});
  append_six_batches(*log);
  log->truncate_to(6);  // keeps seqs 0..5
  EXPECT_EQ(log->log_end_offset(), 6);
  for (const auto& [o, p] : ProducerStateManager::list_snapshots(dir)) EXPECT_LE(o, 6);
  EXPECT_EQ(log->producer_state().find(7)->last_seq(), 5);
  EXPECT_EQ(append(*log, idem_batch(7, 0, 6, 2)).error, ErrorCode::NONE);
  log->truncate_fully_and_start_at(100);
  EXPECT_TRUE(log->producer_state().empty());
  EXPECT_TRUE(ProducerStateManager::list_snapshots(dir).empty());
}

TEST(ProducerStateLog, FollowerAppendUpdatesState) {
  TempDir d;
  auto leader = Log::open(d.path / "a-0", LogConfig{}, Uuid{});
  auto follower = Log::open(d.path / "b-0", LogConfig{}, Uuid{});
  auto b = idem_batch(7, 0, 0, 2);
  append(*leader, b);  // offsets assigned in b
  follower->append_as_follower(b);
  EXPECT_TRUE(append(*follower, idem_batch(7, 0, 0, 2)).duplicate);  // the follower, now leader
}

TEST(ProducerStateManager, IdleProducersWithoutOpenTransactionsExpire) {
  ProducerStateManager m;
  m.apply(data_header(1, 0, 0, 1, 0));  // max timestamp 1000
  auto txn = data_header(2, 0, 0, 1, 1);  // max timestamp 1001, opens a transaction
  txn.attributes |= records::kTransactionalBit;
  m.apply(txn);
  m.apply(data_header(3, 0, 0, 1, 5000));  // max timestamp 6000
  EXPECT_EQ(m.remove_expired(1999, 1000), 0u);  // producer 1 is 999 ms idle
  EXPECT_EQ(m.remove_expired(2000, 1000), 1u);  // producer 1 goes; 2 has a transaction open; 3 is recent
  EXPECT_EQ(m.find(1), nullptr);
  EXPECT_NE(m.find(2), nullptr);
  EXPECT_NE(m.find(3), nullptr);
  // A forgotten producer is unknown again: any sequence is accepted (as Kafka 3.9).
  EXPECT_EQ(check(m, data_header(1, 0, 7, 1, 6001)).error, ErrorCode::NONE);
}
