#include "raft/driver.h"

#include <algorithm>
#include <random>
#include <set>

#include "common/bytes.h"
#include "common/overloaded.h"
#include "common/clock.h"
#include "protocol/metadata_record.h"
#include "protocol/record_batch.h"
#include "raft/assert.h"
#include "raft/rpc.h"
#include "raft/snapshot.h"

namespace flotilla::raft {

namespace {

// The metadata log could not be written or synced (its dir failed: EIO,
// ENOSPC). As Kafka, which halts when the metadata log's dir fails: stop,
// rather than go on serving metadata this node can no longer keep, and
// never acknowledge what it could not make durable.
[[noreturn]] void halt_on_metadata_log_failure(int32_t node_id, const std::string& dir, const char* what) {
  spdlog::critical("[RaftDriver id={}] Shutdown broker because the metadata log dir {} has failed: {}", node_id, dir, what);
  spdlog::default_logger()->flush();
  std::_Exit(1);
}

std::filesystem::path partition_dir_of(const std::filesystem::path& p) {
  if (p.filename() == kMetadataPartitionDir) return p;
  return p / kMetadataPartitionDir;
}

// The bytes of a read result (file regions are read with pread).
std::vector<uint8_t> flatten(const Records& r) {
  if (r.files.empty()) return std::vector<uint8_t>(r.view.begin(), r.view.end());
  ByteWriter w;
  w.put_records_payload(r);
  return w.flatten();
}
}  // namespace

RaftDriver::RaftDriver(asio::io_context& io, RaftConfig config, std::unique_ptr<storage::Log> metadata_log,
                       std::filesystem::path metadata_dir)
    : io_(io),
      config_(std::move(config)),
      log_(std::move(metadata_log)),
      partition_dir_(partition_dir_of(metadata_dir)),
      qs_file_(partition_dir_ / QuorumStateFile::kFileName),
      timer_(io),
      cleaner_timer_(io) {
  RAFT_ASSERT(log_ != nullptr, "no metadata log");
}

RaftDriver::~RaftDriver() {
  if (started_ && !stopped_) shutdown();
  *alive_ = false;
}

std::unique_ptr<storage::Log> RaftDriver::open_metadata_log(const std::filesystem::path& metadata_log_dir,
                                                           const storage::LogConfig& config) {
  auto dir = partition_dir_of(metadata_log_dir);
  std::filesystem::create_directories(dir);
  // Every append of the metadata log is fsynced before it counts: preallocated
  // segments keep those syncs to the data.
  storage::LogConfig c = config;
  c.preallocate = true;
  return storage::Log::open(dir, c, Uuid{kMetadataTopicIdHi, kMetadataTopicIdLo});
}

int64_t RaftDriver::now_ms() { return wall_clock_ms(); }

InitialLogState RaftDriver::recover_log_state() {
  InitialLogState s;
  recover_snapshots(s);
  s.start_offset = log_->log_start_offset();
  s.end_offset = log_->log_end_offset();
  // Recover the epoch cache from the batch headers (the metadata log is
  // bounded by snapshots; a leader-epoch checkpoint can replace this scan).
  int64_t pos = s.start_offset;
  while (pos < s.end_offset) {
    storage::ReadResult rr = log_->read(pos, 1 << 20, s.end_offset, true);
    auto bytes = flatten(rr.records);
    int64_t before = pos;
    records::for_each_batch(std::span<const uint8_t>(bytes), [&](const records::BatchHeader& h, std::span<const uint8_t> batch) {
      if (h.last_offset() < pos) return;
      if (s.epochs.empty() || h.partition_leader_epoch > s.epochs.back().epoch)
        s.epochs.push_back(EpochEntry{h.partition_leader_epoch, h.base_offset});
      if (h.is_control()) scan_for_voters(batch, h.base_offset, &s.voter_history);
      pos = h.last_offset() + 1;
    });
    if (pos == before) break;  // nothing readable: stop (the log recovered its tail already)
  }
  if (cached_contents_ && cached_contents_->voters) {
    // The voter set the latest snapshot records (KIP-853), among those of the log by offset.
    VoterSetEntry e{cached_id_.end_offset - 1, {}};
    for (const auto& v : *cached_contents_->voters) {
      e.voters.push_back(v.id);
      learn_voter(v);
    }
    std::sort(e.voters.begin(), e.voters.end());
    auto at = std::find_if(s.voter_history.begin(), s.voter_history.end(), [&](const VoterSetEntry& x) { return x.offset > e.offset; });
    s.voter_history.insert(at, std::move(e));
  }
  if (pos < s.end_offset) {
    spdlog::warn("[RaftDriver id={}] Could only scan the metadata log up to {} of {}", config_.node_id, pos, s.end_offset);
  }
  // Start-up may block: make the recovered log durable so that a follower's
  // first fetch offset is honest.
  if (log_->flushed_offset() < s.end_offset) log_->flush(s.end_offset);
  s.flushed_offset = s.end_offset;
  return s;
}

void RaftDriver::start() {
  RAFT_ASSERT(!started_, "RaftDriver started twice");
  std::filesystem::create_directories(partition_dir_);
  std::vector<int32_t> voters = config_.voters;
  voter_info_ = config_.known_voters;
  bool from_checkpoint = false;
  if (voters.empty()) {
    if (auto bv = read_bootstrap_voters(partition_dir_)) {
      for (const auto& v : *bv) {
        voters.push_back(v.id);
        voter_info_[v.id] = v;
        if (voter_address_listener_ && !v.endpoints.empty())
          voter_address_listener_(v.id, v.endpoints.front().host, v.endpoints.front().port);
      }
      from_checkpoint = true;
    }
  }
  if (voters.empty() && !config_.bootstrap_ids.empty()) {
    from_checkpoint = true;  // a dynamic quorum: this node waits to be added (an observer until then)
  } else if (voters.empty()) {
    throw std::runtime_error("No controller quorum voters: set controller.quorum.voters or format the storage with --standalone");
  }
  qs_version_ = config_.quorum_state_version >= 0 ? config_.quorum_state_version : (from_checkpoint ? 1 : 0);
  std::optional<ElectionState> persisted = qs_file_.read();

  RaftCoreConfig cc;
  static_cast<QuorumTimings&>(cc) = config_;
  cc.local_id = config_.node_id;
  cc.voters = voters;
  cc.cluster_id = config_.cluster_id;
  cc.bootstrap_ids = config_.bootstrap_ids;
  uint64_t seed = config_.random_seed;
  if (seed == 0) {
    std::random_device rd;
    seed = (uint64_t(rd()) << 32) | rd();
  }
  core_ = std::make_unique<RaftCore>(cc, Rng(seed));
  io_thread_ = std::make_unique<asio::thread_pool>(1);
  started_ = true;
  InitialLogState ls = recover_log_state();
  spdlog::info("[RaftDriver id={}] Starting with voters {} (quorum-state v{}), log [{}, {})", config_.node_id, fmt::join(voters, ","),
               qs_version_, ls.start_offset, ls.end_offset);
  core_->start(persisted, ls, now_ms());
  pump();
  schedule_cleaner();
}

void RaftDriver::shutdown() {
  if (!started_ || stopped_) return;
  stopped_ = true;
  timer_.cancel();
  cleaner_timer_.cancel();
  // Let the I/O thread finish what it has (a quorum-state write must not race ours).
  io_thread_->join();
  core_->resign(now_ms());
  // Apply everything that is left, synchronously (shutdown may block).
  for (auto& a : core_->take_actions()) pending_.push_back(std::move(a));
  persist_in_flight_ = false;
  while (!pending_.empty()) {
    Action a = std::move(pending_.front());
    pending_.pop_front();
    if (auto* p = std::get_if<PersistElection>(&a)) {
      try {
        qs_file_.write(p->state, qs_version_);
      } catch (const std::exception& e) {
        spdlog::error("[RaftDriver id={}] Could not write quorum-state at shutdown: {}", config_.node_id, e.what());
      }
    } else if (std::holds_alternative<FlushLog>(a)) {
      // flushed below
    } else {
      apply(a);
    }
  }
  log_->flush(log_->log_end_offset());
  if (snapshot_part_fd_ >= 0) ::close(snapshot_part_fd_);  // an unfinished download: the .part is removed at start-up
  snapshot_part_fd_ = -1;
  *alive_ = false;
  responders_.clear();
  spdlog::info("[RaftDriver id={}] Shut down (log end offset {}, high watermark {})", config_.node_id, log_->log_end_offset(),
               core_->high_watermark());
}

// ---------------------------------------------------------------- actions

void RaftDriver::pump() {
  if (pumping_ || stopped_) return;
  pumping_ = true;
  for (;;) {
    if (core_->has_actions())
      for (auto& a : core_->take_actions()) pending_.push_back(std::move(a));
    if (pending_.empty() || persist_in_flight_) break;
    Action a = std::move(pending_.front());
    pending_.pop_front();
    apply(a);
  }
  pumping_ = false;
  const Role role = core_->role();
  sensors_.role(role == Role::Prospective || role == Role::Candidate, role == Role::Leader || leader_.leader_id >= 0, monotonic_ms());
  arm_timer();
}

void RaftDriver::apply(Action& action) {
  std::visit(Overloaded{[&](PersistElection& p) { persist(p.state); },
                        [&](AppendToLog& a) {
                          RAFT_ASSERT(log_->log_end_offset() == a.base_offset, "append at {} but the log ends at {}", a.base_offset,
                                      log_->log_end_offset());
                          storage::AppendInfo info;
                          try {
                            info = log_->append_as_follower(std::span<const uint8_t>(a.batches->data(), a.batches->size()));
                          } catch (const storage::StorageError& e) {
                            halt_on_metadata_log_failure(config_.node_id, log_->dir_string(), e.what());
                          }
                          RAFT_ASSERT(info.last_offset == a.last_offset, "appended up to {} expected {}", info.last_offset,
                                      a.last_offset);
                          scan_for_voters(std::span<const uint8_t>(a.batches->data(), a.batches->size()), a.base_offset, nullptr);
                          if (core_->role() == Role::Leader)
                            sensors_.appended_as_leader(a.last_offset, a.last_offset - a.base_offset + 1, monotonic_ms());
                          else
                            sensors_.fetched_as_follower(a.last_offset - a.base_offset + 1, monotonic_ms());
                        },
                        [&](TruncateLog& t) {
                          log_->truncate_to(t.offset);
                          if (flush_in_flight_) truncated_during_flush_ = std::min(truncated_during_flush_, t.offset);
                          flush_wanted_ = std::min(flush_wanted_, t.offset);
                        },
                        [&](FlushLog& f) { request_flush(f.up_to); },
                        [&](WriteSnapshotChunk& c) { write_snapshot_chunk(c); },
                        [&](InstallSnapshot& i) {
                          std::vector<VoterSetEntry> voters;
                          bool ok = install_snapshot(i.id, voters);
                          if (ok) {
                            if (flush_in_flight_) truncated_during_flush_ = std::min(truncated_during_flush_, i.id.offset);
                            flush_wanted_ = std::min(flush_wanted_, i.id.offset);
                          }
                          // Synchronously: nothing may reach the core between the reset and its news.
                          core_->on_snapshot_installed(i.id, ok, std::move(voters), now_ms());
                          if (ok) schedule_delivery();
                        },
                        [&](SendRequest& s) {
                          if (sender_) sender_(s.destination, std::move(s.request), s.correlation_id);
                        },
                        [&](SendResponse& r) { respond(r); },
                        [&](HighWatermarkChanged& h) {
                          applied_hw_ = std::max(applied_hw_, h.high_watermark);
                          sensors_.high_watermark(applied_hw_, monotonic_ms());
                          for (auto it = pending_voter_changes_.begin(); it != pending_voter_changes_.end();) {
                            if (it->offset < applied_hw_) {
                              auto done = std::move(it->done);
                              it = pending_voter_changes_.erase(it);
                              asio::post(io_, [done] { done(ErrorCode::NONE, ""); });
                            } else {
                              ++it;
                            }
                          }
                          schedule_delivery();
                        },
                        [&](LeaderChanged& l) {
                          leader_ = l.leader;
                          leader_is_self_ = l.is_self;
                          sensors_.leader_changed();
                          for (auto& p : pending_voter_changes_) {
                            auto done = std::move(p.done);
                            asio::post(io_, [done] { done(ErrorCode::NOT_LEADER_OR_FOLLOWER, "leadership changed"); });
                          }
                          pending_voter_changes_.clear();
                          epoch_start_offset_ = l.epoch_start_offset;
                          spdlog::info("[RaftDriver id={}] Leader is now {} in epoch {}", config_.node_id, l.leader.leader_id,
                                       l.leader.epoch);
                          schedule_delivery();
                        }},
             action);
}

void RaftDriver::persist(const ElectionState& s) {
  persist_in_flight_ = true;
  auto alive = alive_;
  asio::post(*io_thread_, [this, alive, s] {
    try {
      qs_file_.write(s, qs_version_);
    } catch (const std::exception& e) {
      // Raft's safety rests on this file: do not go on without it.
      spdlog::critical("[RaftDriver id={}] Could not write {}: {}", config_.node_id, qs_file_.path().string(), e.what());
      spdlog::default_logger()->flush();
      std::abort();
    }
    asio::post(io_, [this, alive] {
      if (!*alive) return;
      persist_in_flight_ = false;
      pump();
    });
  });
}

void RaftDriver::request_flush(int64_t up_to) {
  flush_wanted_ = std::max(flush_wanted_, up_to);
  if (!flush_in_flight_) start_flush();
}

void RaftDriver::start_flush() {
  flush_in_flight_ = true;
  truncated_during_flush_ = INT64_MAX;
  // Only what is written now is covered by this fsync.
  int64_t target = std::min(flush_wanted_, log_->log_end_offset());
  auto alive = alive_;
  storage::Log* log = log_.get();
  asio::post(*io_thread_, [this, alive, log, target, node_id = config_.node_id] {
    try {
      log->flush(target);
    } catch (const storage::StorageError& e) {
      halt_on_metadata_log_failure(node_id, log->dir_string(), e.what());
    }
    asio::post(io_, [this, alive, target] {
      if (!*alive || stopped_) return;
      flush_in_flight_ = false;
      int64_t durable = std::min(target, truncated_during_flush_);
      core_->on_log_flushed(durable, now_ms());
      if (flush_wanted_ > durable) start_flush();
      pump();
    });
  });
}

void RaftDriver::arm_timer() {
  if (stopped_) return;
  int64_t d = core_->next_deadline_ms();
  if (d == armed_deadline_) return;
  armed_deadline_ = d;
  if (d == INT64_MAX) {
    timer_.cancel();
    return;
  }
  int64_t delay = std::max<int64_t>(0, d - now_ms());
  timer_.expires_after(std::chrono::milliseconds(delay));
  auto alive = alive_;
  timer_.async_wait([this, alive, d](const asio::error_code& ec) {
    if (ec || !*alive || stopped_) return;
    if (armed_deadline_ == d) armed_deadline_ = -1;
    core_->poll(now_ms());
    pump();
  });
}

void RaftDriver::schedule_poll() {
  if (poll_posted_) return;
  poll_posted_ = true;
  auto alive = alive_;
  asio::post(io_, [this, alive] {
    if (!*alive || stopped_) return;
    poll_posted_ = false;
    core_->poll(now_ms());
    pump();
  });
}

void RaftDriver::publish_metrics(int32_t unknown_voters) {
  sensors_.publish(core_ ? core_->log().last_epoch() : 0, unknown_voters, monotonic_ms());
}

// ---------------------------------------------------------------- appends

std::optional<int64_t> RaftDriver::append(std::vector<std::vector<uint8_t>> record_values, int32_t epoch) {
  if (!started_ || stopped_) return std::nullopt;
  auto r = core_->append(std::move(record_values), epoch, now_ms());
  // Built on the next turn: appends of this turn share a batch.
  if (r) schedule_poll();
  return r;
}

// ---------------------------------------------------------------- network

void RaftDriver::handle_request(int32_t source, RaftRequest request, std::function<void(RaftResponse)> respond) {
  if (!started_ || stopped_) return;
  uint64_t id = next_request_id_++;
  responders_[id] = std::move(respond);
  core_->handle_request(id, source, std::move(request), now_ms());
  pump();
}

void RaftDriver::handle_response(int32_t source, RaftResponse response, uint64_t correlation_id) {
  if (!started_ || stopped_) return;
  core_->handle_response(source, std::move(response), now_ms(), correlation_id);
  pump();
}

void RaftDriver::handle_send_failure(int32_t destination) {
  if (!started_ || stopped_) return;
  core_->on_request_failed(destination, now_ms());
  pump();
}

msg::DescribeQuorumResponse RaftDriver::describe_quorum() const {
  msg::DescribeQuorumResponse r = rpc::describe_quorum(*core_, now_ms());
  // Directory ids and endpoints of the voters (v2), as far as we know them.
  std::set<int32_t> listed;
  for (auto& t : r.topics)
    for (auto& p : t.partitions)
      for (auto* rows : {&p.current_voters, &p.observers})
        for (auto& s : *rows) {
          auto it = voter_info_.find(s.replica_id);
          if (it == voter_info_.end()) continue;
          s.replica_directory_id = it->second.directory_id;
          if (!listed.insert(s.replica_id).second || it->second.endpoints.empty()) continue;
          msg::DescribeQuorumResponse::Node n;
          n.node_id = s.replica_id;
          for (const auto& e : it->second.endpoints) {
            msg::DescribeQuorumResponse::Listener l;
            l.name = e.name;
            l.host = e.host;
            l.port = e.port;
            n.listeners.push_back(l);
          }
          r.nodes.push_back(std::move(n));
        }
  return r;
}

void RaftDriver::respond(SendResponse& r) {
  auto it = responders_.find(r.request_id);
  if (it == responders_.end()) return;
  auto fn = std::move(it->second);
  responders_.erase(it);
  if (auto* f = std::get_if<FetchResponse>(&r.response); f && f->read) {
    try {
      storage::ReadResult rr = log_->read(f->read->offset, f->read->max_bytes, log_->log_end_offset(), true);
      f->records = std::make_shared<const std::vector<uint8_t>>(flatten(rr.records));
    } catch (const std::exception& e) {
      spdlog::warn("[RaftDriver id={}] Reading the metadata log at {} for a fetch failed: {}", config_.node_id, f->read->offset,
                   e.what());
      f->partition_error = ErrorCode::UNKNOWN_SERVER_ERROR;
    }
    f->read.reset();
  }
  if (auto* s = std::get_if<FetchSnapshotResponse>(&r.response); s && s->read) fill_snapshot_read(*s);
  if (fn) fn(std::move(r.response));
}

// ---------------------------------------------------------------- voters (KIP-853)

void RaftDriver::learn_voters(const msg::VotersRecord& record) {
  for (auto& info : from_voters_record(record)) learn_voter(info);
}

void RaftDriver::learn_voter(const Voter& info) {
  if (voter_address_listener_ && !info.endpoints.empty())
    voter_address_listener_(info.id, info.endpoints.front().host, info.endpoints.front().port);
  voter_info_[info.id] = info;
}

void RaftDriver::scan_for_voters(std::span<const uint8_t> batches, int64_t base_offset, std::vector<VoterSetEntry>* history) {
  records::for_each_batch(batches, [&](const records::BatchHeader& h, std::span<const uint8_t> batch) {
    if (!h.is_control()) return;
    try {
      for (const auto& r : records::decode_records(batch)) {
        if (!r.key || !r.value || r.key->size() < 4) continue;
        if (protocol::parse_control_key(*r.key) != protocol::ControlType::KRAFT_VOTERS) continue;
        msg::VotersRecord v;
        ByteReader rd(r.value->data(), r.value->size());
        v.decode(rd, 0);
        learn_voters(v);
        if (history) {
          std::vector<int32_t> ids;
          for (const auto& x : v.voters) ids.push_back(x.voter_id);
          std::sort(ids.begin(), ids.end());
          history->push_back(VoterSetEntry{r.offset, ids});
        }
      }
    } catch (const std::exception& e) {
      spdlog::warn("[RaftDriver id={}] Undecodable control batch at {}: {}", config_.node_id, h.base_offset, e.what());
    }
  });
  (void)base_offset;
}

msg::VotersRecord RaftDriver::voters_record(const std::vector<int32_t>& ids) const {
  std::vector<Voter> voters;
  for (int32_t id : ids) {
    auto it = voter_info_.find(id);
    Voter v = it != voter_info_.end() ? it->second : Voter{};
    v.id = id;
    voters.push_back(std::move(v));
  }
  return to_voters_record(voters);
}

// Plans the change (or says why not / to wait), appends it when the core
// accepts one, and retries every few ms until the deadline.
void RaftDriver::try_voter_change(
    std::function<std::optional<std::pair<std::vector<int32_t>, msg::VotersRecord>>(ErrorCode&, std::string&)> plan, int64_t deadline_ms,
    VoterChangeDone done) {
  if (!started_ || stopped_) return done(ErrorCode::NOT_LEADER_OR_FOLLOWER, "shutting down");
  if (!is_leader()) return done(ErrorCode::NOT_LEADER_OR_FOLLOWER, "not the leader");
  ErrorCode error = ErrorCode::NONE;
  std::string message;
  auto change = plan(error, message);
  if (error != ErrorCode::NONE) return done(error, message);
  std::optional<int64_t> offset;
  if (change) {
    ByteWriter w;
    change->second.encode(w, 0);
    offset = core_->append_voters_change(change->first, std::move(w).take(), now_ms());
  }
  if (!offset) {
    if (now_ms() >= deadline_ms) return done(ErrorCode::REQUEST_TIMED_OUT, message.empty() ? "timed out" : message);
    auto t = std::make_shared<asio::steady_timer>(io_, std::chrono::milliseconds(20));
    auto alive = alive_;
    t->async_wait([this, alive, t, plan, deadline_ms, done](const asio::error_code&) {
      if (*alive) try_voter_change(plan, deadline_ms, done);
    });
    return;
  }
  learn_voters(change->second);
  pending_voter_changes_.push_back(PendingVoterChange{*offset, core_->epoch(), std::move(done)});
  pump();
}

void RaftDriver::add_voter(Voter voter, int64_t timeout_ms, VoterChangeDone done) {
  auto plan = [this, voter](ErrorCode& error, std::string& message) -> std::optional<std::pair<std::vector<int32_t>, msg::VotersRecord>> {
    const auto& voters = core_->config().voters;
    if (std::find(voters.begin(), voters.end(), voter.id) != voters.end()) {
      error = ErrorCode::DUPLICATE_VOTER;
      message = "node " + std::to_string(voter.id) + " is already a voter";
      return std::nullopt;
    }
    // The new voter must be replicating already, and caught up: otherwise the
    // quorum could not commit until it is.
    auto p = core_->observer_progress(voter.id);
    if (!p || p->end_offset < core_->high_watermark()) {
      message = "node " + std::to_string(voter.id) + " has not caught up with the leader";
      return std::nullopt;
    }
    voter_info_[voter.id] = voter;
    std::vector<int32_t> next = voters;
    next.push_back(voter.id);
    std::sort(next.begin(), next.end());
    return std::make_pair(next, voters_record(next));
  };
  try_voter_change(plan, now_ms() + timeout_ms, std::move(done));
}

void RaftDriver::remove_voter(int32_t id, Uuid directory_id, int64_t timeout_ms, VoterChangeDone done) {
  auto plan = [this, id, directory_id](ErrorCode& error, std::string& message) -> std::optional<std::pair<std::vector<int32_t>, msg::VotersRecord>> {
    const auto& voters = core_->config().voters;
    auto info = voter_info_.find(id);
    bool dir_ok = directory_id.is_zero() || info == voter_info_.end() || info->second.directory_id == directory_id;
    if (std::find(voters.begin(), voters.end(), id) == voters.end() || !dir_ok) {
      error = ErrorCode::VOTER_NOT_FOUND;
      message = "node " + std::to_string(id) + " is not a voter";
      return std::nullopt;
    }
    if (voters.size() == 1) {
      error = ErrorCode::INVALID_REQUEST;
      message = "cannot remove the last voter";
      return std::nullopt;
    }
    std::vector<int32_t> next;
    for (int32_t v : voters)
      if (v != id) next.push_back(v);
    return std::make_pair(next, voters_record(next));
  };
  try_voter_change(plan, now_ms() + timeout_ms, std::move(done));
}

void RaftDriver::update_voter(Voter voter, int64_t timeout_ms, VoterChangeDone done) {
  auto plan = [this, voter](ErrorCode& error, std::string& message) -> std::optional<std::pair<std::vector<int32_t>, msg::VotersRecord>> {
    const auto& voters = core_->config().voters;
    if (std::find(voters.begin(), voters.end(), voter.id) == voters.end()) {
      error = ErrorCode::VOTER_NOT_FOUND;
      message = "node " + std::to_string(voter.id) + " is not a voter";
      return std::nullopt;
    }
    voter_info_[voter.id] = voter;
    return std::make_pair(voters, voters_record(voters));
  };
  try_voter_change(plan, now_ms() + timeout_ms, std::move(done));
}

// ---------------------------------------------------------------- listeners

void RaftDriver::register_listener(RaftListener* listener) {
  for (const auto& c : listeners_) {
    if (c->listener == listener && !c->removed) return;  // registered already: keep its position
  }
  auto ctx = std::make_unique<ListenerCtx>();
  ctx->listener = listener;
  ctx->next_offset = log_->log_start_offset();
  listeners_.push_back(std::move(ctx));
  schedule_delivery();
}

std::optional<std::pair<int16_t, std::vector<Voter>>> RaftDriver::snapshot_kraft_state(int64_t end_offset) const {
  if (qs_version_ < 1 || !core_) return std::nullopt;
  std::vector<Voter> voters;
  for (int32_t id : core_->voters_at(end_offset == INT64_MAX ? end_offset : end_offset - 1)) {
    auto it = voter_info_.find(id);
    Voter v = it != voter_info_.end() ? it->second : Voter{};
    v.id = id;
    voters.push_back(std::move(v));
  }
  return std::make_pair(int16_t{1}, std::move(voters));
}

void RaftDriver::unregister_listener(RaftListener* listener) {
  for (auto& c : listeners_)
    if (c->listener == listener) c->removed = true;
  if (!delivering_)
    listeners_.erase(std::remove_if(listeners_.begin(), listeners_.end(), [](const auto& c) { return c->removed; }), listeners_.end());
}

void RaftDriver::schedule_delivery() {
  if (delivery_posted_) return;
  delivery_posted_ = true;
  auto alive = alive_;
  asio::post(io_, [this, alive] {
    if (!*alive) return;
    delivery_posted_ = false;
    deliver();
  });
}

void RaftDriver::deliver() {
  int64_t hw = applied_hw_;
  delivering_ = true;
  for (size_t i = 0; i < listeners_.size(); ++i) {
    if (listeners_[i]->removed) continue;
    deliver_to(*listeners_[i], hw);
    if (!listeners_[i]->removed) maybe_fire_leader_change(*listeners_[i]);
  }
  delivering_ = false;
  cached_contents_.reset();  // a snapshot is held only for one round of deliveries
  listeners_.erase(std::remove_if(listeners_.begin(), listeners_.end(), [](const auto& c) { return c->removed; }), listeners_.end());
}

void RaftDriver::deliver_to(ListenerCtx& ctx, int64_t hw) {
  if (!maybe_deliver_snapshot(ctx)) return;
  while (ctx.next_offset < hw && !ctx.removed) {
    std::vector<uint8_t> bytes;
    try {
      storage::ReadResult rr = log_->read(ctx.next_offset, 1 << 20, hw, true);
      bytes = flatten(rr.records);
    } catch (const std::exception& e) {
      spdlog::error("[RaftDriver id={}] Reading committed metadata at {} failed: {}", config_.node_id, ctx.next_offset, e.what());
      return;
    }
    int64_t before = ctx.next_offset;
    records::for_each_batch(std::span<const uint8_t>(bytes), [&](const records::BatchHeader& h, std::span<const uint8_t> batch) {
      if (ctx.removed || h.last_offset() < ctx.next_offset || h.last_offset() >= hw) return;
      CommittedBatch cb = committed_batch(h, batch.size());
      cb.is_control = h.is_control();
      cb.more_follow = h.last_offset() + 1 < hw;
      try {
        for (auto& r : records::decode_records(batch))
          if (r.value) cb.records.push_back(std::move(*r.value));
      } catch (const std::exception& e) {
        spdlog::error("[RaftDriver id={}] Corrupt committed batch at {}: {}", config_.node_id, h.base_offset, e.what());
      }
      ctx.next_offset = h.last_offset() + 1;
      ctx.listener->handle_commit(cb);
    });
    if (ctx.next_offset == before) {
      spdlog::error("[RaftDriver id={}] No progress delivering committed metadata at {} (hw {})", config_.node_id, before, hw);
      return;
    }
  }
}

void RaftDriver::maybe_fire_leader_change(ListenerCtx& ctx) {
  if (ctx.fired == leader_) return;
  // A new leader's listener first sees everything up to its LeaderChangeMessage.
  if (leader_is_self_ && ctx.next_offset <= epoch_start_offset_) return;
  ctx.fired = leader_;
  ctx.listener->handle_leader_change(leader_);
}

}  // namespace flotilla::raft
