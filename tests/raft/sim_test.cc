// A small deterministic simulation of a 3-voter quorum: RaftCores on virtual
// time with in-memory logs, a network that delays, reorders and drops
// messages, crashes that lose unflushed data, then a fault-free phase.
// Invariants after every step: one leader per epoch; the committed prefixes
// of all nodes agree; high watermarks never go back (checked by the core).
// Every run is reproduced exactly by its seed.
#include <gtest/gtest.h>

#include <map>
#include <memory>

#include "mem_log.h"
#include "raft/core.h"

using namespace flotilla;
using namespace flotilla::raft;
using flotilla::raft::testing::MemLog;

#ifndef FLOTILLA_SIM_SEEDS
#define FLOTILLA_SIM_SEEDS 50
#endif

namespace {

struct Envelope {
  int64_t deliver_at;
  uint64_t seq;
  int32_t from, to;
  bool is_request;
  uint64_t request_id;  // requests: id at the receiver; responses: unused
  RaftRequest request;
  RaftResponse response;
};

class Sim {
 public:
  Sim(uint64_t seed, int n, bool faults) : rng_(seed), faults_(faults) {
    for (int i = 1; i <= n; ++i) voters_.push_back(i);
    for (int i = 1; i <= n; ++i) {
      nodes_[i].seed = seed * 100 + i;
      start(i);
    }
  }

  void run(int64_t until_ms) {
    while (now_ < until_ms) {
      ++now_;
      step();
      check();
    }
  }

  void heal() { faults_ = false; }
  int32_t leader() const {
    for (const auto& [id, n] : nodes_)
      if (n.up && n.core->role() == Role::Leader) return id;
    return -1;
  }
  RaftCore& core(int32_t id) { return *nodes_.at(id).core; }
  const MemLog& log(int32_t id) const { return nodes_.at(id).log; }
  int64_t committed_count() const { return static_cast<int64_t>(committed_.size()); }
  std::optional<int64_t> append(int32_t id, uint8_t value) {
    auto& n = nodes_.at(id);
    auto r = n.core->append({{value}}, n.core->epoch(), now_);
    drain(id);
    return r;
  }
  int64_t now() const { return now_; }

 private:
  struct Node {
    std::unique_ptr<RaftCore> core;
    MemLog log;
    std::optional<ElectionState> durable;
    bool up = true;
    int64_t down_until = 0;
    uint64_t seed = 0;
    std::vector<std::pair<int64_t, int64_t>> flushes;  // (complete at, up to)
  };

  void start(int32_t id) {
    auto& n = nodes_[id];
    RaftCoreConfig c;
    c.local_id = id;
    c.voters = voters_;
    c.cluster_id = "sim";
    c.election_timeout_ms = 100;
    c.election_backoff_max_ms = 100;
    c.fetch_timeout_ms = 200;
    c.request_timeout_ms = 50;
    c.append_linger_ms = 5;
    c.fetch_max_wait_ms = 20;
    n.core = std::make_unique<RaftCore>(c, Rng(n.seed++));
    n.flushes.clear();
    n.up = true;
    n.core->start(n.durable, n.log.initial_state(), now_);
    drain(id);
  }

  void crash(int32_t id) {
    auto& n = nodes_[id];
    n.up = false;
    n.down_until = now_ + 50 + rng_.uniform(200);
    n.log.crash();
    n.flushes.clear();
  }

  void step() {
    // Faults.
    if (faults_ && rng_.uniform(1000) < 3) {
      int32_t victim = 1 + static_cast<int32_t>(rng_.uniform(static_cast<int64_t>(voters_.size())));
      if (nodes_[victim].up) crash(victim);
    }
    for (auto& [id, n] : nodes_)
      if (!n.up && now_ >= n.down_until) start(id);
    // Client load on the leader.
    if (rng_.uniform(10) == 0) {
      int32_t l = leader();
      if (l > 0) append(l, static_cast<uint8_t>(now_));
    }
    // Flush completions.
    for (auto& [id, n] : nodes_) {
      if (!n.up) continue;
      std::vector<std::pair<int64_t, int64_t>> keep;
      auto fl = n.flushes;
      n.flushes.clear();
      for (auto& f : fl) {
        if (f.first <= now_) {
          n.log.flush(f.second);
          n.core->on_log_flushed(f.second, now_);
        } else {
          keep.push_back(f);
        }
      }
      n.flushes.insert(n.flushes.end(), keep.begin(), keep.end());
      drain(id);
    }
    // Deliveries.
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
    for (auto& e : due) {
      auto& n = nodes_[e.to];
      if (!n.up) continue;
      if (e.is_request) {
        n.core->handle_request(e.request_id, e.from, std::move(e.request), now_);
      } else {
        n.core->handle_response(e.from, std::move(e.response), now_);
      }
      drain(e.to);
    }
    // Timers.
    for (auto& [id, n] : nodes_) {
      if (!n.up) continue;
      if (n.core->next_deadline_ms() <= now_) {
        n.core->poll(now_);
        drain(id);
      }
    }
  }

  void send(Envelope e) {
    if (faults_ && rng_.uniform(100) < 5) return;  // lost
    e.deliver_at = now_ + 1 + rng_.uniform(faults_ ? 15 : 3);
    e.seq = seq_++;
    inflight_.push_back(std::move(e));
  }

  void drain(int32_t id) {
    auto& n = nodes_[id];
    for (auto& a : n.core->take_actions()) {
      if (auto* p = std::get_if<PersistElection>(&a)) {
        n.durable = p->state;
      } else if (auto* ap = std::get_if<AppendToLog>(&a)) {
        n.log.append(*ap->batches);
      } else if (auto* t = std::get_if<TruncateLog>(&a)) {
        n.log.truncate_to(t->offset);
      } else if (auto* f = std::get_if<FlushLog>(&a)) {
        n.flushes.push_back({now_ + 1 + rng_.uniform(4), f->up_to});
      } else if (auto* s = std::get_if<SendRequest>(&a)) {
        Envelope e{};
        e.from = id;
        e.to = s->destination;
        e.is_request = true;
        e.request_id = next_request_id_++;
        requesters_[e.request_id] = id;
        e.request = std::move(s->request);
        send(std::move(e));
      } else if (auto* r = std::get_if<SendResponse>(&a)) {
        auto it = requesters_.find(r->request_id);
        if (it == requesters_.end()) continue;
        Envelope e{};
        e.from = id;
        e.to = it->second;
        e.is_request = false;
        requesters_.erase(it);
        if (auto* f = std::get_if<FetchResponse>(&r->response); f && f->read) {
          f->records = std::make_shared<const std::vector<uint8_t>>(n.log.read(f->read->offset, f->read->max_bytes));
          f->read.reset();
        }
        e.response = std::move(r->response);
        send(std::move(e));
      } else if (auto* l = std::get_if<LeaderChanged>(&a)) {
        if (l->is_self) {
          auto [it, inserted] = leaders_.emplace(l->leader.epoch, id);
          EXPECT_EQ(it->second, id) << "two leaders in epoch " << l->leader.epoch;
          ASSERT_EQ(it->second, id);
        }
      }
    }
  }

  void check() {
    for (auto& [id, n] : nodes_) {
      if (!n.up) continue;
      int64_t hw = n.core->high_watermark();
      for (const auto& b : n.log.batches()) {
        if (b.last >= hw) break;
        auto [it, inserted] = committed_.emplace(b.base, b.bytes);
        ASSERT_EQ(it->second, b.bytes) << "node " << id << " disagrees on committed batch " << b.base << " at t=" << now_;
      }
    }
  }

  Rng rng_;
  bool faults_;
  int64_t now_ = 0;
  uint64_t seq_ = 0;
  uint64_t next_request_id_ = 1;
  std::vector<int32_t> voters_;
  std::map<int32_t, Node> nodes_;
  std::vector<Envelope> inflight_;
  std::map<uint64_t, int32_t> requesters_;
  std::map<int32_t, int32_t> leaders_;     // epoch -> leader
  std::map<int64_t, std::vector<uint8_t>> committed_;  // base offset -> batch bytes
};

}  // namespace

class RaftSimulation : public ::testing::TestWithParam<uint64_t> {};

TEST_P(RaftSimulation, SafetyUnderFaultsThenLiveness) {
  Sim sim(GetParam(), 3, /*faults=*/true);
  sim.run(4000);
  sim.heal();
  sim.run(sim.now() + 2000);
  int32_t l = sim.leader();
  ASSERT_GT(l, 0) << "no leader after the fault-free phase";
  auto off = sim.append(l, 42);
  ASSERT_TRUE(off);
  sim.run(sim.now() + 1000);
  for (int32_t id = 1; id <= 3; ++id) EXPECT_GT(sim.core(id).high_watermark(), *off) << "node " << id;
  EXPECT_GT(sim.committed_count(), 0);
}

INSTANTIATE_TEST_SUITE_P(Seeds, RaftSimulation, ::testing::Range<uint64_t>(1, FLOTILLA_SIM_SEEDS + 1));
