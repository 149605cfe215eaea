// Metadata snapshots (KIP-630): image -> records -> file -> image round trip,
// corrupt and partial snapshots skipped, generation on the byte threshold
// (committed batch sizes) and on the interval (at a published image or by the
// generator's timer), never twice for the same image.
#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <fstream>

#include "metadata/delta.h"
#include "metadata/loader.h"
#include "metadata/snapshot.h"
#include "metadata/test_records.h"
#include "protocol/metadata_record.h"
#include "protocol/record_batch.h"
#include "raft/file_util.h"
#include "raft/snapshot.h"

using namespace flotilla;
using namespace flotilla::protocol;
using namespace flotilla::metadata;
namespace fs = std::filesystem;

namespace {

struct TempDir {
  fs::path path;
  TempDir() {
    path = fs::temp_directory_path() / ("flotilla-snap-" + Uuid::random().to_string());
    fs::create_directories(path);
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
};

raft::CommittedBatch batch(int64_t base, std::vector<std::vector<uint8_t>> values, int32_t epoch = 3) {
  return metadata::testing::committed_batch(base, std::move(values), epoch);
}

// Records that build an image with features, brokers (one fenced, one in
// controlled shutdown), topics with partitions changed after creation,
// configs (topic, broker, cluster default; one set then deleted), producer ids.
std::vector<std::vector<uint8_t>> sample_records(int topics, const std::string& prefix = "topic-") {
  std::vector<std::vector<uint8_t>> out;
  msg::FeatureLevelRecord mv;
  mv.name = kMetadataVersionFeature;
  mv.feature_level = 21;
  out.push_back(frame_metadata_record(mv, 0));
  msg::FeatureLevelRecord kv;
  kv.name = "kraft.version";
  kv.feature_level = 1;
  out.push_back(frame_metadata_record(kv, 0));
  for (int id = 1; id <= 3; ++id) {
    msg::RegisterBrokerRecord r;
    r.broker_id = id;
    r.broker_epoch = 100 + id;
    r.incarnation_id = Uuid::random();
    msg::RegisterBrokerRecord::BrokerEndpoint e;
    e.name = "PLAINTEXT";
    e.host = "h" + std::to_string(id);
    e.port = static_cast<uint16_t>(9092 + id);
    r.end_points.push_back(e);
    msg::RegisterBrokerRecord::BrokerFeature f;
    f.name = kMetadataVersionFeature;
    f.min_supported_version = 1;
    f.max_supported_version = 21;
    r.features.push_back(f);
    if (id == 2) r.rack = "rack-b";
    r.fenced = true;
    r.log_dirs = {Uuid::random()};
    out.push_back(frame_metadata_record(r, 3));
  }
  msg::BrokerRegistrationChangeRecord unfence;
  unfence.broker_id = 1;
  unfence.fenced = -1;
  out.push_back(frame_metadata_record(unfence, 0));
  msg::BrokerRegistrationChangeRecord unfence3 = unfence;
  unfence3.broker_id = 3;
  out.push_back(frame_metadata_record(unfence3, 0));
  msg::BrokerRegistrationChangeRecord shutdown;
  shutdown.broker_id = 3;
  shutdown.in_controlled_shutdown = 1;
  out.push_back(frame_metadata_record(shutdown, 1));
  for (int t = 0; t < topics; ++t) {
    msg::TopicRecord tr;
    tr.name = prefix + std::to_string(t);
    tr.topic_id = Uuid::random();
    out.push_back(frame_metadata_record(tr, 0));
    for (int p = 0; p < 3; ++p) {
      msg::PartitionRecord pr;
      pr.topic_id = tr.topic_id;
      pr.partition_id = p;
      pr.replicas = {1 + p % 3, 1 + (p + 1) % 3};
      pr.isr = pr.replicas;
      pr.leader = pr.replicas.front();
      pr.leader_epoch = 0;
      pr.partition_epoch = 0;
      pr.directories = {Uuid::random(), Uuid::random()};
      out.push_back(frame_metadata_record(pr, 1));
    }
    msg::PartitionChangeRecord pc;
    pc.topic_id = tr.topic_id;
    pc.partition_id = 1;
    pc.isr = std::vector<int32_t>{3};
    pc.leader = 3;
    out.push_back(frame_metadata_record(pc, 0));
    msg::ConfigRecord c;
    c.resource_type = 2;
    c.resource_name = tr.name;
    c.name = "retention.ms";
    c.value = "1000";
    out.push_back(frame_metadata_record(c, 0));
  }
  msg::ConfigRecord bc;
  bc.resource_type = 4;
  bc.resource_name = "";
  bc.name = "log.cleaner.threads";
  bc.value = "2";
  out.push_back(frame_metadata_record(bc, 0));
  msg::ConfigRecord gone = bc;
  gone.resource_name = "1";
  gone.name = "log.retention.ms";
  out.push_back(frame_metadata_record(gone, 0));
  gone.value = std::nullopt;
  out.push_back(frame_metadata_record(gone, 0));
  msg::ProducerIdsRecord pid;
  pid.broker_id = 1;
  pid.broker_epoch = 101;
  pid.next_producer_id = 5000;
  out.push_back(frame_metadata_record(pid, 0));
  return out;
}

void expect_same_image(const MetadataImage& a, const MetadataImage& b) {
  EXPECT_EQ(a.offset(), b.offset());
  EXPECT_EQ(a.epoch(), b.epoch());
  EXPECT_EQ(a.features(), b.features());
  EXPECT_EQ(a.brokers(), b.brokers());
  EXPECT_EQ(a.topics_by_name(), b.topics_by_name());
  for (const auto& [name, t] : a.topics_by_name()) EXPECT_EQ(b.topic(t.id), b.topic(name));
  EXPECT_EQ(a.configs(), b.configs());
  EXPECT_EQ(a.next_producer_id(), b.next_producer_id());
}

}  // namespace

TEST(MetadataSnapshot, ImageRoundTripsThroughASnapshotFile) {
  TempDir dir;
  MetadataLoader loader("cluster");
  auto recs = sample_records(1500);  // more than one batch of the snapshot
  loader.handle_commit(batch(0, recs));
  auto image = loader.image();
  ASSERT_EQ(image->topics_by_name().size(), 1500u);
  ASSERT_TRUE(image->broker(3)->in_controlled_shutdown);
  ASSERT_FALSE(image->broker(1)->fenced);
  ASSERT_TRUE(image->broker(2)->fenced);

  raft::Voter v;
  v.id = 1;
  v.endpoints.push_back(raft::VoterEndpoint{"CONTROLLER", "localhost", 9093});
  auto path = write_image_snapshot(dir.path, *image, std::make_pair(int16_t{1}, std::vector<raft::Voter>{v}), 1234, 777);
  EXPECT_EQ(path.filename().string(), raft::snapshot_file_name(raft::SnapshotId{static_cast<int64_t>(recs.size()), 3}));
  EXPECT_FALSE(fs::exists(fs::path(path.string() + ".part")));

  auto loaded = read_latest_snapshot(dir.path);
  ASSERT_TRUE(loaded);
  EXPECT_EQ(loaded->id.end_offset, static_cast<int64_t>(recs.size()));
  EXPECT_EQ(loaded->id.epoch, 3);
  EXPECT_TRUE(loaded->contents.has_footer);
  EXPECT_GT(loaded->contents.batches.size(), 1u);
  ASSERT_TRUE(loaded->contents.voters);
  EXPECT_EQ(loaded->contents.voters->front().id, 1);
  EXPECT_EQ(loaded->contents.kraft_version, 1);
  EXPECT_EQ(loaded->contents.last_contained_log_timestamp, 777);

  MetadataLoader fresh("cluster");
  load_snapshot(fresh, *loaded);
  expect_same_image(*image, *fresh.image());

  // Replaying the log after the snapshot continues from it as the log would.
  msg::RemoveTopicRecord rm;
  rm.topic_id = image->topic("topic-7")->id;
  auto after = batch(static_cast<int64_t>(recs.size()), {frame_metadata_record(rm, 0)}, 4);
  loader.handle_commit(after);
  fresh.handle_commit(after);
  expect_same_image(*loader.image(), *fresh.image());
  EXPECT_FALSE(fresh.image()->topic("topic-7"));
}

TEST(MetadataSnapshot, RecordsAtAnOlderMetadataVersion) {
  // At 3.3-IV3 (7): RegisterBrokerRecord v1, PartitionRecord v0 (no directories).
  MetadataLoader loader("c");
  std::vector<std::vector<uint8_t>> recs;
  msg::FeatureLevelRecord mv;
  mv.name = kMetadataVersionFeature;
  mv.feature_level = 7;
  recs.push_back(frame_metadata_record(mv, 0));
  msg::RegisterBrokerRecord r;
  r.broker_id = 1;
  r.broker_epoch = 5;
  r.fenced = false;
  r.in_controlled_shutdown = true;
  recs.push_back(frame_metadata_record(r, 1));
  loader.handle_commit(batch(0, recs));
  auto out = image_records(*loader.image());
  ASSERT_EQ(out.size(), 2u);
  auto b = decode_metadata_record(out[1]);
  EXPECT_EQ(b.version, 1);
  MetadataLoader fresh("c");
  fresh.handle_commit(batch(0, out));
  EXPECT_EQ(fresh.image()->brokers(), loader.image()->brokers());
}

TEST(MetadataSnapshot, CorruptAndPartialSnapshotsAreSkipped) {
  TempDir dir;
  MetadataLoader loader("cluster");
  loader.handle_commit(batch(0, sample_records(3)));
  auto good_image = loader.image();
  auto good = write_image_snapshot(dir.path, *good_image, std::nullopt, 1);
  loader.handle_commit(batch(good_image->offset() + 1, sample_records(2, "more-")));
  auto newer = write_image_snapshot(dir.path, *loader.image(), std::nullopt, 2);
  ASSERT_TRUE(read_latest_snapshot(dir.path));
  EXPECT_EQ(read_latest_snapshot(dir.path)->path, newer);

  // A flipped byte in the newest: CRC mismatch, the older one is loaded.
  auto bytes = raft::read_whole_file(newer);
  bytes[bytes.size() / 2] ^= 0x5a;
  raft::write_file_atomically(newer, bytes);
  auto l = read_latest_snapshot(dir.path);
  ASSERT_TRUE(l);
  EXPECT_EQ(l->path, good);

  // A newest one without its footer (cut after the data): skipped.
  auto good_bytes = raft::read_whole_file(good);
  auto cut = dir.path / raft::snapshot_file_name(raft::SnapshotId{good_image->offset() + 100, 3});
  raft::SnapshotContents parsed = raft::parse_snapshot(good_bytes);
  size_t footer_size = 0;
  records::for_each_batch(std::span<const uint8_t>(good_bytes), [&](const records::BatchHeader& h, std::span<const uint8_t> b) {
    footer_size = b.size();
    (void)h;
  });
  std::vector<uint8_t> no_footer(good_bytes.begin(), good_bytes.end() - static_cast<long>(footer_size));
  raft::write_file_atomically(cut, no_footer);
  // A torn one (half a batch).
  auto torn = dir.path / raft::snapshot_file_name(raft::SnapshotId{good_image->offset() + 200, 3});
  std::vector<uint8_t> half(good_bytes.begin(), good_bytes.begin() + static_cast<long>(good_bytes.size() / 2));
  raft::write_file_atomically(torn, half);
  // A `.part` left by a crash during a write: removed, never loaded.
  auto part = dir.path / (raft::snapshot_file_name(raft::SnapshotId{good_image->offset() + 300, 3}) + ".part");
  raft::write_file_atomically(part, good_bytes);

  l = read_latest_snapshot(dir.path);
  ASSERT_TRUE(l);
  EXPECT_EQ(l->path, good);
  EXPECT_FALSE(fs::exists(part));
  MetadataLoader fresh("cluster");
  load_snapshot(fresh, *l);
  expect_same_image(*good_image, *fresh.image());

  // One past the log's end is not loaded either.
  EXPECT_FALSE(read_latest_snapshot(dir.path, good_image->offset()));
  // The bootstrap 0-0 checkpoint holds no metadata: not a snapshot to load.
  TempDir d2;
  raft::Voter v;
  v.id = 1;
  raft::write_standalone_checkpoint(d2.path, v, 0);
  EXPECT_FALSE(read_latest_snapshot(d2.path));
}

TEST(MetadataSnapshot, GeneratedOnTheByteThreshold) {
  TempDir dir;
  asio::io_context io;
  MetadataLoader loader("cluster");
  SnapshotGeneratorConfig cfg;
  cfg.max_bytes_between_snapshots = 2000;
  cfg.max_interval_ms = 0;
  SnapshotGenerator gen(io, dir.path, loader, cfg);
  loader.add_publisher(&gen);
  std::vector<raft::SnapshotId> written;
  gen.set_on_written([&](raft::SnapshotId id) { written.push_back(id); });

  auto run_until = [&](auto pred) {
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (!pred() && std::chrono::steady_clock::now() < deadline) {
      io.restart();
      io.run_for(std::chrono::milliseconds(5));
    }
  };

  // Small batches below the threshold: nothing.
  int64_t offset = 0;
  int64_t bytes = 0;
  int t = 0;
  auto commit_topic = [&] {
    msg::TopicRecord tr;
    tr.name = "t" + std::to_string(t++);
    tr.topic_id = Uuid::random();
    auto v = frame_metadata_record(tr, 0);
    bytes += static_cast<int64_t>(v.size());
    loader.handle_commit(batch(offset, {v}, 2));
    offset += 1;
  };
  while (bytes + 40 < 2000) commit_topic();
  io.restart();
  io.run_for(std::chrono::milliseconds(20));
  EXPECT_EQ(gen.snapshots_written(), 0);
  EXPECT_TRUE(raft::list_snapshots(dir.path).empty());
  while (!gen.writing() && gen.snapshots_written() == 0) commit_topic();
  run_until([&] { return gen.snapshots_written() == 1; });
  ASSERT_EQ(written.size(), 1u);
  EXPECT_GE(loader.committed_record_bytes(), 2000);
  EXPECT_EQ(written[0].end_offset, offset);
  EXPECT_EQ(written[0].epoch, 2);
  auto ids = raft::list_snapshots(dir.path);
  ASSERT_EQ(ids.size(), 1u);
  EXPECT_EQ(ids[0], written[0]);
  auto l = read_latest_snapshot(dir.path);
  ASSERT_TRUE(l);
  MetadataLoader fresh("cluster");
  load_snapshot(fresh, *l);
  EXPECT_EQ(fresh.image()->topics_by_name().size(), static_cast<size_t>(t));

  // The count restarts at each snapshot: another 2000 bytes make the next one.
  int64_t before = loader.committed_record_bytes();
  while (loader.committed_record_bytes() - before < 2000) commit_topic();
  run_until([&] { return gen.snapshots_written() == 2; });
  EXPECT_EQ(gen.snapshots_written(), 2);
  EXPECT_EQ(raft::list_snapshots(dir.path).size(), 2u);
  gen.stop();
}

TEST(MetadataSnapshot, GeneratedWhenTheIntervalPassesWithNewRecords) {
  TempDir dir;
  asio::io_context io;
  MetadataLoader loader("cluster");
  int64_t now = 1000;
  SnapshotGeneratorConfig cfg;
  cfg.max_bytes_between_snapshots = 1 << 30;
  cfg.max_interval_ms = 60000;
  cfg.clock = [&] { return now; };
  SnapshotGenerator gen(io, dir.path, loader, cfg);
  loader.add_publisher(&gen);
  msg::NoOpRecord noop;
  loader.handle_commit(batch(0, {frame_metadata_record(noop, 0)}));
  EXPECT_FALSE(gen.writing());
  now += 60000;
  loader.handle_commit(batch(1, {frame_metadata_record(noop, 0)}));
  EXPECT_TRUE(gen.writing());
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (gen.snapshots_written() == 0 && std::chrono::steady_clock::now() < deadline) {
    io.restart();
    io.run_for(std::chrono::milliseconds(5));
  }
  EXPECT_EQ(gen.snapshots_written(), 1);
  ASSERT_TRUE(gen.latest());
  EXPECT_EQ(gen.latest()->end_offset, 2);
  gen.stop();
}

namespace {
// Runs `io` in short slices until `pred` holds or `limit` passes.
template <class Pred>
void run_until(asio::io_context& io, Pred pred, std::chrono::milliseconds limit = std::chrono::seconds(10)) {
  auto deadline = std::chrono::steady_clock::now() + limit;
  while (!pred() && std::chrono::steady_clock::now() < deadline) {
    io.restart();
    io.run_for(std::chrono::milliseconds(5));
  }
}
// Runs `io` for `d` (or until it has no work); returns how long it ran.
std::chrono::milliseconds run_for(asio::io_context& io, std::chrono::milliseconds d) {
  auto start = std::chrono::steady_clock::now();
  io.restart();
  io.run_for(d);
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - start);
}
std::vector<uint8_t> noop_record() { return frame_metadata_record(msg::NoOpRecord{}, 0); }
}  // namespace

TEST(MetadataSnapshot, ByteTriggerCountsCommittedBatchSizes) {
  // Kafka's metadata.log.max.record.bytes.between.snapshots counts the
  // committed batches as stored (CommittedBatch::size_in_bytes), not the
  // record values: the generator reads the running total it is given.
  TempDir dir;
  asio::io_context io;
  MetadataLoader loader("cluster");
  int64_t batch_bytes = 0;  // what the loader's batch-size total would be
  SnapshotGeneratorConfig cfg;
  cfg.max_bytes_between_snapshots = 2000;
  cfg.max_interval_ms = 0;
  cfg.committed_bytes = [&] { return batch_bytes; };
  SnapshotGenerator gen(io, dir.path, loader, cfg);
  loader.add_publisher(&gen);
  int64_t offset = 0;
  auto commit = [&](int32_t size_in_bytes, std::vector<std::vector<uint8_t>> values) {
    auto b = batch(offset, std::move(values), 2);
    b.size_in_bytes = size_in_bytes;
    offset = b.last_offset + 1;
    batch_bytes += size_in_bytes;  // counted before the image is published, as the loader would
    loader.handle_commit(b);
  };
  // Two batches of 700 bytes (tiny record values): 1400 < 2000, nothing.
  commit(700, {noop_record()});
  commit(700, {noop_record()});
  EXPECT_FALSE(gen.writing());
  EXPECT_LT(loader.committed_record_bytes(), 100);
  // The third reaches 2100: a snapshot of the image at offset 2.
  commit(700, {noop_record()});
  EXPECT_TRUE(gen.writing());
  run_until(io, [&] { return gen.snapshots_written() == 1; });
  ASSERT_EQ(gen.snapshots_written(), 1);
  EXPECT_EQ(gen.latest()->end_offset, 3);
  EXPECT_EQ(gen.latest()->epoch, 2);

  // Record values far over the threshold in small batches do not trigger it
  // (with the default measure, the record values, they would).
  std::vector<std::vector<uint8_t>> big;
  for (int i = 0; i < 10; ++i) {
    msg::TopicRecord tr;
    tr.name = std::string(300, static_cast<char>('a' + i));
    tr.topic_id = Uuid::random();
    big.push_back(frame_metadata_record(tr, 0));
  }
  int64_t values_before = loader.committed_record_bytes();
  commit(100, big);
  EXPECT_GT(loader.committed_record_bytes() - values_before, 2000);
  EXPECT_FALSE(gen.writing());
  run_for(io, std::chrono::milliseconds(20));
  EXPECT_EQ(gen.snapshots_written(), 1);
  // The count restarted at the snapshot: 100 + 1900 = 2000 makes the next one.
  commit(1899, {noop_record()});
  EXPECT_FALSE(gen.writing());
  commit(1, {noop_record()});
  EXPECT_TRUE(gen.writing());
  run_until(io, [&] { return gen.snapshots_written() == 2; });
  EXPECT_EQ(gen.snapshots_written(), 2);
  EXPECT_EQ(gen.latest()->end_offset, offset);
  gen.stop();
}

TEST(MetadataSnapshot, IntervalTimerFiresWithoutNewImages) {
  // Records committed, then nothing: no image is published again, yet the
  // interval timer writes the snapshot once metadata.log.max.snapshot.interval.ms
  // has passed since the last one.
  TempDir dir;
  asio::io_context io;
  MetadataLoader loader("cluster");
  SnapshotGeneratorConfig cfg;
  cfg.max_bytes_between_snapshots = 1 << 30;
  cfg.max_interval_ms = 100;
  SnapshotGenerator gen(io, dir.path, loader, cfg);
  loader.add_publisher(&gen);
  auto start = std::chrono::steady_clock::now();
  loader.handle_commit(batch(0, sample_records(2)));
  const int64_t end = loader.image()->offset() + 1;
  EXPECT_FALSE(gen.writing());  // not due yet
  run_until(io, [&] { return gen.snapshots_written() == 1; });
  ASSERT_EQ(gen.snapshots_written(), 1);
  EXPECT_GE(std::chrono::steady_clock::now() - start, std::chrono::milliseconds(95));
  ASSERT_TRUE(gen.latest());
  EXPECT_EQ(gen.latest()->end_offset, end);
  auto l = read_latest_snapshot(dir.path);
  ASSERT_TRUE(l);
  EXPECT_EQ(l->id.end_offset, end);
  MetadataLoader fresh("cluster");
  load_snapshot(fresh, *l);
  expect_same_image(*loader.image(), *fresh.image());

  // Nothing new: three more intervals write nothing, and no timer is left
  // armed (the io_context runs out of work at once).
  auto ran = run_for(io, std::chrono::milliseconds(350));
  EXPECT_LT(ran, std::chrono::milliseconds(250));
  EXPECT_EQ(gen.snapshots_written(), 1);
  EXPECT_EQ(raft::list_snapshots(dir.path).size(), 1u);

  // New records: the timer writes the next one, an interval after the last.
  loader.handle_commit(batch(end, {noop_record()}, 4));
  run_until(io, [&] { return gen.snapshots_written() == 2; });
  ASSERT_EQ(gen.snapshots_written(), 2);
  EXPECT_EQ(gen.latest()->end_offset, end + 1);
  EXPECT_EQ(gen.latest()->epoch, 4);
  EXPECT_EQ(raft::list_snapshots(dir.path).size(), 2u);
  gen.stop();
}

TEST(MetadataSnapshot, NoSnapshotWhenNothingChanged) {
  TempDir dir;
  asio::io_context io;
  MetadataLoader loader("cluster");
  SnapshotGeneratorConfig cfg;
  cfg.max_bytes_between_snapshots = 1 << 30;
  cfg.max_interval_ms = 50;
  {
    // No records at all: no timer, nothing written.
    SnapshotGenerator gen(io, dir.path, loader, cfg);
    loader.add_publisher(&gen);
    auto ran = run_for(io, std::chrono::milliseconds(200));
    EXPECT_LT(ran, std::chrono::milliseconds(150));
    EXPECT_EQ(gen.snapshots_written(), 0);
    loader.remove_publisher(&gen);
  }
  EXPECT_TRUE(raft::list_snapshots(dir.path).empty());

  // The image already has a snapshot (loaded at start-up): the timer finds
  // nothing newer and writes nothing.
  SnapshotGenerator gen(io, dir.path, loader, cfg);
  loader.add_publisher(&gen);
  loader.handle_commit(batch(0, sample_records(1)));
  gen.set_latest(raft::SnapshotId{loader.image()->offset() + 1, 3});
  run_for(io, std::chrono::milliseconds(200));
  EXPECT_EQ(gen.snapshots_written(), 0);
  EXPECT_FALSE(gen.writing());
  EXPECT_TRUE(raft::list_snapshots(dir.path).empty());

  // Interval 0: time never triggers, not even with new records.
  TempDir d2;
  MetadataLoader l2("cluster");
  cfg.max_interval_ms = 0;
  SnapshotGenerator g2(io, d2.path, l2, cfg);
  l2.add_publisher(&g2);
  l2.handle_commit(batch(0, sample_records(1)));
  auto ran = run_for(io, std::chrono::milliseconds(150));
  EXPECT_LT(ran, std::chrono::milliseconds(100));
  EXPECT_EQ(g2.snapshots_written(), 0);
  EXPECT_TRUE(raft::list_snapshots(d2.path).empty());
  g2.stop();
  gen.stop();
}
