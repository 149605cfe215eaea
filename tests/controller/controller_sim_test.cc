// A deterministic simulation of the controller's cluster logic on a virtual
// clock (tests/controller/harness.h: a fake Raft log whose commits lag as the
// seed says, the controller's timer driven by the simulation).
//
// N brokers register, catch up and heartbeat; the seed crashes and restarts
// them, pauses them past their session, puts them through controlled shutdown,
// has partition leaders shrink and expand ISRs with AlterPartition (from their
// own, possibly stale, metadata), creates topics (some with unclean leader
// election), delays commits, and moves the active controller (losing or
// keeping its uncommitted writes). After every step of 10 ms the committed
// metadata must satisfy:
//   - ISR non-empty, without duplicates, within the replicas; leader in the ISR;
//   - a leader is registered, unfenced and not in controlled shutdown;
//   - the leader epoch grows with every leader change, and neither epoch ever
//     goes back; the partition epoch grows with every change;
//   - no partition is leaderless while a live broker is in its ISR (or, with
//     unclean election, among its replicas);
//   - a broker told ShouldShutDown is fenced and leads nothing;
// and at the end, with every broker back for 5 s: every broker unfenced and
// every partition led.
//
// A failing seed replays with a trace:
//   CONTROLLER_SIM_SEED=<seed> CONTROLLER_SIM_VERBOSE=1 build/tests/controller/controller_test --gtest_filter='ControllerSimulation.*'
#include <gtest/gtest.h>
#include <spdlog/fmt/ranges.h>
#include <spdlog/spdlog.h>

#include <cstdlib>
#include <map>
#include <random>
#include <set>
#include <sstream>

#include "harness.h"
#include "metadata/test_records.h"
#include "raft/snapshot.h"

using namespace flotilla;
using namespace flotilla::controller;
using namespace flotilla::controller::testing;

namespace {

struct SimOptions {
  uint64_t seed = 1;
  int brokers = 5;
  int steps = 3000;  // of 10 ms: 30 s of virtual time, then the healing phase
  int16_t metadata_version = metadata::kLatestProductionMetadataVersion;
  bool failovers = true;
  bool verbose = false;
};

struct SimStats {
  int fenced_by_timeout = 0, unfenced = 0, controlled_shutdowns = 0, alter_ok = 0, alter_rejected = 0, failovers = 0,
      unclean_elections = 0, leader_changes = 0, topics = 0;
  int64_t max_controlled_shutdown_ms = 0;
  void add(const SimStats& o) {
    fenced_by_timeout += o.fenced_by_timeout;
    unfenced += o.unfenced;
    controlled_shutdowns += o.controlled_shutdowns;
    alter_ok += o.alter_ok;
    alter_rejected += o.alter_rejected;
    failovers += o.failovers;
    unclean_elections += o.unclean_elections;
    leader_changes += o.leader_changes;
    topics += o.topics;
    max_controlled_shutdown_ms = std::max(max_controlled_shutdown_ms, o.max_controlled_shutdown_ms);
  }
};

struct SimResult {
  bool ok = true;
  std::string violation;
  int64_t at_ms = 0;
  SimStats stats;
  uint64_t fingerprint = 0;  // of the metadata log, for the determinism check
};

struct Violation : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// What the checker needs besides the image: brokers the controller holds in
// controlled shutdown without a record for it (metadata.version < 3.3-IV3),
// by broker id and registration epoch.
using ShuttingDown = std::map<int32_t, int64_t>;

bool live(const metadata::MetadataImage& img, const ShuttingDown& sd, int32_t id) {
  const auto* b = img.broker(id);
  if (!b || b->fenced || b->in_controlled_shutdown) return false;
  auto it = sd.find(id);
  return it == sd.end() || it->second != b->epoch;
}

bool unclean_topic(const metadata::MetadataImage& img, const std::string& topic) {
  auto cfg = img.topic_configs(topic);
  auto it = cfg.find("unclean.leader.election.enable");
  return it != cfg.end() && it->second == "true";
}

// The state invariants of one committed image; "" if they hold. With
// `leaderless` also that no partition lacks a leader it could have — which
// holds once the controller has acted on what it knows (the simulation learns
// of record-less controlled shutdowns from the answers, after the commit).
std::string check_image(const metadata::MetadataImage& img, const ShuttingDown& sd, bool leaderless = true) {
  for (const auto& [name, t] : img.topics_by_name()) {
    for (const auto& [idx, p] : t.partitions) {
      std::string where = name + "-" + std::to_string(idx);
      std::set<int32_t> replicas(p.replicas.begin(), p.replicas.end());
      std::set<int32_t> isr(p.isr.begin(), p.isr.end());
      if (p.replicas.empty() || replicas.size() != p.replicas.size()) return where + ": bad replicas";
      if (p.isr.empty()) return where + ": empty ISR";
      if (isr.size() != p.isr.size()) return where + ": duplicate ISR member";
      for (int32_t r : p.isr)
        if (!replicas.count(r)) return where + ": ISR member " + std::to_string(r) + " is not a replica";
      if (p.leader >= 0) {
        if (!isr.count(p.leader)) return where + ": leader " + std::to_string(p.leader) + " not in the ISR";
        if (!live(img, sd, p.leader)) return where + ": leader " + std::to_string(p.leader) + " is fenced, shutting down or unregistered";
        // Fencing, shutdown and re-registration take a broker out of every ISR
        // it does not hold alone; AlterPartition admits only live brokers.
        for (int32_t r : p.isr)
          if (!live(img, sd, r)) return where + ": ISR member " + std::to_string(r) + " of a led partition is not live";
      } else if (leaderless) {
        bool unclean = unclean_topic(img, name);
        for (int32_t r : unclean ? p.replicas : p.isr)
          if (live(img, sd, r))
            return where + ": leaderless although broker " + std::to_string(r) + (unclean ? " (a replica)" : " (in the ISR)") + " is live";
      }
    }
  }
  return "";
}

class Simulation : public raft::RaftListener {
 public:
  explicit Simulation(SimOptions o) : o_(o), rng_(o.seed) {
    ControllerConfig cc;
    cc.broker_session_timeout_ms = 1000;
    cc.metadata_max_idle_interval_ms = 500;
    cc.random_seed = o.seed;
    // Preferred-leader balancing runs too (elections.cc), often enough to
    // interleave with everything else.
    cc.leader_imbalance_check_interval_ms = 2000;
    h_ = std::make_unique<Harness>(o.metadata_version, cc);
    for (int i = 1; i <= o.brokers; ++i) {
      Broker b;
      b.id = i;
      b.rack = chance(0.5) ? std::optional<std::string>("rack" + std::to_string(i % 3)) : std::nullopt;
      b.incarnation = next_uuid();
      b.next_contact_ms = h_->now + uniform(0, 100);
      brokers_[i] = b;
    }
    h_->raft.register_listener(this);
  }
  ~Simulation() override { h_->raft.unregister_listener(this); }

  // Every committed batch, as a broker's metadata loader sees it: the
  // invariants hold after each one (a violation is reported at the next step).
  void handle_commit(const raft::CommittedBatch& batch) override {
    if (!batch_violation_.empty()) return;
    metadata::MetadataDelta d(image_);
    if (!batch.is_control)
      for (const auto& v : batch.records) d.replay_value(v);
    d.set_offset(batch.last_offset, batch.epoch);
    auto img = d.apply();
    try {
      check_batch(*img, d);
    } catch (const Violation& v) {
      batch_violation_ = std::string(v.what()) + " (batch at offset " + std::to_string(batch.base_offset) + ")";
    }
    image_ = img;
  }
  void handle_leader_change(raft::LeaderAndEpoch) override {}
  // The FakeRaft never takes snapshots: every batch comes through handle_commit.
  void handle_load_snapshot(const raft::SnapshotId&, const raft::SnapshotContents&) override {
    ADD_FAILURE() << "the simulation's FakeRaft delivers no snapshots";
  }

  SimResult run() {
    SimResult res;
    try {
      for (int step = 0; step < o_.steps; ++step) this->step(true);
      heal();
    } catch (const Violation& v) {
      res.ok = false;
      res.violation = v.what();
    }
    res.at_ms = h_->now - kStart;
    res.stats = stats_;
    // Topic ids are random (Uuid::random), everything else follows the seed:
    // the fingerprint covers the record kinds and sizes of the whole log and
    // the final state by topic name.
    uint64_t f = 1469598103934665603ull;
    auto mix = [&f](int64_t x) { f = (f ^ static_cast<uint64_t>(x)) * 1099511628211ull; };
    for (const auto& b : h_->raft.log()) {
      mix(b.base_offset);
      for (const auto& r : b.records) {
        mix(static_cast<int64_t>(r.size()));
        if (!b.is_control) mix(protocol::decode_metadata_record(r).api_key);
      }
    }
    for (const auto& [name, t] : h_->image()->topics_by_name())
      for (const auto& [idx, p] : t.partitions) {
        mix(p.leader);
        mix(p.leader_epoch);
        mix(p.partition_epoch);
        for (int32_t r : p.isr) mix(r);
      }
    res.fingerprint = f;
    return res;
  }

 private:
  static constexpr int64_t kStart = 1'000'000;
  static constexpr int64_t kStepMs = 10;

  struct Broker {
    int32_t id = 0;
    std::optional<std::string> rack;
    bool alive = true;
    bool paused = false;
    int64_t resume_ms = 0;
    uint64_t generation = 0;  // answers to an earlier incarnation are dropped
    Uuid incarnation;
    int64_t epoch = -1;
    bool in_flight = false;
    bool alter_in_flight = false;
    bool fenced = true;
    bool shutting_down = false;
    bool shutdown_disturbed = false;  // paused or the controller moved meanwhile
    bool controlled_shutdown_acked = false;  // the controller answered "not yet" (it is moving leaderships)
    int64_t shutdown_began_ms = 0;
    int64_t next_contact_ms = 0;
    std::shared_ptr<const metadata::MetadataImage> image = std::make_shared<const metadata::MetadataImage>();
  };

  bool chance(double p) { return std::uniform_real_distribution<double>(0, 1)(rng_) < p; }
  int64_t uniform(int64_t lo, int64_t hi) { return std::uniform_int_distribution<int64_t>(lo, hi)(rng_); }
  Uuid next_uuid() {
    Uuid u;
    u.hi = rng_() | 1;  // never the zero uuid
    u.lo = rng_();
    return u;
  }
  template <class... A>
  void trace(fmt::format_string<A...> f, A&&... a) {
    if (o_.verbose) std::printf("%8lld ms  %s\n", static_cast<long long>(h_->now - kStart), fmt::format(f, std::forward<A>(a)...).c_str());
  }
  [[noreturn]] void fail(const std::string& what) { throw Violation(what); }
  bool mv_has_shutdown_record() const { return o_.metadata_version >= metadata::kMetadataVersion_3_3_IV3; }

  // ------------------------------------------------------------ one step

  void step(bool faults) {
    h_->now += kStepMs;
    if (faults) inject_faults();
    for (auto& [id, b] : brokers_) {
      if (b.paused && h_->now >= b.resume_ms) {
        b.paused = false;
        trace("broker {} resumes", id);
      }
      if (b.alive && !b.paused) contact(b);
    }
    if ((h_->now / kStepMs) % 10 == 0) h_->controller->tick();  // every 100 ms
    // Commits lag behind appends as the seed says (but not without bound).
    double r = std::uniform_real_distribution<double>(0, 1)(rng_);
    if (r < 0.6 || h_->raft.uncommitted() > 16) h_->raft.commit();
    else if (r < 0.85) h_->raft.commit(1);
    h_->poll();
    for (auto& [id, b] : brokers_)
      if (b.alive && !b.paused && chance(0.4)) b.image = h_->image();  // its metadata catches up
    check();
  }

  void inject_faults() {
    std::vector<int32_t> alive, dead;
    for (auto& [id, b] : brokers_) (b.alive ? alive : dead).push_back(id);
    if (!alive.empty() && chance(0.003)) crash(brokers_[alive[uniform(0, alive.size() - 1)]]);
    if (!dead.empty() && chance(0.01)) restart(brokers_[dead[uniform(0, dead.size() - 1)]]);
    if (!alive.empty() && chance(0.002)) {
      auto& b = brokers_[alive[uniform(0, alive.size() - 1)]];
      if (!b.paused) {
        b.paused = true;
        b.shutdown_disturbed = true;
        b.resume_ms = h_->now + uniform(300, 2500);
        trace("broker {} pauses until {}", b.id, b.resume_ms - kStart);
      }
    }
    if (!alive.empty() && chance(0.004)) {
      auto& b = brokers_[alive[uniform(0, alive.size() - 1)]];
      if (!b.shutting_down && b.epoch >= 0 && !b.fenced) {
        b.shutting_down = true;
        b.shutdown_disturbed = b.paused;
        b.controlled_shutdown_acked = false;
        b.shutdown_began_ms = h_->now;
        b.next_contact_ms = h_->now;
        trace("broker {} begins controlled shutdown", b.id);
      }
    }
    if (chance(0.15)) alter_partition();
    if (stats_.topics < 8 && chance(0.01)) create_topic();
    if (o_.failovers && chance(0.002)) fail_over();
  }

  void crash(Broker& b) {
    trace("broker {} crashes", b.id);
    b.alive = false;
    b.paused = false;
    b.generation++;
    b.in_flight = b.alter_in_flight = false;
    b.shutting_down = false;
    // shutting_down_ keeps it: the controller does until it is fenced or registers anew.
  }

  void restart(Broker& b) {
    b.alive = true;
    b.generation++;
    b.incarnation = next_uuid();
    b.epoch = -1;
    b.fenced = true;
    b.shutting_down = false;
    b.next_contact_ms = h_->now;
    trace("broker {} restarts as incarnation {}", b.id, b.incarnation.to_string());
  }

  void fail_over() {
    int32_t next = h_->node_id == 101 ? 102 : 101;
    bool lose = chance(0.5);
    trace("controller fails over to {} ({} uncommitted batch(es) {})", next, h_->raft.uncommitted(), lose ? "lost" : "kept");
    stats_.failovers++;
    for (auto& [id, b] : brokers_) b.shutdown_disturbed = true;
    h_->fail_over(next, lose);
    shutting_down_.clear();  // only a record (3.3-IV3+) carries it to the next controller; failovers run only there
  }

  // Registration or heartbeat, one at a time per broker.
  void contact(Broker& b) {
    if (b.in_flight || h_->now < b.next_contact_ms) return;
    b.in_flight = true;
    uint64_t gen = b.generation;
    int32_t id = b.id;
    if (b.epoch < 0) {
      auto req = registration(id, b.rack, b.incarnation);
      h_->controller->register_broker(req, 4, [this, id, gen](msg::BrokerRegistrationResponse r) {
        Broker& b = brokers_[id];
        if (b.generation != gen || !b.alive) return;
        b.in_flight = false;
        if (r.error_code == 0) {
          b.epoch = r.broker_epoch;
          b.fenced = true;
          trace("broker {} registered with epoch {}", id, r.broker_epoch);
          b.next_contact_ms = h_->now;
        } else {
          b.next_contact_ms = h_->now + 50;
        }
      });
      return;
    }
    auto hb = heartbeat_request(id, b.epoch, b.image->offset(), false, b.shutting_down);
    bool wanted_shutdown = b.shutting_down;
    auto seen = b.image;  // the metadata the broker had when it asked
    h_->controller->broker_heartbeat(hb, 1, [this, id, gen, wanted_shutdown, seen](msg::BrokerHeartbeatResponse r) {
      Broker& b = brokers_[id];
      if (b.generation != gen || !b.alive) return;
      b.in_flight = false;
      auto ec = static_cast<ErrorCode>(r.error_code);
      if (ec == ErrorCode::STALE_BROKER_EPOCH || ec == ErrorCode::BROKER_ID_NOT_REGISTERED) {
        trace("broker {} heartbeat: {}", id, error_name(ec));
        b.epoch = -1;
        if (b.shutting_down) crash(b);  // nothing left to hand over: the process exits
        else b.next_contact_ms = h_->now;
        return;
      }
      if (ec != ErrorCode::NONE) {
        b.next_contact_ms = h_->now + 20;
        return;
      }
      if (b.fenced && !r.is_fenced) {
        stats_.unfenced++;
        trace("broker {} unfenced", id);
      }
      b.fenced = r.is_fenced;
      if (wanted_shutdown && r.should_shut_down) {
        // The answer comes after the fencing committed: nothing may be led by it.
        auto img = h_->image();
        const auto* reg = img->broker(id);
        if (!reg || !reg->fenced) fail("broker " + std::to_string(id) + " told to shut down but not fenced");
        for (const auto& [name, t] : img->topics_by_name())
          for (const auto& [idx, p] : t.partitions)
            if (p.leader == id) fail("broker " + std::to_string(id) + " told to shut down while leading " + name + "-" + std::to_string(idx));
        // ...and, if it went through controlled shutdown undisturbed (a fenced
        // broker is let go at once), it had seen itself step down everywhere.
        if (b.controlled_shutdown_acked && !b.shutdown_disturbed)
          for (const auto& [name, t] : seen->topics_by_name())
          for (const auto& [idx, p] : t.partitions)
            if (p.leader == id)
              fail("broker " + std::to_string(id) + " let go while its metadata still shows it leading " + name + "-" + std::to_string(idx));
        int64_t took = h_->now - b.shutdown_began_ms;
        stats_.controlled_shutdowns++;
        if (!b.shutdown_disturbed) stats_.max_controlled_shutdown_ms = std::max(stats_.max_controlled_shutdown_ms, took);
        trace("broker {} completes controlled shutdown in {} ms", id, took);
        shutting_down_.erase(id);
        crash(b);
        return;
      }
      if (wanted_shutdown && !r.is_fenced) {
        b.controlled_shutdown_acked = true;
        if (!mv_has_shutdown_record()) shutting_down_[id] = b.epoch;
      }
      // A pause (< 2.5 s) may delay it; then the session expires and the next heartbeat ends it.
      if (b.shutting_down && h_->now - b.shutdown_began_ms > 3000)
        fail("controlled shutdown of broker " + std::to_string(id) + " takes more than 3 s");
      b.next_contact_ms = h_->now + (b.shutting_down ? 50 : b.fenced ? 20 : 200 + uniform(0, 50));
    });
  }

  void alter_partition() {
    // A random leader (in its own metadata) changes the ISR of one of its partitions.
    std::vector<int32_t> ids;
    for (auto& [id, b] : brokers_)
      if (b.alive && !b.paused && b.epoch >= 0 && !b.alter_in_flight) ids.push_back(id);
    if (ids.empty()) return;
    Broker& b = brokers_[ids[uniform(0, ids.size() - 1)]];
    std::vector<std::pair<const metadata::TopicImage*, int32_t>> led;
    for (const auto& [name, t] : b.image->topics_by_name())
      for (const auto& [idx, p] : t.partitions)
        if (p.leader == b.id) led.emplace_back(&t, idx);
    if (led.empty()) return;
    auto [topic, idx] = led[uniform(0, led.size() - 1)];
    const auto& p = topic->partitions.at(idx);
    std::vector<int32_t> isr = p.isr;
    std::vector<int32_t> outside;
    for (int32_t r : p.replicas)
      if (std::find(isr.begin(), isr.end(), r) == isr.end() && brokers_[r].alive) outside.push_back(r);
    bool expand = !outside.empty() && (isr.size() == 1 || chance(0.6));
    if (expand) {
      isr.push_back(outside[uniform(0, outside.size() - 1)]);
    } else if (isr.size() > 1) {
      std::vector<int32_t> followers;
      for (int32_t r : isr)
        if (r != b.id) followers.push_back(r);
      int32_t gone = followers[uniform(0, followers.size() - 1)];
      isr.erase(std::find(isr.begin(), isr.end(), gone));
    } else {
      return;
    }
    int16_t version = static_cast<int16_t>(uniform(0, 3));
    msg::AlterPartitionRequest req;
    req.broker_id = b.id;
    req.broker_epoch = b.epoch;
    msg::AlterPartitionRequest::TopicData td;
    td.topic_id = topic->id;
    td.topic_name = topic->name;
    msg::AlterPartitionRequest::PartitionData pd;
    pd.partition_index = idx;
    pd.leader_epoch = p.leader_epoch;
    pd.partition_epoch = p.partition_epoch;
    for (int32_t r : isr) {
      pd.new_isr.push_back(r);
      msg::AlterPartitionRequest::BrokerState s;
      s.broker_id = r;
      const auto* reg = b.image->broker(r);
      s.broker_epoch = reg ? reg->epoch : -1;
      pd.new_isr_with_epochs.push_back(s);
    }
    td.partitions.push_back(pd);
    req.topics.push_back(td);
    b.alter_in_flight = true;
    uint64_t gen = b.generation;
    int32_t id = b.id;
    std::string where = topic->name + "-" + std::to_string(idx);
    trace("broker {} asks to alter the ISR of {} to [{}] (v{}, leader epoch {}, partition epoch {})", id, where, fmt::join(isr, ","),
          version, p.leader_epoch, p.partition_epoch);
    h_->controller->alter_partition(req, version, [this, id, gen, isr, where, pd](msg::AlterPartitionResponse r) {
      Broker& b = brokers_[id];
      if (b.generation != gen) return;
      b.alter_in_flight = false;
      int16_t err = r.error_code ? r.error_code : r.topics.at(0).partitions.at(0).error_code;
      trace("broker {} AlterPartition {}: {}", id, where, error_name(err));
      if (err != 0) {
        stats_.alter_rejected++;
        return;
      }
      stats_.alter_ok++;
      const auto& rp = r.topics.at(0).partitions.at(0);
      // The state right after its record: same leader, the ISR asked for, the
      // next partition epoch, the leader epoch bumped only for a shrink before 3.6-IV0.
      if (rp.leader_id != id || rp.isr != isr || rp.partition_epoch != pd.partition_epoch + 1 ||
          (rp.leader_epoch != pd.leader_epoch && rp.leader_epoch != pd.leader_epoch + 1))
        fail("AlterPartition of " + where + " answered an unexpected state");
    });
  }

  void create_topic() {
    std::string name = "topic" + std::to_string(topic_seq_++);
    int32_t partitions = static_cast<int32_t>(uniform(1, 6));
    int16_t rf = static_cast<int16_t>(uniform(1, 3));
    bool unclean = chance(0.3);
    msg::CreateTopicsRequest req;
    msg::CreateTopicsRequest::CreatableTopic t;
    t.name = name;
    t.num_partitions = partitions;
    t.replication_factor = rf;
    if (unclean) {
      msg::CreateTopicsRequest::CreatableTopicConfig c;
      c.name = "unclean.leader.election.enable";
      c.value = "true";
      t.configs.push_back(c);
    }
    req.topics.push_back(t);
    trace("create {} ({} partitions, RF {}{})", name, partitions, rf, unclean ? ", unclean" : "");
    h_->controller->create_topics(req, 7, [this, name](msg::CreateTopicsResponse r) {
      if (r.topics.at(0).error_code == 0) stats_.topics++;
      trace("create {}: {}", name, error_name(r.topics.at(0).error_code));
    });
  }

  // ------------------------------------------------------------ invariants

  void check() {
    if (!batch_violation_.empty()) fail(batch_violation_);
    if (std::string v = check_image(*image_, shutting_down_); !v.empty()) fail(v);
  }

  void check_batch(const metadata::MetadataImage& img, const metadata::MetadataDelta& d) {
    if (std::string v = check_image(img, shutting_down_, /*leaderless=*/false); !v.empty()) fail(v);
    for (const auto& [tid, idx] : d.changed_partitions()) {
      const auto* t = img.topic(tid);
      if (!t) continue;
      const std::string& name = t->name;
      const auto& p = t->partitions.at(idx);
      {
        auto key = std::make_pair(tid, idx);
        auto it = history_.find(key);
        if (it != history_.end()) {
          const auto& old = it->second;
          std::string where = name + "-" + std::to_string(idx);
          if (p.leader_epoch < old.leader_epoch || p.partition_epoch < old.partition_epoch) fail(where + ": an epoch went back");
          if (p.leader != old.leader) {
            stats_.leader_changes++;
            if (p.leader_epoch <= old.leader_epoch) fail(where + ": leader changed without a leader epoch bump");
            if (p.leader >= 0 && std::find(old.isr.begin(), old.isr.end(), p.leader) == old.isr.end()) {
              if (!unclean_topic(img, name)) fail(where + ": leader " + std::to_string(p.leader) + " elected from outside the ISR");
              stats_.unclean_elections++;
            }
          }
          if (p.partition_epoch <= old.partition_epoch) fail(where + ": changed without a partition epoch bump");
        }
        history_[key] = p;
      }
    }
    for (int32_t id : d.changed_brokers()) {
      const auto* b = img.broker(id);
      const auto* prev = d.base().broker(id);
      if (b && prev && !prev->fenced && b->fenced && b->epoch == prev->epoch && !brokers_[id].shutting_down) stats_.fenced_by_timeout++;
    }
  }

  // ------------------------------------------------------------ healing

  void heal() {
    trace("healing: every broker back, no more faults");
    for (auto& [id, b] : brokers_) {
      if (!b.alive) restart(b);
      b.paused = false;
    }
    int64_t deadline = h_->now + 5000;
    while (h_->now < deadline) {
      for (auto& [id, b] : brokers_)
        if (!b.alive) restart(b);  // e.g. one that finished a controlled shutdown begun before
      step(false);
    }
    auto img = h_->image();
    for (const auto& [id, b] : brokers_) {
      const auto* reg = img->broker(id);
      if (!reg || reg->fenced) fail("after healing, broker " + std::to_string(id) + " is not unfenced");
    }
    for (const auto& [name, t] : img->topics_by_name())
      for (const auto& [idx, p] : t.partitions)
        if (p.leader < 0) fail("after healing, " + name + "-" + std::to_string(idx) + " has no leader");
  }

  SimOptions o_;
  std::mt19937_64 rng_;
  std::unique_ptr<Harness> h_;
  std::map<int32_t, Broker> brokers_;
  ShuttingDown shutting_down_;
  std::map<std::pair<Uuid, int32_t>, metadata::PartitionRegistration> history_;
  std::shared_ptr<const metadata::MetadataImage> image_ = std::make_shared<const metadata::MetadataImage>();
  std::string batch_violation_;
  SimStats stats_;
  int topic_seq_ = 0;
};

SimResult run_sim(const SimOptions& o) {
  auto level = spdlog::get_level();
  spdlog::set_level(o.verbose ? spdlog::level::info : spdlog::level::off);
  Simulation sim(o);
  SimResult r = sim.run();
  spdlog::set_level(level);
  return r;
}

SimOptions options_for(uint64_t seed) {
  SimOptions o;
  o.seed = seed;
  o.brokers = 3 + static_cast<int>(seed % 4);  // 3..6
  // Most seeds at 3.9; some at versions with other record choices (no
  // controlled-shutdown record below 3.3-IV3, FenceBrokerRecord below 3.3-IV2,
  // a leader epoch bump on ISR shrinks below 3.6-IV0).
  static const int16_t kVersions[] = {21, 21, 21, 7, 11, 6, 5};
  o.metadata_version = kVersions[seed % 7];
  // The next controller knows of a controlled shutdown only from the record.
  o.failovers = o.metadata_version >= metadata::kMetadataVersion_3_3_IV3;
  return o;
}

uint64_t env_u64(const char* name, uint64_t dflt) {
  const char* v = std::getenv(name);
  return v ? std::stoull(v) : dflt;
}

}  // namespace

// The seeds in shards (ctest runs them in parallel). CONTROLLER_SIM_SEEDS sets
// the number per shard (default 40: 400 seeds in all).
class ControllerSimulation : public ::testing::TestWithParam<uint64_t> {};

TEST_P(ControllerSimulation, InvariantsHoldUnderFaultsThenEverythingHeals) {
  if (std::getenv("CONTROLLER_SIM_SEED")) GTEST_SKIP() << "replaying one seed in ControllerSimulationReplay";
  const uint64_t per_shard = env_u64("CONTROLLER_SIM_SEEDS", 40);
  SimStats total;
  int failures = 0;
  for (uint64_t i = 0; i < per_shard; ++i) {
    SimOptions o = options_for(GetParam() * per_shard + i + 1);
    SimResult r = run_sim(o);
    total.add(r.stats);
    if (!r.ok) {
      ADD_FAILURE() << "seed " << o.seed << " (" << o.brokers << " brokers, metadata.version " << o.metadata_version << ") at "
                    << r.at_ms << " ms: " << r.violation << "\n  replay: CONTROLLER_SIM_SEED=" << o.seed
                    << " CONTROLLER_SIM_VERBOSE=1 build/tests/controller/controller_test --gtest_filter='ControllerSimulation*'";
      if (++failures >= 3) return;
    }
  }
  std::printf("shard %llu: %d session fencings, %d unfencings, %d controlled shutdowns (max %lld ms), %d AlterPartitions applied / "
              "%d rejected, %d leader changes (%d unclean), %d controller failovers, %d topics\n",
              static_cast<unsigned long long>(GetParam()), total.fenced_by_timeout, total.unfenced, total.controlled_shutdowns,
              static_cast<long long>(total.max_controlled_shutdown_ms), total.alter_ok, total.alter_rejected, total.leader_changes,
              total.unclean_elections, total.failovers, total.topics);
  // The faults are really exercised (else the invariants would hold trivially).
  EXPECT_GT(total.fenced_by_timeout, 0);
  EXPECT_GT(total.controlled_shutdowns, 0);
  EXPECT_GT(total.alter_ok, 0);
  EXPECT_GT(total.alter_rejected, 0);
  EXPECT_GT(total.leader_changes, 0);
  EXPECT_GT(total.unclean_elections, 0);
  EXPECT_GT(total.failovers, 0);
  EXPECT_LT(total.max_controlled_shutdown_ms, 1000);
}

INSTANTIATE_TEST_SUITE_P(Seeds, ControllerSimulation, ::testing::Range<uint64_t>(0, 10));

TEST(ControllerSimulationReplay, OneSeed) {
  const char* seed = std::getenv("CONTROLLER_SIM_SEED");
  if (!seed) GTEST_SKIP() << "set CONTROLLER_SIM_SEED to replay a seed";
  SimOptions o = options_for(std::stoull(seed));
  o.verbose = std::getenv("CONTROLLER_SIM_VERBOSE") != nullptr;
  SimResult r = run_sim(o);
  EXPECT_TRUE(r.ok) << "at " << r.at_ms << " ms: " << r.violation;
}

TEST(ControllerSimulationReplay, ASeedReplaysExactly) {
  for (uint64_t seed : {3, 17}) {
    SimResult a = run_sim(options_for(seed));
    SimResult b = run_sim(options_for(seed));
    EXPECT_TRUE(a.ok) << a.violation;
    EXPECT_EQ(a.fingerprint, b.fingerprint) << "seed " << seed;
    EXPECT_EQ(a.stats.leader_changes, b.stats.leader_changes);
  }
}

// The checker itself: each kind of broken state is reported.
TEST(ControllerSimulationChecker, ReportsEveryBrokenInvariant) {
  auto base = [] {
    metadata::MetadataDelta d(std::make_shared<const metadata::MetadataImage>());
    for (int32_t id : {1, 2, 3}) {
      msg::RegisterBrokerRecord r;
      r.broker_id = id;
      r.broker_epoch = 10 * id;
      r.fenced = id == 2;  // 1 and 3 live, 2 fenced
      d.replay(r);
    }
    msg::TopicRecord t;
    t.name = "t";
    t.topic_id = Uuid::random();
    d.replay(t);
    return std::make_pair(std::move(d), t.topic_id);
  };
  auto with_partition = [&](std::vector<int32_t> replicas, std::vector<int32_t> isr, int32_t leader,
                            std::optional<std::string> unclean = std::nullopt) {
    auto [d, id] = base();
    msg::PartitionRecord p;
    p.topic_id = id;
    p.partition_id = 0;
    p.replicas = replicas;
    p.isr = isr;
    p.leader = leader;
    d.replay(p);
    if (unclean) {
      msg::ConfigRecord c;
      c.resource_type = 2;
      c.resource_name = "t";
      c.name = "unclean.leader.election.enable";
      c.value = *unclean;
      d.replay(c);
    }
    return d.apply();
  };
  EXPECT_EQ(check_image(*with_partition({1, 3}, {1, 3}, 1), {}), "");
  EXPECT_EQ(check_image(*with_partition({1, 2}, {2}, -1), {}), "");  // only a fenced member: leaderless is right
  EXPECT_NE(check_image(*with_partition({1, 2}, {}, -1), {}), "");
  EXPECT_NE(check_image(*with_partition({1, 3}, {1, 1}, 1), {}), "");
  EXPECT_NE(check_image(*with_partition({1, 2}, {1, 3}, 1), {}), "");  // ISR beyond the replicas
  EXPECT_NE(check_image(*with_partition({1, 2}, {2}, 1), {}), "");     // leader outside the ISR
  EXPECT_NE(check_image(*with_partition({1, 2}, {1, 2}, 2), {}), "");  // fenced leader
  EXPECT_NE(check_image(*with_partition({1, 2}, {1, 2}, 1), {}), "");  // a fenced member in a led partition's ISR
  EXPECT_NE(check_image(*with_partition({1, 3}, {1, 3}, 1), {{1, 10}}), "");  // leader shutting down
  EXPECT_NE(check_image(*with_partition({1, 3}, {1, 3}, -1), {}), "");        // leaderless with a live ISR member
  EXPECT_EQ(check_image(*with_partition({1, 3}, {1, 3}, -1), {}, /*leaderless=*/false), "");
  EXPECT_EQ(check_image(*with_partition({1, 2}, {1}, -1), {{1, 10}}), "");   // its only member is shutting down
  EXPECT_NE(check_image(*with_partition({1, 2}, {1}, -1), {{1, 9}}), "");    // an older registration was
  EXPECT_NE(check_image(*with_partition({2, 1}, {2}, -1, "true"), {}), "");  // unclean: a live replica should lead
  EXPECT_EQ(check_image(*with_partition({2, 1}, {2}, -1, "false"), {}), "");
}

// ---------------------------------------------------------------- snapshots

namespace {

std::vector<uint8_t> registered_broker(int32_t id, int64_t epoch) {
  return protocol::frame_metadata_record(metadata::testing::broker_record(id, epoch, Uuid::random(), /*fenced=*/false), 0);
}

}  // namespace

// A standby's committed state is replaced by a snapshot (not merged into), and
// it activates on that state: no bootstrap records, the snapshot's topics.
TEST(QuorumControllerSnapshot, StandbyReplacesItsStateAndActivatesOnIt) {
  Harness h(metadata::kLatestProductionMetadataVersion, {}, /*activate=*/false);
  EXPECT_FALSE(h.controller->is_active());
  h.raft.inject({registered_broker(1, 0)});
  for (int i = 0; i < 10; ++i) h.raft.inject({protocol::frame_metadata_record(msg::NoOpRecord{}, 0)});
  h.raft.commit();
  ASSERT_TRUE(h.image()->broker(1));

  const Uuid topic_id = Uuid::random();
  raft::SnapshotContents contents;
  raft::CommittedBatch b;
  b.records = h.config.bootstrap->records;
  b.records.push_back(registered_broker(2, 5));
  msg::TopicRecord t;
  t.name = "t";
  t.topic_id = topic_id;
  b.records.push_back(protocol::frame_metadata_record(t, 0));
  msg::PartitionRecord p;
  p.topic_id = topic_id;
  p.partition_id = 0;
  p.replicas = {2};
  p.isr = {2};
  p.leader = 2;
  b.records.push_back(protocol::frame_metadata_record(p, 0));
  contents.batches.push_back(b);
  // The log cleaned past the listener: a snapshot at the high watermark.
  const raft::SnapshotId id{h.raft.next_offset(), 0};
  h.controller->handle_load_snapshot(id, contents);

  auto img = h.image();
  EXPECT_EQ(img->offset(), id.end_offset - 1);
  EXPECT_EQ(img->epoch(), 0);
  EXPECT_FALSE(img->broker(1));  // the old state is gone, not merged
  ASSERT_TRUE(img->broker(2));
  ASSERT_TRUE(img->topic("t"));
  EXPECT_EQ(img->partition(topic_id, 0)->leader, 2);
  EXPECT_NE(img->metadata_version(), 0);

  h.raft.elect(h.node_id);
  h.poll();
  EXPECT_TRUE(h.controller->is_active());
  // metadata.version came with the snapshot: nothing to bootstrap.
  EXPECT_EQ(h.raft.uncommitted(), 0u);
  h.settle();
  EXPECT_TRUE(h.image()->topic("t"));
  EXPECT_FALSE(h.image()->broker(1));
}
