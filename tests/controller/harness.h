// A QuorumController over a fake Raft client on a virtual clock, for unit
// tests and the deterministic simulation: appends land in an in-memory log,
// commits happen when the test says so, leadership moves when the test says
// so, and the controller's timer is off (the test calls tick()). Callbacks the
// controller posts run when the test polls the io_context, in FIFO order, so a
// run depends only on the test's own choices.
#pragma once

#include <gtest/gtest.h>

#include <asio.hpp>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "controller/quorum_controller.h"
#include "controller/requests.h"
#include "metadata/bootstrap.h"
#include "protocol/metadata_record.h"
#include "raft/client.h"

namespace flotilla::controller::testing {

inline int16_t ec(ErrorCode e) { return code(e); }

// The Raft log as the controller sees it. Batches are appended by the active
// controller (or injected by the test), committed in order by commit().
class FakeRaft : public raft::RaftClient {
 public:
  void register_listener(raft::RaftListener* l) override {
    for (auto* x : listeners_)
      if (x == l) return;
    listeners_.push_back(l);
    for (size_t i = 0; i < committed_batches_; ++i) l->handle_commit(log_[i]);  // history first, as the driver does
  }
  void unregister_listener(raft::RaftListener* l) override { std::erase(listeners_, l); }
  std::optional<int64_t> append(std::vector<std::vector<uint8_t>> values, int32_t epoch) override {
    if (leader_.leader_id < 0 || epoch != leader_.epoch || values.empty()) return std::nullopt;
    return push(std::move(values), false);
  }
  int64_t high_watermark() const override { return hw_; }
  raft::LeaderAndEpoch leader_and_epoch() const override { return leader_; }
  int32_t node_id() const override { return 1; }
  int64_t next_offset() const override { return next_offset_; }

  // Test side.
  // Appends a batch as if another writer's (e.g. a ConfigRecord).
  int64_t inject(std::vector<std::vector<uint8_t>> values) { return push(std::move(values), false); }
  // Commits every appended batch (or the first `max` uncommitted ones).
  size_t commit(size_t max = SIZE_MAX) {
    size_t n = 0;
    while (committed_batches_ < log_.size() && n < max) {
      const auto& b = log_[committed_batches_++];
      hw_ = b.last_offset + 1;
      ++n;
      auto ls = listeners_;
      for (auto* l : ls) l->handle_commit(b);
    }
    return n;
  }
  size_t uncommitted() const { return log_.size() - committed_batches_; }
  // The leader resigns: listeners hear of no leader.
  void resign() {
    leader_.leader_id = -1;
    notify();
  }
  // Raft may lose what was not committed when leadership moves.
  void truncate_uncommitted() {
    log_.resize(committed_batches_);
    next_offset_ = hw_;
  }
  // `id` becomes leader of the next epoch: its LeaderChangeMessage batch is
  // appended and committed (with everything before it), then listeners hear.
  void elect(int32_t id) {
    leader_.epoch += 1;
    leader_.leader_id = -1;
    push({std::vector<uint8_t>{0}}, true);
    commit();
    leader_.leader_id = id;
    notify();
  }
  const std::vector<raft::CommittedBatch>& log() const { return log_; }
  int32_t epoch() const { return leader_.epoch; }

 private:
  int64_t push(std::vector<std::vector<uint8_t>> values, bool control) {
    raft::CommittedBatch b;
    b.base_offset = next_offset_;
    b.last_offset = next_offset_ + static_cast<int64_t>(values.size()) - 1;
    b.epoch = leader_.epoch;
    b.records = std::move(values);
    b.is_control = control;
    next_offset_ = b.last_offset + 1;
    log_.push_back(std::move(b));
    return log_.back().last_offset;
  }
  void notify() {
    auto ls = listeners_;
    for (auto* l : ls) l->handle_leader_change(leader_);
  }

  std::vector<raft::RaftListener*> listeners_;
  std::vector<raft::CommittedBatch> log_;
  size_t committed_batches_ = 0;
  int64_t next_offset_ = 0;
  int64_t hw_ = 0;
  raft::LeaderAndEpoch leader_;
};

// Decoded records of one batch.
inline std::vector<protocol::AnyMetadataRecord> decode_batch(const raft::CommittedBatch& b) {
  std::vector<protocol::AnyMetadataRecord> out;
  if (b.is_control) return out;
  for (const auto& v : b.records) out.push_back(protocol::decode_metadata_record(v));
  return out;
}

template <class T>
std::vector<T> records_of(const std::vector<protocol::AnyMetadataRecord>& rs) {
  std::vector<T> out;
  for (const auto& r : rs)
    if (const T* t = std::get_if<T>(&r.record)) out.push_back(*t);
  return out;
}

// One controller (node 1 unless told otherwise) on a FakeRaft and a virtual clock.
struct Harness {
  asio::io_context io;
  FakeRaft raft;
  int64_t now = 1'000'000;
  ControllerConfig config;
  std::unique_ptr<QuorumController> controller;
  int32_t node_id = 1;

  explicit Harness(int16_t metadata_version = metadata::kLatestProductionMetadataVersion, ControllerConfig cc = {}, bool activate = true)
      : config(std::move(cc)) {
    config.cluster_id = "cluster";
    config.clock = [this] { return now; };
    config.tick_interval_ms = 0;
    if (!config.random_seed) config.random_seed = 11;
    if (!config.bootstrap) config.bootstrap = metadata::bootstrap_for_version(metadata_version, "the test");
    make_controller(node_id);
    if (activate) {
      raft.elect(node_id);
      settle();
      EXPECT_TRUE(controller->is_active());
    }
  }
  ~Harness() {
    if (controller) controller->shutdown();
    poll();
  }

  void make_controller(int32_t id) {
    if (controller) controller->shutdown();
    poll();
    ControllerConfig cc = config;
    cc.node_id = id;
    node_id = id;
    controller = std::make_unique<QuorumController>(io, raft, cc);
    controller->start();
  }
  // Leadership moves to a new controller instance (node `id`), which replays the committed log.
  void fail_over(int32_t id, bool lose_uncommitted) {
    raft.resign();
    if (lose_uncommitted) raft.truncate_uncommitted();
    make_controller(id);
    raft.elect(id);
    poll();
  }

  size_t poll() {
    io.restart();
    return io.poll();
  }
  // Commits everything and runs callbacks until quiet.
  void settle() {
    for (int i = 0; i < 1000; ++i) {
      size_t n = raft.commit();
      n += poll();
      if (n == 0 && raft.uncommitted() == 0) return;
    }
    ADD_FAILURE() << "the controller never settled";
  }
  void tick() {
    controller->tick();
    settle();
  }

  template <class Resp, class F>
  Resp call(F f) {
    std::optional<Resp> out;
    f([&](Resp r) { out = std::move(r); });
    settle();
    EXPECT_TRUE(out.has_value());
    return out.value_or(Resp{});
  }

  std::shared_ptr<const metadata::MetadataImage> image() const { return controller->committed_image(); }
  const metadata::PartitionRegistration& partition(const std::string& topic, int32_t p) const {
    return image()->topic(topic)->partitions.at(p);
  }

  msg::BrokerRegistrationResponse register_broker(int32_t id, std::optional<std::string> rack = std::nullopt,
                                                  Uuid incarnation = Uuid::random()) {
    auto req = registration(id, std::move(rack), incarnation);
    return call<msg::BrokerRegistrationResponse>([&](auto done) { controller->register_broker(req, 4, done); });
  }
  msg::BrokerHeartbeatResponse heartbeat(int32_t id, int64_t epoch, int64_t offset, bool fence = false, bool shut_down = false) {
    auto h = heartbeat_request(id, epoch, offset, fence, shut_down);
    return call<msg::BrokerHeartbeatResponse>([&](auto done) { controller->broker_heartbeat(h, 1, done); });
  }
  // The broker's metadata is caught up with everything committed.
  int64_t caught_up() const { return raft.high_watermark() - 1; }
  // Registers and unfences broker `id`; returns its epoch.
  int64_t live_broker(int32_t id, std::optional<std::string> rack = std::nullopt) {
    auto r = register_broker(id, std::move(rack));
    EXPECT_EQ(r.error_code, 0);
    auto h = heartbeat(id, r.broker_epoch, caught_up());
    EXPECT_EQ(h.error_code, 0);
    EXPECT_FALSE(h.is_fenced);
    return r.broker_epoch;
  }

  msg::CreateTopicsResponse create(const std::string& name, int32_t partitions, int16_t rf,
                                   std::vector<std::pair<std::string, std::string>> configs = {}) {
    auto req = create_topic_request(name, partitions, rf, configs);
    return call<msg::CreateTopicsResponse>([&](auto done) { controller->create_topics(req, 7, done); });
  }
  // A topic with a manual assignment (one entry per partition).
  msg::CreateTopicsResponse create_assigned(const std::string& name, const std::vector<std::vector<int32_t>>& assignment,
                                            std::vector<std::pair<std::string, std::string>> configs = {}) {
    auto req = create_topic_request(name, -1, -1, configs);
    for (size_t i = 0; i < assignment.size(); ++i) {
      msg::CreateTopicsRequest::CreatableReplicaAssignment a;
      a.partition_index = static_cast<int32_t>(i);
      a.broker_ids = assignment[i];
      req.topics[0].assignments.push_back(a);
    }
    return call<msg::CreateTopicsResponse>([&](auto done) { controller->create_topics(req, 7, done); });
  }

  // An AlterPartition request for one partition, as its leader would send it
  // from the current state (v2+ by topic id, v0-1 by name; v3 with epochs).
  msg::AlterPartitionRequest alter_request(int32_t broker, const std::string& topic, int32_t p, std::vector<int32_t> new_isr,
                                           int16_t version = 3) const {
    const auto& part = partition(topic, p);
    msg::AlterPartitionRequest req;
    req.broker_id = broker;
    const auto* b = image()->broker(broker);
    req.broker_epoch = b ? b->epoch : -1;
    msg::AlterPartitionRequest::TopicData td;
    if (version >= 2)
      td.topic_id = image()->topic(topic)->id;
    else
      td.topic_name = topic;
    msg::AlterPartitionRequest::PartitionData pd;
    pd.partition_index = p;
    pd.leader_epoch = part.leader_epoch;
    pd.partition_epoch = part.partition_epoch;
    for (int32_t r : new_isr) {
      if (version >= 3) {
        msg::AlterPartitionRequest::BrokerState s;
        s.broker_id = r;
        const auto* rb = image()->broker(r);
        s.broker_epoch = rb ? rb->epoch : -1;
        pd.new_isr_with_epochs.push_back(s);
      } else {
        pd.new_isr.push_back(r);
      }
    }
    td.partitions.push_back(pd);
    req.topics.push_back(td);
    return req;
  }
  msg::AlterPartitionResponse alter(const msg::AlterPartitionRequest& req, int16_t version = 3) {
    return call<msg::AlterPartitionResponse>([&](auto done) { controller->alter_partition(req, version, done); });
  }
  // The error of the single partition of a single-partition request (or the top-level error).
  static int16_t partition_error(const msg::AlterPartitionResponse& r) {
    if (r.error_code != 0) return r.error_code;
    return r.topics.at(0).partitions.at(0).error_code;
  }
};

// Live brokers 1..`brokers` (their epochs kept, for heartbeats) and, unless
// `assignment` is empty, a topic "t" with that manual assignment.
struct LiveBrokers : Harness {
  std::map<int32_t, int64_t> epochs;
  LiveBrokers(int16_t metadata_version, ControllerConfig cc, int brokers, std::vector<std::vector<int32_t>> assignment,
              std::vector<std::pair<std::string, std::string>> configs)
      : Harness(metadata_version, std::move(cc)) {
    for (int32_t b = 1; b <= brokers; ++b) epochs[b] = live_broker(b);
    if (!assignment.empty()) {
      auto r = create_assigned("t", assignment, std::move(configs));
      EXPECT_EQ(r.topics.at(0).error_code, 0) << r.topics.at(0).error_message.value_or("");
    }
  }
  // The leader of t-`p` sets the ISR (AlterPartition), as after followers caught up.
  void set_isr(int32_t p, std::vector<int32_t> isr) {
    auto r = alter(alter_request(partition("t", p).leader, "t", p, std::move(isr)));
    EXPECT_EQ(Harness::partition_error(r), 0);
  }
};

}  // namespace flotilla::controller::testing
