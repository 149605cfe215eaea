// BrokerLifecycle (the broker side: registration, heartbeats, unfencing,
// controlled shutdown) against a real QuorumController on a single-voter
// Raft (controller/raft_node.h), over a channel that calls the controller
// in-process: what a combined node does, without the network.
#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <functional>

#include "broker/broker_lifecycle.h"
#include "broker/controller_channel.h"
#include "controller/raft_node.h"

using namespace flotilla;
using namespace flotilla::controller;
using namespace flotilla::controller::testing;

namespace {

using Node = RaftControllerNode;

// The broker's controller channel, calling the controller in-process.
class DirectChannel : public broker::ControllerChannel {
 public:
  explicit DirectChannel(QuorumController& c) : c_(c) {}
  void create_topics(msg::CreateTopicsRequest r, int16_t v, std::function<void(msg::CreateTopicsResponse)> d) override {
    c_.create_topics(std::move(r), v, std::move(d));
  }
  void delete_topics(msg::DeleteTopicsRequest r, int16_t v, std::function<void(msg::DeleteTopicsResponse)> d) override {
    c_.delete_topics(std::move(r), v, std::move(d));
  }
  void create_partitions(msg::CreatePartitionsRequest r, int16_t v, std::function<void(msg::CreatePartitionsResponse)> d) override {
    c_.create_partitions(std::move(r), v, std::move(d));
  }
  void register_broker(msg::BrokerRegistrationRequest r, int16_t v, std::function<void(msg::BrokerRegistrationResponse)> d) override {
    c_.register_broker(std::move(r), v, std::move(d));
  }
  void broker_heartbeat(msg::BrokerHeartbeatRequest r, int16_t v, std::function<void(msg::BrokerHeartbeatResponse)> d) override {
    c_.broker_heartbeat(std::move(r), v, std::move(d));
  }
  void alter_partition(msg::AlterPartitionRequest r, int16_t v, std::function<void(msg::AlterPartitionResponse)> d) override {
    c_.alter_partition(std::move(r), v, std::move(d));
  }
  void describe_quorum(msg::DescribeQuorumRequest, int16_t, std::function<void(msg::DescribeQuorumResponse)> d) override {
    d(msg::DescribeQuorumResponse{});
  }
  void elect_leaders(msg::ElectLeadersRequest r, int16_t v, std::function<void(msg::ElectLeadersResponse)> d) override {
    c_.elect_leaders(std::move(r), v, std::move(d));
  }
  void incremental_alter_configs(msg::IncrementalAlterConfigsRequest r, int16_t v,
                                 std::function<void(msg::IncrementalAlterConfigsResponse)> d) override {
    c_.incremental_alter_configs(std::move(r), v, std::move(d));
  }
  void alter_configs(msg::AlterConfigsRequest r, int16_t v, std::function<void(msg::AlterConfigsResponse)> d) override {
    c_.alter_configs(std::move(r), v, std::move(d));
  }
  void alter_partition_reassignments(msg::AlterPartitionReassignmentsRequest r, int16_t v,
                                     std::function<void(msg::AlterPartitionReassignmentsResponse)> d) override {
    c_.alter_partition_reassignments(std::move(r), v, std::move(d));
  }
  void list_partition_reassignments(msg::ListPartitionReassignmentsRequest r, int16_t v,
                                    std::function<void(msg::ListPartitionReassignmentsResponse)> d) override {
    c_.list_partition_reassignments(std::move(r), v, std::move(d));
  }
  void unregister_broker(msg::UnregisterBrokerRequest r, int16_t v, std::function<void(msg::UnregisterBrokerResponse)> d) override {
    c_.unregister_broker(std::move(r), v, std::move(d));
  }
  int32_t active_controller_id() const override { return c_.is_active() ? 1 : -1; }

 private:
  QuorumController& c_;
};

}  // namespace

TEST(BrokerLifecycle, RegistersUnfencesAndShutsDown) {
  auto dir = temp_dir("lifecycle");
  Node n(dir);
  msg::BrokerRegistrationRequest reg;
  reg.broker_id = 1;
  reg.cluster_id = "cluster";
  reg.incarnation_id = Uuid::random();
  reg.log_dirs = {Uuid::random()};  // from 3.7-IV2 a registration lists its log dirs
  msg::BrokerRegistrationRequest::Listener l;
  l.name = "PLAINTEXT";
  l.host = "localhost";
  l.port = 9092;
  reg.listeners.push_back(l);
  DirectChannel channel(*n.controller);
  broker::BrokerLifecycle life(n.io, channel, reg, 2000, 5, [&] { return n.loader->image()->offset(); });
  life.start();
  ASSERT_TRUE(run_until(n.io, [&] { return life.registered() && !life.fenced(); }));
  ASSERT_TRUE(run_until(n.io, [&] {
    const auto* b = n.loader->image()->broker(1);
    return b && !b->fenced;
  }));
  EXPECT_EQ(n.loader->image()->broker(1)->listeners.at(0).port, 9092);
  EXPECT_EQ(n.create("after-registration", 1, 1).topics[0].error_code, 0);
  bool done = false;
  life.begin_controlled_shutdown(2000, [&] { done = true; });
  ASSERT_TRUE(run_until(n.io, [&] { return done; }));
  EXPECT_TRUE(n.controller->committed_image()->broker(1)->fenced);
  life.stop();
  std::filesystem::remove_all(dir);
}

// A broker leading 1,000 partitions hands them over and is let go well within
// 2 s (two heartbeats 50 ms apart, each a committed batch).
TEST(BrokerLifecycle, ControlledShutdownOfAThousandLeadershipsIsFast) {
  auto dir = temp_dir("shutdown1000");
  Node n(dir);
  msg::BrokerRegistrationRequest reg;
  reg.broker_id = 1;
  reg.cluster_id = "cluster";
  reg.incarnation_id = Uuid::random();
  reg.log_dirs = {Uuid::random()};  // from 3.7-IV2 a registration lists its log dirs
  DirectChannel channel(*n.controller);
  broker::BrokerLifecycle life(n.io, channel, reg, 2000, 5, [&] { return n.loader->image()->offset(); });
  life.start();
  ASSERT_TRUE(run_until(n.io, [&] { return life.registered() && !life.fenced(); }));
  n.live_broker(2);
  msg::CreateTopicsRequest req;
  msg::CreateTopicsRequest::CreatableTopic t;
  t.name = "many";
  t.num_partitions = -1;
  t.replication_factor = -1;
  for (int32_t i = 0; i < 1000; ++i) {
    msg::CreateTopicsRequest::CreatableReplicaAssignment a;
    a.partition_index = i;
    a.broker_ids = {1, 2};
    t.assignments.push_back(a);
  }
  req.topics.push_back(t);
  auto created = n.call<msg::CreateTopicsResponse>([&](auto done) { n.controller->create_topics(req, 7, done); });
  ASSERT_EQ(created.topics[0].error_code, 0);
  // Keep broker 2's session alive meanwhile (a 9 s timeout: not needed, but honest).
  bool done = false;
  auto t0 = std::chrono::steady_clock::now();
  life.begin_controlled_shutdown(5000, [&] { done = true; });
  ASSERT_TRUE(run_until(n.io, [&] { return done; }, 5000));
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0).count();
  std::printf("controlled shutdown of a broker leading 1000 partitions: %lld ms\n", static_cast<long long>(ms));
  EXPECT_LT(ms, 1000);
  auto image = n.controller->committed_image();
  EXPECT_TRUE(image->broker(1)->fenced);
  for (const auto& [idx, p] : image->topic("many")->partitions) {
    ASSERT_EQ(p.leader, 2) << idx;
    ASSERT_EQ(p.isr, std::vector<int32_t>{2});
  }
  life.stop();
  std::filesystem::remove_all(dir);
}

// Without answers from the controller, a controlled shutdown ends at its bound.
TEST(BrokerLifecycle, ControlledShutdownIsBounded) {
  auto dir = temp_dir("shutdown-bound");
  Node n(dir);
  struct Silent : DirectChannel {
    using DirectChannel::DirectChannel;
    bool silent = false;
    void broker_heartbeat(msg::BrokerHeartbeatRequest r, int16_t v, std::function<void(msg::BrokerHeartbeatResponse)> d) override {
      if (!silent) DirectChannel::broker_heartbeat(std::move(r), v, std::move(d));
    }
  } channel(*n.controller);
  msg::BrokerRegistrationRequest reg;
  reg.broker_id = 1;
  reg.cluster_id = "cluster";
  reg.incarnation_id = Uuid::random();
  reg.log_dirs = {Uuid::random()};  // from 3.7-IV2 a registration lists its log dirs
  broker::BrokerLifecycle life(n.io, channel, reg, 2000, 5, [&] { return n.loader->image()->offset(); });
  life.start();
  ASSERT_TRUE(run_until(n.io, [&] { return life.registered() && !life.fenced(); }));
  channel.silent = true;
  bool done = false;
  auto t0 = std::chrono::steady_clock::now();
  life.begin_controlled_shutdown(300, [&] { done = true; });
  EXPECT_FALSE(done);  // never inside the call
  ASSERT_TRUE(run_until(n.io, [&] { return done; }, 3000));
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0).count();
  EXPECT_GE(ms, 290);
  EXPECT_LT(ms, 1500);
  EXPECT_TRUE(life.in_controlled_shutdown());
  life.stop();
  std::filesystem::remove_all(dir);
}
