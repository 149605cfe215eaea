// The controller's, Raft's and the snapshots' series of /metrics
// (http/metrics_controller.cc), rendered from a fake node's image and Raft
// status: the names Kafka's JMX exporter rules give them, the counts of the
// image, and which series each role gets.
#include <gtest/gtest.h>

#include <string>

#include "common/metrics.h"
#include "controller/controller_metrics.h"
#include "http/metrics_collectors.h"
#include "metadata/delta.h"
#include "protocol/metadata_record.h"

namespace flotilla::http {
// Named, not anonymous: the http tests are compiled in one unity batch.
namespace quorum_metrics_test {

using protocol::frame_metadata_record;

class FakeNode : public NodeView {
 public:
  bool controller = true, broker = false;
  std::shared_ptr<const metadata::MetadataImage> img;
  RaftStatus raft;
  std::string id = "cluster";
  int32_t node_id() const override { return 1; }
  const std::string& cluster_id() const override { return id; }
  bool broker_role() const override { return broker; }
  bool controller_role() const override { return controller; }
  std::string metadata_log_dir() const override { return {}; }
  std::string metadata_partition_dir() const override { return {}; }
  int64_t start_time_ms() const override { return 0; }
  std::shared_ptr<const metadata::MetadataImage> image() const override { return img; }
  RaftStatus raft_status() const override { return raft; }
  const security::StandardAuthorizer* authorizer() const override { return nullptr; }
  KafkaReply kafka_call(int16_t, int16_t, std::vector<uint8_t>, std::shared_ptr<const security::Session>, std::chrono::milliseconds,
                        int32_t) override {
    return {};
  }
};

msg::RegisterBrokerRecord broker(int32_t id, bool fenced) {
  msg::RegisterBrokerRecord r;
  r.broker_id = id;
  r.broker_epoch = id;
  r.fenced = fenced;
  return r;
}

msg::PartitionRecord partition(Uuid topic, int32_t index, std::vector<int32_t> replicas, int32_t leader) {
  msg::PartitionRecord r;
  r.topic_id = topic;
  r.partition_id = index;
  r.replicas = replicas;
  r.isr = replicas;
  r.leader = leader;
  return r;
}

// Brokers 1, 2 (unfenced) and 3 (fenced); topic a: partition 0 led by its
// first replica, 1 led by its second (imbalanced), 2 leaderless (offline,
// imbalanced); topic b: one balanced partition.
std::shared_ptr<const metadata::MetadataImage> image() {
  metadata::MetadataDelta d(std::make_shared<const metadata::MetadataImage>());
  d.replay_value(frame_metadata_record(broker(1, false), 0));
  d.replay_value(frame_metadata_record(broker(2, false), 0));
  d.replay_value(frame_metadata_record(broker(3, true), 0));
  const Uuid a = Uuid::random(), b = Uuid::random();
  msg::TopicRecord ta;
  ta.name = "a";
  ta.topic_id = a;
  msg::TopicRecord tb;
  tb.name = "b";
  tb.topic_id = b;
  d.replay_value(frame_metadata_record(ta, 0));
  d.replay_value(frame_metadata_record(tb, 0));
  d.replay_value(frame_metadata_record(partition(a, 0, {1, 2}, 1), 0));
  d.replay_value(frame_metadata_record(partition(a, 1, {1, 2}, 2), 0));
  d.replay_value(frame_metadata_record(partition(a, 2, {3}, -1), 0));
  d.replay_value(frame_metadata_record(partition(b, 0, {2, 1}, 2), 0));
  d.set_offset(41, 1);
  return d.apply();
}

// The value of the sample line `series` (name and labels as printed), or "" if absent.
std::string sample(const std::string& text, const std::string& series) {
  size_t pos = 0;
  while ((pos = text.find(series + " ", pos)) != std::string::npos) {
    if (pos == 0 || text[pos - 1] == '\n') {
      size_t start = pos + series.size() + 1;
      return text.substr(start, text.find('\n', start) - start);
    }
    pos += series.size();
  }
  return "";
}

std::string render(FakeNode& node) {
  metrics::Registry registry;
  add_controller_collectors(registry, node, HttpOptions{});
  std::string out;
  registry.render(out);
  return out;
}

TEST(ControllerMetrics, CountsFromTheImageOnAController) {
  FakeNode node;
  node.img = image();
  node.raft.state = "leader";
  node.raft.leader_id = 1;
  node.raft.epoch = 7;
  node.raft.voted_id = 1;
  node.raft.high_watermark = 42;
  node.raft.log_end_offset = 45;
  controller::controller_metrics().active.store(1);
  std::string text = render(node);
  EXPECT_NE(text.find("# TYPE kafka_controller_kafkacontroller_activecontrollercount gauge\n"), std::string::npos) << text;
  EXPECT_EQ(sample(text, "kafka_controller_kafkacontroller_activecontrollercount"), "1");
  EXPECT_EQ(sample(text, "kafka_controller_kafkacontroller_fencedbrokercount"), "1");
  EXPECT_EQ(sample(text, "kafka_controller_kafkacontroller_activebrokercount"), "2");
  EXPECT_EQ(sample(text, "kafka_controller_kafkacontroller_globaltopiccount"), "2");
  EXPECT_EQ(sample(text, "kafka_controller_kafkacontroller_globalpartitioncount"), "4");
  EXPECT_EQ(sample(text, "kafka_controller_kafkacontroller_offlinepartitionscount"), "1");
  EXPECT_EQ(sample(text, "kafka_controller_kafkacontroller_preferredreplicaimbalancecount"), "2");
  EXPECT_EQ(sample(text, "kafka_controller_kafkacontroller_lastcommittedrecordoffset"), "41");
  EXPECT_EQ(sample(text, "kafka_controller_kafkacontroller_lastappliedrecordlagms"), "0");  // the active one
  EXPECT_EQ(sample(text, "kafka_server_raftmetrics_current_leader"), "1");
  EXPECT_EQ(sample(text, "kafka_server_raftmetrics_current_epoch"), "7");
  EXPECT_EQ(sample(text, "kafka_server_raftmetrics_current_vote"), "1");
  EXPECT_EQ(sample(text, "kafka_server_raftmetrics_current_state{current_state=\"leader\"}"), "1");
  EXPECT_EQ(sample(text, "kafka_server_raftmetrics_high_watermark"), "42");
  EXPECT_EQ(sample(text, "kafka_server_raftmetrics_log_end_offset"), "45");
  EXPECT_NE(sample(text, "kafka_server_raftmetrics_commit_latency_avg"), "");
  EXPECT_NE(sample(text, "kafka_server_snapshotemitter_latestsnapshotgeneratedagems"), "");
  EXPECT_NE(sample(text, "kafka_server_metadataloader_currentmetadataversion"), "");
  EXPECT_EQ(sample(text, "kafka_server_brokermetadatametrics_last_applied_record_offset"), "");  // not a broker
  controller::controller_metrics().active.store(0);
  EXPECT_EQ(sample(render(node), "kafka_controller_kafkacontroller_activecontrollercount"), "0");
}

TEST(ControllerMetrics, ABrokerHasRaftButNoControllerSeries) {
  FakeNode node;
  node.controller = false;
  node.broker = true;
  node.img = image();
  node.raft.state = "observer";
  std::string text = render(node);
  EXPECT_EQ(text.find("kafka_controller_kafkacontroller_"), std::string::npos) << text;
  EXPECT_EQ(sample(text, "kafka_server_raftmetrics_current_state{current_state=\"observer\"}"), "1");
  EXPECT_NE(sample(text, "kafka_server_brokermetadatametrics_last_applied_record_offset"), "");
}

}  // namespace quorum_metrics_test
}  // namespace flotilla::http
