// MetadataLoader::handle_load_snapshot: a snapshot from Raft replaces the
// image and reaches publishers as the delta between the old and the new image.
#include <gtest/gtest.h>

#include "metadata/delta.h"
#include "metadata/loader.h"
#include "metadata/test_records.h"
#include "protocol/metadata_record.h"
#include "raft/snapshot.h"

using namespace flotilla;
using namespace flotilla::protocol;
using namespace flotilla::metadata;
using namespace flotilla::metadata::testing;

namespace {

const Uuid kIncarnation = *Uuid::parse("AAAAAAAAAAAAAAAAAAAAAw");

std::vector<uint8_t> topic(const std::string& name, Uuid id) { return frame_metadata_record(topic_record(name, id), 0); }

std::vector<uint8_t> partition(Uuid id, int32_t idx, std::vector<int32_t> replicas, int32_t leader_epoch = 0) {
  return frame_metadata_record(partition_record(id, idx, std::move(replicas), leader_epoch), 0);
}

// The same registration every time (a fixed incarnation), so that an unchanged
// broker compares equal across separately built images.
std::vector<uint8_t> broker(int32_t id, int64_t epoch) {
  return frame_metadata_record(broker_record(id, epoch, kIncarnation, /*fenced=*/false), 0);
}

std::vector<uint8_t> config(int8_t type, const std::string& resource, const std::string& name, const std::string& value) {
  msg::ConfigRecord r;
  r.resource_type = type;
  r.resource_name = resource;
  r.name = name;
  r.value = value;
  return frame_metadata_record(r, 0);
}

std::vector<uint8_t> metadata_version(int16_t level) {
  msg::FeatureLevelRecord r;
  r.name = "metadata.version";
  r.feature_level = level;
  return frame_metadata_record(r, 0);
}

raft::CommittedBatch batch(int64_t base, std::vector<std::vector<uint8_t>> values, int32_t epoch = 1) {
  auto b = committed_batch(base, std::move(values), epoch);
  b.append_timestamp = 1000 + base;
  return b;
}

struct RecordingPublisher : Publisher {
  struct Seen {
    std::shared_ptr<const MetadataImage> image;
    std::set<Uuid> created;
    std::map<Uuid, std::string> deleted;
    std::set<Uuid> changed_topics;
    std::set<std::pair<Uuid, int32_t>> changed_partitions;
    std::set<int32_t> changed_brokers;
    std::set<ConfigResource> changed_configs;
    bool features_changed = false;
    int64_t base_offset = -2;
  };
  std::vector<Seen> seen;
  void publish(const MetadataDelta& d, std::shared_ptr<const MetadataImage> img) override {
    seen.push_back(Seen{img, d.created_topics(), d.deleted_topics(), d.changed_topics(), d.changed_partitions(), d.changed_brokers(),
                        d.changed_configs(), d.features_changed(), d.base().offset()});
  }
};

// The log before the snapshot: metadata.version, brokers 1 and 2, topics a
// (2 partitions, a config) and b (1 partition).
std::vector<raft::CommittedBatch> log_before() {
  std::vector<raft::CommittedBatch> log;
  log.push_back(batch(0, {metadata_version(21), broker(1, 1), broker(2, 2)}));
  log.push_back(batch(3, {topic("a", kTopicA), partition(kTopicA, 0, {1, 2}), partition(kTopicA, 1, {2, 1})}));
  log.push_back(batch(6, {config(2, "a", "retention.ms", "1000")}));
  log.push_back(batch(7, {topic("b", kTopicB), partition(kTopicB, 0, {1})}));
  return log;
}

// A snapshot at end offset 100 (epoch 3) of a later state: topic a deleted,
// b's partition 0 with a new leader, topic c created; broker 2 gone, broker 3
// registered; a config on c; metadata.version unchanged.
raft::SnapshotContents snapshot_contents() {
  raft::SnapshotContents s;
  s.last_contained_log_timestamp = 12345;
  s.has_header = s.has_footer = true;
  s.batches.push_back(batch(0, {metadata_version(21), broker(1, 1), broker(3, 50)}, 3));
  s.batches.push_back(batch(3, {topic("b", kTopicB), partition(kTopicB, 0, {3, 1}, 4)}, 3));
  raft::CommittedBatch control = batch(5, {{0xff, 0xff}}, 3);  // never decoded
  control.is_control = true;
  s.batches.push_back(control);
  s.batches.push_back(batch(6, {topic("c", kTopicC), partition(kTopicC, 0, {1, 3}), config(2, "c", "cleanup.policy", "compact")}, 3));
  return s;
}

}  // namespace

TEST(MetadataLoaderSnapshot, ReplacesANonEmptyImageAndPublishesTheDifference) {
  MetadataLoader loader("cluster-x");
  RecordingPublisher pub;
  loader.add_publisher(&pub);
  for (const auto& b : log_before()) loader.handle_commit(b);
  ASSERT_EQ(pub.seen.size(), 4u);
  auto before = loader.image();
  ASSERT_EQ(before->offset(), 8);
  const int64_t bytes = loader.committed_record_bytes();
  ASSERT_GT(bytes, 0);

  const raft::SnapshotId id{100, 3};
  auto contents = snapshot_contents();
  loader.handle_load_snapshot(id, contents);

  ASSERT_EQ(pub.seen.size(), 5u);  // one publish for the whole snapshot
  const auto& s = pub.seen.back();
  EXPECT_EQ(s.image, loader.image());
  EXPECT_EQ(s.base_offset, 8);
  EXPECT_EQ(s.created, (std::set<Uuid>{kTopicC}));
  EXPECT_EQ(s.deleted, (std::map<Uuid, std::string>{{kTopicA, "a"}}));
  EXPECT_EQ(s.changed_topics, (std::set<Uuid>{kTopicB, kTopicC}));
  EXPECT_EQ(s.changed_partitions, (std::set<std::pair<Uuid, int32_t>>{{kTopicB, 0}, {kTopicC, 0}}));
  EXPECT_EQ(s.changed_brokers, (std::set<int32_t>{2, 3}));
  EXPECT_EQ(s.changed_configs,
            (std::set<ConfigResource>{{static_cast<int8_t>(ConfigResourceType::TOPIC), "a"}, {static_cast<int8_t>(ConfigResourceType::TOPIC), "c"}}));
  EXPECT_FALSE(s.features_changed);

  // The loader's image is the snapshot's, built from nothing.
  MetadataDelta expected(std::make_shared<const MetadataImage>());
  expected.set_cluster_id("cluster-x");
  for (const auto& b : contents.batches)
    if (!b.is_control)
      for (const auto& v : b.records) expected.replay_value(v);
  expected.set_offset(99, 3);
  auto want = expected.apply();
  auto img = loader.image();
  EXPECT_EQ(img->cluster_id(), "cluster-x");
  EXPECT_EQ(img->offset(), 99);
  EXPECT_EQ(img->epoch(), 3);
  EXPECT_EQ(img->features(), want->features());
  EXPECT_EQ(img->brokers(), want->brokers());
  EXPECT_EQ(img->topics_by_name(), want->topics_by_name());
  EXPECT_EQ(img->configs(), want->configs());
  EXPECT_FALSE(img->topic(kTopicA));
  EXPECT_FALSE(img->broker(2));
  EXPECT_EQ(img->partition(kTopicB, 0)->leader, 3);
  EXPECT_EQ(before->partition(kTopicB, 0)->leader, 1);  // the old image is untouched

  EXPECT_EQ(loader.last_append_timestamp(), 12345);
  EXPECT_EQ(loader.committed_record_bytes(), bytes);  // a snapshot is not new records

  // Commits continue at the snapshot's end offset on top of its image.
  loader.handle_commit(batch(100, {topic("d", Uuid::random())}, 3));
  ASSERT_EQ(pub.seen.size(), 6u);
  EXPECT_EQ(loader.image()->offset(), 100);
  EXPECT_TRUE(loader.image()->topic("c"));
  EXPECT_TRUE(loader.image()->topic("d"));
  EXPECT_EQ(pub.seen.back().created.size(), 1u);
  EXPECT_EQ(loader.last_append_timestamp(), 1100);
}

TEST(MetadataLoaderSnapshot, OnAnEmptyLoaderEverythingIsNew) {
  MetadataLoader loader("cluster-x");
  RecordingPublisher pub;
  loader.add_publisher(&pub);
  loader.handle_load_snapshot(raft::SnapshotId{100, 3}, snapshot_contents());
  ASSERT_EQ(pub.seen.size(), 1u);
  const auto& s = pub.seen.back();
  EXPECT_EQ(s.base_offset, -1);
  EXPECT_EQ(s.created, (std::set<Uuid>{kTopicB, kTopicC}));
  EXPECT_TRUE(s.deleted.empty());
  EXPECT_EQ(s.changed_brokers, (std::set<int32_t>{1, 3}));
  EXPECT_TRUE(s.features_changed);
  EXPECT_EQ(loader.image()->offset(), 99);

  // A publisher added later gets the snapshot's image as everything.
  RecordingPublisher late;
  loader.add_publisher(&late);
  ASSERT_EQ(late.seen.size(), 1u);
  EXPECT_EQ(late.seen[0].image, loader.image());
  EXPECT_EQ(late.seen[0].created, (std::set<Uuid>{kTopicB, kTopicC}));
}

TEST(MetadataLoaderSnapshot, TheSameStateAgainPublishesAnEmptyDelta) {
  // A snapshot of exactly the loaded state (the log cleaned past the listener):
  // only the offset moves.
  MetadataLoader loader("cluster-x");
  for (const auto& b : log_before()) loader.handle_commit(b);
  RecordingPublisher pub;
  loader.add_publisher(&pub);
  raft::SnapshotContents s;
  for (const auto& b : log_before()) s.batches.push_back(b);
  loader.handle_load_snapshot(raft::SnapshotId{9, 1}, s);
  ASSERT_EQ(pub.seen.size(), 2u);  // everything at add_publisher, then the snapshot
  const auto& d = pub.seen.back();
  EXPECT_TRUE(d.created.empty());
  EXPECT_TRUE(d.deleted.empty());
  EXPECT_TRUE(d.changed_topics.empty());
  EXPECT_TRUE(d.changed_partitions.empty());
  EXPECT_TRUE(d.changed_brokers.empty());
  EXPECT_TRUE(d.changed_configs.empty());
  EXPECT_FALSE(d.features_changed);
  EXPECT_EQ(loader.image()->offset(), 8);
}

// Batches delivered together (a restart replaying the log) reach publishers as
// one delta, published at the last of them: a partition whose leader changed
// many times in the history is seen once, in its final state.
TEST(MetadataLoaderCatchUp, BatchesThatMoreFollowArePublishedOnceAtTheLast) {
  MetadataLoader loader("cluster");
  RecordingPublisher pub;
  loader.add_publisher(&pub);
  std::vector<raft::CommittedBatch> log = log_before();
  log.push_back(batch(9, {partition(kTopicB, 0, {1}, 5)}));
  log.push_back(batch(10, {partition(kTopicB, 0, {1}, 9)}));
  for (size_t i = 0; i < log.size(); ++i) {
    log[i].more_follow = i + 1 < log.size();
    loader.handle_commit(log[i]);
    if (log[i].more_follow) {
      EXPECT_TRUE(pub.seen.empty()) << "published before the last batch " << i;
    }
  }
  ASSERT_EQ(pub.seen.size(), 1u);
  const auto& seen = pub.seen[0];
  EXPECT_EQ(seen.image->offset(), 10);
  EXPECT_EQ(loader.image(), seen.image);
  EXPECT_EQ(seen.created, (std::set<Uuid>{kTopicA, kTopicB}));
  EXPECT_TRUE(seen.changed_partitions.count({kTopicB, 0}));
  EXPECT_TRUE(seen.changed_brokers.count(1) && seen.changed_brokers.count(2));
  ASSERT_NE(seen.image->topic("b"), nullptr);
  EXPECT_EQ(seen.image->topic("b")->partitions.at(0).leader_epoch, 9);

  // A later batch on its own is published at once, as a delta on that image.
  loader.handle_commit(batch(11, {config(2, "b", "retention.ms", "5")}));
  ASSERT_EQ(pub.seen.size(), 2u);
  EXPECT_EQ(pub.seen[1].base_offset, 10);
  EXPECT_TRUE(pub.seen[1].changed_configs.count(ConfigResource{2, "b"}));
}

// A snapshot delivered after batches still pending publishes those first, so
// that publishers see the images in order.
TEST(MetadataLoaderCatchUp, ASnapshotAfterPendingBatchesPublishesThemFirst) {
  MetadataLoader loader("cluster");
  RecordingPublisher pub;
  loader.add_publisher(&pub);
  auto first = log_before();
  first[0].more_follow = true;
  loader.handle_commit(first[0]);
  EXPECT_TRUE(pub.seen.empty());
  loader.handle_load_snapshot(raft::SnapshotId{100, 3}, snapshot_contents());
  ASSERT_EQ(pub.seen.size(), 2u);
  EXPECT_EQ(pub.seen[0].image->offset(), 2);
  EXPECT_EQ(pub.seen[1].image->offset(), 99);
}
