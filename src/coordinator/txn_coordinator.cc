#include "coordinator/txn_coordinator.h"

#include <spdlog/spdlog.h>

#include <algorithm>

#include "common/bytes.h"
#include "protocol/messages.h"

namespace flotilla::coordinator {

namespace {

constexpr int16_t kTxnKeyVersion = 0;

InitProducerIdResult init_error(ErrorCode e) { return InitProducerIdResult{e, kNoProducerId, kNoProducerEpoch}; }

bool is_prepare(TxnState s) { return s == TxnState::PrepareCommit || s == TxnState::PrepareAbort; }

}  // namespace

const char* txn_state_name(TxnState s) {
  switch (s) {
    case TxnState::Empty: return "Empty";
    case TxnState::Ongoing: return "Ongoing";
    case TxnState::PrepareCommit: return "PrepareCommit";
    case TxnState::PrepareAbort: return "PrepareAbort";
    case TxnState::CompleteCommit: return "CompleteCommit";
    case TxnState::CompleteAbort: return "CompleteAbort";
    case TxnState::Dead: return "Dead";
    case TxnState::PrepareEpochFence: return "PrepareEpochFence";
  }
  return "Unknown";
}

ErrorCode txn_error_for_version(int16_t api_key, int16_t api_version, ErrorCode e) {
  if (e != ErrorCode::PRODUCER_FENCED) return e;
  int16_t first_with_fenced = -1;
  switch (api_key) {
    case 22: first_with_fenced = 4; break;  // InitProducerId
    case 24: first_with_fenced = 2; break;  // AddPartitionsToTxn
    case 25: first_with_fenced = 2; break;  // AddOffsetsToTxn
    case 26: first_with_fenced = 2; break;  // EndTxn
    default: return e;
  }
  return api_version < first_with_fenced ? ErrorCode::INVALID_PRODUCER_EPOCH : e;
}

// ---------------------------------------------------------------- records

std::vector<uint8_t> encode_txn_key(const std::string& transactional_id) {
  msg::TransactionLogKey k;
  k.transactional_id = transactional_id;
  return encode_versioned_value(k, kTxnKeyVersion);
}

std::vector<uint8_t> encode_txn_value(const TransactionMetadata& m, int16_t version) {
  msg::TransactionLogValue v;
  v.producer_id = m.producer_id;
  v.previous_producer_id = m.last_producer_id;
  v.next_producer_id = m.next_producer_id;
  v.producer_epoch = m.producer_epoch;
  v.transaction_timeout_ms = m.txn_timeout_ms;
  v.transaction_status = static_cast<int8_t>(m.state);
  if (m.state == TxnState::Empty) {
    v.transaction_partitions = std::nullopt;
  } else {
    std::vector<msg::TransactionLogValue::PartitionsSchema> parts;
    for (const auto& [topic, partition] : m.partitions) {
      if (parts.empty() || parts.back().topic != topic) {
        parts.emplace_back();
        parts.back().topic = topic;
      }
      parts.back().partition_ids.push_back(partition);
    }
    v.transaction_partitions = std::move(parts);
  }
  v.transaction_last_update_timestamp_ms = m.txn_last_update_timestamp;
  v.transaction_start_timestamp_ms = m.txn_start_timestamp;
  v.client_transaction_version = m.client_transaction_version;
  // The tagged fields exist from version 1: a transaction of a KIP-890 part 2
  // client is written at version 1 (as Kafka), whatever the configured one.
  if (m.client_transaction_version >= 2 || m.next_producer_id != kNoProducerId) version = std::max<int16_t>(version, 1);
  return encode_versioned_value(v, version);
}

TxnLogRecord decode_txn_log_record(std::span<const uint8_t> key, const std::optional<std::vector<uint8_t>>& value) {
  TxnLogRecord out;
  ByteReader kr(key);
  int16_t kv = kr.get_i16();
  if (kv < msg::TransactionLogKey::kMinVersion || kv > msg::TransactionLogKey::kMaxVersion) return out;
  msg::TransactionLogKey k;
  k.decode(kr, kv);
  out.known = true;
  out.transactional_id = k.transactional_id;
  if (!value) return out;
  const auto v = decode_versioned_value<msg::TransactionLogValue>(*value, "TransactionLogValue");
  if (v.transaction_status < 0 || v.transaction_status > static_cast<int8_t>(TxnState::PrepareEpochFence))
    throw DecodeError("unknown transaction status " + std::to_string(v.transaction_status));
  TransactionMetadata m;
  m.transactional_id = k.transactional_id;
  m.producer_id = v.producer_id;
  m.last_producer_id = v.previous_producer_id;
  m.next_producer_id = v.next_producer_id;
  m.client_transaction_version = v.client_transaction_version;
  m.producer_epoch = v.producer_epoch;
  m.last_producer_epoch = kNoProducerEpoch;
  m.txn_timeout_ms = v.transaction_timeout_ms;
  m.state = static_cast<TxnState>(v.transaction_status);
  if (v.transaction_partitions)
    for (const auto& p : *v.transaction_partitions)
      for (int32_t id : p.partition_ids) m.partitions.emplace(p.topic, id);
  m.txn_last_update_timestamp = v.transaction_last_update_timestamp_ms;
  m.txn_start_timestamp = v.transaction_start_timestamp_ms;
  out.value = std::move(m);
  return out;
}

void LoadedTxnPartition::apply(const TxnLogRecord& r) {
  if (!r.known) return;
  if (r.value)
    txns[r.transactional_id] = *r.value;
  else
    txns.erase(r.transactional_id);
}

// ---------------------------------------------------------------- coordinator

TxnCoordinator::TxnCoordinator(TxnCoordinatorConfig config, TxnStore& store, TxnMarkerWriter& markers, ProducerIdSource& ids,
                               std::function<int64_t()> now_ms)
    : config_(config), store_(store), markers_(markers), ids_(ids), now_ms_(std::move(now_ms)) {}

TxnCoordinator::~TxnCoordinator() { *alive_ = false; }

ErrorCode TxnCoordinator::check_coordinator(const std::string& id) const {
  auto it = partitions_.find(partition_for(id));
  if (it == partitions_.end()) return ErrorCode::NOT_COORDINATOR;
  if (!it->second.loaded) return ErrorCode::COORDINATOR_LOAD_IN_PROGRESS;
  return ErrorCode::NONE;
}

int32_t TxnCoordinator::epoch_of(const std::string& id) const {
  auto it = partitions_.find(partition_for(id));
  if (it == partitions_.end() || !it->second.loaded) return -1;
  return it->second.epoch;
}

TransactionMetadata* TxnCoordinator::find(const std::string& id) {
  auto it = txns_.find(id);
  return it == txns_.end() ? nullptr : &it->second;
}

const TransactionMetadata* TxnCoordinator::metadata_of(const std::string& id) const {
  auto it = txns_.find(id);
  return it == txns_.end() ? nullptr : &it->second;
}

std::vector<std::string> TxnCoordinator::transactional_ids() const {
  std::vector<std::string> out;
  for (const auto& [id, m] : txns_) out.push_back(id);
  return out;
}

void TxnCoordinator::on_leadership(int32_t partition, int32_t epoch, bool leader) {
  switch (apply_leadership(partitions_, partition, epoch, leader, [this](int32_t p) { unload_partition(p); })) {
    case LeadershipChange::None: return;
    case LeadershipChange::Resigned:
      spdlog::info("[TxnCoordinator] Resigned as the transaction coordinator for partition {} in epoch {}", partition, epoch);
      return;
    case LeadershipChange::Elected: break;
  }
  spdlog::info("[TxnCoordinator] Elected as the transaction coordinator for partition {} in epoch {}: loading", partition, epoch);
  auto alive = alive_;
  store_.load(partition, epoch, [this, alive, partition, epoch](std::optional<LoadedTxnPartition> state) {
    if (!*alive || !state || !load_applies(partitions_, partition, epoch)) return;
    partitions_[partition].loaded = true;
    // Kafka's loadTransactionsForTxnTopicPartition: transactions left in
    // Prepare* have their markers (re)sent and are then completed.
    std::vector<std::pair<std::string, TxnResult>> to_complete;
    for (auto& [id, m] : state->txns) {
      if (partition_for(id) != partition) continue;
      m.pending_state.reset();
      m.has_failed_epoch_fence = false;
      if (is_prepare(m.state))
        to_complete.emplace_back(id, m.state == TxnState::PrepareCommit ? TxnResult::Commit : TxnResult::Abort);
      txns_[id] = std::move(m);
    }
    spdlog::info("[TxnCoordinator] Loaded {} transactional ids of partition {} in epoch {}", state->txns.size(), partition, epoch);
    for (auto& [id, result] : to_complete) {
      TransactionMetadata* m = find(id);
      TransactionMetadata target = complete_target(*m, now_ms_());
      m->pending_state = target.state;
      send_markers(id, epoch, result, std::move(target));
    }
  });
}

void TxnCoordinator::unload_partition(int32_t partition) {
  std::erase_if(txns_, [&](const auto& kv) { return partition_for(kv.first) == partition; });
  std::erase_if(retry_completes_, [&](const RetryComplete& r) { return partition_for(r.transactional_id) == partition; });
}

void TxnCoordinator::tick() {
  const int64_t now = now_ms_();
  if (!retry_completes_.empty()) {
    auto retries = std::exchange(retry_completes_, {});
    for (auto& r : retries) write_complete(r.transactional_id, r.coordinator_epoch, std::move(r.target));
  }
  if (last_timeout_check_ < 0) last_timeout_check_ = now;
  if (now - last_timeout_check_ >= config_.abort_timed_out_transaction_cleanup_interval_ms) {
    last_timeout_check_ = now;
    abort_timed_out_transactions();
  }
  if (last_expiry_check_ < 0) last_expiry_check_ = now;
  if (now - last_expiry_check_ >= config_.remove_expired_transaction_cleanup_interval_ms) {
    last_expiry_check_ = now;
    remove_expired_transactional_ids();
  }
}

void TxnCoordinator::remove_expired_transactional_ids() {
  const int64_t now = now_ms_();
  std::vector<std::string> expired;
  for (const auto& [id, m] : txns_) {
    if (epoch_of(id) < 0 || m.pending_state) continue;
    const bool idle = m.state == TxnState::Empty || m.state == TxnState::CompleteCommit || m.state == TxnState::CompleteAbort;
    if (idle && m.txn_last_update_timestamp <= now - config_.transactional_id_expiration_ms) expired.push_back(id);
  }
  for (const auto& id : expired) {
    TransactionMetadata* m = find(id);
    const int32_t coordinator_epoch = epoch_of(id);
    m->pending_state = TxnState::Dead;  // conflicting requests meanwhile: CONCURRENT_TRANSACTIONS
    spdlog::info("[TxnCoordinator] Expiring transactional id {} (producer id {}): idle since {}", id, m->producer_id,
                 m->txn_last_update_timestamp);
    std::vector<TxnRecord> records;
    records.push_back(TxnRecord{encode_txn_key(id), std::nullopt});
    auto alive = alive_;
    store_.append(partition_for(id), coordinator_epoch, std::move(records), [this, alive, id, coordinator_epoch](ErrorCode e) {
      if (!*alive || epoch_of(id) != coordinator_epoch) return;
      TransactionMetadata* mm = find(id);
      if (!mm || mm->pending_state != TxnState::Dead) return;
      if (e != ErrorCode::NONE) {
        mm->pending_state.reset();  // tried again at the next check
        return;
      }
      txns_.erase(id);
    });
  }
}

void TxnCoordinator::abort_timed_out_transactions() {
  const int64_t now = now_ms_();
  std::vector<std::string> timed_out;
  for (const auto& [id, m] : txns_) {
    if (epoch_of(id) < 0 || m.pending_state) continue;
    if (m.state == TxnState::Ongoing && m.txn_start_timestamp + m.txn_timeout_ms < now) timed_out.push_back(id);
  }
  for (const auto& id : timed_out) {
    TransactionMetadata* m = find(id);
    if (!m || m->pending_state || m->state != TxnState::Ongoing) continue;
    spdlog::info("[TxnCoordinator] Aborting transaction of {} (producer id {}, epoch {}): timed out after {} ms", id, m->producer_id,
                 m->producer_epoch, m->txn_timeout_ms);
    fence_and_abort(id, [id](ErrorCode e) {
      if (e != ErrorCode::NONE)
        spdlog::info("[TxnCoordinator] Aborting timed-out transaction of {} failed with {}; retried later", id, error_name(e));
    });
  }
}

// Kafka's prepareFenceProducerEpoch + endTransaction(ABORT, isFromClient = false).
void TxnCoordinator::fence_and_abort(const std::string& id, std::function<void(ErrorCode)> done) {
  TransactionMetadata* m = find(id);
  if (m->producer_epoch == INT16_MAX) return done(ErrorCode::UNKNOWN_SERVER_ERROR);  // Kafka: IllegalStateException
  // A fence whose write failed bumped the epoch already; it is not bumped again.
  const int16_t bumped = m->has_failed_epoch_fence ? m->producer_epoch : static_cast<int16_t>(m->producer_epoch + 1);
  const int64_t pid = m->producer_id;
  m->pending_state = TxnState::PrepareEpochFence;
  end_txn_internal(id, pid, bumped, TxnResult::Abort, false, [done = std::move(done)](EndTxnResult r) { done(r.error); });
  if (TransactionMetadata* after = find(id); after && after->pending_state == TxnState::PrepareEpochFence) after->pending_state.reset();
}

// ---------------------------------------------------------------- InitProducerId

void TxnCoordinator::init_producer_id(const std::optional<std::string>& transactional_id, int32_t txn_timeout_ms,
                                      std::optional<ProducerIdAndEpoch> expected, std::function<void(InitProducerIdResult)> done) {
  if (!transactional_id) {
    ids_.generate([done = std::move(done)](ErrorCode e, int64_t pid) {
      if (e != ErrorCode::NONE) return done(init_error(e));
      done(InitProducerIdResult{ErrorCode::NONE, pid, 0});
    });
    return;
  }
  if (transactional_id->empty()) return done(init_error(ErrorCode::INVALID_REQUEST));
  if (!valid_timeout(txn_timeout_ms)) return done(init_error(ErrorCode::INVALID_TRANSACTION_TIMEOUT));
  init_txn(*transactional_id, txn_timeout_ms, expected, kNoProducerId, std::move(done));
}

void TxnCoordinator::generate_then_init(const std::string& id, int32_t timeout_ms, std::optional<ProducerIdAndEpoch> expected,
                                        std::function<void(InitProducerIdResult)> done) {
  auto alive = alive_;
  ids_.generate([this, alive, id, timeout_ms, expected, done = std::move(done)](ErrorCode e, int64_t pid) mutable {
    if (!*alive) return;
    if (e != ErrorCode::NONE) return done(init_error(e));
    init_txn(id, timeout_ms, expected, pid, std::move(done));
  });
}

void TxnCoordinator::init_txn(const std::string& id, int32_t timeout_ms, std::optional<ProducerIdAndEpoch> expected,
                              int64_t fresh_id, std::function<void(InitProducerIdResult)> done) {
  if (ErrorCode e = check_coordinator(id); e != ErrorCode::NONE) return done(init_error(e));
  const int64_t now = now_ms_();
  TransactionMetadata* m = find(id);
  if (!m) {
    if (fresh_id == kNoProducerId) return generate_then_init(id, timeout_ms, expected, std::move(done));
    TransactionMetadata created;
    created.transactional_id = id;
    created.producer_id = fresh_id;
    created.txn_timeout_ms = timeout_ms;
    created.state = TxnState::Empty;
    created.txn_last_update_timestamp = now;
    m = &(txns_[id] = std::move(created));
    fresh_id = kNoProducerId;
  }
  // Kafka's prepareInitProducerIdTransit.
  if (m->pending_state) return done(init_error(ErrorCode::CONCURRENT_TRANSACTIONS));
  if (expected) {
    // The expected id is valid if the metadata was just created (epoch -1),
    // it is the current id, or it is the previous id with an exhausted epoch
    // (a retry of a rotation whose answer was lost).
    const bool valid = m->producer_epoch == kNoProducerEpoch || expected->producer_id == m->producer_id ||
                       (expected->producer_id == m->last_producer_id && expected->epoch >= INT16_MAX - 1);
    if (!valid) return done(init_error(ErrorCode::PRODUCER_FENCED));
  }
  switch (m->state) {
    case TxnState::PrepareCommit:
    case TxnState::PrepareAbort:
      return done(init_error(ErrorCode::CONCURRENT_TRANSACTIONS));
    case TxnState::Empty:
    case TxnState::CompleteCommit:
    case TxnState::CompleteAbort: {
      TransactionMetadata target = *m;
      target.pending_state.reset();
      target.txn_timeout_ms = timeout_ms;
      target.partitions.clear();
      target.txn_start_timestamp = -1;
      target.txn_last_update_timestamp = now;
      target.state = TxnState::Empty;
      if (m->epoch_exhausted() && (!expected || expected->epoch == m->producer_epoch)) {
        // prepareProducerIdRotation: a new producer id at epoch 0.
        if (fresh_id == kNoProducerId) return generate_then_init(id, timeout_ms, expected, std::move(done));
        target.last_producer_id = m->producer_id;
        target.producer_id = fresh_id;
        target.producer_epoch = 0;
        target.last_producer_epoch = expected ? m->producer_epoch : kNoProducerEpoch;
      } else {
        // prepareIncrementProducerEpoch.
        const int16_t bumped = static_cast<int16_t>(m->producer_epoch + 1);
        if (!expected) {
          target.producer_epoch = bumped;
          target.last_producer_epoch = kNoProducerEpoch;
        } else if (m->producer_epoch == kNoProducerEpoch || expected->epoch == m->producer_epoch) {
          target.producer_epoch = bumped;
          target.last_producer_epoch = m->producer_epoch;
        } else if (expected->epoch == m->last_producer_epoch) {
          // A retry of a bump whose answer was lost: the current epoch again.
          target.producer_epoch = m->producer_epoch;
          target.last_producer_epoch = m->last_producer_epoch;
        } else {
          return done(init_error(ErrorCode::PRODUCER_FENCED));
        }
      }
      const int64_t pid = target.producer_id;
      const int16_t epoch = target.producer_epoch;
      append_transition(id, std::move(target), [id, pid, epoch, done = std::move(done)](ErrorCode e) {
        if (e != ErrorCode::NONE) {
          spdlog::info("[TxnCoordinator] Returning {} to InitProducerId of {}", error_name(e), id);
          return done(init_error(e));
        }
        done(InitProducerIdResult{ErrorCode::NONE, pid, epoch});
      });
      return;
    }
    case TxnState::Ongoing:
      // Fence the current producer by aborting its transaction with a bumped
      // epoch (never returned), and answer CONCURRENT_TRANSACTIONS so that
      // the client retries and gets the epoch bumped once more.
      return fence_and_abort(id, [done = std::move(done)](ErrorCode e) {
        done(init_error(e == ErrorCode::NONE ? ErrorCode::CONCURRENT_TRANSACTIONS : e));
      });
    case TxnState::Dead:
    case TxnState::PrepareEpochFence:
      spdlog::error("[TxnCoordinator] Found transactional id {} in state {}, which is illegal", id, txn_state_name(m->state));
      return done(init_error(ErrorCode::UNKNOWN_SERVER_ERROR));
  }
}

// ---------------------------------------------------------------- AddPartitionsToTxn / AddOffsetsToTxn

void TxnCoordinator::add_partitions_to_txn(const std::string& id, int64_t producer_id, int16_t producer_epoch,
                                           const std::vector<TopicPartitionKey>& partitions, std::function<void(ErrorCode)> done) {
  if (id.empty()) return done(ErrorCode::INVALID_REQUEST);
  if (ErrorCode e = check_coordinator(id); e != ErrorCode::NONE) return done(e);
  TransactionMetadata* m = find(id);
  if (!m) return done(ErrorCode::INVALID_PRODUCER_ID_MAPPING);
  if (m->producer_id != producer_id) return done(ErrorCode::INVALID_PRODUCER_ID_MAPPING);
  if (m->producer_epoch != producer_epoch) return done(ErrorCode::PRODUCER_FENCED);
  if (m->pending_state) return done(ErrorCode::CONCURRENT_TRANSACTIONS);
  if (is_prepare(m->state)) return done(ErrorCode::CONCURRENT_TRANSACTIONS);
  bool subset = true;
  for (const auto& tp : partitions)
    if (!m->partitions.count(tp)) subset = false;
  if (m->state == TxnState::Ongoing && subset) return done(ErrorCode::NONE);  // already in the transaction
  // prepareAddPartitions.
  const int64_t now = now_ms_();
  TransactionMetadata target = *m;
  target.pending_state.reset();
  if (m->state == TxnState::Empty || m->state == TxnState::CompleteCommit || m->state == TxnState::CompleteAbort)
    target.txn_start_timestamp = now;
  target.state = TxnState::Ongoing;
  target.partitions.insert(partitions.begin(), partitions.end());
  target.txn_last_update_timestamp = now;
  append_transition(id, std::move(target), std::move(done));
}

void TxnCoordinator::add_offsets_to_txn(const std::string& id, int64_t producer_id, int16_t producer_epoch,
                                        const std::string& group_id, std::function<void(ErrorCode)> done) {
  const TopicPartitionKey tp{kGroupMetadataTopic, group_partition(group_id, config_.offsets_topic_num_partitions)};
  add_partitions_to_txn(id, producer_id, producer_epoch, {tp}, std::move(done));
}

void TxnCoordinator::send_markers(const std::string& id, int32_t coordinator_epoch, TxnResult result, TransactionMetadata target) {
  TransactionMetadata* m = find(id);
  if (!m) return;
  if (m->partitions.empty()) return write_complete(id, coordinator_epoch, std::move(target));
  TxnMarkers markers;
  markers.transactional_id = id;
  markers.producer_id = m->producer_id;
  markers.producer_epoch = m->producer_epoch;
  markers.result = result;
  markers.coordinator_epoch = coordinator_epoch;
  markers.partitions = m->partitions;
  auto alive = alive_;
  markers_.write_markers(std::move(markers), [this, alive, id, coordinator_epoch, target = std::move(target)](ErrorCode e) mutable {
    if (!*alive) return;
    if (epoch_of(id) != coordinator_epoch) return;  // unloaded; the next coordinator resends
    TransactionMetadata* mm = find(id);
    if (!mm || mm->pending_state != target.state) return;
    if (e != ErrorCode::NONE) {
      // As Kafka's TransactionMarkerRequestCompletionHandler (abortSending):
      // the completion stays pending until the partition is loaded again, so
      // every request meanwhile is answered CONCURRENT_TRANSACTIONS (retriable)
      // rather than judged against a bare Prepare* state (an EndTxn asking the
      // other result would get INVALID_TXN_STATE, fatal to clients).
      spdlog::warn("[TxnCoordinator] Writing the markers of {} gave up with {}; its completion waits for the next load", id,
                   error_name(e));
      return;
    }
    write_complete(id, coordinator_epoch, std::move(target));
  });
}

void TxnCoordinator::write_complete(const std::string& id, int32_t coordinator_epoch, TransactionMetadata target) {
  if (epoch_of(id) != coordinator_epoch) return;
  TransactionMetadata* m = find(id);
  if (!m || m->pending_state != target.state) return;
  auto alive = alive_;
  TransactionMetadata copy = target;
  append_transition(id, std::move(target), [this, alive, id, coordinator_epoch, copy = std::move(copy)](ErrorCode e) mutable {
    if (!*alive || e == ErrorCode::NONE) return;
    if (e == ErrorCode::COORDINATOR_NOT_AVAILABLE && epoch_of(id) == coordinator_epoch) {
      // Kafka retries this write (retryOnError); the transition stays pending.
      if (TransactionMetadata* mm = find(id)) {
        mm->pending_state = copy.state;
        retry_completes_.push_back(RetryComplete{id, coordinator_epoch, std::move(copy)});
      }
      return;
    }
    spdlog::warn("[TxnCoordinator] Writing the completion of {}'s transaction failed with {}", id, error_name(e));
  });
}

void TxnCoordinator::append_transition(const std::string& id, TransactionMetadata target, std::function<void(ErrorCode)> done) {
  TransactionMetadata* m = find(id);
  const int32_t partition = partition_for(id);
  const int32_t coordinator_epoch = epoch_of(id);
  m->pending_state = target.state;
  target.pending_state.reset();
  std::vector<TxnRecord> records;
  records.push_back(TxnRecord{encode_txn_key(id), encode_txn_value(target, config_.log_value_version)});
  auto alive = alive_;
  store_.append(partition, coordinator_epoch, std::move(records),
                [this, alive, id, coordinator_epoch, target = std::move(target), done = std::move(done)](ErrorCode e) mutable {
                  if (!*alive) return;
                  e = coordinator_append_error(e);  // Kafka's TransactionStateManager.appendTransactionToLog mapping
                  if (epoch_of(id) != coordinator_epoch) return done(ErrorCode::NOT_COORDINATOR);
                  TransactionMetadata* mm = find(id);
                  if (!mm) return done(ErrorCode::NOT_COORDINATOR);
                  if (e != ErrorCode::NONE) {
                    mm->pending_state.reset();
                    return done(e);
                  }
                  // completeTransitionTo.
                  // (has_failed_epoch_fence lives in memory: kept until the transaction completes.)
                  const bool completed = target.state == TxnState::CompleteCommit || target.state == TxnState::CompleteAbort;
                  const bool failed_fence = !completed && mm->has_failed_epoch_fence;
                  *mm = std::move(target);
                  mm->pending_state.reset();
                  mm->has_failed_epoch_fence = failed_fence;
                  done(ErrorCode::NONE);
                });
}

}  // namespace flotilla::coordinator
