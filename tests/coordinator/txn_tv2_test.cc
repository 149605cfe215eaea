// KIP-890 part 2 (transaction.version 2) in the transaction coordinator: the
// epoch bump at every EndTxn, its retries, the move to a new producer id when
// the epoch is exhausted, aborts without a transaction, the records written
// (TransactionLogValue v1 with its tagged fields), and AddPartitionsToTxn
// v4's verification.
#include <gtest/gtest.h>

#include "coordinator/txn_coordinator.h"
#include "protocol/messages.h"
#include "txn_harness.h"

namespace flotilla::coordinator {
namespace {

using testing_txn::Harness;

EndTxnResult end_v2(Harness& h, const std::string& id, int64_t pid, int16_t epoch, TxnResult r, bool tv2 = true) {
  std::optional<EndTxnResult> out;
  h.tc->end_txn(id, pid, epoch, r, tv2, [&](EndTxnResult x) { out = x; });
  h.store.commit_all();
  EXPECT_TRUE(out.has_value());
  return out.value_or(EndTxnResult{ErrorCode::UNKNOWN_SERVER_ERROR});
}

// Writes the markers and the Complete* record.
void complete(Harness& h) {
  h.markers.finish_all();
  h.store.commit_all();
}

TEST(TxnTv2, EveryEndBumpsTheEpochAndTheMarkersCarryIt) {
  Harness h;
  auto p = h.begin("tx");
  ASSERT_EQ(p.producer_epoch, 0);
  auto r = end_v2(h, "tx", p.producer_id, 0, TxnResult::Commit);
  EXPECT_EQ(r.error, ErrorCode::NONE);
  EXPECT_EQ(r.producer_id, p.producer_id);
  EXPECT_EQ(r.producer_epoch, 1);  // the client continues with epoch 1
  // Prepare* was written with the bumped epoch, as a v1 record with ClientTransactionVersion 2.
  EXPECT_EQ(h.md("tx").state, TxnState::PrepareCommit);
  EXPECT_EQ(h.md("tx").producer_epoch, 1);
  EXPECT_EQ(h.md("tx").last_producer_epoch, 0);
  const auto& rec = h.store.log[0].back();
  EXPECT_EQ(((*rec.value)[0] << 8) | (*rec.value)[1], 1);  // value version 1
  EXPECT_EQ(h.store.last_value().client_transaction_version, 2);
  EXPECT_EQ(h.store.last_value().producer_epoch, 1);
  ASSERT_EQ(h.markers.pending.size(), 1u);
  EXPECT_EQ(h.markers.pending.front().first.producer_epoch, 1);
  complete(h);
  EXPECT_EQ(h.md("tx").state, TxnState::CompleteCommit);
  EXPECT_EQ(h.md("tx").producer_epoch, 1);

  // The next transaction runs at epoch 1; its end bumps to 2.
  EXPECT_EQ(h.add("tx", p.producer_id, 1, {{"t", 0}}), ErrorCode::NONE);
  // The old epoch is fenced.
  EXPECT_EQ(end_v2(h, "tx", p.producer_id, 0, TxnResult::Abort).error, ErrorCode::PRODUCER_FENCED);
  r = end_v2(h, "tx", p.producer_id, 1, TxnResult::Abort);
  EXPECT_EQ(r.error, ErrorCode::NONE);
  EXPECT_EQ(r.producer_epoch, 2);
  EXPECT_EQ(h.markers.pending.front().first.producer_epoch, 2);
  EXPECT_EQ(h.markers.pending.front().first.result, TxnResult::Abort);
  complete(h);
  EXPECT_EQ(h.md("tx").state, TxnState::CompleteAbort);
}

TEST(TxnTv2, ARetryIsRecognisedByItsEpoch) {
  Harness h;
  auto p = h.begin("tx");
  ASSERT_EQ(end_v2(h, "tx", p.producer_id, 0, TxnResult::Commit).error, ErrorCode::NONE);
  // Retried while the markers are being written: CONCURRENT_TRANSACTIONS (the client retries).
  EXPECT_EQ(end_v2(h, "tx", p.producer_id, 0, TxnResult::Commit).error, ErrorCode::CONCURRENT_TRANSACTIONS);
  complete(h);
  // Retried once complete (the answer was lost): NONE again, with the bumped epoch, nothing written.
  const size_t logged = h.store.log[0].size();
  auto r = end_v2(h, "tx", p.producer_id, 0, TxnResult::Commit);
  EXPECT_EQ(r.error, ErrorCode::NONE);
  EXPECT_EQ(r.producer_epoch, 1);
  EXPECT_EQ(h.store.log[0].size(), logged);
  // A retry that asks for the other result is an invalid transition.
  EXPECT_EQ(end_v2(h, "tx", p.producer_id, 0, TxnResult::Abort).error, ErrorCode::INVALID_TXN_STATE);
  // The current epoch committing again is not a retry: nothing to commit.
  EXPECT_EQ(end_v2(h, "tx", p.producer_id, 1, TxnResult::Commit).error, ErrorCode::INVALID_TXN_STATE);
  // An epoch two behind is fenced.
  EXPECT_EQ(h.md("tx").producer_epoch, 1);
}

TEST(TxnTv2, AbortWithoutATransactionIsAllowedAndBumps) {
  Harness h;
  auto p = h.init("tx");
  // Empty: TV2 may abort (a producer closing before sending anything); no markers.
  auto r = end_v2(h, "tx", p.producer_id, 0, TxnResult::Abort);
  EXPECT_EQ(r.error, ErrorCode::NONE);
  EXPECT_EQ(r.producer_epoch, 1);
  EXPECT_TRUE(h.markers.pending.empty());
  h.store.commit_all();  // CompleteAbort
  EXPECT_EQ(h.md("tx").state, TxnState::CompleteAbort);
  EXPECT_EQ(h.md("tx").txn_start_timestamp, h.now);
  // From CompleteAbort, at the current epoch: again.
  r = end_v2(h, "tx", p.producer_id, 1, TxnResult::Abort);
  EXPECT_EQ(r.producer_epoch, 2);
  h.store.commit_all();
  // Committing nothing stays invalid.
  EXPECT_EQ(end_v2(h, "tx", p.producer_id, 2, TxnResult::Commit).error, ErrorCode::INVALID_TXN_STATE);
  // Without TV2 (EndTxn < v5 or transaction.version < 2): KIP-98's rules, Empty cannot end.
  auto q = h.init("ty");
  EXPECT_EQ(end_v2(h, "ty", q.producer_id, 0, TxnResult::Abort, false).error, ErrorCode::INVALID_TXN_STATE);
}

TEST(TxnTv2, WithoutTv2TheEpochStaysAndV5StillAnswersIt) {
  Harness h;
  auto p = h.begin("tx");
  auto r = end_v2(h, "tx", p.producer_id, 0, TxnResult::Commit, false);
  EXPECT_EQ(r.error, ErrorCode::NONE);
  EXPECT_EQ(r.producer_id, p.producer_id);
  EXPECT_EQ(r.producer_epoch, 0);
  EXPECT_EQ(h.markers.pending.front().first.producer_epoch, 0);
  EXPECT_EQ(h.store.last_value().client_transaction_version, 0);
  const auto& rec = h.store.log[0].back();
  EXPECT_EQ(((*rec.value)[0] << 8) | (*rec.value)[1], 0);  // Kafka 3.9's value version
}

TEST(TxnTv2, AnExhaustedEpochMovesToANewProducerId) {
  Harness h;
  auto p = h.begin("tx");
  // Bring the epoch to 32766 (Short.MaxValue - 1) as if many transactions had run.
  const_cast<TransactionMetadata&>(h.md("tx")).producer_epoch = INT16_MAX - 1;
  h.ids.next = 5000;
  auto r = end_v2(h, "tx", p.producer_id, INT16_MAX - 1, TxnResult::Commit);
  EXPECT_EQ(r.error, ErrorCode::NONE);
  EXPECT_EQ(r.producer_id, 5000);
  EXPECT_EQ(r.producer_epoch, 0);
  // Prepare: the old id at 32767 with NextProducerId; the markers use it.
  EXPECT_EQ(h.store.last_value().producer_id, p.producer_id);
  EXPECT_EQ(h.store.last_value().producer_epoch, INT16_MAX);
  EXPECT_EQ(h.store.last_value().next_producer_id, 5000);
  EXPECT_EQ(h.markers.pending.front().first.producer_id, p.producer_id);
  EXPECT_EQ(h.markers.pending.front().first.producer_epoch, INT16_MAX);
  complete(h);
  // Complete: the new id at epoch 0, the old one as PreviousProducerId.
  EXPECT_EQ(h.md("tx").producer_id, 5000);
  EXPECT_EQ(h.md("tx").producer_epoch, 0);
  EXPECT_EQ(h.md("tx").last_producer_id, p.producer_id);
  EXPECT_EQ(h.store.last_value().producer_id, 5000);
  EXPECT_EQ(h.store.last_value().last_producer_id, p.producer_id);
  EXPECT_EQ(h.store.last_value().next_producer_id, kNoProducerId);
  // The retry with the old id and epoch: NONE with the new id.
  r = end_v2(h, "tx", p.producer_id, INT16_MAX - 1, TxnResult::Commit);
  EXPECT_EQ(r.error, ErrorCode::NONE);
  EXPECT_EQ(r.producer_id, 5000);
  EXPECT_EQ(r.producer_epoch, 0);
  // The old id otherwise is unknown to the transaction.
  EXPECT_EQ(end_v2(h, "tx", p.producer_id, 3, TxnResult::Commit).error, ErrorCode::INVALID_PRODUCER_ID_MAPPING);
}

TEST(TxnTv2, ALoadedPrepareCompletesToTheNextProducerId) {
  Harness h;
  auto p = h.begin("tx");
  const_cast<TransactionMetadata&>(h.md("tx")).producer_epoch = INT16_MAX - 1;
  h.ids.next = 7000;
  ASSERT_EQ(end_v2(h, "tx", p.producer_id, INT16_MAX - 1, TxnResult::Abort).error, ErrorCode::NONE);
  // The coordinator moves before the markers are written: the next one loads
  // PrepareAbort (with NextProducerId) from the log and completes it.
  h.tc->on_leadership(0, 1, false);
  h.markers.pending.clear();
  h.tc->on_leadership(0, 2, true);
  h.store.finish_loads();
  ASSERT_EQ(h.markers.pending.size(), 1u);
  EXPECT_EQ(h.markers.pending.front().first.producer_epoch, INT16_MAX);
  complete(h);
  EXPECT_EQ(h.md("tx").state, TxnState::CompleteAbort);
  EXPECT_EQ(h.md("tx").producer_id, 7000);
  EXPECT_EQ(h.md("tx").producer_epoch, 0);
}

TEST(TxnTv2, TheLogValueRoundTripsItsTaggedFields) {
  TransactionMetadata m;
  m.transactional_id = "tx";
  m.producer_id = 9;
  m.last_producer_id = 8;
  m.next_producer_id = 10;
  m.producer_epoch = 3;
  m.txn_timeout_ms = 1000;
  m.state = TxnState::PrepareCommit;
  m.partitions = {{"t", 0}};
  m.client_transaction_version = 2;
  auto v = encode_txn_value(m);
  EXPECT_EQ((v[0] << 8) | v[1], 1);
  auto back = decode_txn_log_record(encode_txn_key("tx"), v);
  ASSERT_TRUE(back.value);
  EXPECT_EQ(back.value->next_producer_id, 10);
  EXPECT_EQ(back.value->last_producer_id, 8);
  EXPECT_EQ(back.value->client_transaction_version, 2);
}

TEST(TxnTv2, VerifyOnlyReportsMembershipWithoutAdding) {
  Harness h;
  auto p = h.begin("tx");  // t-0 is in the transaction
  auto v = h.tc->verify_partitions_in_txn("tx", p.producer_id, 0, {{"t", 0}, {"t", 1}});
  EXPECT_EQ(v.error, ErrorCode::NONE);
  EXPECT_EQ(v.partitions.at({"t", 0}), ErrorCode::NONE);
  // Kafka 3.8+ (KAFKA-16314): TRANSACTION_ABORTABLE, which the partition leader maps for older producers.
  EXPECT_EQ(v.partitions.at({"t", 1}), ErrorCode::TRANSACTION_ABORTABLE);
  EXPECT_EQ(h.md("tx").partitions.size(), 1u);  // nothing added
  EXPECT_TRUE(h.store.pending.empty());
  // A transition being written is not checked (Kafka: the append that follows
  // validates); only the partitions written so far count.
  std::optional<ErrorCode> added;
  h.tc->add_partitions_to_txn("tx", p.producer_id, 0, {{"t", 1}}, [&](ErrorCode e) { added = e; });
  ASSERT_EQ(h.md("tx").pending_state, TxnState::Ongoing);
  v = h.tc->verify_partitions_in_txn("tx", p.producer_id, 0, {{"t", 0}, {"t", 1}});
  EXPECT_EQ(v.error, ErrorCode::NONE);
  EXPECT_EQ(v.partitions.at({"t", 0}), ErrorCode::NONE);
  EXPECT_EQ(v.partitions.at({"t", 1}), ErrorCode::TRANSACTION_ABORTABLE);
  h.store.commit_all();
  ASSERT_EQ(added, ErrorCode::NONE);
  EXPECT_EQ(h.tc->verify_partitions_in_txn("tx", p.producer_id, 0, {{"t", 1}}).partitions.at({"t", 1}), ErrorCode::NONE);
  // Ending: pending PrepareCommit still answers by partition; once PrepareCommit is written, CONCURRENT_TRANSACTIONS.
  std::optional<ErrorCode> ended;
  h.tc->end_txn("tx", p.producer_id, 0, TxnResult::Commit, [&](ErrorCode e) { ended = e; });
  EXPECT_EQ(h.tc->verify_partitions_in_txn("tx", p.producer_id, 0, {{"t", 0}}).error, ErrorCode::NONE);
  h.store.commit_all();
  ASSERT_EQ(ended, ErrorCode::NONE);
  EXPECT_EQ(h.tc->verify_partitions_in_txn("tx", p.producer_id, 0, {{"t", 0}}).error, ErrorCode::CONCURRENT_TRANSACTIONS);
  EXPECT_EQ(h.tc->verify_partitions_in_txn("tx", p.producer_id, 1, {{"t", 0}}).error, ErrorCode::PRODUCER_FENCED);
  EXPECT_EQ(h.tc->verify_partitions_in_txn("tx", 77, 0, {{"t", 0}}).error, ErrorCode::INVALID_PRODUCER_ID_MAPPING);
  EXPECT_EQ(h.tc->verify_partitions_in_txn("nobody", 1, 0, {{"t", 0}}).error, ErrorCode::INVALID_PRODUCER_ID_MAPPING);
}

}  // namespace
}  // namespace flotilla::coordinator
