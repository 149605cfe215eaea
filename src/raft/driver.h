// RaftDriver: runs a RaftCore on an asio io_context. It owns the metadata
// log (__cluster_metadata-0), the quorum-state file, a timer, and one I/O
// thread on which every fsync happens (log flushes, quorum-state writes);
// completions are posted back to the io_context. It delivers committed
// batches and leader changes to RaftListeners.
//
// Snapshots (KIP-630): it keeps the list of complete, valid snapshot files of
// the partition directory (written by the node's snapshot generator, or
// downloaded from the leader with FetchSnapshot), serves FetchSnapshot from
// them, hands a listener the latest one when it registers or falls below the
// log start, and runs the metadata log cleaner: it advances the log start to
// a newer snapshot and deletes older snapshots and whole segments once they
// pass metadata.max.retention.ms / metadata.max.retention.bytes, never the
// latest snapshot nor anything after it. The log start always equals the end
// offset of a snapshot kept on disk (or is 0).
//
// Threading: every public method must be called on the io_context thread
// (construction and start() may run before the io_context does). The I/O
// thread only ever runs Log::flush and QuorumStateFile::write.
//
// Invariants: actions of the core are applied strictly in order; nothing
// after a PersistElection takes effect before the quorum-state file is
// durable; a batch is delivered to a listener only once it is below the high
// watermark, exactly once, in order.
#pragma once

#include <asio.hpp>
#include <deque>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <unordered_map>
#include <vector>

#include "protocol/messages.h"
#include "raft/client.h"
#include "raft/core.h"
#include "raft/quorum_state.h"
#include "raft/raft_metrics.h"
#include "raft/snapshot.h"
#include "storage/log.h"

namespace flotilla::raft {

// The quorum timings (QuorumTimings, raft/core.h) go to the core as they are.
struct RaftConfig : QuorumTimings {
  int32_t node_id = -1;
  // controller.quorum.voters (ids). Empty: read from the bootstrap checkpoint
  // `00000000000000000000-0000000000.checkpoint` written by `storage format --standalone`.
  std::vector<int32_t> voters;
  std::string cluster_id;
  // quorum-state data_version: -1 = 1 when the voters come from a bootstrap
  // checkpoint (kraft.version 1), else 0 (static quorum), as Kafka 3.9 does.
  int16_t quorum_state_version = -1;
  uint64_t random_seed = 0;  // 0: seeded from std::random_device
  // controller.quorum.bootstrap.servers as pseudo ids (-2, -3, ...), for a node
  // that knows no voter yet (a controller waiting to be added, a broker).
  std::vector<int32_t> bootstrap_ids;
  // What is known of the static voters (ids and endpoints), for VotersRecords.
  std::map<int32_t, Voter> known_voters;
  // The metadata log cleaner (-1: no limit).
  int64_t max_retention_ms = 604800000;     // metadata.max.retention.ms
  int64_t max_retention_bytes = 104857600;  // metadata.max.retention.bytes
  int64_t segment_ms = 604800000;           // metadata.log.segment.ms (time-based roll)
};

class RaftDriver : public RaftClient {
 public:
  // metadata_dir: `<metadata.log.dir>/__cluster_metadata-0` (or
  // `<metadata.log.dir>`, the partition directory is then appended).
  RaftDriver(asio::io_context& io, RaftConfig config, std::unique_ptr<storage::Log> metadata_log, std::filesystem::path metadata_dir);
  ~RaftDriver() override;
  RaftDriver(const RaftDriver&) = delete;
  RaftDriver& operator=(const RaftDriver&) = delete;

  // Opens (creating if needed) `<metadata_log_dir>/__cluster_metadata-0` with
  // the metadata log's fixed topic id.
  static std::unique_ptr<storage::Log> open_metadata_log(const std::filesystem::path& metadata_log_dir,
                                                         const storage::LogConfig& config = {});

  // Reads quorum-state, recovers the epoch cache, starts the core (a single
  // voter becomes leader at once). Throws std::runtime_error if the state
  // cannot be read or no voters are configured.
  void start();
  // Stops timers, builds pending appends, applies pending actions, flushes the
  // log and joins the I/O thread (blocking: call it at shutdown only).
  void shutdown();

  void register_listener(RaftListener* listener) override;
  // The node's snapshot generator wrote `<dir>/<snapshot_file_name(id)>`
  // (complete, durable): it becomes the latest snapshot, and the cleaner runs.
  void on_snapshot_written(SnapshotId id);
  // The newest complete, valid snapshot (not the 0-0 bootstrap checkpoint).
  std::optional<SnapshotId> latest_snapshot() const;
  // Runs the metadata log cleaner now (it also runs on a timer and after each new snapshot).
  void clean_metadata_log();
  // For a metadata snapshot: kraft.version and the current voters, when the
  // quorum is dynamic (KIP-853, quorum-state v1); nullopt for a static quorum.
  // `end_offset`: the snapshot's; the voters are those in force before it.
  std::optional<std::pair<int16_t, std::vector<Voter>>> snapshot_kraft_state(int64_t end_offset = INT64_MAX) const;
  void unregister_listener(RaftListener* listener) override;
  std::optional<int64_t> append(std::vector<std::vector<uint8_t>> record_values, int32_t epoch) override;
  int64_t high_watermark() const override { return applied_hw_; }
  LeaderAndEpoch leader_and_epoch() const override { return leader_; }
  int32_t node_id() const override { return config_.node_id; }
  int64_t next_offset() const override { return core_ ? core_->next_offset() : 0; }

  // The network side (raft/network.h, the controller listener): inbound requests with a
  // responder, responses to our requests, and the sender of our requests.
  using Sender = std::function<void(int32_t destination, RaftRequest request, uint64_t correlation_id)>;
  void set_sender(Sender sender) { sender_ = std::move(sender); }
  void handle_request(int32_t source, RaftRequest request, std::function<void(RaftResponse)> respond);
  void handle_response(int32_t source, RaftResponse response, uint64_t correlation_id = 0);
  // A request to `destination` was not delivered or answered (connection
  // refused, reset, timed out).
  void handle_send_failure(int32_t destination);
  // DescribeQuorum as this node sees it (a leader answers with replica progress).
  msg::DescribeQuorumResponse describe_quorum() const;

  // KIP-853 on the leader: AddRaftVoter (the new voter must be an observer
  // that has caught up), RemoveRaftVoter, UpdateRaftVoter. `done` runs once
  // the VotersRecord is committed, or with the error (NOT_LEADER_OR_FOLLOWER,
  // DUPLICATE_VOTER, VOTER_NOT_FOUND, REQUEST_TIMED_OUT).
  using VoterChangeDone = std::function<void(ErrorCode, std::string)>;
  void add_voter(Voter voter, int64_t timeout_ms, VoterChangeDone done);
  void remove_voter(int32_t id, Uuid directory_id, int64_t timeout_ms, VoterChangeDone done);
  void update_voter(Voter voter, int64_t timeout_ms, VoterChangeDone done);
  // Called with every voter endpoint learned (VotersRecords, bootstrap checkpoint).
  void set_voter_address_listener(std::function<void(int32_t id, const std::string& host, int port)> fn) {
    voter_address_listener_ = std::move(fn);
  }
  const std::map<int32_t, Voter>& voter_info() const { return voter_info_; }

  const RaftCore& core() const { return *core_; }
  const storage::Log& log() const { return *log_; }
  const std::filesystem::path& partition_dir() const { return partition_dir_; }
  bool is_leader() const { return core_ && core_->role() == Role::Leader; }
  // Copies the Raft sensors' current figures for /metrics (raft_metrics.h);
  // `unknown_voters`: voters whose address this node does not know.
  void publish_metrics(int32_t unknown_voters);

 private:
  struct ListenerCtx {
    RaftListener* listener = nullptr;
    int64_t next_offset = 0;
    bool fresh = true;  // nothing delivered yet: starts from the latest snapshot if there is one
    LeaderAndEpoch fired;  // the last leader told to this listener (none yet: the default)
    bool removed = false;
  };

  static int64_t now_ms();
  void pump();
  void apply(Action& a);
  void request_flush(int64_t up_to);
  void start_flush();
  void persist(const ElectionState& s);
  void arm_timer();
  void schedule_poll();
  void schedule_delivery();
  void deliver();
  void deliver_to(ListenerCtx& ctx, int64_t hw);
  void maybe_fire_leader_change(ListenerCtx& ctx);
  void respond(SendResponse& r);
  InitialLogState recover_log_state();
  // Snapshots (driver_snapshots.cc).
  struct SnapshotFile {
    SnapshotId id;
    int64_t size = 0;
    int64_t timestamp = -1;  // the header's LastContainedLogTimestamp (-1: not read yet)
  };
  std::filesystem::path snapshot_path(SnapshotId id) const;
  // At start-up: the valid snapshots, a log start that equals one of them, a
  // log that does not end before the latest (a download finished, the log
  // reset did not). Fills the snapshot fields of `s`.
  void recover_snapshots(InitialLogState& s);
  // Parsed contents of a snapshot in the registry (cached for one delivery round).
  std::shared_ptr<const SnapshotContents> snapshot_contents(SnapshotId id);
  bool maybe_deliver_snapshot(ListenerCtx& ctx);
  void write_snapshot_chunk(const WriteSnapshotChunk& c);
  // Makes the downloaded snapshot durable and replaces the log with it; its voter sets go to `voters`.
  bool install_snapshot(OffsetAndEpoch id, std::vector<VoterSetEntry>& voters);
  void fill_snapshot_read(FetchSnapshotResponse& r);
  void schedule_cleaner();
  std::map<int64_t, SnapshotFile> snapshots_;  // by end offset, valid and complete, end offset > 0
  std::shared_ptr<const SnapshotContents> cached_contents_;
  SnapshotId cached_id_;
  int snapshot_part_fd_ = -1;  // the `.checkpoint.part` being downloaded
  OffsetAndEpoch snapshot_part_id_;
  void learn_voters(const msg::VotersRecord& record);
  void learn_voter(const Voter& voter);
  void scan_for_voters(std::span<const uint8_t> batches, int64_t base_offset, std::vector<VoterSetEntry>* history);
  void try_voter_change(std::function<std::optional<std::pair<std::vector<int32_t>, msg::VotersRecord>>(ErrorCode&, std::string&)> plan,
                        int64_t deadline_ms, VoterChangeDone done);
  msg::VotersRecord voters_record(const std::vector<int32_t>& ids) const;
  struct PendingVoterChange {
    int64_t offset;
    int32_t epoch;
    VoterChangeDone done;
  };
  std::vector<PendingVoterChange> pending_voter_changes_;
  std::map<int32_t, Voter> voter_info_;
  std::function<void(int32_t, const std::string&, int)> voter_address_listener_;

  asio::io_context& io_;
  RaftConfig config_;
  std::unique_ptr<storage::Log> log_;
  std::filesystem::path partition_dir_;
  QuorumStateFile qs_file_;
  int16_t qs_version_ = 0;
  std::unique_ptr<RaftCore> core_;
  std::unique_ptr<asio::thread_pool> io_thread_;
  asio::steady_timer timer_;
  asio::steady_timer cleaner_timer_;  // the metadata log cleaner (driver_snapshots.cc)
  int64_t armed_deadline_ = -1;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);

  std::deque<Action> pending_;
  RaftSensors sensors_;  // raft_metrics.h: recorded as actions are applied
  bool pumping_ = false;
  bool persist_in_flight_ = false;
  bool flush_in_flight_ = false;
  int64_t flush_wanted_ = 0;
  // The lowest offset truncated while the current flush ran: a flush started
  // before a truncation proves nothing about what was appended after it.
  int64_t truncated_during_flush_ = INT64_MAX;
  bool poll_posted_ = false;
  bool delivery_posted_ = false;
  bool delivering_ = false;
  int64_t applied_hw_ = 0;  // the high watermark as of the actions applied so far
  bool started_ = false;
  bool stopped_ = false;

  LeaderAndEpoch leader_;
  bool leader_is_self_ = false;
  int64_t epoch_start_offset_ = -1;

  std::vector<std::unique_ptr<ListenerCtx>> listeners_;
  Sender sender_;
  uint64_t next_request_id_ = 1;
  std::unordered_map<uint64_t, std::function<void(RaftResponse)>> responders_;
};

}  // namespace flotilla::raft
