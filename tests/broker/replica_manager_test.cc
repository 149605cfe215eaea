// ReplicaManager's replication rules without a network: the leader's high
// watermark over the ISR, the purgatory, a follower's appends, truncation and
// leader epochs.
#include "broker/replica_manager.h"

#include "storage/checkpoints.h"

#include <gtest/gtest.h>

#include <map>
#include <thread>

#include <algorithm>
#include <filesystem>
#include <fstream>

#include "broker/broker_metrics.h"

#include "common/clock.h"
#include "metadata/delta.h"
#include "metadata/test_records.h"

using namespace flotilla;
using namespace flotilla::broker;
namespace fs = std::filesystem;

namespace {

const Uuid kTopic = *Uuid::parse("AAAAAAAAAAAAAAAAAAAAAA");

msg::RegisterBrokerRecord registration(int32_t id) {
  msg::RegisterBrokerRecord r;
  r.broker_id = id;
  r.broker_epoch = 10 + id;
  r.incarnation_id = Uuid::random();
  msg::RegisterBrokerRecord::BrokerEndpoint e;
  e.name = "PLAINTEXT";
  e.host = "127.0.0.1";
  e.port = 1;  // never connected to: the io_context is not run
  r.end_points.push_back(e);
  r.fenced = false;
  return r;
}

}  // namespace

// Named and outside the anonymous namespace: the unity build puts the TEST_F
// classes (external linkage) of several files in one translation unit.
struct ReplicaManagerFixture : ::testing::Test {
  fs::path dir = fs::temp_directory_path() / ("rm-test-" + std::to_string(::getpid()) + "-" + std::to_string(rand()));
  asio::io_context io;
  std::unique_ptr<storage::LogManager> logs;
  std::unique_ptr<ReplicaManager> rm;
  std::shared_ptr<const metadata::MetadataImage> image = std::make_shared<metadata::MetadataImage>();

  void SetUp() override {
    fs::create_directories(dir);
    BrokerConfig c;
    c.node_id = 1;
    c.log_dirs = {dir.string()};
    logs = std::make_unique<storage::LogManager>(c.log_dirs, storage::LogConfig{});
    rm = std::make_unique<ReplicaManager>(io, c, *logs);
  }
  void TearDown() override {
    rm->shutdown();
    rm.reset();
    logs.reset();
    fs::remove_all(dir);
  }
  // The partition t-0 with `replicas`, led by `leader` (epoch bumps on a change).
  void publish(std::vector<int32_t> replicas, int32_t leader, std::vector<int32_t> isr, bool first) {
    metadata::MetadataDelta d(image);
    if (first) {
      for (int32_t id : {1, 2, 3}) d.replay(registration(id));
      msg::TopicRecord t;
      t.name = "t";
      t.topic_id = kTopic;
      d.replay(t);
      msg::PartitionRecord p;
      p.topic_id = kTopic;
      p.partition_id = 0;
      p.replicas = replicas;
      p.isr = isr;
      p.leader = leader;
      p.leader_epoch = 0;
      p.partition_epoch = 0;
      d.replay(p);
    } else {
      msg::PartitionChangeRecord c;
      c.topic_id = kTopic;
      c.partition_id = 0;
      c.isr = isr;
      if (leader != rm->find("t", 0)->leader_id) c.leader = leader;
      d.replay(c);
    }
    image = d.apply();
    rm->publish(d, image);
  }
  // A config record (BROKER or TOPIC resource) through the image, as the controller writes it.
  void set_config(metadata::ConfigResourceType type, const std::string& resource, const std::string& name, const std::string& value) {
    metadata::MetadataDelta d(image);
    msg::ConfigRecord c;
    c.resource_type = static_cast<int8_t>(type);
    c.resource_name = resource;
    c.name = name;
    c.value = value;
    d.replay(c);
    image = d.apply();
    rm->publish(d, image);
  }
  void append(int n) {
    Partition* p = rm->find("t", 0);
    records::BatchBuilder b;
    for (int i = 0; i < n; ++i) {
      std::string v = "v" + std::to_string(i);
      b.add(1000 + i, std::nullopt, std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(v.data()), v.size()));
    }
    auto bytes = b.build();
    ASSERT_EQ(rm->append(*p, bytes).error, ErrorCode::NONE);
  }
};


TEST_F(ReplicaManagerFixture, LeaderHighWatermarkIsTheSmallestLogEndOffsetInTheIsr) {
  publish({1, 2, 3}, 1, {1, 2, 3}, true);
  Partition* p = rm->find("t", 0);
  ASSERT_TRUE(p && p->is_leader(1));
  EXPECT_EQ(p->epochs->latest_epoch(), 0);
  append(3);
  EXPECT_EQ(p->high_watermark(), 0);  // followers not heard from yet
  rm->on_follower_fetch(*p, 2, 12, 3);
  EXPECT_EQ(p->high_watermark(), 0);
  rm->on_follower_fetch(*p, 3, 13, 2);
  EXPECT_EQ(p->high_watermark(), 2);
  rm->on_follower_fetch(*p, 3, 13, 3);
  EXPECT_EQ(p->high_watermark(), 3);
  // A fetch offset past the leader's end does not count beyond it.
  rm->on_follower_fetch(*p, 2, 12, 99);
  EXPECT_EQ(p->followers[2].log_end_offset, 3);
}

TEST_F(ReplicaManagerFixture, ShrunkIsrLetsTheHighWatermarkMoveAndWakesTheWaiter) {
  publish({1, 2, 3}, 1, {1, 2, 3}, true);
  Partition* p = rm->find("t", 0);
  append(5);
  rm->on_follower_fetch(*p, 2, 12, 5);
  bool completed = false, expired = false;
  rm->delay(INT64_MAX / 2, {ReplicaManager::key("t", 0)}, [&] { return completed = rm->find("t", 0)->high_watermark() >= 5; },
            [&] { expired = true; });
  EXPECT_FALSE(completed);
  publish({1, 2, 3}, 1, {1, 2}, false);  // the controller took 3 out of the ISR
  EXPECT_TRUE(completed);
  EXPECT_FALSE(expired);
  EXPECT_EQ(p->high_watermark(), 5);
}

// Kafka >= 3.7 (KAFKA-15583): under min ISR the high watermark stands
// still, so an acks=all write appended before the shrink waits for the ISR to
// grow back instead of being answered NOT_ENOUGH_REPLICAS_AFTER_APPEND at
// once (chaos seed 2501). The cap is the replication factor.
TEST_F(ReplicaManagerFixture, UnderMinIsrTheHighWatermarkWaitsForTheIsrToGrowBack) {
  publish({1, 2, 3}, 1, {1, 2, 3}, true);
  set_config(metadata::ConfigResourceType::TOPIC, "t", "min.insync.replicas", "2");
  Partition* p = rm->find("t", 0);
  ASSERT_EQ(p->effective_min_isr(), 2);
  append(5);
  rm->on_follower_fetch(*p, 2, 12, 5);  // 2 has everything; 3 nothing
  bool completed = false;
  rm->delay(INT64_MAX / 2, {ReplicaManager::key("t", 0)}, [&] { return completed = rm->find("t", 0)->high_watermark() >= 5; },
            [] {});
  publish({1, 2, 3}, 1, {1}, false);  // the controller took 2 and 3 out: under min ISR
  EXPECT_TRUE(p->under_min_isr());
  EXPECT_LT(p->high_watermark(), 5);
  EXPECT_FALSE(completed);
  publish({1, 2, 3}, 1, {1, 2}, false);  // 2 is back: the high watermark moves to what 1 and 2 have
  EXPECT_FALSE(p->under_min_isr());
  EXPECT_EQ(p->high_watermark(), 5);
  EXPECT_TRUE(completed);
  // min.insync.replicas above the replication factor is capped by it.
  p->min_insync_replicas = 5;
  EXPECT_EQ(p->effective_min_isr(), 3);
}

TEST_F(ReplicaManagerFixture, LosingLeadershipWakesWaitersAndFollowerAppendsKeepEpochs) {
  publish({1, 2, 3}, 1, {1, 2, 3}, true);
  append(2);
  int wakes = 0;
  rm->delay(INT64_MAX / 2, {ReplicaManager::key("t", 0)}, [&] {
    ++wakes;
    return !rm->find("t", 0)->is_leader(1);
  }, [] {});
  publish({1, 2, 3}, 2, {2, 3}, false);  // broker 2 leads at epoch 1
  Partition* p = rm->find("t", 0);
  EXPECT_FALSE(p->is_leader(1));
  EXPECT_EQ(p->leader_epoch, 1);
  EXPECT_GE(wakes, 1);
  // The leader's log diverged after offset 1: truncate, then take its batches.
  rm->truncate_to(*p, 1);
  EXPECT_EQ(p->log->log_end_offset(), 0);  // batch boundaries: the 2-record batch went whole
  records::BatchBuilder b(records::Compression::NONE, 0);
  b.set_partition_leader_epoch(1);
  std::string v = "x";
  b.add(5, std::nullopt, std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(v.data()), v.size()));
  b.add(6, std::nullopt, std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(v.data()), v.size()));
  auto bytes = b.build();
  rm->append_as_follower(*p, bytes, /*leader_hw=*/10, /*leader_log_start=*/0);
  EXPECT_EQ(p->log->log_end_offset(), 2);
  EXPECT_EQ(p->high_watermark(), 2);  // capped at its own log end
  EXPECT_EQ(p->epochs->latest_epoch(), 1);
  EXPECT_EQ(rm->end_offset_for_epoch(*p, 1), std::make_pair(1, int64_t{2}));
}

TEST_F(ReplicaManagerFixture, DeleteRecordsWaitsForTheInSyncFollowersLogStart) {
  publish({1, 2}, 1, {1, 2}, true);
  Partition* p = rm->find("t", 0);
  append(4);
  rm->on_follower_fetch(*p, 2, 12, 4, 0);
  EXPECT_EQ(p->high_watermark(), 4);
  rm->delete_records_before(*p, 3);
  EXPECT_EQ(p->log->log_start_offset(), 3);
  EXPECT_EQ(rm->low_watermark(*p), 0);
  rm->on_follower_fetch(*p, 2, 12, 4, 3);
  EXPECT_EQ(rm->low_watermark(*p), 3);
}

TEST_F(ReplicaManagerFixture, DynamicBrokerDefaultsApplyUnderTopicOverrides) {
  publish({1, 2, 3}, 1, {1, 2, 3}, true);
  EXPECT_EQ(rm->find("t", 0)->min_insync_replicas, 1);
  set_config(metadata::ConfigResourceType::BROKER, "", "min.insync.replicas", "2");
  EXPECT_EQ(rm->find("t", 0)->min_insync_replicas, 2);
  set_config(metadata::ConfigResourceType::BROKER, "1", "log.retention.ms", "1234");
  EXPECT_EQ(rm->find("t", 0)->log->config().retention_ms, 1234);
  set_config(metadata::ConfigResourceType::TOPIC, "t", "min.insync.replicas", "3");
  EXPECT_EQ(rm->find("t", 0)->min_insync_replicas, 3);
}

// KIP-467: a compacted topic refuses a batch with keyless records whole,
// naming each of them by its index in the batch.
TEST_F(ReplicaManagerFixture, CompactedTopicRefusesKeylessRecordsWithRecordErrors) {
  publish({1}, 1, {1}, true);
  set_config(metadata::ConfigResourceType::TOPIC, "t", "cleanup.policy", "compact");
  Partition* p = rm->find("t", 0);
  ASSERT_TRUE(p->log->config().cleanup_compact);
  std::string k = "k", v = "v";
  auto s = [](const std::string& x) { return std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(x.data()), x.size()); };
  records::BatchBuilder b;
  b.add(1000, s(k), s(v));
  b.add(1001, std::nullopt, s(v));
  b.add(1002, s(k), s(v));
  b.add(1003, std::nullopt, s(v));
  auto bytes = b.build();
  AppendResult r = rm->append(*p, bytes);
  EXPECT_EQ(r.error, ErrorCode::INVALID_RECORD);
  const std::string why = "Compacted topic cannot accept message without key in topic partition t-0.";
  EXPECT_EQ(r.record_errors, (std::vector<RecordError>{{1, why}, {3, why}}));
  EXPECT_EQ(r.message, "One or more records have been rejected due to 2 record errors in total, and only showing the first three errors at most: "
                       "[RecordError(batchIndex=1, message='" + why + "'), RecordError(batchIndex=3, message='" + why + "')]");
  EXPECT_EQ(p->log->log_end_offset(), 0);  // nothing of the batch was appended
  records::BatchBuilder keyed;
  keyed.add(1004, s(k), s(v));
  auto ok = keyed.build();
  EXPECT_EQ(rm->append(*p, ok).error, ErrorCode::NONE);
  EXPECT_EQ(p->log->log_end_offset(), 1);
}

TEST(RecordErrors, MessageShowsAtMostThree) {
  std::vector<RecordError> e{{0, "a"}, {1, "b"}, {2, "c"}, {5, "d"}};
  EXPECT_EQ(record_errors_message(e), "One or more records have been rejected due to 4 record errors in total, and only showing the first three "
                                       "errors at most: [RecordError(batchIndex=0, message='a'), RecordError(batchIndex=1, message='b'), "
                                       "RecordError(batchIndex=2, message='c')]");
}

// message.timestamp.type=LogAppendTime: the batch gets the broker's clock.
TEST_F(ReplicaManagerFixture, LogAppendTimeTopicStampsTheBatch) {
  publish({1}, 1, {1}, true);
  set_config(metadata::ConfigResourceType::TOPIC, "t", "message.timestamp.type", "LogAppendTime");
  Partition* p = rm->find("t", 0);
  std::string v = "v";
  records::BatchBuilder b;
  b.add(1000, std::nullopt, std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(v.data()), v.size()));
  auto bytes = b.build();
  const int64_t before = wall_clock_ms();
  AppendResult r = rm->append(*p, bytes);
  const int64_t after = wall_clock_ms();
  ASSERT_EQ(r.error, ErrorCode::NONE);
  EXPECT_GE(r.log_append_time, before);
  EXPECT_LE(r.log_append_time, after);
  records::BatchHeader h;
  ASSERT_TRUE(records::parse_header(bytes, h));
  EXPECT_TRUE(h.log_append_time());
  EXPECT_EQ(h.max_timestamp, r.log_append_time);
  EXPECT_EQ(records::validate_batches(bytes, 1 << 20).error, ErrorCode::NONE);  // the CRC was recomputed
}

// apply_image visits what a delta changed: a deleted topic's logs go at once,
// a name re-created under a new id gets a fresh log, a replica moved away is
// dropped, and the partitions the delta did not touch keep their state.
TEST_F(ReplicaManagerFixture, DeltasDropDeletedTopicsAndReplicasMovedAway) {
  publish({1, 2, 3}, 1, {1, 2, 3}, true);
  append(2);
  auto add_topic = [&](const std::string& name, const Uuid& id, int n, std::vector<int32_t> replicas) {
    metadata::MetadataDelta d(image);
    d.replay(metadata::testing::topic_record(name, id));
    for (int i = 0; i < n; ++i) d.replay(metadata::testing::partition_record(id, i, replicas));
    image = d.apply();
    rm->publish(d, image);
  };
  const Uuid u1 = Uuid::random();
  add_topic("u", u1, 3, {1});
  ASSERT_TRUE(rm->find("u", 2));
  rm->find("u", 2)->hw = 7;  // state a re-visit would not reset, but a new log would

  // u-1 moves to broker 2: dropped here; u-0 and u-2 stay as they were.
  {
    metadata::MetadataDelta d(image);
    msg::PartitionChangeRecord c;
    c.topic_id = u1;
    c.partition_id = 1;
    c.replicas = std::vector<int32_t>{2};
    c.isr = std::vector<int32_t>{2};
    c.leader = 2;
    d.replay(c);
    image = d.apply();
    rm->publish(d, image);
  }
  EXPECT_EQ(rm->find("u", 1), nullptr);
  EXPECT_FALSE(fs::exists(dir / "u-1"));
  ASSERT_TRUE(rm->find("u", 2));
  EXPECT_EQ(rm->find("u", 2)->hw, 7);
  EXPECT_EQ(rm->find("t", 0)->log->log_end_offset(), 2);

  // u deleted and re-created under a new id in one delta: fresh, empty logs.
  {
    metadata::MetadataDelta d(image);
    msg::RemoveTopicRecord r;
    r.topic_id = u1;
    d.replay(r);
    image = d.apply();
    rm->publish(d, image);
  }
  EXPECT_EQ(rm->find("u", 0), nullptr);
  EXPECT_EQ(rm->find("u", 2), nullptr);
  const Uuid u2 = Uuid::random();
  add_topic("u", u2, 2, {1});
  ASSERT_TRUE(rm->find("u", 0));
  EXPECT_EQ(rm->find("u", 0)->topic_id, u2);
  EXPECT_EQ(rm->find(u2, 1), rm->find("u", 1));
  EXPECT_EQ(rm->find(u1, 0), nullptr);
  EXPECT_EQ(rm->find("u", 2), nullptr);
  EXPECT_TRUE(rm->find("t", 0));  // untouched throughout
}

// While its LogManager still opens the logs (a broker's start-up), the
// replica manager only queues what images change; logs_opened() removes the
// logs of topics deleted meanwhile and applies the rest.
TEST_F(ReplicaManagerFixture, ImagesPublishedWhileTheLogsOpenAreAppliedOnceTheyAre) {
  const Uuid gone = Uuid::random(), kept = Uuid::random();
  {
    // The previous run's logs: one of each topic.
    logs->get_or_create("gone", 0, gone, storage::LogConfig{});
    logs->get_or_create("kept", 0, kept, storage::LogConfig{});
  }
  rm->set_logs_opening();
  auto delta = [&](auto&& fill) {
    metadata::MetadataDelta d(image);
    fill(d);
    image = d.apply();
    rm->publish(d, image);
  };
  delta([&](metadata::MetadataDelta& d) {
    d.replay(registration(1));
    d.replay(metadata::testing::topic_record("gone", gone));
    d.replay(metadata::testing::partition_record(gone, 0, {1}));
    d.replay(metadata::testing::topic_record("kept", kept));
    d.replay(metadata::testing::partition_record(kept, 0, {1}));
  });
  EXPECT_EQ(rm->find("kept", 0), nullptr) << "nothing applied while the logs open";
  delta([&](metadata::MetadataDelta& d) {
    msg::RemoveTopicRecord r;
    r.topic_id = gone;
    d.replay(r);
  });
  EXPECT_EQ(rm->find("gone", 0), nullptr);
  EXPECT_TRUE(fs::exists(dir / "gone-0")) << "its log is not open yet";
  rm->logs_opened();
  ASSERT_NE(rm->find("kept", 0), nullptr);
  EXPECT_EQ(rm->find("kept", 0)->leader_id, 1);
  EXPECT_EQ(logs->get("gone", 0), nullptr);
  EXPECT_FALSE(fs::exists(dir / "gone-0")) << "the deleted topic's log is removed as its deletion would have";
  EXPECT_NE(logs->get("kept", 0), nullptr);
}

// Thousands of new partitions are created in slices of the event loop; the
// image's waiters run once every one exists.
TEST_F(ReplicaManagerFixture, ManyNewPartitionsAreCreatedInSlicesAndWaitersRunAtTheEnd) {
  publish({1, 2, 3}, 1, {1, 2, 3}, true);
  metadata::MetadataDelta d(image);
  const Uuid many = Uuid::random();
  d.replay(metadata::testing::topic_record("many", many));
  constexpr int kN = 3000;
  for (int i = 0; i < kN; ++i) d.replay(metadata::testing::partition_record(many, i, {1}));
  d.set_offset(image->offset() + 100, 1);
  image = d.apply();
  bool reached = false;
  rm->when_image_reaches(image->offset(), [&] { reached = true; });
  rm->publish(d, image);
  // One slice (20 ms) cannot create 3,000 logs (directories and files each).
  EXPECT_FALSE(reached);
  EXPECT_FALSE(rm->find("many", kN - 1));
  io.restart();
  for (int turns = 0; turns < 100000 && !reached; ++turns) io.run_one_for(std::chrono::milliseconds(100));
  ASSERT_TRUE(reached);
  for (int i = 0; i < kN; ++i) ASSERT_TRUE(rm->find("many", i)) << i;
}

// An election's leader-epoch-checkpoint is written off the event loop
// (a start-up elects 100,000 leaders at once), but always before a batch of
// the new epoch reaches the log: a crash then never leaves a batch whose
// epoch the file lacks.
TEST_F(ReplicaManagerFixture, AnElectionsEpochFileIsWrittenBeforeTheFirstBatchOfItsEpoch) {
  publish({1, 2, 3}, 1, {1, 2, 3}, true);
  Partition* p = rm->find("t", 0);
  ASSERT_TRUE(p->is_leader(1));
  const int32_t epoch = p->leader_epoch;
  // The writer busy with other files: the election's write is still queued at
  // the append unless the append writes it first.
  fs::create_directories(dir / "busy");
  for (int i = 0; i < 5000; ++i) rm->epoch_file_writer().put((dir / "busy" / std::to_string(i)).string(), {"x", -1});
  p->epochs->assign_deferred(epoch + 1, p->log->log_end_offset(), &rm->epoch_file_writer());
  p->leader_epoch = epoch + 1;
  append(1);
  std::ifstream in(dir / "t-0" / "leader-epoch-checkpoint");
  std::string text((std::istreambuf_iterator<char>(in)), {});
  // Both epochs start at offset 0 (no batch of the first): the newer one alone.
  EXPECT_EQ(text, "0\n1\n" + std::to_string(epoch + 1) + " 0\n");
}

// The metrics snapshot: the loop only lists the partitions (a kept listing);
// an HTTP thread reads their gauges, which say what the partitions and logs
// say, and outlive a partition deleted after the listing.
TEST_F(ReplicaManagerFixture, TheMetricsSnapshotIsReadOffTheLoopFromGaugesThatOutliveDeletedPartitions) {
  publish({1, 2, 3}, 1, {1, 2, 3}, true);
  const Uuid other = *Uuid::parse("BBBBBBBBBBBBBBBBBBBBBB");
  {
    namespace mt = metadata::testing;
    metadata::MetadataDelta d(image);
    for (int32_t i = 1; i < 4; ++i) d.replay(mt::partition_record(kTopic, i, {1}));
    d.replay(mt::topic_record("a", other));
    for (int32_t i = 0; i < 3; ++i) d.replay(mt::partition_record(other, i, {1}));
    image = d.apply();
    rm->publish(d, image);
  }
  // The logs are created in time-bounded slices of the loop (a loaded machine may need several).
  for (int turns = 0; turns < 5000 && !(rm->find("a", 2) && rm->find("t", 3)); ++turns) io.run_one_for(std::chrono::milliseconds(1));
  ASSERT_EQ(rm->partition_keys()->keys.size(), 7u);
  const auto listed = rm->partition_keys();
  EXPECT_EQ(rm->partition_keys(), listed) << "kept while the set of partitions stays (a scrape copies no keys)";
  append(3);
  BrokerSnapshotTaker taker(*rm, nullptr);
  taker.list();
  // What the loop's own structures say, for comparison.
  std::map<std::string, PartitionStat> truth;
  for (const char* t : {"t", "a"})
    for (int32_t i = 0; i < 4; ++i)
      if (Partition* p = rm->find(t, i)) {
        PartitionStat& st = truth[std::string(t) + "-" + std::to_string(i)];
        st.size = p->log->size_bytes();
        st.log_end_offset = p->log->log_end_offset();
        st.log_start_offset = p->log->log_start_offset();
        st.segments = p->log->segment_count();
        st.leader = p->is_leader(1);
        st.replicas = static_cast<int32_t>(p->replicas.size());
        st.isr = static_cast<int32_t>(p->isr.size());
        st.min_isr = p->min_insync_replicas;
      }
  ASSERT_EQ(truth.size(), 7u);
  EXPECT_GT(truth["t-0"].log_end_offset, 0);
  {
    metadata::MetadataDelta d(image);
    msg::RemoveTopicRecord r;
    r.topic_id = other;
    d.replay(r);
    image = d.apply();
    rm->publish(d, image);
  }
  for (int turns = 0; turns < 5000 && (rm->find("a", 0) || rm->find("a", 1) || rm->find("a", 2)); ++turns)
    io.run_one_for(std::chrono::milliseconds(1));
  ASSERT_FALSE(rm->find("a", 0));
  EXPECT_NE(rm->partition_keys(), listed);
  EXPECT_EQ(rm->partition_keys()->keys.size(), 4u) << "listed again once a topic went";
  // Read on another thread, as the HTTP server does, after a's partitions are gone.
  std::shared_ptr<const BrokerSnapshot> s;
  std::thread([&] { s = taker.take(); }).join();
  ASSERT_EQ(s->partitions.size(), 7u);
  EXPECT_TRUE(std::is_sorted(s->partitions.begin(), s->partitions.end(), [](const PartitionStat& x, const PartitionStat& y) {
    return *x.topic != *y.topic ? *x.topic < *y.topic : x.partition < y.partition;
  }));
  for (const PartitionStat& st : s->partitions) {
    const std::string name = *st.topic + "-" + std::to_string(st.partition);
    ASSERT_TRUE(truth.count(name)) << name;
    PartitionStat want = truth[name];
    if (*st.topic == "a") want.size = 0, want.segments = 0;  // deleted since: its files are gone
    EXPECT_EQ(st.size, want.size) << name;
    EXPECT_EQ(st.log_end_offset, want.log_end_offset) << name;
    EXPECT_EQ(st.log_start_offset, want.log_start_offset) << name;
    EXPECT_EQ(st.segments, want.segments) << name;
    EXPECT_EQ(st.leader, want.leader) << name;
    EXPECT_EQ(st.replicas, want.replicas) << name;
    EXPECT_EQ(st.isr, want.isr) << name;
    EXPECT_EQ(st.min_isr, want.min_isr) << name;
  }
}

// replication-offset-checkpoint holds every partition's high watermark (the
// loop hands the pool its values in the listing's order; the pool builds the
// file's map): what a restart starts each partition's high watermark from.
TEST_F(ReplicaManagerFixture, TheHighWatermarkCheckpointHoldsEveryPartitionsHighWatermark) {
  publish({1}, 1, {1}, true);
  {
    namespace mt = metadata::testing;
    metadata::MetadataDelta d(image);
    for (int32_t i = 1; i < 3; ++i) d.replay(mt::partition_record(kTopic, i, {1}));
    image = d.apply();
    rm->publish(d, image);
  }
  for (int turns = 0; turns < 5000 && !rm->find("t", 2); ++turns) io.run_one_for(std::chrono::milliseconds(1));
  ASSERT_TRUE(rm->find("t", 2));
  append(3);
  storage::TopicPartitionOffsets want;
  for (int32_t i = 0; i < 3; ++i) want[{"t", i}] = rm->find("t", i)->hw;
  EXPECT_EQ(want[std::make_pair(std::string("t"), 0)], 3) << "a single-replica leader's high watermark follows its appends";
  rm->shutdown();  // writes the checkpoints and waits for them
  EXPECT_EQ(storage::read_offset_checkpoint(dir / "replication-offset-checkpoint"), want);
}
