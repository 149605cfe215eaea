// TxnCoordinator: EndTxn, with transaction.version 0/1 semantics (KIP-98:
// the client's epoch must be the current one, the epoch stays) or KIP-890
// part 2's (`tv2`: the epoch is bumped at every end), and the verification of
// AddPartitionsToTxn v4+ (KIP-890 part 1).
//
// KIP-890 part 2, as Kafka's TransactionCoordinator.endTransaction with a TV2
// client:
//  - the Prepare* record carries epoch + 1 (and the previous epoch is kept in
//    memory as last_producer_epoch), so the markers are written with the
//    bumped epoch and a late write of the old epoch is fenced at the
//    partitions; when the current epoch is exhausted (>= 32766) a new producer
//    id is taken first and written as NextProducerId, and Complete* moves to
//    it at epoch 0 (PreviousProducerId = the old id);
//  - the client is answered with the id and epoch it continues with;
//  - a retry is recognised by its epoch (the current one minus one, or the
//    old id at 32766 after a rotation): NONE again from Complete*,
//    CONCURRENT_TRANSACTIONS while the markers are still being written;
//  - aborting without a transaction (Empty, Complete*) is allowed: a Prepare
//    with no partitions, completed at once, which still bumps the epoch.
// The coordinator's own aborts (timeouts, InitProducerId fencing) keep the
// KIP-98 fence (fence_and_abort), for either client version.
//
// Threading: the coordinator's thread, as txn_coordinator.cc.
#include <spdlog/spdlog.h>

#include "coordinator/txn_coordinator.h"

namespace flotilla::coordinator {

namespace {

bool ends_in_prepare(TxnState s) { return s == TxnState::PrepareCommit || s == TxnState::PrepareAbort; }

EndTxnResult end_error(ErrorCode e) { return EndTxnResult{e, kNoProducerId, kNoProducerEpoch}; }

}  // namespace

TransactionMetadata complete_target(const TransactionMetadata& prepared, int64_t now_ms) {
  TransactionMetadata target = prepared;
  target.state = prepared.state == TxnState::PrepareCommit ? TxnState::CompleteCommit : TxnState::CompleteAbort;
  target.partitions.clear();
  target.txn_last_update_timestamp = now_ms;
  target.pending_state.reset();
  target.has_failed_epoch_fence = false;
  if (prepared.next_producer_id != kNoProducerId) {
    target.last_producer_id = prepared.producer_id;
    target.producer_id = prepared.next_producer_id;
    target.producer_epoch = 0;
    target.next_producer_id = kNoProducerId;
  }
  return target;
}

void TxnCoordinator::end_txn(const std::string& id, int64_t producer_id, int16_t producer_epoch, TxnResult result,
                             std::function<void(ErrorCode)> done) {
  end_txn_internal(id, producer_id, producer_epoch, result, true, [done = std::move(done)](EndTxnResult r) { done(r.error); });
}

void TxnCoordinator::end_txn(const std::string& id, int64_t producer_id, int16_t producer_epoch, TxnResult result, bool tv2,
                             std::function<void(EndTxnResult)> done) {
  if (tv2) return end_txn_v2(id, producer_id, producer_epoch, result, std::move(done));
  end_txn_internal(id, producer_id, producer_epoch, result, true, std::move(done));
}

TxnVerifyResult TxnCoordinator::verify_partitions_in_txn(const std::string& id, int64_t producer_id, int16_t producer_epoch,
                                                         const std::vector<TopicPartitionKey>& partitions) const {
  TxnVerifyResult out;
  if (id.empty()) out.error = ErrorCode::INVALID_REQUEST;
  else out.error = check_coordinator(id);
  if (out.error != ErrorCode::NONE) return out;
  const TransactionMetadata* m = metadata_of(id);
  if (!m || m->producer_id != producer_id) out.error = ErrorCode::INVALID_PRODUCER_ID_MAPPING;
  else if (m->producer_epoch != producer_epoch) out.error = ErrorCode::PRODUCER_FENCED;
  // Kafka's handleVerifyPartitionsInTransaction: the state only, not a
  // pending transition (partitions count once their addition is written).
  else if (ends_in_prepare(m->state)) out.error = ErrorCode::CONCURRENT_TRANSACTIONS;
  if (out.error != ErrorCode::NONE) return out;
  // A partition outside the transaction: TRANSACTION_ABORTABLE (Kafka 3.8+,
  // KAFKA-16314; the partition leader maps it for older producers).
  for (const auto& tp : partitions) out.partitions[tp] = m->partitions.count(tp) ? ErrorCode::NONE : ErrorCode::TRANSACTION_ABORTABLE;
  return out;
}

// ---------------------------------------------------------------- KIP-98 (transaction.version < 2)

void TxnCoordinator::end_txn_internal(const std::string& id, int64_t producer_id, int16_t producer_epoch, TxnResult result,
                                      bool from_client, std::function<void(EndTxnResult)> done) {
  if (id.empty()) return done(end_error(ErrorCode::INVALID_REQUEST));
  if (ErrorCode e = check_coordinator(id); e != ErrorCode::NONE) return done(end_error(e));
  TransactionMetadata* m = find(id);
  if (!m || m->producer_id != producer_id) return done(end_error(ErrorCode::INVALID_PRODUCER_ID_MAPPING));
  // Client requests must not bump the epoch; the coordinator's own aborts bump it.
  if ((from_client && producer_epoch != m->producer_epoch) || producer_epoch < m->producer_epoch)
    return done(end_error(ErrorCode::PRODUCER_FENCED));
  if (m->pending_state && *m->pending_state != TxnState::PrepareEpochFence) return done(end_error(ErrorCode::CONCURRENT_TRANSACTIONS));
  const bool commit = result == TxnResult::Commit;
  const EndTxnResult same{ErrorCode::NONE, m->producer_id, m->producer_epoch};
  switch (m->state) {
    case TxnState::Ongoing: {
      const TxnState next = commit ? TxnState::PrepareCommit : TxnState::PrepareAbort;
      bool epoch_fence = false;
      if (next == TxnState::PrepareAbort && m->pending_state == TxnState::PrepareEpochFence) {
        // The fence: the bumped epoch goes into memory now (never returned to
        // a client if the write fails; see has_failed_epoch_fence).
        epoch_fence = true;
        m->pending_state.reset();
        m->producer_epoch = producer_epoch;
        m->last_producer_epoch = kNoProducerEpoch;
      }
      TransactionMetadata target = *m;
      target.state = next;
      target.txn_last_update_timestamp = now_ms_();
      const int32_t coordinator_epoch = epoch_of(id);
      auto alive = alive_;
      append_transition(id, std::move(target),
                        [this, alive, id, coordinator_epoch, producer_id, producer_epoch, result, epoch_fence,
                         done = std::move(done)](ErrorCode e) mutable {
                          if (!*alive) return;
                          if (e != ErrorCode::NONE) {
                            if (epoch_fence && epoch_of(id) == coordinator_epoch) {
                              if (TransactionMetadata* mm = find(id)) mm->has_failed_epoch_fence = true;
                              spdlog::warn("[TxnCoordinator] Writing the epoch fence of {} failed with {}", id, error_name(e));
                            }
                            return done(end_error(e));
                          }
                          after_prepare_written(id, coordinator_epoch, producer_id, producer_epoch, result, std::move(done));
                        });
      return;
    }
    case TxnState::CompleteCommit:
      return done(commit ? same : end_error(ErrorCode::INVALID_TXN_STATE));  // a retry of the commit
    case TxnState::CompleteAbort:
      return done(!commit ? same : end_error(ErrorCode::INVALID_TXN_STATE));
    case TxnState::PrepareCommit:
      return done(end_error(commit ? ErrorCode::CONCURRENT_TRANSACTIONS : ErrorCode::INVALID_TXN_STATE));
    case TxnState::PrepareAbort:
      return done(end_error(!commit ? ErrorCode::CONCURRENT_TRANSACTIONS : ErrorCode::INVALID_TXN_STATE));
    case TxnState::Empty:
      return done(end_error(ErrorCode::INVALID_TXN_STATE));
    case TxnState::Dead:
    case TxnState::PrepareEpochFence:
      spdlog::error("[TxnCoordinator] Found transactional id {} in state {}, which is illegal", id, txn_state_name(m->state));
      return done(end_error(ErrorCode::UNKNOWN_SERVER_ERROR));
  }
}

void TxnCoordinator::after_prepare_written(const std::string& id, int32_t coordinator_epoch, int64_t producer_id,
                                           int16_t producer_epoch, TxnResult result, std::function<void(EndTxnResult)> done) {
  if (epoch_of(id) != coordinator_epoch) return done(end_error(ErrorCode::NOT_COORDINATOR));
  TransactionMetadata* m = find(id);
  if (!m || m->producer_id != producer_id) return done(end_error(ErrorCode::INVALID_PRODUCER_ID_MAPPING));
  if (m->producer_epoch != producer_epoch) return done(end_error(ErrorCode::PRODUCER_FENCED));
  if (m->pending_state) return done(end_error(ErrorCode::CONCURRENT_TRANSACTIONS));
  const TxnState expected = result == TxnResult::Commit ? TxnState::PrepareCommit : TxnState::PrepareAbort;
  if (m->state != expected) return done(end_error(ErrorCode::INVALID_TXN_STATE));
  // prepareComplete.
  TransactionMetadata target = complete_target(*m, now_ms_());
  m->has_failed_epoch_fence = false;  // the abort is durable: a later fence bumps again
  m->pending_state = target.state;
  // The client is answered as soon as Prepare* is durable, with the id and
  // epoch it continues with; the markers follow.
  auto alive = alive_;
  done(EndTxnResult{ErrorCode::NONE, target.producer_id, target.producer_epoch});
  if (!*alive) return;
  send_markers(id, coordinator_epoch, result, std::move(target));
}

// ---------------------------------------------------------------- KIP-890 part 2 (transaction.version 2)

void TxnCoordinator::end_txn_v2(const std::string& id, int64_t producer_id, int16_t producer_epoch, TxnResult result,
                                std::function<void(EndTxnResult)> done) {
  if (id.empty()) return done(end_error(ErrorCode::INVALID_REQUEST));
  if (ErrorCode e = check_coordinator(id); e != ErrorCode::NONE) return done(end_error(e));
  TransactionMetadata* m = find(id);
  if (!m) return done(end_error(ErrorCode::INVALID_PRODUCER_ID_MAPPING));
  // A retry after the epoch bump (the answer was lost), or after the bump
  // moved to a new producer id.
  const bool retry_on_overflow =
      m->last_producer_id == producer_id && producer_epoch == INT16_MAX - 1 && m->producer_epoch == 0 && m->producer_id != producer_id;
  const bool retry_on_epoch_bump = m->producer_id == producer_id && m->producer_epoch == producer_epoch + 1;
  if (m->producer_id != producer_id && !retry_on_overflow) return done(end_error(ErrorCode::INVALID_PRODUCER_ID_MAPPING));
  bool valid_epoch = false;
  switch (m->state) {
    case TxnState::PrepareCommit:
    case TxnState::PrepareAbort: valid_epoch = retry_on_epoch_bump; break;
    case TxnState::CompleteCommit:
    case TxnState::CompleteAbort:
      valid_epoch = retry_on_epoch_bump || retry_on_overflow || (m->producer_id == producer_id && producer_epoch == m->producer_epoch);
      break;
    default: valid_epoch = producer_epoch == m->producer_epoch; break;
  }
  if (!valid_epoch) return done(end_error(ErrorCode::PRODUCER_FENCED));
  if (m->pending_state && *m->pending_state != TxnState::PrepareEpochFence) return done(end_error(ErrorCode::CONCURRENT_TRANSACTIONS));
  const bool commit = result == TxnResult::Commit;
  const bool retry = retry_on_epoch_bump || retry_on_overflow;
  const EndTxnResult same{ErrorCode::NONE, m->producer_id, m->producer_epoch};
  auto prepare = [&](TxnState next, bool no_partition_added) {
    if (!m->epoch_exhausted()) return prepare_end_v2(id, next, no_partition_added, kNoProducerId, std::move(done));
    // The bump would exhaust the epoch: a new producer id first.
    auto alive = alive_;
    const int16_t epoch_then = m->producer_epoch;
    ids_.generate([this, alive, id, next, no_partition_added, producer_id, epoch_then, done = std::move(done)](ErrorCode e, int64_t pid) mutable {
      if (!*alive) return;
      if (e != ErrorCode::NONE) return done(end_error(e));
      TransactionMetadata* mm = find(id);
      // Changed meanwhile: the client retries and is judged again.
      if (!mm || mm->producer_id != producer_id || mm->producer_epoch != epoch_then || mm->pending_state)
        return done(end_error(ErrorCode::CONCURRENT_TRANSACTIONS));
      prepare_end_v2(id, next, no_partition_added, pid, std::move(done));
    });
  };
  switch (m->state) {
    case TxnState::Ongoing: return prepare(commit ? TxnState::PrepareCommit : TxnState::PrepareAbort, false);
    case TxnState::Empty:
      if (!commit) return prepare(TxnState::PrepareAbort, true);  // TV2 may abort with no transaction
      return done(end_error(ErrorCode::INVALID_TXN_STATE));
    case TxnState::CompleteCommit:
      if (commit) return done(retry ? same : end_error(ErrorCode::INVALID_TXN_STATE));
      if (retry) return done(end_error(ErrorCode::INVALID_TXN_STATE));
      return prepare(TxnState::PrepareAbort, true);
    case TxnState::CompleteAbort:
      if (commit) return done(end_error(ErrorCode::INVALID_TXN_STATE));
      if (retry) return done(same);
      return prepare(TxnState::PrepareAbort, true);
    case TxnState::PrepareCommit:
      return done(end_error(commit ? ErrorCode::CONCURRENT_TRANSACTIONS : ErrorCode::INVALID_TXN_STATE));
    case TxnState::PrepareAbort:
      return done(end_error(!commit ? ErrorCode::CONCURRENT_TRANSACTIONS : ErrorCode::INVALID_TXN_STATE));
    case TxnState::Dead:
    case TxnState::PrepareEpochFence:
      spdlog::error("[TxnCoordinator] Found transactional id {} in state {}, which is illegal", id, txn_state_name(m->state));
      return done(end_error(ErrorCode::UNKNOWN_SERVER_ERROR));
  }
}

void TxnCoordinator::prepare_end_v2(const std::string& id, TxnState next, bool no_partition_added, int64_t next_producer_id,
                                    std::function<void(EndTxnResult)> done) {
  TransactionMetadata* m = find(id);
  const int64_t now = now_ms_();
  // A pending fence (InitProducerId or the timeout racing): the abort takes
  // its place and bumps the epoch itself.
  if (m->pending_state == TxnState::PrepareEpochFence) m->pending_state.reset();
  TransactionMetadata target = *m;
  target.state = next;
  target.producer_epoch = static_cast<int16_t>(m->producer_epoch + 1);
  target.last_producer_epoch = m->producer_epoch;
  target.next_producer_id = next_producer_id;
  target.client_transaction_version = 2;
  target.txn_last_update_timestamp = now;
  if (no_partition_added) {
    // No transaction to end: its start is now (Kafka needs one).
    target.partitions.clear();
    target.txn_start_timestamp = now;
  }
  const int64_t pid = target.producer_id;
  const int16_t bumped = target.producer_epoch;
  const TxnResult result = next == TxnState::PrepareCommit ? TxnResult::Commit : TxnResult::Abort;
  const int32_t coordinator_epoch = epoch_of(id);
  auto alive = alive_;
  append_transition(id, std::move(target), [this, alive, id, coordinator_epoch, pid, bumped, result, done = std::move(done)](ErrorCode e) mutable {
    if (!*alive) return;
    if (e != ErrorCode::NONE) return done(end_error(e));
    after_prepare_written(id, coordinator_epoch, pid, bumped, result, std::move(done));
  });
}

}  // namespace flotilla::coordinator
