// QuorumController over a real single-voter RaftDriver on a temp dir, with
// the io_context run by the test: bootstrap, broker registration and
// unfencing, CreateTopics (and its errors), DeleteTopics, CreatePartitions,
// session expiry, NoOps, NOT_CONTROLLER, and replay after a restart. (A real
// BrokerLifecycle against this controller: tests/server/broker_lifecycle_test.cc.)
#include <gtest/gtest.h>

#include <asio.hpp>
#include <chrono>
#include <filesystem>

#include "controller/raft_node.h"
#include "metadata/bootstrap.h"
#include "protocol/metadata_record.h"

using namespace flotilla;
using namespace flotilla::protocol;
using namespace flotilla::controller;
using namespace flotilla::controller::testing;

namespace {

using Node = RaftControllerNode;

}  // namespace

TEST(QuorumController, BootstrapsMetadataVersionOnAnEmptyLog) {
  auto dir = temp_dir("bootstrap");
  metadata::write_bootstrap_checkpoint(dir, 20);
  {
    Node n(dir);
    ASSERT_TRUE(run_until(n.io, [&] { return n.loader->image()->metadata_version() != 0; }));
    EXPECT_EQ(n.loader->image()->metadata_version(), 20);
    EXPECT_EQ(n.controller->committed_image()->metadata_version(), 20);
  }
  {
    // Not written twice.
    Node n(dir);
    ASSERT_TRUE(run_until(n.io, [&] { return n.raft->high_watermark() > 0 && n.loader->image()->metadata_version() != 0; }));
    auto before = n.raft->high_watermark();
    ASSERT_TRUE(run_until(n.io, [&] { return n.controller->committed_image()->offset() >= before - 1; }));
    EXPECT_EQ(n.loader->image()->metadata_version(), 20);
  }
  std::filesystem::remove_all(dir);
}

TEST(QuorumController, CreateTopicCommitsThenRestartReplaysTheSameImage) {
  auto dir = temp_dir("create");
  Uuid topic_id;
  {
    Node n(dir);
    n.live_broker(1);
    auto resp = n.create("orders", 3, 1, 7, {{"retention.ms", "60000"}});
    ASSERT_EQ(resp.topics.size(), 1u);
    const auto& t = resp.topics[0];
    EXPECT_EQ(t.error_code, 0) << t.error_message.value_or("");
    EXPECT_EQ(t.name, "orders");
    EXPECT_FALSE(t.topic_id.is_zero());
    EXPECT_EQ(t.num_partitions, 3);
    EXPECT_EQ(t.replication_factor, 1);
    ASSERT_TRUE(t.configs.has_value());
    ASSERT_EQ(t.configs->size(), 1u);
    EXPECT_EQ((*t.configs)[0].name, "retention.ms");
    EXPECT_EQ((*t.configs)[0].value, std::optional<std::string>("60000"));
    topic_id = t.topic_id;
    // Committed before the answer: the controller's committed state has it...
    const auto* ct = n.controller->committed_image()->topic("orders");
    ASSERT_TRUE(ct);
    EXPECT_EQ(ct->id, topic_id);
    EXPECT_EQ(ct->partitions.size(), 3u);
    for (const auto& [idx, p] : ct->partitions) {
      EXPECT_EQ(p.replicas, std::vector<int32_t>{1});
      EXPECT_EQ(p.isr, std::vector<int32_t>{1});
      EXPECT_EQ(p.leader, 1);
      EXPECT_EQ(p.leader_epoch, 0);
      EXPECT_EQ(p.partition_epoch, 0);
    }
    // ...and so does a loader on the same log, once delivered.
    ASSERT_TRUE(run_until(n.io, [&] { return n.loader->image()->topic("orders") != nullptr; }));
    EXPECT_EQ(n.loader->image()->topic_configs("orders").at("retention.ms"), "60000");
    // Defaults: -1 partitions / RF mean num.partitions / default.replication.factor.
    auto d = n.create("defaults", -1, -1);
    EXPECT_EQ(d.topics[0].error_code, 0);
    EXPECT_EQ(d.topics[0].num_partitions, 1);
    EXPECT_EQ(d.topics[0].replication_factor, 1);
  }
  {
    Node n(dir);
    ASSERT_TRUE(run_until(n.io, [&] { return n.loader->image()->topic("orders") != nullptr; }));
    const auto* t = n.loader->image()->topic("orders");
    EXPECT_EQ(t->id, topic_id);
    EXPECT_EQ(t->partitions.size(), 3u);
    EXPECT_TRUE(n.loader->image()->topic("defaults"));
    EXPECT_EQ(n.controller->committed_image()->topics_by_name(), n.loader->image()->topics_by_name());
    // The restarted controller knows the topic exists.
    EXPECT_EQ(n.create("orders", 1, 1).topics[0].error_code, code(ErrorCode::TOPIC_ALREADY_EXISTS));
  }
  std::filesystem::remove_all(dir);
}

TEST(QuorumController, CreateTopicsErrors) {
  auto dir = temp_dir("errors");
  Node n(dir);
  n.live_broker(1);
  auto err = [&](msg::CreateTopicsResponse r) { return r.topics.at(0).error_code; };
  EXPECT_EQ(err(n.create("bad name!", 1, 1)), code(ErrorCode::INVALID_TOPIC_EXCEPTION));
  EXPECT_EQ(err(n.create("", 1, 1)), code(ErrorCode::INVALID_TOPIC_EXCEPTION));
  EXPECT_EQ(err(n.create(".", 1, 1)), code(ErrorCode::INVALID_TOPIC_EXCEPTION));
  EXPECT_EQ(err(n.create("..", 1, 1)), code(ErrorCode::INVALID_TOPIC_EXCEPTION));
  EXPECT_EQ(err(n.create(std::string(250, 'a'), 1, 1)), code(ErrorCode::INVALID_TOPIC_EXCEPTION));
  EXPECT_EQ(err(n.create(std::string(249, 'a'), 1, 1)), 0);
  EXPECT_EQ(err(n.create("x", 1, 2)), code(ErrorCode::INVALID_REPLICATION_FACTOR));
  auto rf = n.create("x", 1, 3);
  EXPECT_NE(rf.topics[0].error_message.value_or("").find("only 1 broker(s) are registered"), std::string::npos);
  EXPECT_EQ(err(n.create("x", 0, 1)), code(ErrorCode::INVALID_PARTITIONS));
  EXPECT_EQ(err(n.create("x", 1, 0)), code(ErrorCode::INVALID_REPLICATION_FACTOR));
  EXPECT_EQ(err(n.create("x", 1, 1, 7, {{"no.such.config", "1"}})), code(ErrorCode::INVALID_CONFIG));
  EXPECT_EQ(err(n.create("x", 1, 1)), 0);
  EXPECT_EQ(err(n.create("x", 1, 1)), code(ErrorCode::TOPIC_ALREADY_EXISTS));
  EXPECT_EQ(err(n.create("x", 1, 1, 7, {}, true)), code(ErrorCode::TOPIC_ALREADY_EXISTS));
  EXPECT_EQ(err(n.create("a.b", 1, 1)), 0);
  EXPECT_EQ(err(n.create("a_b", 1, 1)), code(ErrorCode::INVALID_TOPIC_EXCEPTION));  // collides
  // validate_only: answered like a creation, nothing written.
  auto v = n.create("validated", 2, 1, 7, {}, true);
  EXPECT_EQ(v.topics[0].error_code, 0);
  EXPECT_EQ(v.topics[0].num_partitions, 2);
  EXPECT_FALSE(n.controller->committed_image()->topic("validated"));

  // Duplicates in one request: one INVALID_REQUEST for the name; the other topic is created.
  msg::CreateTopicsRequest req;
  for (const char* name : {"dup", "dup", "fine"}) {
    msg::CreateTopicsRequest::CreatableTopic t;
    t.name = name;
    t.num_partitions = 1;
    t.replication_factor = 1;
    req.topics.push_back(t);
  }
  auto resp = n.call<msg::CreateTopicsResponse>([&](auto done) { n.controller->create_topics(req, 7, done); });
  ASSERT_EQ(resp.topics.size(), 2u);
  EXPECT_EQ(resp.topics[0].name, "dup");
  EXPECT_EQ(resp.topics[0].error_code, code(ErrorCode::INVALID_REQUEST));
  EXPECT_EQ(resp.topics[1].error_code, 0);

  // Manual assignments.
  msg::CreateTopicsRequest manual;
  msg::CreateTopicsRequest::CreatableTopic t;
  t.name = "manual";
  t.num_partitions = -1;
  t.replication_factor = -1;
  msg::CreateTopicsRequest::CreatableReplicaAssignment a;
  a.partition_index = 0;
  a.broker_ids = {1};
  t.assignments.push_back(a);
  manual.topics.push_back(t);
  EXPECT_EQ(n.call<msg::CreateTopicsResponse>([&](auto done) { n.controller->create_topics(manual, 7, done); }).topics[0].error_code, 0);
  manual.topics[0].name = "manual2";
  manual.topics[0].assignments[0].broker_ids = {7};
  EXPECT_EQ(n.call<msg::CreateTopicsResponse>([&](auto done) { n.controller->create_topics(manual, 7, done); }).topics[0].error_code,
            code(ErrorCode::INVALID_REPLICA_ASSIGNMENT));
  manual.topics[0].num_partitions = 1;
  EXPECT_EQ(n.call<msg::CreateTopicsResponse>([&](auto done) { n.controller->create_topics(manual, 7, done); }).topics[0].error_code,
            code(ErrorCode::INVALID_REQUEST));
  std::filesystem::remove_all(dir);
}

TEST(QuorumController, NotControllerWhenNotLeader) {
  auto dir = temp_dir("notleader");
  Node n(dir, {}, /*start_raft=*/false);
  EXPECT_FALSE(n.controller->is_active());
  auto r = n.create("t", 1, 1);
  EXPECT_EQ(r.topics.at(0).error_code, code(ErrorCode::NOT_CONTROLLER));
  EXPECT_EQ(n.register_broker(1).error_code, code(ErrorCode::NOT_CONTROLLER));
  msg::DeleteTopicsRequest d;
  d.topic_names = {"t"};
  auto dr = n.call<msg::DeleteTopicsResponse>([&](auto done) { n.controller->delete_topics(d, 5, done); });
  EXPECT_EQ(dr.responses.at(0).error_code, code(ErrorCode::NOT_CONTROLLER));
  msg::CreatePartitionsRequest cp;
  cp.topics.resize(1);
  cp.topics[0].name = "t";
  cp.topics[0].count = 2;
  auto cr = n.call<msg::CreatePartitionsResponse>([&](auto done) { n.controller->create_partitions(cp, 3, done); });
  EXPECT_EQ(cr.results.at(0).error_code, code(ErrorCode::NOT_CONTROLLER));
  std::filesystem::remove_all(dir);
}

TEST(QuorumController, DeleteTopicsAndCreatePartitions) {
  auto dir = temp_dir("delete");
  Node n(dir);
  n.live_broker(1);
  auto created = n.create("t1", 1, 1);
  ASSERT_EQ(created.topics[0].error_code, 0);
  ASSERT_EQ(n.create("t2", 1, 1).topics[0].error_code, 0);

  msg::CreatePartitionsRequest cp;
  cp.topics.resize(3);
  cp.topics[0].name = "t1";
  cp.topics[0].count = 4;
  cp.topics[1].name = "t2";
  cp.topics[1].count = 1;  // not an increase
  cp.topics[2].name = "missing";
  cp.topics[2].count = 2;
  auto cr = n.call<msg::CreatePartitionsResponse>([&](auto done) { n.controller->create_partitions(cp, 3, done); });
  ASSERT_EQ(cr.results.size(), 3u);
  EXPECT_EQ(cr.results[0].error_code, 0);
  EXPECT_EQ(cr.results[1].error_code, code(ErrorCode::INVALID_PARTITIONS));
  EXPECT_EQ(cr.results[2].error_code, code(ErrorCode::UNKNOWN_TOPIC_OR_PARTITION));
  EXPECT_EQ(n.controller->committed_image()->topic("t1")->partitions.size(), 4u);

  // v5: by name; v6: by id.
  msg::DeleteTopicsRequest d;
  d.topic_names = {"t1", "nope"};
  auto dr = n.call<msg::DeleteTopicsResponse>([&](auto done) { n.controller->delete_topics(d, 5, done); });
  ASSERT_EQ(dr.responses.size(), 2u);
  EXPECT_EQ(dr.responses[0].error_code, 0);
  EXPECT_EQ(dr.responses[0].topic_id, created.topics[0].topic_id);
  EXPECT_EQ(dr.responses[1].error_code, code(ErrorCode::UNKNOWN_TOPIC_OR_PARTITION));
  EXPECT_FALSE(n.controller->committed_image()->topic("t1"));

  msg::DeleteTopicsRequest d6;
  d6.topics.resize(2);
  d6.topics[0].topic_id = n.controller->committed_image()->topic("t2")->id;
  d6.topics[1].topic_id = Uuid::random();
  auto dr6 = n.call<msg::DeleteTopicsResponse>([&](auto done) { n.controller->delete_topics(d6, 6, done); });
  ASSERT_EQ(dr6.responses.size(), 2u);
  EXPECT_EQ(dr6.responses[0].error_code, 0);
  EXPECT_EQ(dr6.responses[0].name, std::optional<std::string>("t2"));
  EXPECT_EQ(dr6.responses[1].error_code, code(ErrorCode::UNKNOWN_TOPIC_ID));
  ASSERT_TRUE(run_until(n.io, [&] { return n.loader->image()->topics_by_name().empty(); }));
  // The name can be used again.
  EXPECT_EQ(n.create("t1", 1, 1).topics[0].error_code, 0);
  std::filesystem::remove_all(dir);
}

TEST(QuorumController, BrokerRegistrationHeartbeatsAndFencing) {
  auto dir = temp_dir("fencing");
  ControllerConfig cc;
  cc.broker_session_timeout_ms = 800;
  Node n(dir, cc);
  // A heartbeat from an unknown broker.
  EXPECT_EQ(n.heartbeat(9, 1, 0).error_code, code(ErrorCode::BROKER_ID_NOT_REGISTERED));
  auto r1 = n.register_broker(1);
  ASSERT_EQ(r1.error_code, 0);
  EXPECT_GT(r1.broker_epoch, 0);
  EXPECT_TRUE(n.controller->committed_image()->broker(1)->fenced);
  // Not caught up yet: stays fenced.
  auto h0 = n.heartbeat(1, r1.broker_epoch, r1.broker_epoch - 1);
  EXPECT_EQ(h0.error_code, 0);
  EXPECT_TRUE(h0.is_fenced);
  EXPECT_FALSE(h0.is_caught_up);
  EXPECT_EQ(n.heartbeat(1, r1.broker_epoch + 100, r1.broker_epoch).error_code, code(ErrorCode::STALE_BROKER_EPOCH));
  auto h1 = n.heartbeat(1, r1.broker_epoch, r1.broker_epoch);
  EXPECT_FALSE(h1.is_fenced);
  EXPECT_TRUE(h1.is_caught_up);
  EXPECT_FALSE(n.controller->committed_image()->broker(1)->fenced);
  // Another incarnation of a live broker is refused.
  EXPECT_EQ(n.register_broker(1).error_code, code(ErrorCode::DUPLICATE_BROKER_REGISTRATION));
  // Wrong cluster id.
  msg::BrokerRegistrationRequest wrong;
  wrong.broker_id = 5;
  wrong.cluster_id = "other";
  EXPECT_EQ(n.call<msg::BrokerRegistrationResponse>([&](auto done) { n.controller->register_broker(wrong, 4, done); }).error_code,
            code(ErrorCode::INCONSISTENT_CLUSTER_ID));

  auto e2 = n.live_broker(2);
  auto t = n.create("replicated", 4, 2);
  ASSERT_EQ(t.topics[0].error_code, 0);
  int led_by_2 = 0;
  for (const auto& [idx, p] : n.controller->committed_image()->topic("replicated")->partitions) {
    EXPECT_EQ(p.replicas.size(), 2u);
    EXPECT_EQ(p.isr.size(), 2u);
    led_by_2 += p.leader == 2;
  }
  EXPECT_GT(led_by_2, 0);  // round-robin placement spreads leadership

  // Broker 2 stops heartbeating; broker 1 keeps its session alive.
  auto last_hb = std::chrono::steady_clock::now();
  ASSERT_TRUE(run_until(
      n.io,
      [&] {
        if (std::chrono::steady_clock::now() - last_hb > std::chrono::milliseconds(50)) {
          last_hb = std::chrono::steady_clock::now();
          msg::BrokerHeartbeatRequest h;
          h.broker_id = 1;
          h.broker_epoch = r1.broker_epoch;
          h.current_metadata_offset = n.raft->high_watermark();
          n.controller->broker_heartbeat(h, 1, [](msg::BrokerHeartbeatResponse) {});
        }
        const auto* b2 = n.controller->committed_image()->broker(2);
        return b2 && b2->fenced;
      },
      5000));
  EXPECT_FALSE(n.controller->committed_image()->broker(1)->fenced);
  for (const auto& [idx, p] : n.controller->committed_image()->topic("replicated")->partitions) {
    EXPECT_EQ(p.leader, 1) << "partition " << idx;
    EXPECT_EQ(p.isr, std::vector<int32_t>{1});
  }
  // Broker 2 comes back: re-registers, catches up, is unfenced.
  auto r2 = n.register_broker(2);
  ASSERT_EQ(r2.error_code, 0);
  EXPECT_GT(r2.broker_epoch, e2);
  EXPECT_FALSE(n.heartbeat(2, r2.broker_epoch, n.raft->high_watermark()).is_fenced);
  // Controlled shutdown of broker 1: it leads every partition, so first the
  // leaderships go (to nobody: 2 is not in sync), then, once its metadata has
  // reached those records, it is fenced and may shut down.
  auto sd = n.heartbeat(1, r1.broker_epoch, n.raft->high_watermark() - 1, false, true);
  EXPECT_FALSE(sd.should_shut_down);
  EXPECT_FALSE(sd.is_fenced);
  EXPECT_TRUE(n.controller->committed_image()->broker(1)->in_controlled_shutdown);
  for (const auto& [idx, p] : n.controller->committed_image()->topic("replicated")->partitions) {
    // ISR was {1}: kept, without a leader.
    EXPECT_EQ(p.leader, -1);
    EXPECT_EQ(p.isr, std::vector<int32_t>{1});
  }
  sd = n.heartbeat(1, r1.broker_epoch, n.raft->high_watermark() - 1, false, true);
  EXPECT_TRUE(sd.should_shut_down);
  EXPECT_TRUE(n.controller->committed_image()->broker(1)->fenced);
  std::filesystem::remove_all(dir);
}

TEST(QuorumController, WritesNoOpRecordsWhenIdle) {
  auto dir = temp_dir("noop");
  ControllerConfig cc;
  cc.metadata_max_idle_interval_ms = 20;
  Node n(dir, cc);
  int64_t start = n.raft->high_watermark();
  ASSERT_TRUE(run_until(n.io, [&] { return n.raft->high_watermark() >= start + 3; }, 3000));
}
