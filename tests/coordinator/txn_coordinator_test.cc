// The transaction coordinator's state machine on a fake clock, a fake store,
// a fake marker writer and a fake producer id source, and the
// __transaction_state record formats against Kafka's bytes.
#include "coordinator/txn_coordinator.h"

#include <gtest/gtest.h>

#include "txn_harness.h"

namespace flotilla::coordinator {
namespace {

using testing_txn::FakeIds;
using testing_txn::FakeMarkers;
using testing_txn::FakeTxnStore;
using testing_txn::Harness;

const TopicPartitionKey kOffsets3{"__consumer_offsets", 3};  // abs("g".hashCode()) % 50 = 103 % 50

TEST(TxnCoordinator, HappyPathCommit) {
  Harness h;
  auto r = h.init("tx");
  ASSERT_EQ(r.error, ErrorCode::NONE);
  EXPECT_EQ(r.producer_id, 1000);
  EXPECT_EQ(r.producer_epoch, 0);
  EXPECT_EQ(h.md("tx").state, TxnState::Empty);
  EXPECT_EQ(h.store.last_value().state, TxnState::Empty);

  const int64_t start = h.now;
  EXPECT_EQ(h.add("tx", 1000, 0, {{"t", 0}, {"t", 1}}), ErrorCode::NONE);
  EXPECT_EQ(h.md("tx").state, TxnState::Ongoing);
  EXPECT_EQ(h.md("tx").txn_start_timestamp, start);
  h.now += 5;
  // Already in the transaction: answered at once, nothing written.
  size_t logged = h.store.log[0].size();
  EXPECT_EQ(h.add("tx", 1000, 0, {{"t", 1}}, false), ErrorCode::NONE);
  EXPECT_EQ(h.store.log[0].size(), logged);
  EXPECT_TRUE(h.store.pending.empty());

  EXPECT_EQ(h.add_offsets("tx", 1000, 0, "g"), ErrorCode::NONE);
  EXPECT_EQ(h.md("tx").partitions, (std::set<TopicPartitionKey>{{"t", 0}, {"t", 1}, kOffsets3}));
  EXPECT_EQ(h.md("tx").txn_start_timestamp, start);  // unchanged within a transaction

  // EndTxn(commit): answered once PrepareCommit is written.
  std::optional<ErrorCode> ended;
  h.tc->end_txn("tx", 1000, 0, TxnResult::Commit, [&](ErrorCode e) { ended = e; });
  EXPECT_FALSE(ended);
  EXPECT_EQ(h.md("tx").pending_state, TxnState::PrepareCommit);
  h.store.commit_all();
  ASSERT_EQ(ended, ErrorCode::NONE);
  EXPECT_EQ(h.md("tx").state, TxnState::PrepareCommit);
  EXPECT_EQ(h.store.last_value().state, TxnState::PrepareCommit);
  EXPECT_EQ(h.store.last_value().partitions.size(), 3u);
  EXPECT_EQ(h.md("tx").pending_state, TxnState::CompleteCommit);

  // Markers handed to the writer.
  ASSERT_EQ(h.markers.pending.size(), 1u);
  const TxnMarkers& m = h.markers.pending.front().first;
  EXPECT_EQ(m.transactional_id, "tx");
  EXPECT_EQ(m.producer_id, 1000);
  EXPECT_EQ(m.producer_epoch, 0);
  EXPECT_EQ(m.result, TxnResult::Commit);
  EXPECT_EQ(m.coordinator_epoch, 1);
  EXPECT_EQ(m.partitions, (std::set<TopicPartitionKey>{{"t", 0}, {"t", 1}, kOffsets3}));

  // While completing: retries and new requests wait.
  EXPECT_EQ(h.end("tx", 1000, 0, TxnResult::Commit), ErrorCode::CONCURRENT_TRANSACTIONS);
  EXPECT_EQ(h.end("tx", 1000, 0, TxnResult::Abort), ErrorCode::CONCURRENT_TRANSACTIONS);
  EXPECT_EQ(h.init("tx").error, ErrorCode::CONCURRENT_TRANSACTIONS);
  EXPECT_EQ(h.add("tx", 1000, 0, {{"t", 2}}), ErrorCode::CONCURRENT_TRANSACTIONS);

  h.now += 10;
  h.markers.finish_all();
  ASSERT_EQ(h.store.pending.size(), 1u);  // CompleteCommit being written
  h.store.commit_all();
  EXPECT_EQ(h.md("tx").state, TxnState::CompleteCommit);
  EXPECT_FALSE(h.md("tx").pending_state);
  EXPECT_TRUE(h.md("tx").partitions.empty());
  // Kafka's prepareComplete takes the time once PrepareCommit is written.
  EXPECT_EQ(h.md("tx").txn_last_update_timestamp, h.now - 10);
  EXPECT_EQ(h.store.last_value().state, TxnState::CompleteCommit);
  EXPECT_EQ(h.store.log[0].size(), 5u);  // Empty, Ongoing, Ongoing (offsets), PrepareCommit, CompleteCommit

  // Retries of the finished EndTxn.
  EXPECT_EQ(h.end("tx", 1000, 0, TxnResult::Commit), ErrorCode::NONE);
  EXPECT_EQ(h.end("tx", 1000, 0, TxnResult::Abort), ErrorCode::INVALID_TXN_STATE);

  // The next transaction starts anew.
  h.now += 100;
  EXPECT_EQ(h.add("tx", 1000, 0, {{"u", 0}}), ErrorCode::NONE);
  EXPECT_EQ(h.md("tx").state, TxnState::Ongoing);
  EXPECT_EQ(h.md("tx").txn_start_timestamp, h.now);
  EXPECT_EQ(h.md("tx").partitions, (std::set<TopicPartitionKey>{{"u", 0}}));
}

TEST(TxnCoordinator, Abort) {
  Harness h;
  auto r = h.init("tx");
  EXPECT_EQ(h.end("tx", r.producer_id, 0, TxnResult::Abort), ErrorCode::INVALID_TXN_STATE);  // Empty
  EXPECT_EQ(h.add("tx", r.producer_id, 0, {{"t", 0}}), ErrorCode::NONE);
  EXPECT_EQ(h.end("tx", r.producer_id, 0, TxnResult::Abort), ErrorCode::NONE);
  EXPECT_EQ(h.md("tx").state, TxnState::PrepareAbort);
  EXPECT_EQ(h.end("tx", r.producer_id, 0, TxnResult::Commit), ErrorCode::CONCURRENT_TRANSACTIONS);  // pending completion
  ASSERT_EQ(h.markers.pending.size(), 1u);
  EXPECT_EQ(h.markers.pending.front().first.result, TxnResult::Abort);
  h.markers.finish_all();
  h.store.commit_all();
  EXPECT_EQ(h.md("tx").state, TxnState::CompleteAbort);
  EXPECT_EQ(h.end("tx", r.producer_id, 0, TxnResult::Abort), ErrorCode::NONE);
  EXPECT_EQ(h.end("tx", r.producer_id, 0, TxnResult::Commit), ErrorCode::INVALID_TXN_STATE);
  // A re-init after a completed transaction bumps the epoch.
  auto r2 = h.init("tx");
  EXPECT_EQ(r2.error, ErrorCode::NONE);
  EXPECT_EQ(r2.producer_id, r.producer_id);
  EXPECT_EQ(r2.producer_epoch, 1);
  EXPECT_EQ(h.md("tx").state, TxnState::Empty);
}

TEST(TxnCoordinator, NewInitProducerIdFencesOngoingTransaction) {
  Harness h;
  auto r = h.begin("tx");

  // A second producer with the same transactional id.
  auto fenced = h.init_pending("tx");
  EXPECT_FALSE(*fenced);
  EXPECT_EQ(h.md("tx").producer_epoch, 1);  // bumped in memory, written with PrepareAbort
  EXPECT_EQ(h.md("tx").pending_state, TxnState::PrepareAbort);
  h.store.commit_all();
  ASSERT_TRUE(*fenced);
  EXPECT_EQ((*fenced)->error, ErrorCode::CONCURRENT_TRANSACTIONS);  // the client retries
  EXPECT_EQ(h.store.last_value().state, TxnState::PrepareAbort);
  EXPECT_EQ(h.store.last_value().producer_epoch, 1);

  // The old producer is fenced.
  EXPECT_EQ(h.add("tx", r.producer_id, 0, {{"t", 1}}), ErrorCode::PRODUCER_FENCED);
  EXPECT_EQ(h.end("tx", r.producer_id, 0, TxnResult::Commit), ErrorCode::PRODUCER_FENCED);
  EXPECT_EQ(txn_error_for_version(24, 1, ErrorCode::PRODUCER_FENCED), ErrorCode::INVALID_PRODUCER_EPOCH);
  EXPECT_EQ(txn_error_for_version(24, 2, ErrorCode::PRODUCER_FENCED), ErrorCode::PRODUCER_FENCED);
  EXPECT_EQ(txn_error_for_version(22, 3, ErrorCode::PRODUCER_FENCED), ErrorCode::INVALID_PRODUCER_EPOCH);
  EXPECT_EQ(txn_error_for_version(22, 4, ErrorCode::PRODUCER_FENCED), ErrorCode::PRODUCER_FENCED);
  EXPECT_EQ(txn_error_for_version(26, 1, ErrorCode::CONCURRENT_TRANSACTIONS), ErrorCode::CONCURRENT_TRANSACTIONS);

  // Retrying while the abort completes.
  EXPECT_EQ(h.init("tx").error, ErrorCode::CONCURRENT_TRANSACTIONS);
  ASSERT_EQ(h.markers.pending.size(), 1u);
  EXPECT_EQ(h.markers.pending.front().first.producer_epoch, 1);
  EXPECT_EQ(h.markers.pending.front().first.result, TxnResult::Abort);
  h.markers.finish_all();
  h.store.commit_all();
  EXPECT_EQ(h.md("tx").state, TxnState::CompleteAbort);

  auto r2 = h.init("tx");
  EXPECT_EQ(r2.error, ErrorCode::NONE);
  EXPECT_EQ(r2.producer_id, r.producer_id);
  EXPECT_EQ(r2.producer_epoch, 2);
}

TEST(TxnCoordinator, FailedFenceDoesNotBumpTwice) {
  Harness h;
  h.begin("tx");
  auto out = h.init_pending("tx");
  h.store.commit_all(ErrorCode::REQUEST_TIMED_OUT);
  ASSERT_TRUE(*out);
  EXPECT_EQ((*out)->error, ErrorCode::COORDINATOR_NOT_AVAILABLE);
  EXPECT_EQ(h.md("tx").state, TxnState::Ongoing);
  EXPECT_EQ(h.md("tx").producer_epoch, 1);
  EXPECT_TRUE(h.md("tx").has_failed_epoch_fence);
  // The retry fences at the same epoch.
  EXPECT_EQ(h.init("tx").error, ErrorCode::CONCURRENT_TRANSACTIONS);
  EXPECT_EQ(h.store.last_value().producer_epoch, 1);
  EXPECT_EQ(h.store.last_value().state, TxnState::PrepareAbort);
  h.markers.finish_all();
  h.store.commit_all();
  EXPECT_FALSE(h.md("tx").has_failed_epoch_fence);
  EXPECT_EQ(h.init("tx").producer_epoch, 2);
}

TEST(TxnCoordinator, TimedOutTransactionIsAborted) {
  Harness h;
  auto r = h.begin("tx", 1000);
  h.now += 1000;
  h.tc->abort_timed_out_transactions();  // start + timeout == now: not yet
  EXPECT_TRUE(h.store.pending.empty());
  EXPECT_EQ(h.md("tx").state, TxnState::Ongoing);

  h.tc->tick();  // sets the cleanup baseline
  h.now += h.cfg.abort_timed_out_transaction_cleanup_interval_ms - 1;
  h.tc->tick();
  EXPECT_TRUE(h.store.pending.empty());
  h.now += 1;
  h.tc->tick();
  ASSERT_EQ(h.store.pending.size(), 1u);
  h.store.commit_all();
  EXPECT_EQ(h.md("tx").state, TxnState::PrepareAbort);
  EXPECT_EQ(h.md("tx").producer_epoch, 1);
  EXPECT_EQ(h.end("tx", r.producer_id, 0, TxnResult::Commit), ErrorCode::PRODUCER_FENCED);
  ASSERT_EQ(h.markers.pending.size(), 1u);
  EXPECT_EQ(h.markers.pending.front().first.producer_epoch, 1);
  h.markers.finish_all();
  h.store.commit_all();
  EXPECT_EQ(h.md("tx").state, TxnState::CompleteAbort);
  // Completed transactions do not time out again.
  h.now += 1'000'000;
  h.tc->abort_timed_out_transactions();
  EXPECT_TRUE(h.store.pending.empty());
}

TEST(TxnCoordinator, IdleTransactionalIdsExpireWithATombstone) {
  Harness h;
  auto idle = h.init("idle");
  auto busy = h.init("busy");
  ASSERT_EQ(h.add("busy", busy.producer_id, 0, {{"t", 0}}), ErrorCode::NONE);  // Ongoing: never expires
  h.now += h.cfg.transactional_id_expiration_ms - 1;
  h.tc->remove_expired_transactional_ids();
  EXPECT_TRUE(h.store.pending.empty());  // not idle long enough
  h.now += 2'000'000;
  h.tc->remove_expired_transactional_ids();
  ASSERT_EQ(h.store.pending.size(), 1u);
  ASSERT_EQ(h.store.pending.front().records.size(), 1u);
  EXPECT_FALSE(h.store.pending.front().records.front().value.has_value());  // the tombstone
  // While it is being written, the id is busy.
  auto during = h.init_pending("idle");
  ASSERT_TRUE(during->has_value());
  EXPECT_EQ((*during)->error, ErrorCode::CONCURRENT_TRANSACTIONS);
  h.store.commit_all();
  EXPECT_EQ(h.tc->metadata_of("idle"), nullptr);
  EXPECT_NE(h.tc->metadata_of("busy"), nullptr);
  // A reload does not bring it back; a new InitProducerId starts over with a new producer id.
  h.tc->on_leadership(0, 1, false);
  h.tc->on_leadership(0, 2, true);
  h.store.finish_loads();
  EXPECT_EQ(h.tc->metadata_of("idle"), nullptr);
  auto again = h.init("idle");
  EXPECT_EQ(again.error, ErrorCode::NONE);
  EXPECT_NE(again.producer_id, idle.producer_id);
  EXPECT_EQ(again.producer_epoch, 0);
}

TEST(TxnCoordinator, TimeoutSkipsTransactionsWithPendingTransition) {
  Harness h;
  auto r = h.begin("tx", 1000);
  std::optional<ErrorCode> added;
  h.tc->add_partitions_to_txn("tx", r.producer_id, 0, {{"t", 1}}, [&](ErrorCode e) { added = e; });
  h.now += 5000;
  h.tc->abort_timed_out_transactions();
  EXPECT_EQ(h.store.pending.size(), 1u);  // only the AddPartitions write
  h.store.commit_all();
  EXPECT_EQ(added, ErrorCode::NONE);
  h.tc->abort_timed_out_transactions();
  EXPECT_EQ(h.store.pending.size(), 1u);
  h.store.commit_all();
  EXPECT_EQ(h.md("tx").state, TxnState::PrepareAbort);
}

TEST(TxnCoordinator, ConcurrentAndInvalidRequests) {
  Harness h;
  EXPECT_EQ(h.init("tx", 900001).error, ErrorCode::INVALID_TRANSACTION_TIMEOUT);
  EXPECT_EQ(h.init("tx", 0).error, ErrorCode::INVALID_TRANSACTION_TIMEOUT);
  EXPECT_EQ(h.init("tx", 900000).error, ErrorCode::NONE);
  EXPECT_EQ(h.init("").error, ErrorCode::INVALID_REQUEST);
  EXPECT_EQ(h.add("unknown", 1000, 0, {{"t", 0}}), ErrorCode::INVALID_PRODUCER_ID_MAPPING);
  EXPECT_EQ(h.end("unknown", 1000, 0, TxnResult::Commit), ErrorCode::INVALID_PRODUCER_ID_MAPPING);
  EXPECT_EQ(h.add("tx", 999, 0, {{"t", 0}}), ErrorCode::INVALID_PRODUCER_ID_MAPPING);
  EXPECT_EQ(h.add("tx", 1000, 1, {{"t", 0}}), ErrorCode::PRODUCER_FENCED);
  EXPECT_EQ(h.end("tx", 1000, 1, TxnResult::Commit), ErrorCode::PRODUCER_FENCED);

  // A transition being written answers CONCURRENT_TRANSACTIONS.
  std::optional<ErrorCode> first;
  h.tc->add_partitions_to_txn("tx", 1000, 0, {{"t", 0}}, [&](ErrorCode e) { first = e; });
  EXPECT_EQ(h.add("tx", 1000, 0, {{"t", 1}}, false), ErrorCode::CONCURRENT_TRANSACTIONS);
  EXPECT_EQ(h.end("tx", 1000, 0, TxnResult::Commit, false), ErrorCode::CONCURRENT_TRANSACTIONS);
  EXPECT_EQ(h.init("tx", 60000, std::nullopt, false).error, ErrorCode::CONCURRENT_TRANSACTIONS);
  h.store.commit_all();
  EXPECT_EQ(first, ErrorCode::NONE);

  // A failed write leaves the state as it was.
  std::optional<ErrorCode> failed;
  h.tc->add_partitions_to_txn("tx", 1000, 0, {{"t", 9}}, [&](ErrorCode e) { failed = e; });
  h.store.commit_all(ErrorCode::NOT_LEADER_OR_FOLLOWER);
  EXPECT_EQ(failed, ErrorCode::NOT_COORDINATOR);
  EXPECT_FALSE(h.md("tx").pending_state);
  EXPECT_EQ(h.md("tx").partitions, (std::set<TopicPartitionKey>{{"t", 0}}));

  // Idempotent producers get a fresh id at epoch 0.
  std::optional<InitProducerIdResult> idem;
  h.tc->init_producer_id(std::nullopt, 60000, std::nullopt, [&](InitProducerIdResult x) { idem = x; });
  ASSERT_TRUE(idem);
  EXPECT_EQ(idem->error, ErrorCode::NONE);
  EXPECT_EQ(idem->producer_id, 1001);
  EXPECT_EQ(idem->producer_epoch, 0);
  h.ids.fail = ErrorCode::COORDINATOR_LOAD_IN_PROGRESS;
  EXPECT_EQ(h.init("other").error, ErrorCode::COORDINATOR_LOAD_IN_PROGRESS);
  EXPECT_EQ(h.tc->metadata_of("other"), nullptr);
}

TEST(TxnCoordinator, CoordinatorOwnership) {
  FakeTxnStore store;
  FakeMarkers markers;
  FakeIds ids;
  TxnCoordinatorConfig cfg;  // 50 partitions
  int64_t now = 1000;
  TxnCoordinator tc(cfg, store, markers, ids, [&] { return now; });
  EXPECT_EQ(tc.partition_for("tx"), 16);  // abs("tx".hashCode() = 3716) % 50
  EXPECT_EQ(txn_partition("tx", 50), 16);
  EXPECT_EQ(tc.check_coordinator("tx"), ErrorCode::NOT_COORDINATOR);
  std::optional<InitProducerIdResult> r;
  tc.init_producer_id("tx", 1000, std::nullopt, [&](InitProducerIdResult x) { r = x; });
  EXPECT_EQ(r->error, ErrorCode::NOT_COORDINATOR);
  tc.on_leadership(16, 3, true);
  EXPECT_EQ(tc.check_coordinator("tx"), ErrorCode::COORDINATOR_LOAD_IN_PROGRESS);
  tc.init_producer_id("tx", 1000, std::nullopt, [&](InitProducerIdResult x) { r = x; });
  EXPECT_EQ(r->error, ErrorCode::COORDINATOR_LOAD_IN_PROGRESS);
  store.finish_loads();
  EXPECT_EQ(tc.check_coordinator("tx"), ErrorCode::NONE);
  tc.init_producer_id("tx", 1000, std::nullopt, [&](InitProducerIdResult x) { r = x; });
  ASSERT_EQ(store.pending.size(), 1u);
  EXPECT_EQ(store.pending.front().partition, 16);
  tc.on_leadership(16, 3, false);  // resigned before the write completed
  store.commit_all();
  EXPECT_EQ(r->error, ErrorCode::NOT_COORDINATOR);
  EXPECT_EQ(tc.metadata_of("tx"), nullptr);
}

TEST(TxnCoordinator, ExpectedProducerIdAndEpoch) {
  Harness h;
  auto r = h.init("tx");
  ASSERT_EQ(r.producer_epoch, 0);
  // KIP-360: the producer recovers with its id and epoch: bumped, last epoch kept.
  auto r1 = h.init("tx", 60000, ProducerIdAndEpoch{1000, 0});
  EXPECT_EQ(r1.error, ErrorCode::NONE);
  EXPECT_EQ(r1.producer_epoch, 1);
  EXPECT_EQ(h.md("tx").last_producer_epoch, 0);
  // A retry of that call (its answer lost) gets the same epoch.
  auto r2 = h.init("tx", 60000, ProducerIdAndEpoch{1000, 0});
  EXPECT_EQ(r2.error, ErrorCode::NONE);
  EXPECT_EQ(r2.producer_epoch, 1);
  EXPECT_EQ(h.init("tx", 60000, ProducerIdAndEpoch{1000, 5}).error, ErrorCode::PRODUCER_FENCED);
  EXPECT_EQ(h.init("tx", 60000, ProducerIdAndEpoch{77, 1}).error, ErrorCode::PRODUCER_FENCED);
  // Without an expected epoch, the last epoch is forgotten.
  auto r3 = h.init("tx");
  EXPECT_EQ(r3.producer_epoch, 2);
  EXPECT_EQ(h.md("tx").last_producer_epoch, -1);
}

TEST(TxnCoordinator, ExhaustedEpochRotatesProducerId) {
  Harness h;
  TransactionMetadata m;
  m.transactional_id = "tx";
  m.producer_id = 500;
  m.producer_epoch = 32766;
  m.txn_timeout_ms = 60000;
  m.state = TxnState::CompleteCommit;
  m.txn_last_update_timestamp = 1;
  m.txn_start_timestamp = 1;
  h.store.log[0].push_back(TxnRecord{encode_txn_key("tx"), encode_txn_value(m)});
  h.tc->on_leadership(0, 2, true);
  h.store.finish_loads();
  ASSERT_EQ(h.md("tx").producer_epoch, 32766);
  auto r = h.init("tx");
  EXPECT_EQ(r.error, ErrorCode::NONE);
  EXPECT_EQ(r.producer_id, 1000);
  EXPECT_EQ(r.producer_epoch, 0);
  EXPECT_EQ(h.md("tx").last_producer_id, 500);
  EXPECT_EQ(h.store.last_value().producer_id, 1000);
}

// ---------------------------------------------------------------- records

std::vector<uint8_t> bytes(std::initializer_list<int> v) {
  std::vector<uint8_t> out;
  for (int b : v) out.push_back(static_cast<uint8_t>(b));
  return out;
}

TransactionMetadata ongoing() {
  TransactionMetadata m;
  m.transactional_id = "tx";
  m.producer_id = 1000;
  m.producer_epoch = 0;
  m.txn_timeout_ms = 60000;
  m.state = TxnState::Ongoing;
  m.partitions = {{"t", 1}, {"t", 0}};
  m.txn_last_update_timestamp = 2000;
  m.txn_start_timestamp = 1500;
  return m;
}

TEST(TxnLog, KeyBytes) {
  EXPECT_EQ(encode_txn_key("tx"), bytes({0x00, 0x00, 0x00, 0x02, 't', 'x'}));
}

TEST(TxnLog, ValueV0Bytes) {
  auto expected = bytes({
      0x00, 0x00,                                      // version 0
      0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x03, 0xE8,  // ProducerId 1000
      0x00, 0x00,                                      // ProducerEpoch 0
      0x00, 0x00, 0xEA, 0x60,                          // TransactionTimeoutMs 60000
      0x01,                                            // TransactionStatus Ongoing
      0x00, 0x00, 0x00, 0x01,                          // 1 topic
      0x00, 0x01, 't',                                 //   Topic "t"
      0x00, 0x00, 0x00, 0x02, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01,  // [0, 1]
      0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x07, 0xD0,  // LastUpdate 2000
      0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x05, 0xDC,  // Start 1500
  });
  EXPECT_EQ(encode_txn_value(ongoing()), expected);
  auto rec = decode_txn_log_record(encode_txn_key("tx"), expected);
  ASSERT_TRUE(rec.known);
  EXPECT_EQ(rec.transactional_id, "tx");
  ASSERT_TRUE(rec.value);
  EXPECT_EQ(*rec.value, ongoing());
}

TEST(TxnLog, EmptyStateHasNullPartitions) {
  TransactionMetadata m = ongoing();
  m.state = TxnState::Empty;
  m.partitions.clear();
  m.txn_start_timestamp = -1;
  auto expected = bytes({
      0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x03, 0xE8, 0x00, 0x00, 0x00, 0x00, 0xEA, 0x60,
      0x00,                    // Empty
      0xFF, 0xFF, 0xFF, 0xFF,  // null partitions
      0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x07, 0xD0,
      0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF,  // Start -1
  });
  EXPECT_EQ(encode_txn_value(m), expected);
  EXPECT_EQ(*decode_txn_log_record(encode_txn_key("tx"), expected).value, m);
}

TEST(TxnLog, ValueV1Bytes) {
  TransactionMetadata m = ongoing();
  m.last_producer_id = 999;
  auto expected = bytes({
      0x00, 0x01,                                      // version 1
      0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x03, 0xE8,  // ProducerId
      0x00, 0x00,                                      // ProducerEpoch
      0x00, 0x00, 0xEA, 0x60,                          // TransactionTimeoutMs
      0x01,                                            // Ongoing
      0x02,                                            // compact array: 1 topic
      0x02, 't',                                       //   compact string "t"
      0x03, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01,  // compact [0, 1]
      0x00,                                            //   no tagged fields
      0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x07, 0xD0,
      0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x05, 0xDC,
      0x01,                                            // 1 tagged field
      0x00, 0x08, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x03, 0xE7,  // tag 0 PreviousProducerId 999
  });
  EXPECT_EQ(encode_txn_value(m, 1), expected);
  EXPECT_EQ(*decode_txn_log_record(encode_txn_key("tx"), expected).value, m);
}

TEST(TxnLog, UnknownAndMalformedRecords) {
  auto unknown_key = bytes({0x00, 0x05, 0x00, 0x01, 'x'});
  auto r = decode_txn_log_record(unknown_key, std::nullopt);
  EXPECT_FALSE(r.known);
  auto bad_version = encode_txn_value(ongoing());
  bad_version[1] = 9;
  EXPECT_THROW(decode_txn_log_record(encode_txn_key("tx"), bad_version), DecodeError);
  auto bad_status = encode_txn_value(ongoing());
  bad_status[16] = 8;
  EXPECT_THROW(decode_txn_log_record(encode_txn_key("tx"), bad_status), DecodeError);
}

TEST(TxnLog, LoadLastWinsAndTombstoneDeletes) {
  LoadedTxnPartition p;
  TransactionMetadata a = ongoing();
  TransactionMetadata a2 = a;
  a2.state = TxnState::PrepareCommit;
  TransactionMetadata b = ongoing();
  b.transactional_id = "b";
  for (const auto& [m, tomb] : std::vector<std::pair<TransactionMetadata, bool>>{{a, false}, {b, false}, {a2, false}, {b, true}}) {
    std::optional<std::vector<uint8_t>> value;
    if (!tomb) value = encode_txn_value(m);
    p.apply(decode_txn_log_record(encode_txn_key(m.transactional_id), value));
  }
  ASSERT_EQ(p.txns.size(), 1u);
  EXPECT_EQ(p.txns.at("tx").state, TxnState::PrepareCommit);
}

TEST(TxnCoordinator, ReloadReplaysLogAndCompletesPreparedTransactions) {
  Harness h;
  auto r = h.begin("tx");
  auto r2 = h.init("done");
  ASSERT_EQ(h.add("done", r2.producer_id, 0, {{"t", 1}}), ErrorCode::NONE);
  ASSERT_EQ(h.end("done", r2.producer_id, 0, TxnResult::Abort), ErrorCode::NONE);
  h.markers.finish_all();
  h.store.commit_all();
  ASSERT_EQ(h.end("tx", r.producer_id, 0, TxnResult::Commit), ErrorCode::NONE);
  ASSERT_EQ(h.markers.pending.size(), 1u);
  TransactionMetadata before = h.md("done");

  // Leadership moves to a new epoch before the markers are written.
  h.tc->on_leadership(0, 2, true);
  EXPECT_EQ(h.tc->metadata_of("tx"), nullptr);
  EXPECT_EQ(h.tc->check_coordinator("tx"), ErrorCode::COORDINATOR_LOAD_IN_PROGRESS);
  h.markers.finish_all();  // the old epoch's markers: ignored
  EXPECT_TRUE(h.store.pending.empty());
  h.store.finish_loads();

  EXPECT_EQ(h.md("done"), before);
  EXPECT_EQ(h.md("tx").state, TxnState::PrepareCommit);
  EXPECT_EQ(h.md("tx").pending_state, TxnState::CompleteCommit);
  ASSERT_EQ(h.markers.pending.size(), 1u);  // resent
  EXPECT_EQ(h.markers.pending.front().first.coordinator_epoch, 2);
  EXPECT_EQ(h.markers.pending.front().first.partitions, (std::set<TopicPartitionKey>{{"t", 0}}));
  h.markers.finish_all();
  h.store.commit_all();
  EXPECT_EQ(h.md("tx").state, TxnState::CompleteCommit);
  EXPECT_EQ(h.end("tx", r.producer_id, 0, TxnResult::Commit), ErrorCode::NONE);
}

TEST(TxnCoordinator, CompleteWriteRetriedWhenCoordinatorNotAvailable) {
  Harness h;
  auto r = h.begin("tx");
  ASSERT_EQ(h.end("tx", r.producer_id, 0, TxnResult::Commit), ErrorCode::NONE);
  h.markers.finish_all();
  h.store.commit_all(ErrorCode::NOT_ENOUGH_REPLICAS);
  EXPECT_EQ(h.md("tx").state, TxnState::PrepareCommit);
  EXPECT_EQ(h.md("tx").pending_state, TxnState::CompleteCommit);
  h.tc->tick();
  ASSERT_EQ(h.store.pending.size(), 1u);
  h.store.commit_all();
  EXPECT_EQ(h.md("tx").state, TxnState::CompleteCommit);
  EXPECT_FALSE(h.md("tx").pending_state);
}

// Markers a partition leader fences (INVALID_PRODUCER_EPOCH,
// TRANSACTION_COORDINATOR_FENCED) give the transaction up to the next
// coordinator; as Kafka (TransactionMarkerRequestCompletionHandler's
// abortSending), its completion stays pending, so every request is answered
// CONCURRENT_TRANSACTIONS (retriable) — not judged against a bare PrepareCommit,
// where an EndTxn asking to abort got INVALID_TXN_STATE (fatal to librdkafka).
TEST(TxnCoordinator, MarkersGivenUpKeepTheCompletionPendingUntilTheNextLoad) {
  for (ErrorCode fenced : {ErrorCode::INVALID_PRODUCER_EPOCH, ErrorCode::TRANSACTION_COORDINATOR_FENCED}) {
    SCOPED_TRACE(error_name(fenced));
    Harness h;
    auto r = h.begin("tx");
    ASSERT_EQ(h.end("tx", r.producer_id, 0, TxnResult::Commit), ErrorCode::NONE);
    h.markers.finish_all(fenced);
    EXPECT_TRUE(h.store.pending.empty());  // no CompleteCommit written
    EXPECT_EQ(h.md("tx").state, TxnState::PrepareCommit);
    EXPECT_EQ(h.md("tx").pending_state, TxnState::CompleteCommit);
    EXPECT_EQ(h.end("tx", r.producer_id, 0, TxnResult::Abort), ErrorCode::CONCURRENT_TRANSACTIONS);
    EXPECT_EQ(h.end("tx", r.producer_id, 0, TxnResult::Commit), ErrorCode::CONCURRENT_TRANSACTIONS);
    EXPECT_EQ(h.add("tx", r.producer_id, 0, {{"t", 1}}), ErrorCode::CONCURRENT_TRANSACTIONS);
    EXPECT_EQ(h.add_offsets("tx", r.producer_id, 0, "g"), ErrorCode::CONCURRENT_TRANSACTIONS);
    EXPECT_EQ(h.init("tx").error, ErrorCode::CONCURRENT_TRANSACTIONS);
    EXPECT_EQ(h.tc->verify_partitions_in_txn("tx", r.producer_id, 0, {{"t", 0}}).error, ErrorCode::CONCURRENT_TRANSACTIONS);
    // Neither the timeout nor the expiry touches it.
    h.now += 10'000'000'000;
    h.tc->abort_timed_out_transactions();
    h.tc->remove_expired_transactional_ids();
    EXPECT_TRUE(h.store.pending.empty());
    EXPECT_TRUE(h.markers.pending.empty());

    // The next load (a new coordinator epoch) resends the markers and completes.
    h.tc->on_leadership(0, 2, true);
    h.store.finish_loads();
    ASSERT_EQ(h.markers.pending.size(), 1u);
    EXPECT_EQ(h.markers.pending.front().first.coordinator_epoch, 2);
    h.markers.finish_all();
    h.store.commit_all();
    EXPECT_EQ(h.md("tx").state, TxnState::CompleteCommit);
    EXPECT_EQ(h.end("tx", r.producer_id, 0, TxnResult::Commit), ErrorCode::NONE);  // the client's retry
  }
}

}  // namespace
}  // namespace flotilla::coordinator
