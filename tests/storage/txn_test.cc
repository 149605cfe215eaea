// Transactions on the storage side (KIP-98): ProducerStateManager's ongoing /
// completed transactions and their checks, END_TXN markers, the `.txnindex`
// aborted-transaction index (Kafka's 34-byte entries), the Log's last stable
// offset, aborted-transaction lookup, recovery and truncation, and the log
// cleaner's handling of transactional data.
#include "log_helpers.h"
#include "read_all.h"
#include "temp_dir.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <iterator>

#include "common/bytes.h"
#include "common/clock.h"
#include "common/crc32c.h"
#include "protocol/record_batch.h"
#include "storage/log.h"
#include "storage/log_cleaner.h"
#include "storage/producer_state.h"
#include "storage/txn_index.h"

using namespace flotilla;
using namespace flotilla::storage;
namespace fs = std::filesystem;
using namespace flotilla::storage::testing;

namespace {

records::BatchHeader marker_header(int64_t pid, int16_t epoch, int64_t offset) {
  records::BatchHeader h;
  h.producer_id = pid;
  h.producer_epoch = epoch;
  h.base_sequence = -1;
  h.base_offset = offset;
  h.max_timestamp = 5000 + offset;
  h.attributes = records::kTransactionalBit | records::kControlBit;
  return h;
}

struct KV {
  std::string key;
  std::string value;
};

// A batch of keyed records; pid < 0: no producer.
std::vector<uint8_t> batch(const std::vector<KV>& kvs, int64_t pid = -1, int16_t epoch = 0, int32_t seq = 0, bool transactional = false) {
  records::BatchBuilder b;
  if (pid >= 0) b.set_producer(pid, epoch, seq);
  b.set_transactional(transactional);
  for (const auto& kv : kvs) b.add(wall_clock_ms(), sp(kv.key), sp(kv.value));
  return b.build();
}

// A control batch as a leader writes it, at `offset`.
std::vector<uint8_t> marker_batch(int64_t pid, int16_t epoch, int32_t coordinator_epoch, bool commit, int64_t offset,
                                  std::vector<uint8_t> key = {}) {
  records::BatchBuilder b(records::Compression::NONE, offset);
  b.set_producer(pid, epoch, -1);
  b.set_control(true);
  b.set_transactional(true);
  if (key.empty()) key = end_txn_marker_key(commit);
  auto value = end_txn_marker_value(coordinator_epoch);
  b.add(wall_clock_ms(), std::span<const uint8_t>(key), std::span<const uint8_t>(value));
  return b.build();
}

// Two segments with an aborted transaction each: producer 1's at offset 0
// (its ABORT at 1), then, after a roll, producer 2's at 2 (its ABORT at 3).
void two_aborted_transactions(Log& log) {
  append(log, batch({{"a", "1"}}, 1, 0, 0, true));
  log.append_marker(1, 0, 0, false, 0, 1);
  log.roll();
  append(log, batch({{"b", "1"}}, 2, 0, 0, true));
  log.append_marker(2, 0, 0, false, 0, 1);
}

std::vector<uint8_t> file_bytes(const fs::path& p) {
  std::ifstream f(p, std::ios::binary);
  return std::vector<uint8_t>((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
}

fs::path txnindex(const fs::path& dir, int64_t base) { return dir / offset_file_name(base, ".txnindex"); }


}  // namespace

// ---------------------------------------------------------------- markers

TEST(TxnMarker, KeyAndValueBytesAreKafkas) {
  EXPECT_EQ(end_txn_marker_key(true), (std::vector<uint8_t>{0, 0, 0, 1}));
  EXPECT_EQ(end_txn_marker_key(false), (std::vector<uint8_t>{0, 0, 0, 0}));
  EXPECT_EQ(end_txn_marker_value(0x01020304), (std::vector<uint8_t>{0, 0, 1, 2, 3, 4}));
  auto m = parse_end_txn_marker(marker_batch(7, 1, 42, false, 10));
  ASSERT_TRUE(m);
  EXPECT_FALSE(m->commit);
  EXPECT_EQ(m->coordinator_epoch, 42);
  m = parse_end_txn_marker(marker_batch(7, 1, 3, true, 10));
  ASSERT_TRUE(m);
  EXPECT_TRUE(m->commit);
  // LeaderChange (type 2) and other control records are not END_TXN markers.
  EXPECT_FALSE(parse_end_txn_marker(marker_batch(7, 1, 3, true, 10, {0, 0, 0, 2})));
  // A data batch is not a marker.
  EXPECT_FALSE(parse_end_txn_marker(batch({{"k", "v"}}, 7, 1, 0, true)));
}

// ---------------------------------------------------------------- producer state

TEST(TxnProducerState, TransactionBeginsAndCommits) {
  ProducerStateManager m;
  EXPECT_FALSE(m.apply(data_header(1, 0, 0, 2, 0, true)));
  EXPECT_FALSE(m.apply(data_header(1, 0, 2, 1, 2, true)));
  ASSERT_NE(m.find(1), nullptr);
  EXPECT_EQ(m.find(1)->current_txn_first_offset, 0);  // the first batch's offset, not the second's
  EXPECT_EQ(m.ongoing_txns(), (std::map<int64_t, int64_t>{{0, 1}}));
  EXPECT_EQ(m.first_unstable_offset(), 0);
  auto done = m.apply(marker_header(1, 0, 3), EndTxnMarker{true, 5});
  ASSERT_TRUE(done);
  EXPECT_EQ(*done, (CompletedTxn{1, 0, 3, false}));
  EXPECT_EQ(m.find(1)->current_txn_first_offset, -1);
  EXPECT_EQ(m.find(1)->coordinator_epoch, 5);
  EXPECT_EQ(m.last_stable_offset(*done), 4);  // no other transaction: the marker + 1
  m.complete_txn(*done);
  EXPECT_TRUE(m.ongoing_txns().empty());
  // The marker (offset 3) is not below the high watermark yet: still unstable.
  m.on_high_watermark(3);
  EXPECT_EQ(m.first_unstable_offset(), 0);
  m.on_high_watermark(4);
  EXPECT_EQ(m.first_unstable_offset(), std::nullopt);
  EXPECT_EQ(m.map_end_offset(), 4);
  // A marker without an ongoing transaction completes nothing but still records the coordinator epoch.
  EXPECT_FALSE(m.apply(marker_header(1, 0, 4), EndTxnMarker{false, 6}));
  EXPECT_EQ(m.find(1)->coordinator_epoch, 6);
}

TEST(TxnProducerState, InterleavedAbortRecordsTheOtherTransactionAsLso) {
  ProducerStateManager m;
  m.apply(data_header(1, 0, 0, 1, 0, true));
  m.apply(data_header(2, 0, 0, 1, 1, true));
  m.apply(data_header(3, 0, 0, 1, 2, false));  // idempotent only: no transaction
  EXPECT_EQ(m.ongoing_txns().size(), 2u);
  auto done = m.apply(marker_header(1, 0, 3), EndTxnMarker{false, 0});
  ASSERT_TRUE(done);
  EXPECT_TRUE(done->aborted);
  EXPECT_EQ(m.last_stable_offset(*done), 1);  // producer 2's transaction still holds the LSO
  m.complete_txn(*done);
  EXPECT_EQ(m.first_unstable_offset(), 0);  // producer 1's completed txn until the hw passes its marker
  m.on_high_watermark(4);
  EXPECT_EQ(m.first_unstable_offset(), 1);
  auto done2 = m.apply(marker_header(2, 0, 4), EndTxnMarker{true, 0});
  ASSERT_TRUE(done2);
  EXPECT_EQ(m.last_stable_offset(*done2), 5);
  m.complete_txn(*done2);
  m.on_high_watermark(5);
  EXPECT_EQ(m.first_unstable_offset(), std::nullopt);
}

TEST(TxnProducerState, NonTransactionalWriteDuringTransactionIsInvalidTxnState) {
  ProducerStateManager m;
  m.apply(data_header(1, 0, 0, 1, 0, true));
  auto r = check(m, data_header(1, 0, 1, 1, 1, false));
  EXPECT_EQ(r.error, ErrorCode::INVALID_TXN_STATE);
  EXPECT_EQ(check(m, data_header(1, 0, 1, 1, 1, true)).error, ErrorCode::NONE);
  // Within one append: the first batch begins a transaction, the second breaks it.
  ProducerStateManager fresh;
  std::vector<records::BatchHeader> hs = {data_header(9, 0, 0, 1, 0, true), data_header(9, 0, 1, 1, 1, false)};
  EXPECT_EQ(fresh.check_client(hs).error, ErrorCode::INVALID_TXN_STATE);
  // After the marker, non-transactional writes are fine again (the sequence continues).
  m.apply(data_header(1, 0, 1, 1, 1, true));
  auto done = m.apply(marker_header(1, 0, 2), EndTxnMarker{true, 0});
  ASSERT_TRUE(done);
  m.complete_txn(*done);
  EXPECT_EQ(check(m, data_header(1, 0, 2, 1, 3, false)).error, ErrorCode::NONE);
}

TEST(TxnProducerState, TransactionalBatchWithOlderEpochIsFenced) {
  ProducerStateManager m;
  m.apply(data_header(1, 3, 0, 1, 0, true));
  EXPECT_EQ(check(m, data_header(1, 2, 1, 1, 1, true)).error, ErrorCode::INVALID_PRODUCER_EPOCH);
  EXPECT_EQ(check(m, data_header(1, 3, 1, 1, 1, true)).error, ErrorCode::NONE);
}

TEST(TxnProducerState, MarkerChecksProducerAndCoordinatorEpochs) {
  ProducerStateManager m;
  EXPECT_EQ(m.check_marker(1, 0, 0).error, ErrorCode::NONE);  // unknown producer: allowed
  m.apply(data_header(1, 4, 0, 1, 0, true));
  auto done = m.apply(marker_header(1, 4, 1), EndTxnMarker{true, 7});
  m.complete_txn(*done);
  EXPECT_EQ(m.check_marker(1, 3, 7).error, ErrorCode::INVALID_PRODUCER_EPOCH);
  EXPECT_EQ(m.check_marker(1, 4, 6).error, ErrorCode::TRANSACTION_COORDINATOR_FENCED);
  EXPECT_EQ(m.check_marker(1, 4, 7).error, ErrorCode::NONE);
  EXPECT_EQ(m.check_marker(1, 5, 8).error, ErrorCode::NONE);  // a bumped epoch (abort after a timeout)
  // A marker with a bumped epoch moves the producer to it and forgets its batches.
  m.apply(data_header(1, 4, 1, 1, 2, true));
  auto done2 = m.apply(marker_header(1, 5, 3), EndTxnMarker{false, 8});
  ASSERT_TRUE(done2);
  EXPECT_EQ(m.find(1)->epoch, 5);
  EXPECT_TRUE(m.find(1)->batches.empty());
  EXPECT_EQ(check(m, data_header(1, 5, 0, 1, 4, true)).error, ErrorCode::NONE);
}

TEST(TxnProducerState, ApplyReadsTheMarkerFromBatchBytesAndIgnoresOtherControlTypes) {
  ProducerStateManager m;
  m.apply(data_header(1, 0, 0, 1, 0, true));
  auto leader_change = marker_batch(1, 0, 0, true, 1, {0, 0, 0, 2});
  records::BatchHeader h;
  ASSERT_TRUE(records::parse_header(leader_change, h));
  EXPECT_FALSE(m.apply(h, std::span<const uint8_t>(leader_change)));
  EXPECT_EQ(m.find(1)->current_txn_first_offset, 0);  // still ongoing
  auto abort = marker_batch(1, 0, 9, false, 2);
  ASSERT_TRUE(records::parse_header(abort, h));
  auto done = m.apply(h, std::span<const uint8_t>(abort));
  ASSERT_TRUE(done);
  EXPECT_EQ(*done, (CompletedTxn{1, 0, 2, true}));
  EXPECT_EQ(m.find(1)->coordinator_epoch, 9);
}

TEST(TxnProducerState, SnapshotRoundTripRestoresOngoingTransactions) {
  ProducerStateManager m;
  m.apply(data_header(5, 2, 0, 3, 10, true));
  auto d = m.apply(marker_header(5, 2, 13), EndTxnMarker{true, 4});
  m.complete_txn(*d);
  m.apply(data_header(5, 2, 3, 1, 14, true));  // a new transaction of producer 5
  m.apply(data_header(6, 0, 0, 1, 15, false));
  std::string snap = m.encode_snapshot();
  ASSERT_EQ(snap.size(), 2u + 4 + 4 + 2 * 46);
  // Entry of producer 5 (sorted first): CoordinatorEpoch at +34, CurrentTxnFirstOffset at +38.
  const auto* e5 = reinterpret_cast<const uint8_t*>(snap.data()) + 10;
  EXPECT_EQ(static_cast<int64_t>(load_be64(e5)), 5);
  EXPECT_EQ(static_cast<int32_t>(load_be32(e5 + 34)), 4);
  EXPECT_EQ(static_cast<int64_t>(load_be64(e5 + 38)), 14);
  const auto* e6 = e5 + 46;
  EXPECT_EQ(static_cast<int64_t>(load_be64(e6 + 38)), -1);
  ProducerStateManager r;
  ASSERT_TRUE(r.decode_snapshot(std::span(reinterpret_cast<const uint8_t*>(snap.data()), snap.size()), 16));
  ASSERT_NE(r.find(5), nullptr);
  EXPECT_EQ(r.find(5)->current_txn_first_offset, 14);
  EXPECT_EQ(r.find(5)->coordinator_epoch, 4);
  EXPECT_EQ(r.ongoing_txns(), (std::map<int64_t, int64_t>{{14, 5}}));
  EXPECT_EQ(r.first_unstable_offset(), 14);
  // The restored transaction completes like any other.
  auto done = r.apply(marker_header(5, 2, 16), EndTxnMarker{false, 4});
  ASSERT_TRUE(done);
  EXPECT_EQ(done->first_offset, 14);
  auto all = r.entries();
  ASSERT_EQ(all.size(), 2u);
  EXPECT_EQ(all[0].producer_id, 5);
  EXPECT_EQ(all[1].producer_id, 6);
}

// ---------------------------------------------------------------- txn index

TEST(TxnIndexFile, EntriesAre34BytesBigEndian) {
  TempDir d;
  fs::path p = d.path / "00000000000000000000.txnindex";
  {
    TxnIndex idx(p);
    EXPECT_FALSE(fs::exists(p));  // created on the first append
    idx.append(AbortedTxn{0x0102030405060708, 10, 20, 21});
    idx.append(AbortedTxn{-1, 30, 40, 35});
    idx.append(AbortedTxn{9, 1, 40, 41});  // not after the last entry: ignored (idempotent replay)
  }
  std::vector<uint8_t> want = {
      0, 0, 1, 2, 3, 4, 5, 6, 7, 8, 0, 0, 0, 0, 0, 0, 0, 10, 0, 0, 0, 0, 0, 0, 0, 20, 0, 0, 0, 0, 0, 0, 0, 21,
      0, 0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0, 0, 0, 0, 30, 0, 0, 0, 0, 0, 0, 0, 40, 0, 0, 0, 0, 0, 0, 0, 35,
  };
  EXPECT_EQ(file_bytes(p), want);
  TxnIndex again(p);
  EXPECT_EQ(again.entries(), (std::vector<AbortedTxn>{{0x0102030405060708, 10, 20, 21}, {-1, 30, 40, 35}}));
  again.truncate_to(40);
  EXPECT_EQ(fs::file_size(p), 34u);
  // A torn trailing entry is cut off on load.
  {
    std::ofstream f(p, std::ios::binary | std::ios::app);
    f.write("\0\0\1", 3);
  }
  TxnIndex torn(p);
  EXPECT_EQ(torn.entries().size(), 1u);
  EXPECT_EQ(fs::file_size(p), 34u);
}

TEST(TxnIndexFile, CollectStopsAtAnEntryWhoseLsoReachesTheUpperBound) {
  TempDir d;
  TxnIndex idx(d.path / "00000000000000000000.txnindex");
  idx.append({1, 0, 5, 6});
  idx.append({2, 3, 8, 3});
  idx.append({3, 9, 12, 13});
  auto r = idx.collect(6, 10);
  EXPECT_EQ(r.aborted, (std::vector<AbortedTxn>{{2, 3, 8, 3}, {3, 9, 12, 13}}));
  EXPECT_TRUE(r.complete);
  r = idx.collect(0, 4);
  EXPECT_EQ(r.aborted, (std::vector<AbortedTxn>{{1, 0, 5, 6}}));
  EXPECT_TRUE(r.complete);  // 6 >= 4
  r = idx.collect(0, 100);
  EXPECT_EQ(r.aborted.size(), 3u);
  EXPECT_FALSE(r.complete);
}

// ---------------------------------------------------------------- log

TEST(TxnLog, LastStableOffsetWithInterleavedTransactions) {
  TempDir d;
  auto log = Log::open(d.path / "t-0", LogConfig{}, Uuid{1, 2});
  append(*log, batch({{"a", "1"}, {"b", "2"}}, 1, 0, 0, true));  // 0-1: producer 1's txn
  append(*log, batch({{"c", "3"}}, 2, 0, 0, true));              // 2: producer 2's txn
  append(*log, batch({{"d", "4"}}, 3, 0, 0, false));             // 3: idempotent
  append(*log, batch({{"e", "5"}}));                             // 4: plain
  EXPECT_EQ(log->last_stable_offset(5), 0);
  EXPECT_EQ(log->first_uncleanable_offset(), 0);
  auto c = log->append_marker(1, 0, 0, true, 0, 1234);  // 5: commit producer 1
  EXPECT_EQ(c.error, ErrorCode::NONE);
  EXPECT_EQ(c.first_offset, 5);
  EXPECT_EQ(log->log_end_offset(), 6);
  EXPECT_EQ(log->last_stable_offset(5), 0);  // the commit marker is not below the hw yet
  EXPECT_EQ(log->last_stable_offset(6), 2);  // producer 2 still open
  auto a = log->append_marker(2, 0, 0, false, 0, 1235);  // 6: abort producer 2
  EXPECT_EQ(a.error, ErrorCode::NONE);
  EXPECT_EQ(log->last_stable_offset(6), 2);
  EXPECT_EQ(log->last_stable_offset(7), 7);
  EXPECT_EQ(log->collect_aborted_transactions(0, 7), (std::vector<AbortedTxn>{{2, 2, 6, 7}}));
  EXPECT_TRUE(log->collect_aborted_transactions(7, 8).empty());
  EXPECT_TRUE(log->collect_aborted_transactions(0, 2).empty());  // first offset 2 is not below the bound
  // The marker batch as Kafka writes it.
  auto rr = log->read(6, 1 << 20, 7, true);
  auto bytes = bytes_of(rr.records);
  records::BatchHeader h;
  ASSERT_TRUE(records::parse_header(bytes, h));
  EXPECT_EQ(h.attributes, records::kTransactionalBit | records::kControlBit);
  EXPECT_EQ(h.producer_id, 2);
  EXPECT_EQ(h.base_sequence, -1);
  EXPECT_EQ(h.records_count, 1);
  EXPECT_EQ(h.max_timestamp, 1235);
  auto recs = records::decode_records(bytes);
  ASSERT_EQ(recs.size(), 1u);
  EXPECT_EQ(*recs[0].key, (std::vector<uint8_t>{0, 0, 0, 0}));
  EXPECT_EQ(*recs[0].value, (std::vector<uint8_t>{0, 0, 0, 0, 0, 0}));
  // Producer 2 may not write outside a transaction until... it now may.
  EXPECT_EQ(append(*log, batch({{"f", "6"}}, 2, 0, 1, false)).error, ErrorCode::NONE);
  // A new transaction holds the LSO again.
  append(*log, batch({{"g", "7"}}, 4, 0, 0, true));  // 8: an open txn
  EXPECT_EQ(log->last_stable_offset(9), 8);
}

TEST(TxnLog, ProduceChecksAndFencedMarkersWriteNothing) {
  TempDir d;
  auto log = Log::open(d.path / "t-0", LogConfig{}, Uuid{1, 2});
  append(*log, batch({{"a", "1"}}, 1, 2, 0, true));
  auto bad = batch({{"b", "2"}}, 1, 2, 1, false);
  auto v = records::validate_batches(bad, 1 << 30);
  auto r = log->append(bad, v, 0);
  EXPECT_EQ(r.error, ErrorCode::INVALID_TXN_STATE);
  EXPECT_EQ(log->log_end_offset(), 1);
  EXPECT_EQ(log->append_marker(1, 1, 0, true, 0, 1).error, ErrorCode::INVALID_PRODUCER_EPOCH);
  EXPECT_EQ(log->log_end_offset(), 1);
  EXPECT_EQ(log->append_marker(1, 2, 3, true, 0, 1).error, ErrorCode::NONE);
  EXPECT_EQ(log->append_marker(1, 2, 2, true, 0, 1).error, ErrorCode::TRANSACTION_COORDINATOR_FENCED);
  EXPECT_EQ(log->log_end_offset(), 2);
  EXPECT_EQ(log->producer_state().find(1)->coordinator_epoch, 3);
}

TEST(TxnLog, AbortedTransactionsAcrossSegmentRolls) {
  TempDir d;
  const fs::path dir = d.path / "t-0";
  auto log = Log::open(dir, LogConfig{}, Uuid{1, 2});
  append(*log, batch({{"a", "1"}}, 1, 0, 0, true));  // 0
  append(*log, batch({{"b", "1"}}, 2, 0, 0, true));  // 1
  log->append_marker(1, 0, 0, false, 0, 1);          // 2: abort 1 (LSO 1: producer 2 open)
  log->roll();                                       // segment 3
  append(*log, batch({{"c", "1"}}, 2, 0, 1, true));  // 3
  log->append_marker(2, 0, 0, false, 0, 1);          // 4: abort 2 (LSO 5)
  log->append_marker(1, 0, 0, true, 0, 1);           // 5: no ongoing txn: no entry
  log->roll();                                       // segment 6
  append(*log, batch({{"d", "1"}}, 3, 0, 0, true));  // 6
  log->append_marker(3, 0, 0, true, 0, 1);           // 7: commit: no entry
  log->roll();                                       // segment 8
  EXPECT_EQ(append(*log, batch({{"e", "1"}}, 1, 0, 1, true)).first_offset, 8);
  EXPECT_EQ(log->append_marker(1, 0, 0, false, 0, 1).first_offset, 9);  // abort (LSO 10)
  ASSERT_EQ(log->segment_count(), 4);
  EXPECT_EQ(file_bytes(txnindex(dir, 0)).size(), 34u);
  EXPECT_EQ(file_bytes(txnindex(dir, 3)).size(), 34u);
  EXPECT_FALSE(fs::exists(txnindex(dir, 6)));  // no ABORT in it: no file
  EXPECT_EQ(file_bytes(txnindex(dir, 8)).size(), 34u);
  const AbortedTxn t1{1, 0, 2, 1}, t2{2, 1, 4, 5}, t3{1, 8, 9, 10};
  EXPECT_EQ(log->collect_aborted_transactions(0, 10), (std::vector<AbortedTxn>{t1, t2, t3}));
  // From offset 3: segment 0's entry ends below it and is not read.
  EXPECT_EQ(log->collect_aborted_transactions(3, 10), (std::vector<AbortedTxn>{t2, t3}));
  // Upper bound 5: t2's LSO (5) reaches it, so later segments are not needed.
  EXPECT_EQ(log->collect_aborted_transactions(3, 5), (std::vector<AbortedTxn>{t2}));
  // Upper bound 2: t1 (first offset 0) and t2 (first offset 1) overlap [0, 2).
  EXPECT_EQ(log->collect_aborted_transactions(0, 2), (std::vector<AbortedTxn>{t1, t2}));
  // Retention deletes the index with its segment.
  log->set_log_start_offset(3);
  EXPECT_FALSE(fs::exists(txnindex(dir, 0)));
  EXPECT_EQ(log->collect_aborted_transactions(3, 10), (std::vector<AbortedTxn>{t2, t3}));
}

TEST(TxnLog, RecoveryRestoresOngoingTransactionsAndDoesNotDuplicateEntries) {
  TempDir d;
  const fs::path dir = d.path / "t-0";
  {
    auto log = Log::open(dir, LogConfig{}, Uuid{1, 2});
    append(*log, batch({{"a", "1"}}, 1, 0, 0, true));  // 0
    append(*log, batch({{"b", "1"}}, 2, 0, 0, true));  // 1
    log->append_marker(1, 0, 0, false, 0, 1);          // 2: abort (LSO 1)
    log->roll();
    append(*log, batch({{"c", "1"}}, 3, 0, 0, true));  // 3
    log->append_marker(3, 0, 0, false, 0, 1);          // 4: abort (LSO 1)
    log->close();
  }
  const std::vector<AbortedTxn> want = {{1, 0, 2, 1}, {3, 3, 4, 1}};
  auto check_reopened = [&](const char* what) {
    auto log = Log::open(dir, LogConfig{}, Uuid{});
    EXPECT_EQ(log->collect_aborted_transactions(0, 100), want) << what;
    EXPECT_EQ(file_bytes(txnindex(dir, 0)).size(), 34u) << what;
    EXPECT_EQ(file_bytes(txnindex(dir, 3)).size(), 34u) << what;
    EXPECT_EQ(log->producer_state().ongoing_txns(), (std::map<int64_t, int64_t>{{1, 2}})) << what;
    EXPECT_EQ(log->last_stable_offset(5), 1) << what;
    // The transaction restored completes normally.
    EXPECT_EQ(log->append_marker(2, 0, 0, true, 0, 1).error, ErrorCode::NONE) << what;
    EXPECT_EQ(log->last_stable_offset(6), 6) << what;
    log->truncate_to(5);
  };
  check_reopened("with the snapshot written at close");
  // Without snapshots: everything is replayed; the index is rebuilt, not appended to twice.
  for (const auto& [o, p] : ProducerStateManager::list_snapshots(dir)) fs::remove(p);
  check_reopened("replayed from the start");
  // A snapshot below the markers (recovery replays from it and re-adds its entries).
  for (const auto& [o, p] : ProducerStateManager::list_snapshots(dir)) fs::remove(p);
  {
    ProducerStateManager m;
    m.apply(data_header(1, 0, 0, 1, 0, true));
    m.apply(data_header(2, 0, 0, 1, 1, true));
    m.set_map_end_offset(2);
    for (const auto& [o, p] : ProducerStateManager::list_snapshots(dir)) fs::remove(p);
    m.write_snapshot(dir, false);
  }
  check_reopened("replayed from offset 2");
}

TEST(TxnLog, TruncationRemovesEntriesAndReopensTheTransaction) {
  TempDir d;
  const fs::path dir = d.path / "t-0";
  auto log = Log::open(dir, LogConfig{}, Uuid{1, 2});
  two_aborted_transactions(*log);  // 0-3
  append(*log, batch({{"c", "1"}}, 1, 0, 1, true));  // 4
  log->append_marker(1, 0, 0, false, 0, 1);          // 5
  EXPECT_EQ(file_bytes(txnindex(dir, 2)).size(), 68u);
  log->truncate_to(5);  // the second abort of producer 1 goes
  EXPECT_EQ(file_bytes(txnindex(dir, 2)).size(), 34u);
  EXPECT_EQ(log->collect_aborted_transactions(0, 100), (std::vector<AbortedTxn>{{1, 0, 1, 2}, {2, 2, 3, 4}}));
  EXPECT_EQ(log->last_stable_offset(5), 4);  // producer 1's transaction at 4 is open again
  log->truncate_to(2);  // the whole second segment
  EXPECT_FALSE(fs::exists(txnindex(dir, 2)));
  EXPECT_EQ(log->collect_aborted_transactions(0, 100), (std::vector<AbortedTxn>{{1, 0, 1, 2}}));
  EXPECT_EQ(log->last_stable_offset(2), 2);
  log->truncate_fully_and_start_at(10);
  EXPECT_FALSE(fs::exists(txnindex(dir, 0)));
  EXPECT_TRUE(log->collect_aborted_transactions(0, 100).empty());
  EXPECT_EQ(log->last_stable_offset(10), 10);
}

TEST(TxnLog, FollowerAppendAppliesMarkersWithoutChecks) {
  TempDir d;
  const fs::path dir = d.path / "t-0";
  auto log = Log::open(dir, LogConfig{}, Uuid{1, 2});
  auto b0 = batch({{"a", "1"}}, 1, 5, 0, true);
  auto b1 = batch({{"b", "1"}}, 2, 0, 0, true);
  // Offsets as the leader assigned them.
  store_be64(b1.data(), 1);
  std::vector<uint8_t> all(b0.begin(), b0.end());
  all.insert(all.end(), b1.begin(), b1.end());
  auto m = marker_batch(1, 5, 1, false, 2);
  all.insert(all.end(), m.begin(), m.end());
  log->append_as_follower(all);
  EXPECT_EQ(log->log_end_offset(), 3);
  EXPECT_EQ(log->collect_aborted_transactions(0, 3), (std::vector<AbortedTxn>{{1, 0, 2, 1}}));
  // A fenced marker (older coordinator epoch) from the leader is applied anyway.
  auto m2 = marker_batch(2, 0, -5, true, 3);
  log->append_as_follower(m2);
  EXPECT_EQ(log->producer_state().find(2)->coordinator_epoch, -5);
  EXPECT_EQ(log->last_stable_offset(4), 4);
}

TEST(TxnLog, CompletedSwapMergesTxnIndexes) {
  TempDir d;
  const fs::path dir = d.path / "t-0";
  {
    auto log = Log::open(dir, LogConfig{}, Uuid{1, 2});
    two_aborted_transactions(*log);  // 0-3
    log->roll();
    append(*log, batch({{"c", "1"}}));  // 4
    log->close();
  }
  // A crash after the cleaner committed the replacement of segments 0 and 2.
  auto a = file_bytes(dir / offset_file_name(0, ".log"));
  auto b = file_bytes(dir / offset_file_name(2, ".log"));
  a.insert(a.end(), b.begin(), b.end());
  {
    std::ofstream f(dir / (offset_file_name(0, ".log") + ".swap"), std::ios::binary);
    f.write(reinterpret_cast<const char*>(a.data()), static_cast<std::streamsize>(a.size()));
  }
  auto log = Log::open(dir, LogConfig{}, Uuid{});
  EXPECT_EQ(log->segment_count(), 2);
  EXPECT_FALSE(fs::exists(txnindex(dir, 2)));
  EXPECT_EQ(file_bytes(txnindex(dir, 0)).size(), 68u);
  EXPECT_EQ(log->collect_aborted_transactions(0, 100), (std::vector<AbortedTxn>{{1, 0, 1, 2}, {2, 2, 3, 4}}));
}

// ---------------------------------------------------------------- cleaner

namespace {
struct CleanerFixture {
  TempDir d;
  std::unique_ptr<Log> log;
  std::unique_ptr<LogCleaner> cleaner;
  CleanerFixture() {
    log = Log::open(d.path / "t-0", compact_config(), Uuid{1, 2});
    cleaner = std::make_unique<LogCleaner>(CleanerConfig{});
    cleaner->add_log("t", 0, log.get());
  }
  ~CleanerFixture() { cleaner->remove_log(log.get()); }
  void hw_at_end() { log->set_cleanable_limit(log->log_end_offset()); }
};
}  // namespace

TEST(TxnCleaner, DropsAbortedDataKeepsMarkersAndProducersLastBatches) {
  CleanerFixture f;
  auto& log = *f.log;
  append(log, batch({{"k1", "committed"}}));                         // 0
  append(log, batch({{"k1", "aborted"}, {"k2", "aborted"}}, 1, 0, 0, true));  // 1-2: producer 1, aborted
  append(log, batch({{"k3", "p3"}}, 3, 0, 0, false));                // 3: producer 3's last batch
  append(log, batch({{"k4", "txn"}}, 2, 0, 0, true));                // 4: producer 2, committed
  log.append_marker(1, 0, 0, false, 0, 1);                           // 5: abort 1
  log.append_marker(2, 0, 0, true, 0, 1);                            // 6: commit 2
  log.roll();
  append(log, batch({{"k3", "newer"}}));  // 7: supersedes producer 3's record
  append(log, batch({{"k4", "newer"}}));  // 8: supersedes the committed txn's record
  append(log, batch({{"k5", "p1"}}, 1, 0, 2, false));  // 9: producer 1's last batch
  append(log, batch({{"k6", "p2"}}, 2, 0, 1, false));  // 10: producer 2's last batch
  log.roll();
  append(log, batch({{"x", "1"}}));  // 11 (active)
  f.hw_at_end();
  ASSERT_TRUE(f.cleaner->clean_once());
  auto s = read_all(log);
  std::map<std::string, std::string> latest;
  std::vector<int64_t> offsets;
  for (const auto& r : s.records) {
    latest[str(r.key)] = str(r.value);
    offsets.push_back(r.offset);
  }
  // The aborted write neither survives nor shadowed the committed value of k1.
  EXPECT_EQ(latest["k1"], "committed");
  EXPECT_EQ(latest.count("k2"), 0u);
  EXPECT_EQ(offsets, (std::vector<int64_t>{0, 7, 8, 9, 10, 11}));
  // Batches: 0, producer 3's emptied batch (3), both markers (5, 6), 7-11.
  // The aborted batch (1-2) and the committed one superseded (4) are gone.
  std::vector<int64_t> bases;
  for (const auto& h : s.batches) bases.push_back(h.base_offset);
  EXPECT_EQ(bases, (std::vector<int64_t>{0, 3, 5, 6, 7, 8, 9, 10, 11}));
  ASSERT_EQ(s.batches.size(), 9u);
  EXPECT_EQ(s.batches[1].producer_id, 3);
  EXPECT_EQ(s.batches[1].records_count, 0);
  EXPECT_EQ(s.batches[1].base_sequence, 0);
  EXPECT_TRUE(s.batches[2].is_control());
  EXPECT_TRUE(s.batches[3].is_control());
  // The aborted-transaction entry still describes the cleaned log, also after a reopen.
  EXPECT_EQ(log.collect_aborted_transactions(0, 12), (std::vector<AbortedTxn>{{1, 1, 5, 4}}));
  f.cleaner->remove_log(f.log.get());
  f.log->close();
  f.log = Log::open(f.d.path / "t-0", compact_config(), Uuid{});
  EXPECT_EQ(f.log->collect_aborted_transactions(0, 12), (std::vector<AbortedTxn>{{1, 1, 5, 4}}));
  // The producer state rebuilt from the cleaned log alone keeps producer 3's sequence.
  f.log->close();
  for (const auto& [o, p] : ProducerStateManager::list_snapshots(f.d.path / "t-0")) fs::remove(p);
  f.log = Log::open(f.d.path / "t-0", compact_config(), Uuid{});
  f.cleaner->add_log("t", 0, f.log.get());
  ASSERT_NE(f.log->producer_state().find(3), nullptr);
  EXPECT_EQ(f.log->producer_state().find(3)->last_seq(), 0);
  auto dup = batch({{"k3", "p3"}}, 3, 0, 0, false);
  auto v = records::validate_batches(dup, 1 << 30);
  EXPECT_TRUE(f.log->append(dup, v, 0).duplicate);
}

TEST(TxnCleaner, CleanedSegmentKeepsTheTxnIndexOfTheSegmentsItReplaces) {
  CleanerFixture f;
  auto& log = *f.log;
  const fs::path dir = f.d.path / "t-0";
  two_aborted_transactions(log);  // 0-3
  log.roll();
  append(log, batch({{"a", "2"}}));  // 4
  log.roll();
  append(log, batch({{"z", "1"}}));  // 5 (active)
  f.hw_at_end();
  ASSERT_TRUE(f.cleaner->clean_once());
  EXPECT_EQ(log.segment_count(), 2);  // three segments cleaned into one
  EXPECT_FALSE(fs::exists(txnindex(dir, 2)));
  EXPECT_EQ(file_bytes(txnindex(dir, 0)).size(), 68u);
  const std::vector<AbortedTxn> want = {{1, 0, 1, 2}, {2, 2, 3, 4}};
  EXPECT_EQ(log.collect_aborted_transactions(0, 6), want);
  auto s = read_all(log);
  ASSERT_EQ(s.records.size(), 2u);  // a=2 and z=1: the aborted a=1 and b=1 are gone
  EXPECT_EQ(s.records[0].offset, 4);
}

TEST(TxnCleaner, NeverCleansAtOrPastTheFirstUnstableOffset) {
  CleanerFixture f;
  auto& log = *f.log;
  for (int i = 0; i < 3; ++i) append(log, batch({{"k", "v" + std::to_string(i)}}));  // 0-2
  log.roll();
  append(log, batch({{"k", "txn"}}, 1, 0, 0, true));  // 3: open transaction
  append(log, batch({{"k", "v4"}}));                   // 4
  log.roll();
  append(log, batch({{"k", "v5"}}));  // 5
  log.roll();
  append(log, batch({{"z", "1"}}));  // 6 (active)
  f.hw_at_end();
  EXPECT_EQ(log.first_uncleanable_offset(), 3);
  ASSERT_TRUE(f.cleaner->clean_once());
  EXPECT_EQ(f.cleaner->checkpoint("t", 0), 3);  // only the segment below the open transaction
  auto s = read_all(log);
  std::vector<int64_t> offsets;
  for (const auto& r : s.records) offsets.push_back(r.offset);
  EXPECT_EQ(offsets, (std::vector<int64_t>{2, 3, 4, 5, 6}));
  EXPECT_FALSE(f.cleaner->clean_once());
  // Once it commits and the hw passes the marker, the rest may be cleaned.
  log.append_marker(1, 0, 0, true, 0, 1);  // 7
  log.roll();
  append(log, batch({{"y", "1"}}));  // 8
  f.hw_at_end();
  EXPECT_EQ(log.first_uncleanable_offset(), 9);
  ASSERT_TRUE(f.cleaner->clean_once());
  s = read_all(log);
  std::map<std::string, std::string> latest;
  for (const auto& r : s.records) latest[str(r.key)] = str(r.value);
  EXPECT_EQ(latest["k"], "v5");
  size_t k_count = 0;
  for (const auto& r : s.records) k_count += str(r.key) == "k";
  EXPECT_EQ(k_count, 1u);
}

TEST(TxnCleaner, UnreplicatedCompletedTransactionHoldsTheCleanerBack) {
  CleanerFixture f;
  auto& log = *f.log;
  append(log, batch({{"k", "1"}}, 1, 0, 0, true));  // 0
  log.append_marker(1, 0, 0, true, 0, 1);           // 1
  log.roll();
  append(log, batch({{"k", "2"}}));  // 2
  log.roll();
  append(log, batch({{"z", "1"}}));  // 3 (active)
  log.set_cleanable_limit(1);        // the hw is still at the marker
  EXPECT_EQ(log.first_uncleanable_offset(), 0);
  EXPECT_FALSE(f.cleaner->clean_once());
  f.hw_at_end();
  EXPECT_EQ(log.first_uncleanable_offset(), 4);
  EXPECT_TRUE(f.cleaner->clean_once());
}
