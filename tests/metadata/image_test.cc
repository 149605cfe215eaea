// MetadataImage / MetadataDelta / MetadataLoader: topics, partitions, brokers,
// configs, features; structural sharing; publishing; bootstrap checkpoint.
#include <gtest/gtest.h>

#include <filesystem>

#include "metadata/bootstrap.h"
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

// A registration as it first arrives: fenced, without a rack.
msg::RegisterBrokerRecord broker(int32_t id, int64_t epoch) {
  auto r = broker_record(id, epoch, Uuid::random(), /*fenced=*/true);
  r.rack = std::nullopt;
  return r;
}

raft::CommittedBatch batch(int64_t base, std::vector<std::vector<uint8_t>> values, int32_t epoch = 1) {
  return committed_batch(base, std::move(values), epoch);
}

struct CountingPublisher : Publisher {
  std::vector<std::shared_ptr<const MetadataImage>> images;
  std::vector<size_t> created;
  std::vector<size_t> deleted;
  std::vector<raft::LeaderAndEpoch> leaders;
  void publish(const MetadataDelta& d, std::shared_ptr<const MetadataImage> img) override {
    images.push_back(img);
    created.push_back(d.created_topics().size());
    deleted.push_back(d.deleted_topics().size());
  }
  void handle_leader_change(raft::LeaderAndEpoch l) override { leaders.push_back(l); }
};

}  // namespace

TEST(MetadataDelta, TopicCreateChangeDelete) {
  auto empty = std::make_shared<const MetadataImage>();
  MetadataDelta d(empty);
  d.replay(topic_record("a", kTopicA));
  d.replay(partition_record(kTopicA, 0, {1, 2}));
  d.replay(partition_record(kTopicA, 1, {2, 1}));
  d.set_offset(5, 1);
  EXPECT_EQ(d.created_topics().size(), 1u);
  EXPECT_EQ(d.changed_partitions().size(), 2u);
  auto img = d.apply();
  EXPECT_EQ(img->offset(), 5);
  ASSERT_TRUE(img->topic("a"));
  EXPECT_EQ(img->topic(kTopicA), img->topic("a"));
  EXPECT_EQ(img->topic("a")->partitions.size(), 2u);
  EXPECT_EQ(img->partition(kTopicA, 1)->leader, 2);
  EXPECT_TRUE(empty->topics_by_name().empty());  // the base is untouched

  MetadataDelta d2(img);
  msg::PartitionChangeRecord c;
  c.topic_id = kTopicA;
  c.partition_id = 0;
  c.isr = std::vector<int32_t>{2};
  c.leader = 2;
  d2.replay(c);
  msg::PartitionChangeRecord c2;  // ISR only: leader epoch unchanged
  c2.topic_id = kTopicA;
  c2.partition_id = 1;
  c2.isr = std::vector<int32_t>{2};
  d2.replay(c2);
  auto img2 = d2.apply();
  const auto* p0 = img2->partition(kTopicA, 0);
  EXPECT_EQ(p0->leader, 2);
  EXPECT_EQ(p0->isr, std::vector<int32_t>{2});
  EXPECT_EQ(p0->leader_epoch, 1);
  EXPECT_EQ(p0->partition_epoch, 1);
  const auto* p1 = img2->partition(kTopicA, 1);
  EXPECT_EQ(p1->leader, 2);
  EXPECT_EQ(p1->leader_epoch, 0);
  EXPECT_EQ(p1->partition_epoch, 1);
  EXPECT_EQ(img->partition(kTopicA, 0)->leader, 1);  // previous image unchanged
  EXPECT_TRUE(d2.created_topics().empty());
  EXPECT_EQ(d2.changed_topics().count(kTopicA), 1u);

  MetadataDelta d3(img2);
  msg::ConfigRecord cr;
  cr.resource_type = 2;
  cr.resource_name = "a";
  cr.name = "retention.ms";
  cr.value = "1000";
  d3.replay(cr);
  auto img3 = d3.apply();
  EXPECT_EQ(img3->topic_configs("a").at("retention.ms"), "1000");
  MetadataDelta d4(img3);
  msg::RemoveTopicRecord rm;
  rm.topic_id = kTopicA;
  d4.replay(rm);
  EXPECT_EQ(d4.deleted_topics().at(kTopicA), "a");
  auto img4 = d4.apply();
  EXPECT_FALSE(img4->topic("a"));
  EXPECT_FALSE(img4->topic(kTopicA));
  EXPECT_TRUE(img4->topic_configs("a").empty());  // topic configs go with the topic
  EXPECT_TRUE(img3->topic("a"));
}

TEST(MetadataDelta, UnchangedPartsAreShared) {
  MetadataDelta d(std::make_shared<const MetadataImage>());
  d.replay(topic_record("a", kTopicA));
  d.replay(broker(1, 10));
  auto img = d.apply();
  MetadataDelta d2(img);
  d2.replay(topic_record("b", kTopicB));
  auto img2 = d2.apply();
  EXPECT_EQ(&img->brokers(), &img2->brokers());  // brokers untouched: same map
  EXPECT_NE(&img->topics_by_name(), &img2->topics_by_name());
  // Replaying after apply() never changes a published image.
  d2.replay(msg::FenceBrokerRecord{});
  msg::UnfenceBrokerRecord u;
  u.id = 1;
  u.epoch = 10;
  d2.replay(u);
  auto img3 = d2.apply();
  EXPECT_TRUE(img2->broker(1)->fenced);
  EXPECT_FALSE(img3->broker(1)->fenced);
  EXPECT_EQ(img2->topics_by_name().size(), 2u);
}

TEST(MetadataDelta, PartitionsAreCopiedOnlyForTheTopicChanged) {
  MetadataDelta d(std::make_shared<const MetadataImage>());
  d.replay(topic_record("a", kTopicA));
  d.replay(topic_record("b", kTopicB));
  d.replay(partition_record(kTopicA, 0, {1, 2, 3}));
  d.replay(partition_record(kTopicA, 1, {2, 3, 1}));
  d.replay(partition_record(kTopicB, 0, {3, 1, 2}));
  auto img = d.apply();
  MetadataDelta d2(img);
  msg::PartitionChangeRecord c;
  c.topic_id = kTopicA;
  c.partition_id = 1;
  c.isr = std::vector<int32_t>{2, 3};
  d2.replay(c);
  auto img2 = d2.apply();
  // Topic b untouched: its partitions are the same map; topic a's were copied.
  EXPECT_TRUE(img->topic(kTopicB)->partitions.shares_root_with(img2->topic(kTopicB)->partitions));
  EXPECT_FALSE(img->topic(kTopicA)->partitions.shares_root_with(img2->topic(kTopicA)->partitions));
  EXPECT_EQ(img->partition(kTopicA, 1)->isr, (std::vector<int32_t>{2, 3, 1}));
  EXPECT_EQ(img->partition(kTopicA, 1)->partition_epoch, 0);
  EXPECT_EQ(img2->partition(kTopicA, 1)->isr, (std::vector<int32_t>{2, 3}));
  EXPECT_EQ(img2->partition(kTopicA, 1)->partition_epoch, 1);
  EXPECT_EQ(*img->partition(kTopicA, 0), *img2->partition(kTopicA, 0));
  // A change replayed after apply() copies again: the published image keeps its state.
  c.isr = std::vector<int32_t>{2};
  d2.replay(c);
  d2.replay(partition_record(kTopicA, 2, {1, 2, 3}));
  auto img3 = d2.apply();
  EXPECT_EQ(img2->partition(kTopicA, 1)->isr, (std::vector<int32_t>{2, 3}));
  EXPECT_EQ(img2->topic(kTopicA)->partitions.size(), 2u);
  EXPECT_EQ(img3->partition(kTopicA, 1)->isr, (std::vector<int32_t>{2}));
  EXPECT_EQ(img3->topic(kTopicA)->partitions.size(), 3u);
  EXPECT_EQ(img->topic(kTopicA)->partitions.size(), 2u);
}

TEST(MetadataDelta, BrokersFenceUnfenceUnregister) {
  MetadataDelta d(std::make_shared<const MetadataImage>());
  d.replay(broker(1, 10));
  d.replay(broker(2, 11));
  auto img = d.apply();
  ASSERT_EQ(img->brokers().size(), 2u);
  EXPECT_TRUE(img->broker(1)->fenced);
  EXPECT_EQ(img->broker(1)->listeners.at(0).port, 9093);
  EXPECT_EQ(img->broker(1)->epoch, 10);

  MetadataDelta d2(img);
  msg::UnfenceBrokerRecord u;
  u.id = 1;
  u.epoch = 10;
  d2.replay(u);
  msg::BrokerRegistrationChangeRecord ch;
  ch.broker_id = 2;
  ch.broker_epoch = 11;
  ch.fenced = -1;
  d2.replay(ch);
  auto img2 = d2.apply();
  EXPECT_FALSE(img2->broker(1)->fenced);
  EXPECT_FALSE(img2->broker(2)->fenced);
  EXPECT_EQ(d2.changed_brokers().size(), 2u);

  MetadataDelta d3(img2);
  msg::FenceBrokerRecord f;
  f.id = 1;
  f.epoch = 10;
  d3.replay(f);
  msg::UnregisterBrokerRecord un;
  un.broker_id = 2;
  un.broker_epoch = 11;
  d3.replay(un);
  auto img3 = d3.apply();
  EXPECT_TRUE(img3->broker(1)->fenced);
  EXPECT_FALSE(img3->broker(2));
}

TEST(MetadataDelta, FeaturesAndUnknownReferences) {
  MetadataDelta d(std::make_shared<const MetadataImage>());
  msg::FeatureLevelRecord mv;
  mv.name = "metadata.version";
  mv.feature_level = 21;
  d.replay(mv);
  // Records naming unknown things are skipped, not fatal.
  d.replay(partition_record(kTopicB, 0, {1}));
  msg::FenceBrokerRecord f;
  f.id = 99;
  d.replay(f);
  auto img = d.apply();
  EXPECT_EQ(img->metadata_version(), 21);
  EXPECT_EQ(img->features().at("metadata.version"), 21);
  EXPECT_TRUE(img->topics_by_name().empty());
  EXPECT_TRUE(d.features_changed());
}

TEST(MetadataLoader, PublishesPerBatchAndReplaysTheSameImage) {
  std::vector<raft::CommittedBatch> log;
  log.push_back(batch(0, {{}}));
  log.back().is_control = true;
  log.back().records.clear();
  log.back().last_offset = 0;
  msg::FeatureLevelRecord mv;
  mv.name = "metadata.version";
  mv.feature_level = 21;
  log.push_back(batch(1, {frame_metadata_record(mv, 0)}));
  log.push_back(
      batch(2, {frame_metadata_record(topic_record("a", kTopicA), 0), frame_metadata_record(partition_record(kTopicA, 0, {1}), 0)}));
  msg::RemoveTopicRecord rm;
  rm.topic_id = kTopicA;
  log.push_back(batch(4, {frame_metadata_record(topic_record("b", kTopicB), 0), frame_metadata_record(rm, 0)}));
  log.push_back(batch(6, {{0xff, 0xff}}));  // undecodable: skipped

  MetadataLoader loader("cluster-x");
  CountingPublisher pub;
  loader.add_publisher(&pub);
  for (const auto& b : log) loader.handle_commit(b);
  loader.handle_leader_change(raft::LeaderAndEpoch{1, 1});
  ASSERT_EQ(pub.images.size(), 5u);
  EXPECT_EQ(pub.images[0]->offset(), 0);
  EXPECT_EQ(pub.images[2]->offset(), 3);
  EXPECT_TRUE(pub.images[2]->topic("a"));
  EXPECT_EQ(pub.created[2], 1u);
  EXPECT_EQ(pub.deleted[3], 1u);
  auto final_image = loader.image();
  EXPECT_EQ(final_image->offset(), 6);
  EXPECT_EQ(final_image->cluster_id(), "cluster-x");
  EXPECT_FALSE(final_image->topic("a"));
  EXPECT_TRUE(final_image->topic("b"));
  EXPECT_EQ(pub.leaders.size(), 1u);

  // A restart replays the log into the same image.
  MetadataLoader again("cluster-x");
  for (const auto& b : log) again.handle_commit(b);
  EXPECT_EQ(again.image()->topics_by_name(), final_image->topics_by_name());
  EXPECT_EQ(again.image()->features(), final_image->features());
  EXPECT_EQ(again.image()->offset(), final_image->offset());

  // A late publisher first receives everything.
  CountingPublisher late;
  again.add_publisher(&late);
  ASSERT_EQ(late.images.size(), 1u);
  EXPECT_EQ(late.created[0], 1u);
}

TEST(Bootstrap, ReleaseNames) {
  EXPECT_EQ(metadata_version_from_release("3.9"), std::optional<int16_t>(21));
  EXPECT_EQ(metadata_version_from_release("3.9-IV0"), std::optional<int16_t>(21));
  EXPECT_EQ(metadata_version_from_release("3.7"), std::optional<int16_t>(19));
  EXPECT_EQ(metadata_version_from_release("3.3"), std::optional<int16_t>(7));
  EXPECT_EQ(metadata_version_from_release("3.0-IV1"), std::optional<int16_t>(1));
  EXPECT_EQ(metadata_version_from_release("3.8-IV0"), std::optional<int16_t>(20));
  EXPECT_FALSE(metadata_version_from_release("2.8"));
  EXPECT_FALSE(metadata_version_from_release("3.1-IV9"));
  EXPECT_EQ(metadata_version_name(21), "3.9-IV0");
  EXPECT_EQ(kLatestProductionMetadataVersion, 21);
}

TEST(Bootstrap, CheckpointRoundTrip) {
  auto dir = std::filesystem::temp_directory_path() / ("flotilla-bootstrap-" + std::to_string(::getpid()));
  std::filesystem::remove_all(dir);
  auto dflt = read_bootstrap(dir);  // no file: the latest production version
  EXPECT_EQ(dflt.metadata_version, 21);
  write_bootstrap_checkpoint(dir, 19);
  EXPECT_TRUE(std::filesystem::exists(dir / "bootstrap.checkpoint"));
  auto b = read_bootstrap(dir);
  EXPECT_EQ(b.metadata_version, 19);
  ASSERT_EQ(b.records.size(), 1u);
  auto rec = decode_metadata_record(b.records[0]);
  auto* f = std::get_if<msg::FeatureLevelRecord>(&rec.record);
  ASSERT_TRUE(f);
  EXPECT_EQ(f->name, "metadata.version");
  EXPECT_EQ(f->feature_level, 19);
  // The file is a snapshot: header, one data batch, footer.
  auto c = raft::read_snapshot(dir / "bootstrap.checkpoint");
  EXPECT_TRUE(c.has_header);
  EXPECT_TRUE(c.has_footer);
  EXPECT_EQ(c.batches.size(), 1u);
  std::filesystem::remove_all(dir);
}

// ---------------------------------------------------------------- MetadataDelta::between

namespace {

// Every part of two images compared (MetadataImage has no operator==).
void expect_same_image(const MetadataImage& x, const MetadataImage& y) {
  EXPECT_EQ(x.cluster_id(), y.cluster_id());
  EXPECT_EQ(x.offset(), y.offset());
  EXPECT_EQ(x.epoch(), y.epoch());
  EXPECT_EQ(x.features(), y.features());
  EXPECT_EQ(x.brokers(), y.brokers());
  EXPECT_EQ(x.topics_by_name(), y.topics_by_name());
  for (const auto& [name, t] : y.topics_by_name()) EXPECT_EQ(x.topic(t.id), x.topic(name)) << name;
  EXPECT_EQ(x.configs(), y.configs());
  EXPECT_EQ(x.next_producer_id(), y.next_producer_id());
}

// between(from, to) applies to `to`, sharing its parts, and reports exactly
// what the records `replayed` (which turned `from` into `to`) reported.
MetadataDelta check_between(const std::shared_ptr<const MetadataImage>& from, const MetadataDelta& replayed) {
  auto to = replayed.apply();
  MetadataDelta d = MetadataDelta::between(from, to);
  EXPECT_EQ(&d.base(), from.get());
  auto applied = d.apply();
  expect_same_image(*applied, *to);
  EXPECT_EQ(&applied->brokers(), &to->brokers());
  EXPECT_EQ(&applied->topics_by_name(), &to->topics_by_name());
  EXPECT_EQ(&applied->configs(), &to->configs());
  EXPECT_EQ(&applied->features(), &to->features());
  EXPECT_EQ(d.created_topics(), replayed.created_topics());
  EXPECT_EQ(d.deleted_topics(), replayed.deleted_topics());
  EXPECT_EQ(d.changed_topics(), replayed.changed_topics());
  EXPECT_EQ(d.changed_partitions(), replayed.changed_partitions());
  EXPECT_EQ(d.changed_brokers(), replayed.changed_brokers());
  EXPECT_EQ(d.changed_configs(), replayed.changed_configs());
  EXPECT_EQ(d.features_changed(), replayed.features_changed());
  return d;
}

msg::ConfigRecord config(int8_t type, const std::string& resource, const std::string& name, std::optional<std::string> value) {
  msg::ConfigRecord r;
  r.resource_type = type;
  r.resource_name = resource;
  r.name = name;
  r.value = std::move(value);
  return r;
}

const ConfigResource kConfigA{static_cast<int8_t>(ConfigResourceType::TOPIC), "a"};
const ConfigResource kConfigBroker1{static_cast<int8_t>(ConfigResourceType::BROKER), "1"};
const ConfigResource kConfigCluster{static_cast<int8_t>(ConfigResourceType::BROKER), ""};

// Topics a (2 partitions) and b (1), brokers 1-3 (1 and 2 unfenced), configs
// for a, broker 1 and the cluster, metadata.version 21; offset 10.
std::shared_ptr<const MetadataImage> base_image() {
  MetadataDelta d(std::make_shared<const MetadataImage>());
  d.set_cluster_id("cluster-x");
  msg::FeatureLevelRecord mv;
  mv.name = "metadata.version";
  mv.feature_level = 21;
  d.replay(mv);
  for (int32_t id : {1, 2, 3}) d.replay(broker(id, 100 + id));
  for (int32_t id : {1, 2}) {
    msg::UnfenceBrokerRecord u;
    u.id = id;
    u.epoch = 100 + id;
    d.replay(u);
  }
  d.replay(topic_record("a", kTopicA));
  d.replay(partition_record(kTopicA, 0, {1, 2}));
  d.replay(partition_record(kTopicA, 1, {2, 1}));
  d.replay(topic_record("b", kTopicB));
  d.replay(partition_record(kTopicB, 0, {1}));
  d.replay(config(2, "a", "retention.ms", "1000"));
  d.replay(config(4, "1", "log.retention.ms", "2000"));
  d.replay(config(4, "", "log.retention.bytes", "3000"));
  d.set_offset(10, 2);
  return d.apply();
}

}  // namespace

TEST(MetadataDeltaBetween, TopicCreated) {
  auto from = base_image();
  MetadataDelta r(from);
  r.replay(topic_record("c", kTopicC));
  r.replay(partition_record(kTopicC, 0, {1, 2}));
  r.replay(partition_record(kTopicC, 1, {2, 1}));
  r.set_offset(13, 2);
  auto d = check_between(from, r);
  EXPECT_EQ(d.created_topics(), (std::set<Uuid>{kTopicC}));
  EXPECT_EQ(d.changed_topics(), (std::set<Uuid>{kTopicC}));
  EXPECT_EQ(d.changed_partitions(), (std::set<std::pair<Uuid, int32_t>>{{kTopicC, 0}, {kTopicC, 1}}));
  EXPECT_TRUE(d.deleted_topics().empty());
  EXPECT_TRUE(d.changed_brokers().empty());
  EXPECT_TRUE(d.changed_configs().empty());
  EXPECT_FALSE(d.features_changed());
  EXPECT_EQ(d.apply()->offset(), 13);
}

TEST(MetadataDeltaBetween, TopicDeletedWithItsConfigs) {
  auto from = base_image();
  MetadataDelta r(from);
  msg::RemoveTopicRecord rm;
  rm.topic_id = kTopicA;
  r.replay(rm);
  r.set_offset(11, 2);
  auto d = check_between(from, r);
  EXPECT_EQ(d.deleted_topics(), (std::map<Uuid, std::string>{{kTopicA, "a"}}));
  EXPECT_EQ(d.changed_configs(), (std::set<ConfigResource>{kConfigA}));
  EXPECT_TRUE(d.created_topics().empty());
  EXPECT_TRUE(d.changed_topics().empty());
  EXPECT_TRUE(d.changed_partitions().empty());
  EXPECT_TRUE(d.changed_brokers().empty());
  EXPECT_FALSE(d.apply()->topic(kTopicA));
}

TEST(MetadataDeltaBetween, TopicRecreatedUnderANewId) {
  auto from = base_image();
  MetadataDelta r(from);
  msg::RemoveTopicRecord rm;
  rm.topic_id = kTopicA;
  r.replay(rm);
  r.replay(topic_record("a", kTopicC));
  r.replay(partition_record(kTopicC, 0, {3}));
  r.set_offset(13, 2);
  auto d = check_between(from, r);
  EXPECT_EQ(d.deleted_topics(), (std::map<Uuid, std::string>{{kTopicA, "a"}}));
  EXPECT_EQ(d.created_topics(), (std::set<Uuid>{kTopicC}));
  EXPECT_EQ(d.changed_partitions(), (std::set<std::pair<Uuid, int32_t>>{{kTopicC, 0}}));
  EXPECT_EQ(d.apply()->topic("a")->id, kTopicC);
}

TEST(MetadataDeltaBetween, PartitionLeaderIsrChangedAndPartitionAdded) {
  auto from = base_image();
  MetadataDelta r(from);
  msg::PartitionChangeRecord c;
  c.topic_id = kTopicA;
  c.partition_id = 1;
  c.isr = std::vector<int32_t>{1};
  c.leader = 1;
  r.replay(c);
  r.replay(partition_record(kTopicB, 1, {2}));
  r.set_offset(12, 3);
  auto d = check_between(from, r);
  EXPECT_EQ(d.changed_topics(), (std::set<Uuid>{kTopicA, kTopicB}));
  EXPECT_EQ(d.changed_partitions(), (std::set<std::pair<Uuid, int32_t>>{{kTopicA, 1}, {kTopicB, 1}}));
  EXPECT_TRUE(d.created_topics().empty());
  EXPECT_TRUE(d.deleted_topics().empty());
  auto img = d.apply();
  EXPECT_EQ(img->partition(kTopicA, 1)->leader, 1);
  EXPECT_EQ(img->partition(kTopicA, 1)->leader_epoch, 1);
  EXPECT_EQ(img->epoch(), 3);
  // Topic a's partition 0 and topic b's partition 0 are untouched.
  EXPECT_EQ(*img->partition(kTopicA, 0), *from->partition(kTopicA, 0));
}

TEST(MetadataDeltaBetween, BrokersAddedRemovedFenced) {
  auto from = base_image();
  MetadataDelta r(from);
  r.replay(broker(4, 200));
  msg::UnregisterBrokerRecord un;
  un.broker_id = 3;
  un.broker_epoch = 103;
  r.replay(un);
  msg::FenceBrokerRecord f;
  f.id = 2;
  f.epoch = 102;
  r.replay(f);
  r.set_offset(13, 2);
  auto d = check_between(from, r);
  EXPECT_EQ(d.changed_brokers(), (std::set<int32_t>{2, 3, 4}));  // broker 1 unchanged
  EXPECT_TRUE(d.changed_topics().empty());
  EXPECT_TRUE(d.changed_configs().empty());
  auto img = d.apply();
  EXPECT_FALSE(img->broker(3));
  EXPECT_TRUE(img->broker(2)->fenced);
  EXPECT_EQ(img->broker(4)->epoch, 200);
}

TEST(MetadataDeltaBetween, ConfigsChangedAndRemoved) {
  auto from = base_image();
  MetadataDelta r(from);
  r.replay(config(4, "1", "log.retention.ms", "5000"));
  r.replay(config(4, "", "log.retention.bytes", std::nullopt));  // the resource's last key
  r.replay(config(2, "b", "cleanup.policy", "compact"));
  r.set_offset(13, 2);
  auto d = check_between(from, r);
  EXPECT_EQ(d.changed_configs(),
            (std::set<ConfigResource>{kConfigBroker1, kConfigCluster, {static_cast<int8_t>(ConfigResourceType::TOPIC), "b"}}));
  EXPECT_TRUE(d.changed_topics().empty());
  EXPECT_TRUE(d.changed_brokers().empty());
  auto img = d.apply();
  EXPECT_FALSE(img->configs().count(kConfigCluster));
  EXPECT_EQ(img->configs_of(ConfigResourceType::BROKER, "1").at("log.retention.ms"), "5000");
}

TEST(MetadataDeltaBetween, FeatureChanged) {
  auto from = base_image();
  MetadataDelta r(from);
  msg::FeatureLevelRecord mv;
  mv.name = "metadata.version";
  mv.feature_level = 22;
  r.replay(mv);
  r.set_offset(11, 2);
  auto d = check_between(from, r);
  EXPECT_TRUE(d.features_changed());
  EXPECT_EQ(d.apply()->metadata_version(), 22);
  EXPECT_TRUE(d.changed_brokers().empty());
  EXPECT_TRUE(d.changed_topics().empty());
  EXPECT_TRUE(d.changed_configs().empty());
}

TEST(MetadataDeltaBetween, EqualImagesBuiltApartAreAnEmptyDelta) {
  auto a = base_image();
  auto b = base_image();  // the same records, nothing shared: broker incarnations differ
  MetadataDelta same = MetadataDelta::between(a, a);
  EXPECT_TRUE(same.empty());
  MetadataDelta apart = MetadataDelta::between(a, b);
  // Only the random incarnation ids of the brokers differ.
  EXPECT_EQ(apart.changed_brokers(), (std::set<int32_t>{1, 2, 3}));
  EXPECT_TRUE(apart.changed_topics().empty());
  EXPECT_TRUE(apart.changed_partitions().empty());
  EXPECT_TRUE(apart.changed_configs().empty());
  EXPECT_FALSE(apart.features_changed());
  EXPECT_NE(&a->topics_by_name(), &b->topics_by_name());
}

TEST(MetadataDeltaBetween, FromANullOrLaterImage) {
  auto to = base_image();
  MetadataDelta d = MetadataDelta::between(nullptr, to);
  MetadataDelta all = MetadataDelta::everything(to);
  EXPECT_EQ(d.created_topics(), all.created_topics());
  EXPECT_EQ(d.changed_partitions(), all.changed_partitions());
  EXPECT_EQ(d.changed_brokers(), all.changed_brokers());
  EXPECT_EQ(d.changed_configs(), all.changed_configs());
  EXPECT_TRUE(d.features_changed());
  EXPECT_TRUE(d.base().empty());

  // The offset is `to`'s even when `from` is further along.
  MetadataDelta later(to);
  later.set_offset(50, 4);
  auto from = later.apply();
  EXPECT_EQ(MetadataDelta::between(from, to).apply()->offset(), 10);
  EXPECT_EQ(MetadataDelta::between(from, to).apply()->epoch(), 2);
}
