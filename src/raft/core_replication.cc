// RaftCore: log replication — the leader's appends, flushes and Fetch
// handling (validation, DivergingEpoch, parked fetches, high watermark), and
// the follower's fetch loop (append, truncate, flush before fetching again).
#include <algorithm>

#include "protocol/record_batch.h"
#include "raft/assert.h"
#include "raft/core.h"

namespace flotilla::raft {

FetchResponse RaftCore::fetch_response_base() const {
  FetchResponse r;
  stamp_leader(r);
  r.high_watermark = high_watermark_;
  r.log_start_offset = log_.start_offset();
  return r;
}

void RaftCore::set_high_watermark(int64_t hw) {
  hw = std::min(hw, log_.end_offset());
  if (hw <= high_watermark_) return;
  high_watermark_ = hw;
  emit(HighWatermarkChanged{hw});
}

// ---------------------------------------------------------------- leader

void RaftCore::drain_accumulator(int64_t now_ms, bool force) {
  auto* l = std::get_if<LeaderState>(&state_);
  if (!l) return;
  auto& acc = l->accumulator();
  if (acc.empty()) return;
  // Group commit: drain at once when no flush is outstanding, otherwise wait
  // for the flush to finish or for the linger to pass.
  bool idle = log_.flushed_offset() >= log_.end_offset();
  if (!force && !idle && !acc.needs_drain(now_ms)) return;
  for (auto& b : acc.drain()) {
    log_.append(epoch_, b.base_offset, b.last_offset + 1);
    emit(AppendToLog{std::move(b.bytes), b.base_offset, b.last_offset});
  }
  emit(FlushLog{log_.end_offset()});
  complete_parked_fetches(now_ms, false);
}

void RaftCore::on_log_flushed(int64_t up_to, int64_t now_ms) {
  log_.on_flushed(up_to);
  if (auto* l = std::get_if<LeaderState>(&state_)) {
    if (l->update_local_end(log_.flushed_offset())) {
      set_high_watermark(*l->high_watermark());
      complete_parked_fetches(now_ms, true);
    }
    drain_accumulator(now_ms, false);
  } else if (std::holds_alternative<FollowerState>(state_)) {
    maybe_send_fetch(now_ms);
  }
  maybe_resign_after_removal(now_ms);
  check_invariants();
}

void RaftCore::complete_parked_fetches(int64_t now_ms, bool all) {
  if (parked_fetches_.empty()) return;
  std::vector<ParkedFetch> keep;
  for (auto& p : parked_fetches_) {
    bool has_data = p.fetch_offset < log_.end_offset();
    if (all || has_data || now_ms >= p.deadline_ms) {
      FetchResponse resp = fetch_response_base();
      if (has_data) resp.read = ReadSpec{p.fetch_offset, p.max_bytes};
      hw_sent_[p.replica_id] = resp.high_watermark;
      emit(SendResponse{p.request_id, std::move(resp)});
    } else {
      keep.push_back(p);
    }
  }
  parked_fetches_.swap(keep);
}

void RaftCore::fail_parked_fetches() {
  for (auto& p : parked_fetches_) {
    FetchResponse resp = fetch_response_base();
    resp.partition_error = ErrorCode::NOT_LEADER_OR_FOLLOWER;
    resp.leader_id = kNoLeader;
    emit(SendResponse{p.request_id, std::move(resp)});
  }
  parked_fetches_.clear();
}

void RaftCore::poll_leader(LeaderState& l, int64_t now_ms) {
  drain_accumulator(now_ms, false);
  if (l.voters().size() > 1) {
    if (now_ms >= l.check_quorum_deadline_ms) {
      size_t fetched = l.fetched_since_check.size() + 1;  // + self
      if (fetched >= l.voters().size() / 2 + 1) {
        l.fetched_since_check.clear();
        l.check_quorum_deadline_ms = now_ms + config_.fetch_timeout_ms * 3 / 2;
      } else {
        spdlog::warn("[RaftCore id={}] Only {} of {} voters fetched within the check-quorum timeout; resigning", config_.local_id,
                     fetched, l.voters().size());
        transition_to_resigned(now_ms);
        return;
      }
    }
    auto unacked = l.unacknowledged_voters();
    if (!unacked.empty() && now_ms >= l.next_begin_quorum_ms) send_begin_quorum(unacked, now_ms);
  }
}

void RaftCore::handle_fetch_request(uint64_t id, int32_t source, const FetchRequest& r, int64_t now_ms) {
  FetchResponse resp = fetch_response_base();
  if (refuse_other_cluster(id, r.cluster_id, resp)) return;
  if (r.fetch_offset < 0 || r.last_fetched_epoch < 0 || r.last_fetched_epoch > r.current_leader_epoch) {
    resp.error = ErrorCode::INVALID_REQUEST;
    emit(SendResponse{id, std::move(resp)});
    return;
  }
  auto* l = std::get_if<LeaderState>(&state_);
  if (r.current_leader_epoch < epoch_) {
    resp.partition_error = ErrorCode::FENCED_LEADER_EPOCH;
  } else if (r.current_leader_epoch > epoch_) {
    resp.partition_error = ErrorCode::UNKNOWN_LEADER_EPOCH;
  } else if (!l) {
    resp.partition_error = ErrorCode::NOT_LEADER_OR_FOLLOWER;
  }
  if (resp.partition_error != ErrorCode::NONE) {
    emit(SendResponse{id, std::move(resp)});
    return;
  }
  FetchValidation v = validate_fetch(r.fetch_offset, r.last_fetched_epoch);
  if (v.snapshot_id || v.diverging_epoch) {
    resp.snapshot_id = v.snapshot_id;
    resp.diverging_epoch = v.diverging_epoch;
    emit(SendResponse{id, std::move(resp)});
    return;
  }
  if (r.replica_id >= 0 && l->update_replica_end(r.replica_id, r.fetch_offset, now_ms)) {
    set_high_watermark(*l->high_watermark());
    complete_parked_fetches(now_ms, true);
    resp.high_watermark = high_watermark_;
  }
  auto sent = hw_sent_.find(r.replica_id);
  bool hw_news = sent == hw_sent_.end() || sent->second < high_watermark_;
  if (r.fetch_offset < log_.end_offset() || r.max_wait_ms <= 0 || hw_news) {
    if (r.fetch_offset < log_.end_offset()) resp.read = ReadSpec{r.fetch_offset, r.max_bytes};
    hw_sent_[r.replica_id] = resp.high_watermark;
    emit(SendResponse{id, std::move(resp)});
    return;
  }
  parked_fetches_.push_back(ParkedFetch{id, r.replica_id, r.fetch_offset, r.max_bytes, now_ms + r.max_wait_ms});
}

RaftCore::FetchValidation RaftCore::validate_fetch(int64_t fetch_offset, int32_t last_fetched_epoch) const {
  FetchValidation v;
  if (fetch_offset == 0 && log_.start_offset() == 0) return v;
  // Behind the log start, or at it but not continuing the snapshot there, or
  // from an epoch older than it: the replica must load our latest snapshot.
  if (log_.start_offset() > 0 && (fetch_offset < log_.start_offset() ||
                                  (fetch_offset == log_.start_offset() && last_fetched_epoch != log_.start_epoch()) ||
                                  last_fetched_epoch < log_.start_epoch())) {
    v.snapshot_id = latest_snapshot_.value_or(OffsetAndEpoch{log_.start_offset(), log_.start_epoch()});
    return v;
  }
  if (fetch_offset == 0) return v;
  OffsetAndEpoch eo = log_.end_offset_for_epoch(last_fetched_epoch);
  if (eo.epoch != last_fetched_epoch || eo.offset < fetch_offset) v.diverging_epoch = eo;
  return v;
}

void RaftCore::on_snapshot_created(OffsetAndEpoch id) {
  RAFT_ASSERT(id.offset <= high_watermark_ || id.offset <= log_.start_offset(), "snapshot {} beyond the high watermark {}", id.offset,
              high_watermark_);
  if (!latest_snapshot_ || id.offset > latest_snapshot_->offset) latest_snapshot_ = id;
}

void RaftCore::on_log_start_advanced(int64_t offset, int32_t epoch) {
  RAFT_ASSERT(latest_snapshot_ && offset <= latest_snapshot_->offset, "log start {} beyond the latest snapshot", offset);
  log_.advance_start(offset, epoch);
  // A parked fetch from below the new start would read what is gone: it is
  // told to load the snapshot instead.
  std::vector<ParkedFetch> keep;
  for (auto& p : parked_fetches_) {
    if (p.fetch_offset >= offset) {
      keep.push_back(p);
      continue;
    }
    FetchResponse resp = fetch_response_base();
    resp.snapshot_id = latest_snapshot_;
    emit(SendResponse{p.request_id, std::move(resp)});
  }
  parked_fetches_.swap(keep);
  check_invariants();
}

const std::vector<int32_t>& RaftCore::voters_at(int64_t offset) const {
  for (size_t i = voter_history_.size(); i-- > 1;)
    if (voter_history_[i].offset <= offset) return voter_history_[i].voters;
  return voter_history_.front().voters;
}

void RaftCore::handle_fetch_snapshot_request(uint64_t id, int32_t source, const FetchSnapshotRequest& r, int64_t now_ms) {
  FetchSnapshotResponse resp;
  stamp_leader(resp);
  resp.snapshot_id = r.snapshot_id;
  if (!cluster_id_ok(r.cluster_id)) {
    resp.error = ErrorCode::INCONSISTENT_CLUSTER_ID;
  } else if (r.current_leader_epoch < epoch_) {
    resp.partition_error = ErrorCode::FENCED_LEADER_EPOCH;
  } else if (r.current_leader_epoch > epoch_) {
    resp.partition_error = ErrorCode::UNKNOWN_LEADER_EPOCH;
  } else if (!std::holds_alternative<LeaderState>(state_)) {
    resp.partition_error = ErrorCode::NOT_LEADER_OR_FOLLOWER;
  } else if (r.position < 0 || r.snapshot_id.offset < 0 || r.snapshot_id.epoch < 0) {
    resp.error = ErrorCode::INVALID_REQUEST;
  } else {
    // Downloading a snapshot counts as hearing from the replica (check quorum).
    auto& l = std::get<LeaderState>(state_);
    if (std::binary_search(config_.voters.begin(), config_.voters.end(), source) && source != config_.local_id)
      l.fetched_since_check.insert(source);
    // The driver reads the file (or answers SNAPSHOT_NOT_FOUND / POSITION_OUT_OF_RANGE).
    resp.read = SnapshotReadSpec{r.snapshot_id, r.position, r.max_bytes > 0 ? r.max_bytes : config_.fetch_snapshot_max_bytes};
  }
  emit(SendResponse{id, std::move(resp)});
}

// ---------------------------------------------------------------- follower

// A Fetch continuing our log: its end and the epoch of its last record.
FetchRequest RaftCore::fetch_request(int32_t max_wait_ms, int32_t max_bytes) const {
  FetchRequest r;
  r.cluster_id = config_.cluster_id;
  r.replica_id = config_.local_id;
  r.current_leader_epoch = epoch_;
  r.fetch_offset = log_.end_offset();
  r.last_fetched_epoch = log_.last_epoch();
  r.log_start_offset = log_.start_offset();
  r.max_wait_ms = max_wait_ms;
  r.max_bytes = max_bytes;
  return r;
}

void RaftCore::maybe_send_fetch(int64_t now_ms) {
  auto* f = std::get_if<FollowerState>(&state_);
  if (!f || f->fetch_in_flight || now_ms < f->next_fetch_ms) return;
  if (f->snapshot_fetch && f->snapshot_fetch->installing) return;
  // Our fetch offset tells the leader that everything before it is durable here.
  if (log_.flushed_offset() < log_.end_offset()) return;
  f->fetch_correlation = next_correlation_++;
  if (f->snapshot_fetch) {
    FetchSnapshotRequest r;
    r.cluster_id = config_.cluster_id;
    r.replica_id = config_.local_id;
    r.current_leader_epoch = epoch_;
    r.snapshot_id = f->snapshot_fetch->id;
    r.position = f->snapshot_fetch->position;
    r.max_bytes = config_.fetch_snapshot_max_bytes;
    emit(SendRequest{f->leader_id, r, f->fetch_correlation});
  } else {
    emit(SendRequest{f->leader_id, fetch_request(config_.fetch_max_wait_ms, config_.fetch_max_bytes), f->fetch_correlation});
  }
  f->fetch_in_flight = true;
  f->fetch_sent_ms = now_ms;
}

// An observer without a leader asks a random voter; the answer (an error
// naming the leader and epoch that voter knows) points it to the leader.
void RaftCore::poll_observer_discovery(UnattachedState& u, int64_t now_ms) {
  if (u.fetch_in_flight) {
    if (now_ms < u.fetch_sent_ms + config_.request_timeout_ms) return;
    u.fetch_in_flight = false;
  }
  const auto& pool = config_.voters.empty() ? config_.bootstrap_ids : config_.voters;
  if (now_ms < u.next_fetch_ms || pool.empty()) return;
  int32_t target = pool[rng_.uniform(static_cast<int64_t>(pool.size()))];
  FetchRequest r = fetch_request(0, 0);
  u.fetch_correlation = next_correlation_++;
  emit(SendRequest{target, r, u.fetch_correlation});
  u.fetch_in_flight = true;
  u.fetch_sent_ms = now_ms;
  u.next_fetch_ms = now_ms + config_.retry_backoff_ms;
}

void RaftCore::poll_follower(FollowerState& f, int64_t now_ms) {
  if (is_voter() && now_ms >= f.fetch_deadline_ms) {
    if (!f.leader_unreachable) {
      spdlog::info("[RaftCore id={}] No successful fetch from leader {} within the fetch timeout; standing for election",
                   config_.local_id, f.leader_id);
    }
    transition_to_prospective(now_ms);
    return;
  }
  if (f.fetch_in_flight && now_ms >= f.fetch_sent_ms + config_.request_timeout_ms) {
    f.fetch_in_flight = false;
    f.next_fetch_ms = now_ms;
  }
  maybe_send_fetch(now_ms);
}

// Only the answer to the fetch in flight counts: a late one (after a timeout)
// or a duplicate could truncate what we appended since, after the leader
// counted it. A failed request is retried after the backoff; news of another
// epoch or leader moves us; a leader that says it resigned our epoch starts
// the search for the next one.
RaftCore::LeaderAnswer RaftCore::accept_leader_answer(FollowerState& f, int32_t source, const ResponseHeader& r, const char* api,
                                                      int64_t now_ms) {
  if (!f.fetch_in_flight || !answers(f.fetch_correlation)) return LeaderAnswer::kHandled;
  f.fetch_in_flight = false;
  if (r.error != ErrorCode::NONE) {
    spdlog::warn("[RaftCore id={}] {} from {} failed: {}", config_.local_id, api, source, error_name(r.error));
    f.next_fetch_ms = now_ms + config_.retry_backoff_ms;
    return LeaderAnswer::kHandled;
  }
  if (r.partition_error == ErrorCode::NONE && r.leader_epoch == epoch_) return LeaderAnswer::kAccepted;
  if (maybe_transition(r.leader_id, r.leader_epoch, now_ms)) return LeaderAnswer::kHandled;
  f.next_fetch_ms = now_ms + config_.retry_backoff_ms;
  if (r.partition_error == ErrorCode::NOT_LEADER_OR_FOLLOWER && r.leader_epoch == epoch_) {
    leader_resigned(f, now_ms);
    return LeaderAnswer::kHandled;
  }
  return LeaderAnswer::kPartitionError;
}

void RaftCore::handle_fetch_response(int32_t source, const FetchResponse& r, int64_t now_ms) {
  auto* f = std::get_if<FollowerState>(&state_);
  if (!f || source != f->leader_id) {
    if (auto* u = std::get_if<UnattachedState>(&state_); u && !is_voter()) {
      // An observer's discovery fetch: the voter told us the leader it knows.
      if (!answers(u->fetch_correlation)) return;
      u->fetch_in_flight = false;
      u->next_fetch_ms = now_ms + config_.retry_backoff_ms;
      if (r.error == ErrorCode::NONE && r.leader_epoch >= epoch_ && r.leader_id >= 0 && r.leader_id != config_.local_id) {
        if (r.leader_epoch > epoch_) {
          maybe_transition(r.leader_id, r.leader_epoch, now_ms);
        } else {
          transition_to_follower(epoch_, r.leader_id, now_ms);
        }
      } else if (r.error == ErrorCode::NONE && r.leader_epoch > epoch_) {
        maybe_transition(std::nullopt, r.leader_epoch, now_ms);
      }
      return;
    }
    if (r.error == ErrorCode::NONE && r.leader_epoch > epoch_) maybe_transition(r.leader_id, r.leader_epoch, now_ms);
    return;
  }
  if (accept_leader_answer(*f, source, r, "Fetch", now_ms) != LeaderAnswer::kAccepted) return;
  if (is_voter()) f->fetch_deadline_ms = now_ms + config_.fetch_timeout_ms;
  f->last_fetch_ok_ms = now_ms;
  f->leader_unreachable = false;
  f->failed_requests = 0;

  if (r.diverging_epoch) {
    // Truncate only at a batch boundary both logs share: if we hold the
    // leader's epoch, to the smaller of the two ends of that epoch (its
    // batches came from one leader, so the shorter end is a boundary in both);
    // if we don't, to the end of our last epoch below it (our later epochs do
    // not exist on the leader), and the next fetch narrows it down further.
    OffsetAndEpoch local = log_.end_offset_for_epoch(r.diverging_epoch->epoch);
    int64_t to = local.epoch == r.diverging_epoch->epoch ? std::min(local.offset, r.diverging_epoch->offset) : local.offset;
    if (to < high_watermark_) {
      spdlog::error("[RaftCore id={}] Leader {} asks to truncate to {} below the high watermark {}; ignoring", config_.local_id,
                    source, to, high_watermark_);
      f->next_fetch_ms = now_ms + config_.retry_backoff_ms;
      return;
    }
    if (to < log_.end_offset()) {
      spdlog::info("[RaftCore id={}] Truncating the log from {} to {} (diverging epoch {})", config_.local_id, log_.end_offset(), to,
                   r.diverging_epoch->epoch);
      log_.truncate_to(to);
      emit(TruncateLog{to});
      forget_voters_from(to);
    }
    f->next_fetch_ms = now_ms;
    maybe_send_fetch(now_ms);
    return;
  }
  if (r.snapshot_id) {
    // Not validated against our log: the snapshot lies beyond it by design.
    if (r.snapshot_id->offset < 0 || r.snapshot_id->epoch < 0 || r.snapshot_id->epoch > epoch_) {
      spdlog::error("[RaftCore id={}] Leader {} sent an invalid snapshot id {}-{}", config_.local_id, source, r.snapshot_id->offset,
                    r.snapshot_id->epoch);
      f->next_fetch_ms = now_ms + config_.retry_backoff_ms;
      return;
    }
    spdlog::info("[RaftCore id={}] Fetch offset {} is below leader {}'s log start {}: fetching snapshot {}-{} (FetchSnapshot)",
                 config_.local_id, log_.end_offset(), source, r.log_start_offset, r.snapshot_id->offset, r.snapshot_id->epoch);
    f->snapshot_fetch = FollowerState::SnapshotFetch{*r.snapshot_id, 0};
    f->next_fetch_ms = now_ms;
    maybe_send_fetch(now_ms);
    return;
  }
  if (r.records && !r.records->empty()) {
    std::span<const uint8_t> blob(r.records->data(), r.records->size());
    int64_t expect = log_.end_offset();
    int32_t last_epoch = log_.last_epoch();
    size_t valid = 0;
    bool stop = false;
    struct B {
      int32_t epoch;
      int64_t base, next;
      std::span<const uint8_t> control;  // a control batch (VotersRecord?), else empty
    };
    std::vector<B> batches;
    records::for_each_batch(blob, [&](const records::BatchHeader& h, std::span<const uint8_t> batch) {
      if (stop) return;
      if (h.base_offset != expect || h.partition_leader_epoch < last_epoch || h.partition_leader_epoch > epoch_ ||
          h.last_offset_delta < 0) {
        stop = true;
        return;
      }
      batches.push_back({h.partition_leader_epoch, h.base_offset, h.last_offset() + 1,
                         h.is_control() ? batch : std::span<const uint8_t>()});
      expect = h.last_offset() + 1;
      last_epoch = h.partition_leader_epoch;
      valid += batch.size();
    });
    if (!batches.empty()) {
      std::shared_ptr<const std::vector<uint8_t>> bytes = r.records;
      if (valid != r.records->size()) bytes = std::make_shared<const std::vector<uint8_t>>(r.records->begin(), r.records->begin() + valid);
      int64_t base = batches.front().base;
      for (const auto& b : batches) log_.append(b.epoch, b.base, b.next);
      emit(AppendToLog{std::move(bytes), base, expect - 1});
      for (const auto& b : batches)
        if (!b.control.empty()) note_voters_in_batch(b.control, b.base, now_ms);
      emit(FlushLog{expect});
    } else if (stop) {
      spdlog::warn("[RaftCore id={}] Fetch response from {} does not continue our log at {}; refetching", config_.local_id, source,
                   log_.end_offset());
    }
  }
  if (r.high_watermark >= 0) set_high_watermark(r.high_watermark);
  f->next_fetch_ms = now_ms;
  maybe_send_fetch(now_ms);
}

// Our leader says it no longer leads (it resigned) in our epoch: a voter
// elects the next one soon; an observer looks for it among the voters.
void RaftCore::leader_resigned(FollowerState& f, int64_t now_ms) {
  if (is_voter()) {
    pre_vote_soon(f, now_ms);
    return;
  }
  spdlog::info("[RaftCore id={}] Leader {} resigned; looking for the next one", config_.local_id, f.leader_id);
  become_leaderless_observer(now_ms);
}

void RaftCore::handle_fetch_snapshot_response(int32_t source, const FetchSnapshotResponse& r, int64_t now_ms) {
  auto* f = std::get_if<FollowerState>(&state_);
  if (!f || source != f->leader_id || !f->snapshot_fetch) {
    if (r.error == ErrorCode::NONE && r.leader_epoch > epoch_) maybe_transition(r.leader_id, r.leader_epoch, now_ms);
    return;
  }
  LeaderAnswer answer = accept_leader_answer(*f, source, r, "FetchSnapshot", now_ms);
  if (answer == LeaderAnswer::kPartitionError &&
      (r.partition_error == ErrorCode::SNAPSHOT_NOT_FOUND || r.partition_error == ErrorCode::POSITION_OUT_OF_RANGE)) {
    // The leader cleaned that snapshot away (or never had it): Fetch again
    // to learn which one to load now.
    spdlog::info("[RaftCore id={}] Snapshot {}-{} is gone from leader {} ({}); fetching again", config_.local_id,
                 f->snapshot_fetch->id.offset, f->snapshot_fetch->id.epoch, source, error_name(r.partition_error));
    f->snapshot_fetch.reset();
  }
  if (answer != LeaderAnswer::kAccepted) return;
  auto& sf = *f->snapshot_fetch;
  size_t len = r.bytes ? r.bytes->size() : 0;
  if (r.snapshot_id != sf.id || r.position != sf.position || r.size <= 0 || sf.position + static_cast<int64_t>(len) > r.size ||
      (len == 0 && sf.position < r.size)) {
    spdlog::warn("[RaftCore id={}] FetchSnapshot response from {} does not continue snapshot {}-{} at {} (got {}-{} at {}, {} of {} bytes)",
                 config_.local_id, source, sf.id.offset, sf.id.epoch, sf.position, r.snapshot_id.offset, r.snapshot_id.epoch, r.position,
                 len, r.size);
    f->snapshot_fetch.reset();
    f->next_fetch_ms = now_ms + config_.retry_backoff_ms;
    return;
  }
  if (is_voter()) f->fetch_deadline_ms = now_ms + config_.fetch_timeout_ms;
  f->last_fetch_ok_ms = now_ms;
  f->leader_unreachable = false;
  f->failed_requests = 0;
  emit(WriteSnapshotChunk{sf.id, sf.position, r.bytes ? r.bytes : std::make_shared<const std::vector<uint8_t>>()});
  sf.position += static_cast<int64_t>(len);
  if (sf.position == r.size) install_snapshot(*f, now_ms);
  f->next_fetch_ms = now_ms;
  maybe_send_fetch(now_ms);
}

void RaftCore::install_snapshot(FollowerState& f, int64_t now_ms) {
  f.snapshot_fetch->installing = true;
  emit(InstallSnapshot{f.snapshot_fetch->id});
  (void)now_ms;
}

void RaftCore::on_snapshot_installed(OffsetAndEpoch id, bool ok, std::vector<VoterSetEntry> snapshot_voters, int64_t now_ms) {
  auto* f = std::get_if<FollowerState>(&state_);
  if (f && f->snapshot_fetch && f->snapshot_fetch->id == id) f->snapshot_fetch.reset();
  if (!ok) {
    // Corrupt or unwritable: nothing changed on disk; the next Fetch starts over.
    spdlog::error("[RaftCore id={}] Snapshot {}-{} could not be installed; fetching again", config_.local_id, id.offset, id.epoch);
    if (f) f->next_fetch_ms = now_ms + config_.retry_backoff_ms;
    maybe_send_fetch(now_ms);
    check_invariants();
    return;
  }
  spdlog::info("[RaftCore id={}] Installed snapshot {}-{}: the log now starts at {} (was [{}, {}))", config_.local_id, id.offset, id.epoch,
               id.offset, log_.start_offset(), log_.end_offset());
  // The snapshot replaces our whole log, whose uncommitted tail may hold
  // VotersRecords the leader never had: the voter history is the snapshot's.
  voter_history_.resize(1);
  for (auto& e : snapshot_voters)
    if (e.offset < id.offset) voter_history_.push_back(std::move(e));
  set_voters(voter_history_.back().voters);
  if (f && is_voter() && f->fetch_deadline_ms == INT64_MAX) f->fetch_deadline_ms = now_ms + config_.fetch_timeout_ms;
  log_.reset_to_snapshot(id);
  if (!latest_snapshot_ || id.offset > latest_snapshot_->offset) latest_snapshot_ = id;
  // The leader snapshots only committed records.
  set_high_watermark(id.offset);
  if (f) f->next_fetch_ms = now_ms;
  maybe_send_fetch(now_ms);
  check_invariants();
}

}  // namespace flotilla::raft
