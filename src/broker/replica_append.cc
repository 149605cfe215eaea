// ReplicaManager: writes to partition logs. On a leader: produced batches
// (validated, then appended with offsets assigned in place; the write itself
// may be deferred to the AppendWriter, see storage/append_writer.h), END_TXN
// markers, and DeleteRecords' new log start. On a follower: the batches its
// fetcher brought from the leader, the leader's high watermark and log start,
// and the truncations that make its log agree with the leader's
// (OffsetForLeaderEpoch).
//
// Invariants: an append is visible (high watermark, waiters woken) only once
// its write is applied — at once, or in after_written() for a deferred one;
// the leader epoch cache holds the epoch of every batch in the log (a
// follower assigns each newer epoch at its first batch, truncation cuts the
// cache with the log); a follower's high watermark never passes its own log
// end offset. A storage failure answers KAFKA_STORAGE_ERROR, never throws.
//
// Threading: the broker's io_context thread; the AppendWriter's completion
// is posted back to it (and dropped after the manager is gone).
#include "broker/replica_manager.h"

#include <spdlog/spdlog.h>

#include <algorithm>

#include "broker/broker_metrics.h"
#include "common/clock.h"
#include "storage/log_cleaner.h"

namespace flotilla::broker {

namespace {

// A produce refused before anything was written (validation, a compacted
// topic's keyless record, the producer state's checks).
AppendResult rejected_produce(int32_t node_id, const Partition& p, ErrorCode error, const std::string& message) {
  spdlog::info("[ReplicaManager broker={}] Rejected produce to {}-{}: {} ({})", node_id, p.topic, p.index, error_name(error), message);
  AppendResult r;
  r.error = error;
  r.message = message;
  return r;
}

// An append the log could not take (`what`: "Append", "Marker append").
AppendResult storage_failure(int32_t node_id, const char* what, const Partition& p, const std::exception& e) {
  spdlog::error("[ReplicaManager broker={}] {} to {}-{} failed: {}", node_id, what, p.topic, p.index, e.what());
  AppendResult r;
  r.error = ErrorCode::KAFKA_STORAGE_ERROR;
  r.message = e.what();
  return r;
}

}  // namespace

std::string record_errors_message(const std::vector<RecordError>& errors) {
  std::string m = "One or more records have been rejected due to " + std::to_string(errors.size()) +
                  " record errors in total, and only showing the first three errors at most: [";
  for (size_t i = 0; i < errors.size() && i < 3; ++i) {
    if (i) m += ", ";
    m += "RecordError(batchIndex=" + std::to_string(errors[i].batch_index) + ", message='" + errors[i].message + "')";
  }
  return m + "]";
}

// ---------------------------------------------------------------- leader

AppendResult ReplicaManager::append(Partition& p, std::span<uint8_t> payload, AppendOrigin origin, storage::WriteBatch* deferred) {
  AppendResult r;
  if (p.offline) return rejected_produce(config_.node_id, p, ErrorCode::KAFKA_STORAGE_ERROR, "the log dir of the partition is offline");
  records::Validation v = records::validate_batches(payload, p.max_message_bytes);
  if (v.error != ErrorCode::NONE) return rejected_produce(config_.node_id, p, v.error, v.message);
  if (p.log->config().cleanup_compact) {
    // Kafka's LogValidator: every keyless record is named, and nothing of the batch is appended.
    std::vector<int32_t> keyless;
    try {
      keyless = storage::records_without_key(payload);
    } catch (const std::exception& e) {
      return rejected_produce(config_.node_id, p, ErrorCode::CORRUPT_MESSAGE, e.what());
    }
    if (!keyless.empty()) {
      const std::string why = "Compacted topic cannot accept message without key in topic partition " + p.topic + "-" + std::to_string(p.index) + ".";
      std::vector<RecordError> errors;
      for (int32_t i : keyless) errors.push_back(RecordError{i, why});
      AppendResult refused = rejected_produce(config_.node_id, p, ErrorCode::INVALID_RECORD, record_errors_message(errors));
      refused.record_errors = std::move(errors);
      return refused;
    }
  }
  // message.timestamp.type=LogAppendTime: every batch gets the broker's clock
  // (timestamp-type bit, maxTimestamp, CRC), whatever its records carry.
  int64_t append_time = -1;
  if (p.log_append_time) {
    append_time = wall_clock_ms();
    records::set_log_append_time(payload, v, append_time);
    for (auto& b : v.batches) {
      b.header.attributes = static_cast<int16_t>(b.header.attributes | records::kTimestampTypeBit);
      b.header.max_timestamp = append_time;
    }
    v.max_timestamp = append_time;
    v.offset_of_max_timestamp_delta = 0;  // every record has it: the first one
  }
  try {
    const size_t deferred_before = deferred ? deferred->writes.size() : 0;
    p.epochs->ensure_written();  // the file lists this epoch before a batch of it exists
    storage::AppendInfo info = p.log->append(payload, v, p.leader_epoch, origin == AppendOrigin::Coordinator, deferred);
    // Idempotent producer: INVALID_PRODUCER_EPOCH, OUT_OF_ORDER_SEQUENCE_NUMBER, ...
    if (info.error != ErrorCode::NONE) return rejected_produce(config_.node_id, p, info.error, info.error_message);
    r.base_offset = info.first_offset;
    r.last_offset = info.last_offset;
    r.log_append_time = append_time;
    r.log_start_offset = p.log->log_start_offset();
    if (deferred && deferred->writes.size() > deferred_before) return r;  // nothing visible until after_written
  } catch (const std::exception& e) {
    AppendResult failed = storage_failure(config_.node_id, "Append", p, e);
    fail_dir_if_io_error(p, &e);
    return failed;
  }
  // Followers waiting for data (and consumers, if the HW moved) re-check once.
  if (!maybe_advance_hw(p)) wake(key(p.topic, p.index));
  return r;
}

void ReplicaManager::after_written(Partition& p) {
  if (p.offline) return;
  p.log->apply_written();
  if (p.log->failed() && fail_dir_if_io_error(p, nullptr)) return;
  if (!maybe_advance_hw(p)) wake(key(p.topic, p.index));
}

void ReplicaManager::submit_writes(std::shared_ptr<storage::WriteBatch> batch, std::function<void()> done) {
  auto alive = alive_;
  // Runs on the writer thread: touches only the io_context (which outlives the LogManager and its writer).
  logs_.writer().submit(std::move(batch), [&io = io_, alive, done = std::move(done)]() mutable {
    asio::post(io, [alive, done = std::move(done)] {
      if (*alive) done();
    });
  });
}

AppendResult ReplicaManager::append_marker(Partition& p, int64_t producer_id, int16_t producer_epoch, int32_t coordinator_epoch, bool commit) {
  AppendResult r;
  if (p.offline) return rejected_produce(config_.node_id, p, ErrorCode::KAFKA_STORAGE_ERROR, "the log dir of the partition is offline");
  try {
    p.epochs->ensure_written();
    storage::AppendInfo info = p.log->append_marker(producer_id, producer_epoch, coordinator_epoch, commit, p.leader_epoch, wall_clock_ms());
    if (info.error != ErrorCode::NONE) {
      r.error = info.error;
      r.message = info.error_message;
      spdlog::info("[ReplicaManager broker={}] Rejected a transaction marker for producer {} on {}-{}: {} ({})", config_.node_id, producer_id,
                   p.topic, p.index, error_name(info.error), info.error_message);
      return r;
    }
    r.base_offset = info.first_offset;
    r.last_offset = info.last_offset;
    r.log_start_offset = p.log->log_start_offset();
  } catch (const std::exception& e) {
    AppendResult failed = storage_failure(config_.node_id, "Marker append", p, e);
    fail_dir_if_io_error(p, &e);
    return failed;
  }
  if (!maybe_advance_hw(p)) wake(key(p.topic, p.index));
  return r;
}

int64_t ReplicaManager::last_stable_offset(Partition& p) { return p.log->last_stable_offset(p.hw); }

void ReplicaManager::delete_records_before(Partition& p, int64_t offset) {
  if (offset <= p.log->log_start_offset()) return;
  p.log->set_log_start_offset(offset);
  p.epochs->truncate_from_start(p.log->log_start_offset());
  spdlog::info("[ReplicaManager broker={}] Log start offset of {}-{} is now {} (DeleteRecords)", config_.node_id, p.topic, p.index,
               p.log->log_start_offset());
  wake(key(p.topic, p.index));
}

// ---------------------------------------------------------------- follower

void ReplicaManager::append_as_follower(Partition& p, std::span<const uint8_t> batches, int64_t leader_hw, int64_t leader_log_start) {
  if (!batches.empty()) {
    // Batches the leader sent whole; a partial one at the end (a size limit)
    // is dropped and fetched again.
    size_t pos = 0, whole = 0;
    std::vector<std::pair<int32_t, int64_t>> epochs;  // (epoch, base offset) of each batch
    while (pos < batches.size()) {
      records::BatchHeader h;
      if (!records::parse_header(batches.subspan(pos), h) || h.total_size() > static_cast<int64_t>(batches.size() - pos)) break;
      epochs.emplace_back(h.partition_leader_epoch, h.base_offset);
      pos += static_cast<size_t>(h.total_size());
      whole = pos;
    }
    if (whole > 0) {
      p.log->append_as_follower(batches.first(whole));
      BrokerMetrics::get().replication_bytes_in().inc(whole);  // ReplicationBytesInPerSec
      for (const auto& [e, off] : epochs)
        if (e > p.epochs->latest_epoch()) p.epochs->assign(e, off);
    }
  }
  if (leader_log_start > p.log->log_start_offset() && leader_log_start <= p.log->log_end_offset()) {
    p.log->set_log_start_offset(leader_log_start);
    p.epochs->truncate_from_start(leader_log_start);
  }
  int64_t hw = std::min(leader_hw, p.log->log_end_offset());
  if (hw > p.hw) {
    p.hw = hw;
    wake(key(p.topic, p.index));  // consumers reading from this follower (KIP-392)
  }
}

void ReplicaManager::truncate_to(Partition& p, int64_t offset) {
  if (offset >= p.log->log_end_offset()) return;
  spdlog::info("[ReplicaManager broker={}] Truncating {}-{} from {} to {}", config_.node_id, p.topic, p.index, p.log->log_end_offset(), offset);
  p.log->truncate_to(offset);
  // At batch boundaries: the log may now end a little before `offset`.
  int64_t leo = p.log->log_end_offset();
  p.epochs->truncate_from_end(leo);
  p.hw = std::min(p.hw, leo);
  // A copy in progress (AlterReplicaLogDirs) follows the current log.
  if (storage::Log* fut = logs_.future(p.topic, p.index); fut && fut->log_end_offset() > leo) fut->truncate_to(leo);
}

void ReplicaManager::truncate_fully_and_start_at(Partition& p, int64_t offset) {
  spdlog::info("[ReplicaManager broker={}] {}-{} starts over at {} (the leader's log starts there)", config_.node_id, p.topic, p.index, offset);
  p.log->truncate_fully_and_start_at(offset);
  if (storage::Log* fut = logs_.future(p.topic, p.index)) fut->truncate_fully_and_start_at(offset);
  p.epochs->clear();
  p.hw = offset;
}

std::pair<int32_t, int64_t> ReplicaManager::end_offset_for_epoch(Partition& p, int32_t epoch) const {
  return p.epochs->end_offset_for(epoch, p.log->log_end_offset());
}

}  // namespace flotilla::broker
