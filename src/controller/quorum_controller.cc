// QuorumController: the write path, activation, committed state, timers.
#include "controller/quorum_controller.h"

#include <algorithm>
#include <spdlog/spdlog.h>

#include "common/clock.h"
#include "controller/controller_metrics.h"
#include "protocol/metadata_record.h"
#include "raft/snapshot.h"

namespace flotilla::controller {

using protocol::frame_metadata_record;

QuorumController::QuorumController(asio::io_context& io, raft::RaftClient& raft, ControllerConfig config)
    : io_(io),
      raft_(raft),
      config_(std::move(config)),
      tick_timer_(io),
      committed_(std::make_shared<const metadata::MetadataImage>()),
      latest_(committed_),
      rng_(config_.random_seed ? config_.random_seed : std::random_device{}()) {
  if (config_.node_id < 0) config_.node_id = raft.node_id();
  if (!config_.bootstrap) {
    config_.bootstrap = config_.metadata_log_dir.empty()
                            ? metadata::bootstrap_for_version(metadata::kLatestProductionMetadataVersion, "the default bootstrap")
                            : metadata::read_bootstrap(config_.metadata_log_dir);
  }
  placement_offset_ = rng_();
}

QuorumController::~QuorumController() {
  shutdown();
  *alive_ = false;
}

void QuorumController::start() {
  if (started_) return;
  started_ = true;
  raft_.register_listener(this);
  arm_tick();
}

void QuorumController::shutdown() {
  if (!started_) return;
  started_ = false;
  tick_timer_.cancel();
  raft_.unregister_listener(this);
  active_ = false;
  controller_metrics().active.store(0, std::memory_order_relaxed);
  fail_pending();
}

int64_t QuorumController::now_ms() const { return config_.clock ? config_.clock() : monotonic_ms(); }

void QuorumController::post(std::function<void()> fn) {
  auto alive = alive_;
  asio::post(io_, [alive, fn = std::move(fn)] {
    if (*alive) fn();
  });
}

// ---------------------------------------------------------------- Raft listener

namespace {
// ControllerStats (controller_metrics.h): the unclean and ELR elections a
// committed batch made, from the partitions `d` changed from `previous` to `next`.
void count_elections(const metadata::MetadataImage& previous, const metadata::MetadataImage& next, const metadata::MetadataDelta& d) {
  auto& m = controller_metrics();
  for (const auto& [topic, index] : d.changed_partitions()) {
    const auto* now = next.partition(topic, index);
    if (!now || now->leader < 0) continue;
    const auto* before = previous.partition(topic, index);
    if (before && before->leader == now->leader) continue;
    if (now->leader_recovery_state == 1) {  // RECOVERING: elected from outside the ISR
      m.unclean_leader_elections.fetch_add(1, std::memory_order_relaxed);
    } else if (before && std::ranges::find(before->isr, now->leader) == before->isr.end() &&
               std::ranges::find(before->elr, now->leader) != before->elr.end()) {
      m.elr_elections.fetch_add(1, std::memory_order_relaxed);
    }
  }
}
}  // namespace

void QuorumController::handle_commit(const raft::CommittedBatch& batch) {
  metadata::MetadataDelta d(committed_);
  auto& m = controller_metrics();
  if (!batch.is_control)
    for (const auto& v : batch.records)
      if (!d.replay_value(v)) m.metadata_errors.fetch_add(1, std::memory_order_relaxed);
  d.set_offset(batch.last_offset, batch.epoch);
  auto previous = std::move(committed_);
  committed_ = d.apply();
  committed_counts_.apply(*previous, *committed_, d);
  if (!batch.is_control) count_elections(*previous, *committed_, d);
  if (!active_ || batch.last_offset > last_appended_offset_) m.last_applied_offset.store(batch.last_offset, std::memory_order_relaxed);
  m.last_applied_timestamp.store(batch.append_timestamp, std::memory_order_relaxed);
  if (!active_ || batch.last_offset > last_appended_offset_) {
    // Not our write (standby, or history before activation): follow the log.
    latest_ = committed_;
    latest_counts_ = committed_counts_;
  }
  // Brokers registered through the log get a session from now (standby -> active).
  if (!batch.is_control) {
    for (int32_t id : d.changed_brokers())
      if (committed_->broker(id) && !sessions_.count(id)) sessions_[id].last_contact_ms = now_ms();
  }
  // Reassignments complete once their new replicas are in the ISR (reassignment.cc);
  // posted: a listener callback does not append.
  if (active_ && !batch.is_control && !d.changed_partitions().empty()) {
    std::vector<std::pair<Uuid, int32_t>> changed(d.changed_partitions().begin(), d.changed_partitions().end());
    post([this, changed = std::move(changed)]() mutable { maybe_complete_reassignments(std::move(changed)); });
  }
  while (!pending_.empty() && pending_.begin()->first <= batch.last_offset) {
    auto fn = std::move(pending_.begin()->second);
    pending_.erase(pending_.begin());
    post([fn = std::move(fn)] { fn(ErrorCode::NONE); });
  }
}

void QuorumController::handle_load_snapshot(const raft::SnapshotId& id, const raft::SnapshotContents& contents) {
  // The whole committed state below id.end_offset: nothing of committed_ survives.
  metadata::MetadataDelta d(std::make_shared<const metadata::MetadataImage>());
  d.set_cluster_id(committed_->cluster_id());
  for (const auto& b : contents.batches)
    if (!b.is_control)
      for (const auto& v : b.records) d.replay_value(v);
  d.set_offset(id.end_offset - 1, id.epoch);
  committed_ = d.apply();
  committed_counts_.recount(*committed_);
  if (active_) {
    // The leader's log is never behind a snapshot; uncommitted writes of this
    // controller are dropped from latest_ rather than layered on another state.
    spdlog::error("[QuorumController id={}] Loading snapshot {} while active at epoch {}", config_.node_id, raft::snapshot_file_name(id),
                  epoch_);
  }
  latest_ = committed_;
  latest_counts_ = committed_counts_;
  spdlog::info("[QuorumController id={}] Loaded snapshot {}: committed offset {}", config_.node_id, raft::snapshot_file_name(id),
               committed_->offset());
  // As in handle_commit: every registered broker has a session, and only those.
  int64_t now = now_ms();
  std::erase_if(sessions_, [this](const auto& s) { return !committed_->broker(s.first); });
  for (const auto& [bid, b] : committed_->brokers())
    if (!sessions_.count(bid)) sessions_[bid].last_contact_ms = now;
  while (!pending_.empty() && pending_.begin()->first < id.end_offset) {
    auto fn = std::move(pending_.begin()->second);
    pending_.erase(pending_.begin());
    post([fn = std::move(fn)] { fn(ErrorCode::NONE); });
  }
}

void QuorumController::handle_leader_change(raft::LeaderAndEpoch leader) {
  if (leader.leader_id >= 0 && (leader.leader_id != leader_.leader_id || leader.epoch != leader_.epoch))
    controller_metrics().new_active_controllers.fetch_add(1, std::memory_order_relaxed);
  leader_ = leader;
  if (leader.leader_id == config_.node_id && leader.leader_id >= 0) {
    if (!active_ || epoch_ != leader.epoch) activate(leader.epoch);
  } else if (active_) {
    deactivate();
  }
}

void QuorumController::activate(int32_t epoch) {
  active_ = true;
  controller_metrics().active.store(1, std::memory_order_relaxed);
  epoch_ = epoch;
  token_sweep_due_ms_ = -1;
  latest_ = committed_;
  latest_counts_ = committed_counts_;
  last_appended_offset_ = raft_.next_offset() - 1;
  last_write_ms_ = now_ms();
  // Every registered broker gets a fresh session with the new controller.
  sessions_.clear();
  for (const auto& [id, b] : committed_->brokers()) sessions_[id].last_contact_ms = now_ms();
  spdlog::info("[QuorumController id={}] Becoming the active controller at epoch {}, committed offset {}", config_.node_id, epoch,
               committed_->offset());
  if (committed_->metadata_version() == 0) {
    // A new cluster: write the bootstrap records first (Kafka's ActivationRecordsGenerator).
    const auto& b = *config_.bootstrap;
    std::vector<std::vector<uint8_t>> recs;
    bool txn = b.metadata_version >= 13;  // 3.6-IV1: metadata transactions
    if (txn) {
      msg::BeginTransactionRecord r;
      r.name = "Bootstrap records";
      recs.push_back(frame_metadata_record(r, 0));
    }
    for (const auto& v : b.records) recs.push_back(v);
    if (b.metadata_version >= 8) {  // 3.4-IV0: ZK migration state
      msg::ZkMigrationStateRecord z;
      z.zk_migration_state = 0;  // NONE
      recs.push_back(frame_metadata_record(z, 0));
    }
    if (txn) recs.push_back(frame_metadata_record(msg::EndTransactionRecord{}, 0));
    spdlog::info("[QuorumController id={}] The metadata log appears to be empty. Appending {} bootstrap record(s) at metadata.version {} "
                 "from {}.",
                 config_.node_id, recs.size(), metadata::metadata_version_name(b.metadata_version), b.source);
    write(std::move(recs));
  }
}

void QuorumController::deactivate() {
  spdlog::info("[QuorumController id={}] Renouncing leadership of epoch {}", config_.node_id, epoch_);
  active_ = false;
  controller_metrics().active.store(0, std::memory_order_relaxed);
  latest_ = committed_;
  latest_counts_ = committed_counts_;
  fail_pending();
}

void QuorumController::fail_pending() {
  auto pending = std::move(pending_);
  pending_.clear();
  for (auto& [off, fn] : pending) post([fn = std::move(fn)] { fn(ErrorCode::NOT_CONTROLLER); });
}

// ---------------------------------------------------------------- write path

std::optional<int64_t> QuorumController::write(std::vector<std::vector<uint8_t>> records) {
  if (!active_ || records.empty()) return std::nullopt;
  std::vector<std::vector<uint8_t>> copy = records;
  auto off = raft_.append(std::move(records), epoch_);
  if (!off) {
    spdlog::warn("[QuorumController id={}] Raft refused an append in epoch {}; renouncing", config_.node_id, epoch_);
    deactivate();
    return std::nullopt;
  }
  metadata::MetadataDelta d(latest_);
  for (const auto& v : copy) d.replay_value(v);
  d.set_offset(*off, epoch_);
  auto before = std::move(latest_);
  latest_ = d.apply();
  latest_counts_.apply(*before, *latest_, d);
  last_appended_offset_ = *off;
  controller_metrics().last_applied_offset.store(*off, std::memory_order_relaxed);
  last_write_ms_ = now_ms();
  return off;
}

void QuorumController::after_commit_of(std::optional<int64_t> offset, Completion done) {
  if (!active_) {
    post([done = std::move(done)] { done(ErrorCode::NOT_CONTROLLER); });
    return;
  }
  // With nothing of its own to wait for, a request still waits for what was
  // appended before it (read-your-writes, as Kafka does).
  int64_t wait_for = offset.value_or(last_appended_offset_);
  if (wait_for <= committed_->offset()) {
    post([done = std::move(done)] { done(ErrorCode::NONE); });
    return;
  }
  pending_.emplace(wait_for, std::move(done));
}

// ---------------------------------------------------------------- timers

void QuorumController::arm_tick() {
  if (!started_ || config_.tick_interval_ms <= 0) return;
  int64_t interval = config_.tick_interval_ms;
  if (config_.metadata_max_idle_interval_ms > 0) interval = std::min<int64_t>(interval, config_.metadata_max_idle_interval_ms);
  tick_timer_.expires_after(std::chrono::milliseconds(interval));
  auto alive = alive_;
  tick_timer_.async_wait([this, alive](const asio::error_code& ec) {
    if (ec || !*alive) return;
    tick();
    arm_tick();
  });
}

void QuorumController::tick() {
  if (!active_) return;
  int64_t now = now_ms();
  maybe_fence_stale_brokers(now);
  maybe_balance_partition_leaders(now);  // elections.cc
  maybe_resume_reassignments();          // reassignment.cc
  maybe_sweep_expired_tokens(now);       // delegation_tokens.cc
  maybe_write_noop(now);
}

void QuorumController::maybe_write_noop(int64_t now) {
  if (config_.metadata_max_idle_interval_ms <= 0 || now - last_write_ms_ < config_.metadata_max_idle_interval_ms) return;
  if (mv() < 4) return;  // NoOpRecord needs 3.3-IV0
  write({frame_metadata_record(msg::NoOpRecord{}, 0)});
}

// ---------------------------------------------------------------- helpers

int16_t QuorumController::partition_record_version() const { return metadata::partition_record_version(mv()); }

int16_t QuorumController::register_broker_record_version() const { return metadata::register_broker_record_version(mv()); }

std::vector<Uuid> QuorumController::directories_for(const std::vector<int32_t>& replicas) const {
  std::vector<Uuid> dirs;
  for (int32_t r : replicas) dirs.push_back(default_dir(r));
  return dirs;
}

std::vector<uint8_t> QuorumController::partition_record(const Uuid& topic_id, int32_t index, const std::vector<int32_t>& replicas) {
  msg::PartitionRecord r;
  r.partition_id = index;
  r.topic_id = topic_id;
  r.replicas = replicas;
  // ISR: the live replicas; the leader is the first of them. With none live
  // (a manual assignment to fenced brokers) the ISR is every replica and there
  // is no leader until one of them is unfenced.
  for (int32_t b : replicas)
    if (is_live(b)) r.isr.push_back(b);
  r.leader = r.isr.empty() ? -1 : r.isr.front();
  if (r.isr.empty()) r.isr = replicas;
  r.leader_epoch = 0;
  r.partition_epoch = 0;
  int16_t v = partition_record_version();
  if (v >= 1) r.directories = directories_for(replicas);
  return frame_metadata_record(r, v);
}

}  // namespace flotilla::controller
