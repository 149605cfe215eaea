// The deterministic simulation of a KRaft quorum: the real RaftCore of 3 or
// 5 voters (and an observer) on a virtual clock (1 ms steps) with one seeded
// RNG driving everything, so a seed replays exactly.
//
// The world: a network that drops, delays (and so reorders) and duplicates
// messages, cuts links (isolating a node, splitting the cluster, one-way
// cuts) and heals them; a broken connection is reported to the sender
// (on_request_failed) at once when the peer is down, after the request
// timeout when the link is cut, and never for a random drop (TCP would
// retransmit; the core's own timers cover it). Disks (MemLog) lose every
// unflushed write on a crash; the election state is durable once persisted
// (the driver makes PersistElection a barrier, so nothing after it happens
// before it is on disk). Clients append on whoever leads.
//
// After every step the checker asserts: at most one leader per epoch; a
// committed entry (below any node's high watermark) is never lost or
// changed, and every node agrees on each committed offset; every new leader
// holds every entry committed before it (leader completeness); the high
// watermark never goes back on a live node; a snapshot (taken by a node of
// its committed prefix, or downloaded from the leader with FetchSnapshot and
// installed) holds exactly the committed batches below its end. Nodes take
// snapshots and clean their logs up to them at random, so that lagging and
// restarted replicas must catch up through FetchSnapshot. Liveness: once the faults stop,
// a leader is elected and a fresh append commits on every voter within a
// bounded virtual time. A violation ends the run with the seed and the step.
#pragma once

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "../mem_log.h"
#include "raft/assert.h"
#include "protocol/messages.h"
#include "raft/core.h"

namespace flotilla::raft::sim {

struct SimOptions {
  uint64_t seed = 1;
  int voters = 3;
  bool observer = true;        // one non-voter (id 100) fetching as an observer
  bool reconfigure = false;    // KIP-853: a spare node (voters + 1) and voters added / removed during the run
  int64_t fault_ms = 3000;     // virtual time with faults
  int64_t settle_ms = 3000;    // fault-free time allowed to elect and commit (liveness bound)
  bool verbose = false;
  // Kafka's default timeouts (election 1 s, fetch 2 s, backoff max 1 s,
  // request 2 s) instead of the compressed ones: for failover-time scenarios.
  bool kafka_timeouts = false;
};

struct SimResult {
  bool ok = true;
  std::string violation;  // empty if ok
  int64_t at_ms = 0;      // virtual time of the violation
  int64_t committed = 0;  // committed batches seen
  int32_t max_epoch = 0;
  int64_t elections = 0;
  int64_t snapshots_taken = 0;
  int64_t snapshots_installed = 0;  // downloaded with FetchSnapshot
};

// The one command that replays a run (printed with every failure).
inline std::string replay_command(const SimOptions& o, const std::string& binary = "build/tests/raft/raft_sim") {
  std::ostringstream s;
  s << binary << " --seed " << o.seed << " --voters " << o.voters << (o.observer ? "" : " --no-observer")
    << (o.reconfigure ? " --reconfigure" : "") << " --verbose";
  return s.str();
}

class Violation : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

class Simulation {
 public:
  explicit Simulation(SimOptions o) : o_(o), rng_(o.seed * 0x9E3779B97F4A7C15ULL + 1) {
    for (int i = 1; i <= o_.voters; ++i) voters_.push_back(i);
    for (int32_t id : voters_) nodes_[id];
    if (o_.observer) nodes_[kObserver];
    if (o_.reconfigure) nodes_[spare_id()];
    for (auto& [id, n] : nodes_) start(id);
  }

  SimResult run() {
    SimResult r;
    try {
      faults_ = true;
      while (now_ < o_.fault_ms) step();
      heal_all();
      // Liveness: a leader, and a fresh append committed on every voter, within settle_ms.
      int64_t deadline = now_ + o_.settle_ms;
      std::optional<int64_t> probe;
      int32_t probe_leader = -1;
      while (now_ < deadline) {
        step();
        int32_t l = leader();
        if (l > 0 && (!probe || probe_leader != l)) {
          probe = append(l, 0xEE);
          probe_leader = l;
        }
        if (probe && all_voters_committed(*probe)) break;
      }
      if (!probe || !all_voters_committed(*probe)) {
        throw Violation("liveness: no leader committed a fresh append on every voter within " + std::to_string(o_.settle_ms) +
                        " ms after the faults stopped (leader " + std::to_string(leader()) + ")");
      }
    } catch (const Violation& v) {
      r.ok = false;
      r.violation = v.what();
    }
    r.at_ms = now_;
    r.committed = static_cast<int64_t>(committed_.size());
    r.max_epoch = leaders_.empty() ? 0 : leaders_.rbegin()->first;
    r.elections = static_cast<int64_t>(leaders_.size());
    r.snapshots_taken = snapshots_taken_;
    r.snapshots_installed = snapshots_installed_;
    return r;
  }

  int64_t now() const { return now_; }

  // Scripted scenarios (no random faults; checks still run every step).
  void run_for(int64_t ms) {
    int64_t until = now_ + ms;
    while (now_ < until) step();
  }
  void isolate(int32_t id) {
    for (int32_t other : all_ids())
      if (other != id) {
        cut_.insert({id, other});
        cut_.insert({other, id});
      }
  }
  void heal_network() { cut_.clear(); }
  int32_t current_leader() const { return leader(); }
  int32_t epoch_of(int32_t id) const { return nodes_.at(id).core->epoch(); }
  int64_t high_watermark_of(int32_t id) const { return nodes_.at(id).core->high_watermark(); }
  int64_t log_start_of(int32_t id) const { return nodes_.at(id).log.start_offset(); }
  int64_t log_end_of(int32_t id) const { return nodes_.at(id).log.end_offset(); }
  int64_t snapshots_installed() const { return snapshots_installed_; }
  const std::vector<int32_t>& voter_ids() const { return voters_; }
  // Crashes `id` (unflushed writes lost) for `down_ms`.
  void crash_for(int32_t id, int64_t down_ms) {
    crash(id);
    nodes_[id].down_until = now_ + down_ms;
  }
  // `id`'s connection to `peer` broke (RST/EOF seen by the driver) now.
  void connection_broken(int32_t id, int32_t peer) {
    auto& n = nodes_.at(id);
    if (!n.up) return;
    n.core->on_request_failed(peer, now_);
    drain(id);
  }
  // `id` leads and has committed an entry of its own epoch (its LeaderChangeMessage or later).
  bool leader_committed_own_epoch(int32_t id) const {
    const auto& n = nodes_.at(id);
    if (!n.up) return false;
    auto* l = std::get_if<LeaderState>(&n.core->state());
    return l && l->high_watermark().has_value();
  }

 private:
  static constexpr int32_t kObserver = 100;
  int32_t spare_id() const { return o_.voters + 1; }

  struct Node {
    std::unique_ptr<RaftCore> core;
    testing::MemLog log;
    std::optional<ElectionState> durable;
    bool up = true;
    int64_t down_until = 0;
    uint64_t incarnation = 0;
    int64_t last_hw = 0;  // within this incarnation
    std::vector<std::pair<int64_t, int64_t>> flushes;  // (completes at, up to)
    uint64_t truncations = 0;  // a flush scheduled before a truncation covers nothing after it
    std::vector<uint64_t> flush_gen;
    // A snapshot being downloaded (lost on a crash, like a .part file).
    OffsetAndEpoch part_id;
    std::vector<uint8_t> part;
    bool part_ok = false;
  };
  struct Envelope {
    int64_t deliver_at;
    uint64_t seq;
    int32_t from, to;
    bool is_request;
    bool is_failure;  // a request that failed: tell `to` (the sender) about `from`
    uint64_t request_id;
    uint64_t correlation;  // the core's, given back with the response
    RaftRequest request;
    RaftResponse response;
  };

  void trace(const std::string& s) {
    if (o_.verbose) fmt::print("t={:6} {}\n", now_, s);
  }
  void fail(const std::string& what) { throw Violation("t=" + std::to_string(now_) + " " + what); }

  RaftCoreConfig core_config(int32_t id) const {
    RaftCoreConfig c;
    c.local_id = id;
    c.voters = voters_;
    c.cluster_id = "sim";
    c.election_timeout_ms = 100;
    c.election_backoff_max_ms = 100;
    c.fetch_timeout_ms = 200;
    c.request_timeout_ms = 50;
    c.retry_backoff_ms = 5;
    c.append_linger_ms = 5;
    c.fetch_max_wait_ms = 20;
    if (o_.kafka_timeouts) {
      RaftCoreConfig k;  // the defaults are Kafka's
      c.election_timeout_ms = k.election_timeout_ms;
      c.election_backoff_max_ms = k.election_backoff_max_ms;
      c.fetch_timeout_ms = k.fetch_timeout_ms;
      c.request_timeout_ms = k.request_timeout_ms;
      c.retry_backoff_ms = k.retry_backoff_ms;
      c.append_linger_ms = k.append_linger_ms;
      c.fetch_max_wait_ms = k.fetch_max_wait_ms;
    }
    // Small fetches on half the seeds: followers then hold a prefix of a new
    // leader's log without its LeaderChangeMessage, the window that Raft's
    // current-epoch rule for the high watermark exists for.
    c.fetch_max_bytes = o_.seed % 4 < 2 ? 150 : 8 * 1024 * 1024;
    // Snapshots then come in many chunks (a few KB: a snapshot of a run is tens of KB).
    c.fetch_snapshot_max_bytes = o_.seed % 4 < 2 ? 2048 : 8 * 1024 * 1024;
    return c;
  }

  void start(int32_t id) {
    auto& n = nodes_[id];
    n.core = std::make_unique<RaftCore>(core_config(id), Rng(rng_.next()));
    n.flushes.clear();
    n.flush_gen.clear();
    n.up = true;
    n.incarnation++;
    n.last_hw = 0;
    trace(fmt::format("start node {} (log end {}, flushed {})", id, n.log.end_offset(), n.log.flushed()));
    n.core->start(n.durable, n.log.initial_state(), now_);
    drain(id);
  }

  void crash(int32_t id) {
    auto& n = nodes_[id];
    n.up = false;
    n.down_until = now_ + 20 + rng_.uniform(300);
    n.log.crash();  // unflushed writes are gone
    n.part.clear();
    n.part_ok = false;
    n.flushes.clear();
    n.flush_gen.clear();
    trace(fmt::format("crash node {} until {} (log kept up to {})", id, n.down_until, n.log.end_offset()));
  }

  int32_t random_voter() { return voters_[rng_.uniform(static_cast<int64_t>(voters_.size()))]; }
  std::vector<int32_t> all_ids() const {
    std::vector<int32_t> out;
    for (const auto& [id, n] : nodes_) out.push_back(id);
    return out;
  }

  void heal_all() {
    faults_ = false;
    cut_.clear();
    for (auto& [id, n] : nodes_)
      if (!n.up) n.down_until = now_;
    trace("heal: no more faults");
  }

  void inject_faults() {
    int64_t dice = rng_.uniform(10000);
    if (dice < 25) {
      int32_t v = random_voter();
      if (nodes_[v].up) crash(v);
    } else if (dice < 35) {
      // Crash the leader (the interesting one).
      int32_t l = leader();
      if (l > 0) crash(l);
    } else if (dice < 45) {
      // Isolate one node (often the leader) both ways.
      int32_t v = rng_.uniform(2) ? leader() : random_voter();
      if (v <= 0) v = random_voter();
      for (int32_t other : all_ids())
        if (other != v) {
          cut_.insert({v, other});
          cut_.insert({other, v});
        }
      trace(fmt::format("isolate node {}", v));
    } else if (dice < 52) {
      // Split into two random groups.
      std::set<int32_t> a;
      for (int32_t id : all_ids())
        if (rng_.uniform(2)) a.insert(id);
      for (int32_t x : all_ids())
        for (int32_t y : all_ids())
          if (a.count(x) != a.count(y)) cut_.insert({x, y});
      trace(fmt::format("split the cluster ({} nodes on one side)", a.size()));
    } else if (dice < 57) {
      // A one-way cut.
      int32_t x = random_voter(), y = random_voter();
      if (x != y) {
        cut_.insert({x, y});
        trace(fmt::format("cut {} -> {}", x, y));
      }
    } else if (dice < 80) {
      if (!cut_.empty()) trace("heal the network");
      cut_.clear();
    } else if (dice < 90 && o_.reconfigure) {
      change_voters();
    }
  }

  // KIP-853 on the leader: add the spare (or a removed voter) back, or remove
  // one voter, never going below three; the core refuses while a change is
  // uncommitted.
  void change_voters() {
    int32_t l = leader();
    if (l <= 0) return;
    auto& core = *nodes_[l].core;
    std::vector<int32_t> cur = core.config().voters;
    std::vector<int32_t> next = cur;
    std::vector<int32_t> outside;
    for (int32_t id = 1; id <= spare_id(); ++id)
      if (std::find(cur.begin(), cur.end(), id) == cur.end()) outside.push_back(id);
    if (!outside.empty() && (cur.size() <= 3 || rng_.uniform(2))) {
      next.push_back(outside[rng_.uniform(static_cast<int64_t>(outside.size()))]);
    } else if (cur.size() > 3) {
      next.erase(next.begin() + rng_.uniform(static_cast<int64_t>(next.size())));
    } else {
      return;
    }
    std::sort(next.begin(), next.end());
    flotilla::msg::VotersRecord rec;
    for (int32_t id : next) {
      flotilla::msg::VotersRecord::Voter v;
      v.voter_id = id;
      rec.voters.push_back(v);
    }
    ByteWriter w;
    rec.encode(w, 0);
    if (auto off = core.append_voters_change(next, std::move(w).take(), now_)) {
      trace(fmt::format("leader {} changes the voters to {} at offset {}", l, fmt::join(next, ","), *off));
      drain(l);
    }
  }

  void step() {
    ++now_;
    if (faults_) inject_faults();
    for (auto& [id, n] : nodes_)
      if (!n.up && now_ >= n.down_until) start(id);
    // Clients append on the leader.
    if (rng_.uniform(8) == 0) {
      int32_t l = leader();
      if (l > 0) append(l, static_cast<uint8_t>(now_));
    }
    // Flush completions.
    for (auto& [id, n] : nodes_) {
      if (!n.up || n.flushes.empty()) continue;
      std::vector<std::pair<int64_t, int64_t>> keep;
      std::vector<uint64_t> keep_gen;
      std::vector<int64_t> due;
      for (size_t i = 0; i < n.flushes.size(); ++i) {
        if (n.flushes[i].first > now_) {
          keep.push_back(n.flushes[i]);
          keep_gen.push_back(n.flush_gen[i]);
        } else if (n.flush_gen[i] == n.truncations) {
          due.push_back(n.flushes[i].second);
        }
      }
      n.flushes = keep;
      n.flush_gen = keep_gen;
      for (int64_t up_to : due) {
        n.log.flush(up_to);
        n.core->on_log_flushed(n.log.flushed(), now_);
      }
      drain(id);
    }
    // Deliveries, in send order among those due.
    std::vector<Envelope> due;
    for (auto it = inflight_.begin(); it != inflight_.end();) {
      if (it->deliver_at <= now_) {
        due.push_back(std::move(*it));
        it = inflight_.erase(it);
      } else {
        ++it;
      }
    }
    std::sort(due.begin(), due.end(), [](const Envelope& a, const Envelope& b) { return a.seq < b.seq; });
    for (auto& e : due) deliver(e);
    // Timers.
    for (auto& [id, n] : nodes_) {
      if (n.up && n.core->next_deadline_ms() <= now_) {
        n.core->poll(now_);
        drain(id);
      }
    }
    // Snapshots and the log cleaner (every ~300 ms per node). The cleaner
    // keeps the two newest snapshots: a replica downloading the newest one
    // has a snapshot interval or two to finish before it is deleted (with
    // only one kept, small-chunk downloads of a growing snapshot starve).
    for (auto& [id, n] : nodes_)
      if (n.up && rng_.uniform(300) == 0) snapshot_and_clean(id);
    check();
  }

  // The committed batches below `end`, concatenated: what a snapshot ending there must hold.
  std::vector<uint8_t> committed_prefix(int64_t end) const {
    std::vector<uint8_t> out;
    for (const auto& [base, bytes] : committed_) {
      if (base >= end) break;
      out.insert(out.end(), bytes.begin(), bytes.end());
    }
    return out;
  }

  void snapshot_and_clean(int32_t id) {
    auto& n = nodes_[id];
    record_committed(id, n);
    int64_t hw = n.core->high_watermark();
    int64_t end = n.log.start_offset();
    for (const auto& b : n.log.batches()) {
      if (b.last + 1 > hw) break;
      end = b.last + 1;
    }
    const auto& snaps = n.log.snapshots();
    if (end > n.log.start_offset() && (snaps.empty() || end > snaps.rbegin()->first)) {
      int32_t epoch = n.log.take_snapshot(end);
      if (n.log.snapshots().at(end).bytes != committed_prefix(end))
        fail(fmt::format("node {}'s snapshot at {} differs from the committed prefix", id, end));
      n.core->on_snapshot_created(OffsetAndEpoch{end, epoch});
      ++snapshots_taken_;
      trace(fmt::format("node {} snapshots [0, {}) (epoch {})", id, end, epoch));
    }
    if (rng_.uniform(2) == 0 && n.log.snapshots().size() >= 2) {
      auto older = std::next(n.log.snapshots().rbegin());
      if (older->first > n.log.start_offset() && older->first <= n.log.end_offset()) {
        int64_t to = older->first;
        int32_t epoch = older->second.epoch;
        n.log.advance_start(to);
        n.core->on_log_start_advanced(to, epoch);
        trace(fmt::format("node {} cleans its log up to {}", id, to));
      }
    }
    drain(id);
  }

  void deliver(Envelope& e) {
    auto& n = nodes_[e.to];
    if (!n.up) return;
    if (e.is_failure) {
      n.core->on_request_failed(e.from, now_);
    } else if (e.is_request) {
      // Cut while in flight, or the receiver went down: the sender learns it.
      if (cut_.count({e.from, e.to})) return;
      n.core->handle_request(e.request_id, e.from, std::move(e.request), now_);
    } else {
      if (cut_.count({e.from, e.to})) return;
      n.core->handle_response(e.from, std::move(e.response), now_, e.correlation);
    }
    drain(e.to);
  }

  void post(Envelope e, int64_t delay) {
    e.deliver_at = now_ + delay;
    e.seq = seq_++;
    inflight_.push_back(std::move(e));
  }

  void send(Envelope e) {
    bool request = e.is_request;
    auto& dest = nodes_[e.to];
    if (!dest.up || cut_.count({e.from, e.to}) || cut_.count({e.to, e.from})) {
      if (request) {
        // Refused at once (peer down) or timed out (a black hole).
        Envelope f{};
        f.from = e.to;
        f.to = e.from;
        f.is_failure = true;
        post(std::move(f), !dest.up ? 1 : core_config(e.from).request_timeout_ms);
      }
      return;
    }
    if (faults_ && rng_.uniform(100) < 3) return;  // lost
    int64_t delay = 1 + rng_.uniform(faults_ ? 12 : 2);
    if (faults_ && rng_.uniform(100) < 2) {
      Envelope dup = e;
      if (dup.is_request) {
        dup.request_id = next_request_id_++;
        requesters_[dup.request_id] = {e.from, e.correlation};
      }
      post(std::move(dup), 1 + rng_.uniform(20));
    }
    post(std::move(e), delay);
  }

  std::optional<int64_t> append(int32_t id, uint8_t value) {
    auto& n = nodes_.at(id);
    auto r = n.core->append({{value, static_cast<uint8_t>(now_ >> 8), static_cast<uint8_t>(now_)}}, n.core->epoch(), now_);
    drain(id);
    return r;
  }

  int32_t leader() const {
    for (const auto& [id, n] : nodes_)
      if (n.up && n.core->role() == Role::Leader) return id;
    return -1;
  }

  bool all_voters_committed(int64_t offset) const {
    int32_t l = leader();
    const std::vector<int32_t>& current = l > 0 ? nodes_.at(l).core->config().voters : voters_;
    for (int32_t v : current) {
      const auto& n = nodes_.at(v);
      if (!n.up || n.core->high_watermark() <= offset) return false;
    }
    return true;
  }

  void drain(int32_t id) {
    auto& n = nodes_[id];
    bool again = false;
    for (auto& a : n.core->take_actions()) {
      if (auto* p = std::get_if<PersistElection>(&a)) {
        n.durable = p->state;
      } else if (auto* ap = std::get_if<AppendToLog>(&a)) {
        n.log.append(*ap->batches);
      } else if (auto* t = std::get_if<TruncateLog>(&a)) {
        trace(fmt::format("node {} truncates to {}", id, t->offset));
        n.log.truncate_to(t->offset);
        n.truncations++;
      } else if (auto* w = std::get_if<WriteSnapshotChunk>(&a)) {
        if (w->position == 0) {
          n.part_id = w->id;
          n.part.clear();
          n.part_ok = true;
        }
        if (!n.part_ok || n.part_id != w->id || static_cast<int64_t>(n.part.size()) != w->position) {
          n.part_ok = false;
        } else {
          n.part.insert(n.part.end(), w->bytes->begin(), w->bytes->end());
        }
      } else if (auto* in = std::get_if<InstallSnapshot>(&a)) {
        bool ok = n.part_ok && n.part_id == in->id;
        std::vector<VoterSetEntry> voters;
        if (ok) {
          voters = testing::MemLog::voter_sets(n.part);
          if (n.part != committed_prefix(in->id.offset))
            fail(fmt::format("node {} downloaded a snapshot at {} that differs from the committed prefix", id, in->id.offset));
          n.log.install(in->id.offset, in->id.epoch, std::move(n.part));
          n.truncations++;
          ++snapshots_installed_;
          trace(fmt::format("node {} installs snapshot {}-{}", id, in->id.offset, in->id.epoch));
        }
        n.part.clear();
        n.part_ok = false;
        // As the driver does: at once, before any other input reaches the core.
        n.core->on_snapshot_installed(in->id, ok, std::move(voters), now_);
        again = true;
      } else if (auto* f = std::get_if<FlushLog>(&a)) {
        n.flushes.push_back({now_ + 1 + rng_.uniform(4), f->up_to});
        n.flush_gen.push_back(n.truncations);
      } else if (auto* s = std::get_if<SendRequest>(&a)) {
        Envelope e{};
        e.from = id;
        e.to = s->destination;
        e.is_request = true;
        e.request_id = next_request_id_++;
        requesters_[e.request_id] = {id, s->correlation_id};
        e.correlation = s->correlation_id;
        e.request = std::move(s->request);
        send(std::move(e));
      } else if (auto* r = std::get_if<SendResponse>(&a)) {
        auto it = requesters_.find(r->request_id);
        if (it == requesters_.end()) continue;
        Envelope e{};
        e.from = id;
        e.to = it->second.first;
        e.correlation = it->second.second;
        requesters_.erase(it);
        if (auto* f = std::get_if<FetchResponse>(&r->response); f && f->read) {
          f->records = std::make_shared<const std::vector<uint8_t>>(n.log.read(f->read->offset, f->read->max_bytes));
          f->read.reset();
        }
        if (auto* fs = std::get_if<FetchSnapshotResponse>(&r->response); fs && fs->read) fill_snapshot_read(n, *fs);
        e.response = std::move(r->response);
        send(std::move(e));
      } else if (auto* l = std::get_if<LeaderChanged>(&a)) {
        if (l->is_self) on_new_leader(id, l->leader.epoch);
      }
    }
    if (again) drain(id);
  }

  // The leader's side of FetchSnapshot, as the driver does it from the files.
  static void fill_snapshot_read(const Node& n, FetchSnapshotResponse& r) {
    SnapshotReadSpec spec = *r.read;
    r.read.reset();
    auto it = n.log.snapshots().find(spec.id.offset);
    if (it == n.log.snapshots().end() || it->second.epoch != spec.id.epoch) {
      r.partition_error = ErrorCode::SNAPSHOT_NOT_FOUND;
      return;
    }
    const auto& bytes = it->second.bytes;
    int64_t size = static_cast<int64_t>(bytes.size());
    if (spec.position < 0 || spec.position >= size) {
      r.partition_error = ErrorCode::POSITION_OUT_OF_RANGE;
      return;
    }
    int64_t len = std::min<int64_t>(spec.max_bytes, size - spec.position);
    r.size = size;
    r.position = spec.position;
    r.bytes = std::make_shared<const std::vector<uint8_t>>(bytes.begin() + spec.position, bytes.begin() + spec.position + len);
  }

  void on_new_leader(int32_t id, int32_t epoch) {
    auto [it, inserted] = leaders_.emplace(epoch, id);
    if (it->second != id) fail(fmt::format("two leaders in epoch {}: {} and {}", epoch, it->second, id));
    trace(fmt::format("node {} leads epoch {}", id, epoch));
    // Leader completeness: it holds every entry committed so far.
    const auto& batches = nodes_[id].log.batches();
    for (const auto& [base, bytes] : committed_) {
      if (base < nodes_[id].log.start_offset()) continue;  // in its snapshot (checked when taken or installed)
      auto b = std::find_if(batches.begin(), batches.end(), [&](const testing::MemBatch& m) { return m.base == base; });
      if (b == batches.end() || b->bytes != bytes)
        fail(fmt::format("new leader {} of epoch {} lacks the committed batch at offset {}", id, epoch, base));
    }
  }

  void check() {
    for (auto& [id, n] : nodes_) {
      if (!n.up) continue;
      int64_t hw = n.core->high_watermark();
      if (hw < n.last_hw) fail(fmt::format("node {} high watermark went back from {} to {}", id, n.last_hw, hw));
      n.last_hw = hw;
      record_committed(id, n);
    }
  }

  void record_committed(int32_t id, const Node& n) {
    int64_t hw = n.core->high_watermark();
    for (const auto& b : n.log.batches()) {
      if (b.last >= hw) break;
      auto [it, inserted] = committed_.emplace(b.base, b.bytes);
      if (it->second != b.bytes) fail(fmt::format("node {} disagrees on the committed batch at offset {}", id, b.base));
    }
  }

  SimOptions o_;
  Rng rng_;
  bool faults_ = false;
  int64_t now_ = 0;
  uint64_t seq_ = 0;
  uint64_t next_request_id_ = 1;
  std::vector<int32_t> voters_;
  std::map<int32_t, Node> nodes_;
  std::vector<Envelope> inflight_;
  std::map<uint64_t, std::pair<int32_t, uint64_t>> requesters_;  // request id -> (sender, its correlation)
  std::set<std::pair<int32_t, int32_t>> cut_;  // directed links that deliver nothing
  std::map<int32_t, int32_t> leaders_;         // epoch -> leader
  std::map<int64_t, std::vector<uint8_t>> committed_;  // base offset -> batch bytes
  int64_t snapshots_taken_ = 0;
  int64_t snapshots_installed_ = 0;
};

// Runs one seed. Invariant violations inside the core (RAFT_ASSERT) are
// reported like the checker's own.
inline SimResult run_simulation(const SimOptions& o) {
  set_invariant_handler([](const std::string& what) { throw Violation(what); });
  auto level = spdlog::get_level();
  if (!o.verbose) spdlog::set_level(spdlog::level::off);
  SimResult r;
  try {
    Simulation s(o);
    r = s.run();
  } catch (const Violation& v) {
    r.ok = false;
    r.violation = v.what();
  }
  spdlog::set_level(level);
  set_invariant_handler(nullptr);
  return r;
}

}  // namespace flotilla::raft::sim
