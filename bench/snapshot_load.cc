// snapshot_load_bench: the start-up path of a node's metadata image — a KIP-630
// snapshot of P partitions, then a metadata log tail after it.
//
// Setup (not timed): builds a MetadataImage (metadata.version 3.9-IV0, B
// brokers, T topics with P partitions in all, RF replicas each placed round
// robin over the brokers, a few topic / broker / cluster configs), writes it
// with the node's own snapshot writer (metadata::write_image_snapshot: .part,
// fsync, rename) into a temp dir, and writes a tail of N PartitionChangeRecords
// (ISR shrinks/expands and leader moves) after the snapshot's end offset as
// record batches in the log's format (`tail.log`, one file; --tail-batch
// records per batch, as the controller writes them).
//
// Timed, from a cold start in the same process (fresh MetadataLoader, files
// re-read from disk each run), as a node does it:
//   read    metadata::read_latest_snapshot (read the file, CRC-check and decode
//           every batch, header/footer)
//   replay  metadata::load_snapshot into a fresh MetadataLoader (MetadataDelta
//           over the snapshot's records, one image published)
//   tail    read + CRC-check the tail file, MetadataLoader::handle_commit per
//           batch (a delta and an image per batch, as the Raft driver delivers)
//   total   all of it, up to the final image
// With --acls N the image also holds N ACLs (AccessControlEntryRecords: topic
// and group ACLs, a quarter PREFIXED, a tenth DENY), and one more phase is
// timed:
//   authz   the node's authorizer built from the loaded image's ACLs
//           (StandardAuthorizer::load_snapshot, what server/acl_publisher
//           does when an image is loaded from a snapshot)
// Prints the snapshot's size and record count and the median (and min/max) of
// each over --runs runs, wall time and CPU time (on a shared machine the wall
// time also counts waiting for a core). Checks that the final image matches the expected one.
//
//   build/bench/snapshot_load_bench [--partitions 100000] [--topics 1000] [--brokers 3]
//       [--rf 3] [--tail-records 10000] [--tail-batch 1] [--acls 0] [--runs 5] [--dir /tmp] [--json]
#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <memory>
#include <string>
#include <time.h>
#include <unistd.h>
#include <vector>

#include "common/bytes.h"
#include "common/crc32c.h"
#include "common/uuid.h"
#include "metadata/acls.h"
#include "metadata/bootstrap.h"
#include "metadata/delta.h"
#include "metadata/image.h"
#include "metadata/loader.h"
#include "metadata/snapshot.h"
#include "protocol/metadata_record.h"
#include "protocol/record_batch.h"
#include "raft/file_util.h"
#include "raft/types.h"
#include "security/authorizer.h"

using namespace flotilla;
namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

namespace {

struct Options {
  int partitions = 100000;
  int topics = 1000;
  int brokers = 3;
  int rf = 3;
  int tail_records = 10000;
  int tail_batch = 1;
  int acls = 0;
  int runs = 5;
  std::string dir = fs::temp_directory_path().string();
  bool json = false;
};

[[noreturn]] void usage(const char* argv0) {
  std::fprintf(stderr,
               "usage: %s [--partitions 100000] [--topics 1000] [--brokers 3] [--rf 3] [--tail-records 10000]\n"
               "          [--tail-batch 1] [--acls 0] [--runs 5] [--dir /tmp] [--json]\n",
               argv0);
  std::exit(2);
}

Options parse_args(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto num = [&]() -> int {
      if (i + 1 >= argc) usage(argv[0]);
      char* end = nullptr;
      long v = std::strtol(argv[++i], &end, 10);
      if (*end != '\0' || v < 0) usage(argv[0]);
      return static_cast<int>(v);
    };
    if (a == "--partitions") o.partitions = num();
    else if (a == "--topics") o.topics = num();
    else if (a == "--brokers") o.brokers = num();
    else if (a == "--rf") o.rf = num();
    else if (a == "--tail-records") o.tail_records = num();
    else if (a == "--tail-batch") o.tail_batch = num();
    else if (a == "--acls") o.acls = num();
    else if (a == "--runs") o.runs = num();
    else if (a == "--dir" && i + 1 < argc) o.dir = argv[++i];
    else if (a == "--json") o.json = true;
    else usage(argv[0]);
  }
  if (o.topics < 1 || o.brokers < 1 || o.rf < 1 || o.rf > o.brokers || o.partitions < o.topics || o.runs < 1 || o.tail_batch < 1) {
    std::fprintf(stderr, "need topics >= 1, partitions >= topics, 1 <= rf <= brokers, runs >= 1, tail-batch >= 1\n");
    std::exit(2);
  }
  return o;
}

// The process's CPU time (the bench is one thread): on a shared machine the
// wall time also counts the time the thread waited for a core.
double cpu_ms() {
  timespec ts{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) * 1e3 + static_cast<double>(ts.tv_nsec) / 1e6;
}

double ms_since(Clock::time_point t0) { return std::chrono::duration<double, std::milli>(Clock::now() - t0).count(); }

// The image: built with the same typed replays the controller's records go through.
std::shared_ptr<const metadata::MetadataImage> build_image(const Options& o, std::vector<Uuid>& topic_ids,
                                                           std::vector<int>& partitions_of) {
  metadata::MetadataDelta d(nullptr);
  d.track_changes(false);  // nobody reads this delta's change sets
  d.set_cluster_id("snapshot-load-bench");
  msg::FeatureLevelRecord mv;
  mv.name = metadata::kMetadataVersionFeature;
  mv.feature_level = metadata::kLatestProductionMetadataVersion;
  d.replay(mv);
  for (int b = 0; b < o.brokers; ++b) {
    msg::RegisterBrokerRecord r;
    r.broker_id = b;
    r.broker_epoch = 100 + b;
    r.incarnation_id = Uuid::random();
    msg::RegisterBrokerRecord::BrokerEndpoint e;
    e.name = "PLAINTEXT";
    e.host = "broker-" + std::to_string(b) + ".example.internal";
    e.port = 9092;
    r.end_points.push_back(e);
    msg::RegisterBrokerRecord::BrokerFeature f;
    f.name = metadata::kMetadataVersionFeature;
    f.min_supported_version = 1;
    f.max_supported_version = metadata::kLatestProductionMetadataVersion;
    r.features.push_back(f);
    r.rack = "rack-" + std::to_string(b % 3);
    r.fenced = false;
    r.log_dirs = {Uuid::random()};
    d.replay(r);
  }
  topic_ids.clear();
  partitions_of.clear();
  for (int t = 0; t < o.topics; ++t) {
    msg::TopicRecord tr;
    char name[64];
    std::snprintf(name, sizeof name, "bench-topic-%06d", t);
    tr.name = name;
    tr.topic_id = Uuid::random();
    d.replay(tr);
    topic_ids.push_back(tr.topic_id);
    int n = o.partitions / o.topics + (t < o.partitions % o.topics ? 1 : 0);
    partitions_of.push_back(n);
    for (int p = 0; p < n; ++p) {
      msg::PartitionRecord pr;
      pr.partition_id = p;
      pr.topic_id = tr.topic_id;
      for (int k = 0; k < o.rf; ++k) pr.replicas.push_back((t + p + k) % o.brokers);
      pr.isr = pr.replicas;
      pr.leader = pr.replicas[0];
      pr.leader_epoch = 0;
      pr.partition_epoch = 0;
      pr.directories.assign(o.rf, Uuid{});
      d.replay(pr);
    }
    // Some topics have overrides.
    if (t % 10 == 0) {
      msg::ConfigRecord c;
      c.resource_type = static_cast<int8_t>(metadata::ConfigResourceType::TOPIC);
      c.resource_name = tr.name;
      c.name = "retention.ms";
      c.value = "86400000";
      d.replay(c);
      c.name = "cleanup.policy";
      c.value = t % 20 == 0 ? "compact" : "delete";
      d.replay(c);
    }
  }
  for (int b = 0; b < o.brokers; ++b) {
    msg::ConfigRecord c;
    c.resource_type = static_cast<int8_t>(metadata::ConfigResourceType::BROKER);
    c.resource_name = std::to_string(b);
    c.name = "log.retention.bytes";
    c.value = "1073741824";
    d.replay(c);
  }
  msg::ConfigRecord c;
  c.resource_type = static_cast<int8_t>(metadata::ConfigResourceType::BROKER);
  c.resource_name = "";
  c.name = "min.insync.replicas";
  c.value = "2";
  d.replay(c);
  msg::ProducerIdsRecord pid;
  pid.broker_id = 0;
  pid.broker_epoch = 100;
  pid.next_producer_id = 5000;
  d.replay(pid);
  // ACLs: per principal, topic and group names, literal and prefixed.
  for (int i = 0; i < o.acls; ++i) {
    security::StandardAcl a;
    a.id = Uuid{0xac1, static_cast<uint64_t>(i) + 1};
    const bool group = i % 5 == 4;
    a.resource_type = group ? security::ResourceType::GROUP : security::ResourceType::TOPIC;
    a.pattern_type = i % 4 == 0 ? security::PatternType::PREFIXED : security::PatternType::LITERAL;
    a.resource_name = (group ? "group-" : "topic-") + std::to_string(i / 2) + (a.pattern_type == security::PatternType::PREFIXED ? "-" : "");
    a.principal = "User:app-" + std::to_string(i % 1000);
    a.host = "*";
    a.operation = group ? security::AclOperation::READ : (i % 2 ? security::AclOperation::WRITE : security::AclOperation::READ);
    a.permission_type = i % 10 == 0 ? security::AclPermissionType::DENY : security::AclPermissionType::ALLOW;
    d.replay(metadata::acl_record(a));
  }
  // As if the image came from a log of that many records.
  d.set_offset(static_cast<int64_t>(o.partitions) + o.topics + o.brokers + 1000, 7);
  return d.apply();
}

// The tail: PartitionChangeRecords (ISR shrink, ISR expand, leader move) in
// log-format batches starting at `base`, written to one file.
std::vector<uint8_t> build_tail(const Options& o, int64_t base, int32_t epoch, const std::vector<Uuid>& topic_ids,
                                const std::vector<int>& partitions_of) {
  std::vector<uint8_t> out;
  int64_t offset = base;
  int64_t ts = 1700000000000;
  uint64_t rng = 0x9e3779b97f4a7c15ULL;
  auto next = [&] {
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
  };
  int left = o.tail_records;
  while (left > 0) {
    int n = std::min(left, o.tail_batch);
    records::BatchBuilder b(records::Compression::NONE, offset);
    b.set_partition_leader_epoch(epoch);
    for (int i = 0; i < n; ++i) {
      size_t t = next() % topic_ids.size();
      int p = static_cast<int>(next() % static_cast<uint64_t>(partitions_of[t]));
      msg::PartitionChangeRecord r;
      r.topic_id = topic_ids[t];
      r.partition_id = p;
      std::vector<int32_t> replicas;
      for (int k = 0; k < o.rf; ++k) replicas.push_back(static_cast<int32_t>((t + p + k) % o.brokers));
      switch (next() % 3) {
        case 0:  // ISR shrink
          r.isr = std::vector<int32_t>(replicas.begin(), replicas.begin() + std::max(1, o.rf - 1));
          break;
        case 1:  // ISR back to full
          r.isr = replicas;
          break;
        default:  // leader move
          r.leader = replicas[next() % replicas.size()];
          break;
      }
      auto v = protocol::frame_metadata_record(r, 0);
      b.add(ts, std::nullopt, std::span<const uint8_t>(v));
    }
    auto bytes = b.build();
    out.insert(out.end(), bytes.begin(), bytes.end());
    offset += n;
    ts += 1;
    left -= n;
  }
  return out;
}

// Reads the tail file back as the committed batches the Raft driver delivers
// (whole batches, CRC-checked).
std::vector<raft::CommittedBatch> read_tail(const fs::path& file) {
  auto bytes = raft::read_whole_file(file);
  std::vector<raft::CommittedBatch> out;
  records::for_each_batch(std::span<const uint8_t>(bytes), [&](const records::BatchHeader& h, std::span<const uint8_t> batch) {
    if (crc32c(batch.data() + 21, batch.size() - 21) != h.crc) throw DecodeError("tail batch CRC mismatch");
    raft::CommittedBatch cb;
    cb.base_offset = h.base_offset;
    cb.last_offset = h.last_offset();
    cb.epoch = h.partition_leader_epoch;
    cb.append_timestamp = h.max_timestamp;
    cb.is_control = h.is_control();
    for (auto& r : records::decode_records(batch))
      if (r.value) cb.records.push_back(std::move(*r.value));
    out.push_back(std::move(cb));
  });
  return out;
}

struct Sample {
  double read_ms, replay_ms, tail_ms, authz_ms, total_ms;
  double read_cpu, replay_cpu, tail_cpu, authz_cpu, total_cpu;
};

struct Stat {
  double median, min, max;
};
Stat stat(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  size_t n = v.size();
  double med = n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
  return {med, v.front(), v.back()};
}

size_t count_partitions(const metadata::MetadataImage& img) {
  size_t n = 0;
  for (const auto& [name, t] : img.topics_by_name()) n += t.partitions.size();
  return n;
}

}  // namespace

int main(int argc, char** argv) {
  Options o = parse_args(argc, argv);
  spdlog::set_level(spdlog::level::warn);

  fs::path dir = fs::path(o.dir) / ("flotilla-snapshot-load-" + std::to_string(::getpid()));
  fs::path part_dir = dir / "__cluster_metadata-0";
  fs::create_directories(part_dir);

  // ---- setup (untimed)
  std::vector<Uuid> topic_ids;
  std::vector<int> partitions_of;
  auto t_setup = Clock::now();
  auto image = build_image(o, topic_ids, partitions_of);
  auto snap_path = metadata::write_image_snapshot(part_dir, *image, std::nullopt, 1700000000000, 1700000000000);
  const int64_t snap_bytes = static_cast<int64_t>(fs::file_size(snap_path));
  const size_t snap_records = metadata::image_records(*image).size();
  const int64_t tail_base = image->offset() + 1;
  auto tail = build_tail(o, tail_base, image->epoch(), topic_ids, partitions_of);
  fs::path tail_path = part_dir / "tail.log";
  raft::write_file_atomically(tail_path, tail);
  const int64_t tail_bytes = static_cast<int64_t>(tail.size());
  tail.clear();
  tail.shrink_to_fit();
  // The expected final image: the snapshot's image with the tail replayed on it.
  std::shared_ptr<const metadata::MetadataImage> expected;
  {
    metadata::MetadataDelta d(image);
    for (const auto& b : read_tail(tail_path))
      for (const auto& v : b.records) d.replay_value(v);
    if (o.tail_records > 0) d.set_offset(tail_base + o.tail_records - 1, image->epoch());
    expected = d.apply();
  }
  double setup_ms = ms_since(t_setup);
  image.reset();

  if (!o.json)
    std::printf("snapshot %s: %lld bytes, %zu records (%d topics, %d partitions, %d brokers, rf %d); tail %d records in %d-record batches, %lld bytes; setup %.0f ms\n",
                snap_path.filename().c_str(), static_cast<long long>(snap_bytes), snap_records, o.topics, o.partitions, o.brokers,
                o.rf, o.tail_records, o.tail_batch, static_cast<long long>(tail_bytes), setup_ms);

  // ---- timed runs
  std::vector<Sample> samples;
  for (int run = 0; run < o.runs; ++run) {
    auto t0 = Clock::now();
    double c0 = cpu_ms();
    auto loaded = metadata::read_latest_snapshot(part_dir);
    if (!loaded) {
      std::fprintf(stderr, "no snapshot loaded from %s\n", part_dir.c_str());
      return 1;
    }
    double read_ms = ms_since(t0), read_cpu = cpu_ms() - c0;

    auto t1 = Clock::now();
    double c1 = cpu_ms();
    metadata::MetadataLoader loader("snapshot-load-bench");
    metadata::load_snapshot(loader, *loaded);
    double replay_ms = ms_since(t1), replay_cpu = cpu_ms() - c1;

    auto t2 = Clock::now();
    double c2 = cpu_ms();
    for (const auto& b : read_tail(tail_path)) loader.handle_commit(b);
    auto final_image = loader.image();
    double tail_ms = ms_since(t2), tail_cpu = cpu_ms() - c2;
    auto t3 = Clock::now();
    double c3 = cpu_ms();
    double authz_ms = 0, authz_cpu = 0;
    std::unique_ptr<security::StandardAuthorizer> authorizer;
    if (o.acls > 0) {
      std::vector<security::StandardAcl> all;
      all.reserve(final_image->acls().size());
      for (const auto& [id, acl] : final_image->acls()) all.push_back(acl);
      authorizer = std::make_unique<security::StandardAuthorizer>();
      if (auto refused = authorizer->load_snapshot(all); !refused.empty()) {
        std::fprintf(stderr, "run %d: the authorizer refused %zu ACLs of the image: %s\n", run, refused.size(), refused[0].c_str());
        return 1;
      }
      authz_ms = ms_since(t3);
      authz_cpu = cpu_ms() - c3;
    }
    double total_ms = ms_since(t0), total_cpu = cpu_ms() - c0;

    // Not timed: freeing the image, checking it.
    if (final_image->offset() != expected->offset() || final_image->topics_by_name() != expected->topics_by_name() ||
        final_image->brokers() != expected->brokers() || final_image->configs() != expected->configs() ||
        final_image->features() != expected->features() || count_partitions(*final_image) != static_cast<size_t>(o.partitions) ||
        final_image->acls().size() != static_cast<size_t>(o.acls)) {
      std::fprintf(stderr, "run %d: the loaded image differs from the expected one\n", run);
      return 1;
    }
    samples.push_back({read_ms, replay_ms, tail_ms, authz_ms, total_ms, read_cpu, replay_cpu, tail_cpu, authz_cpu, total_cpu});
  }

  auto col = [&](double Sample::*m) {
    std::vector<double> v;
    for (const auto& s : samples) v.push_back(s.*m);
    return stat(v);
  };
  Stat r = col(&Sample::read_ms), p = col(&Sample::replay_ms), t = col(&Sample::tail_ms), z = col(&Sample::authz_ms),
       a = col(&Sample::total_ms);
  Stat rc = col(&Sample::read_cpu), pc = col(&Sample::replay_cpu), tc = col(&Sample::tail_cpu), zc = col(&Sample::authz_cpu),
       ac = col(&Sample::total_cpu);
  if (o.json) {
    std::printf(
        "{\"partitions\":%d,\"topics\":%d,\"brokers\":%d,\"rf\":%d,\"tail_records\":%d,\"tail_batch\":%d,\"acls\":%d,\"runs\":%d,"
        "\"snapshot_bytes\":%lld,\"snapshot_records\":%zu,\"read_ms\":%.1f,\"replay_ms\":%.1f,\"tail_ms\":%.1f,\"authz_ms\":%.1f,"
        "\"total_ms\":%.1f,\"total_cpu_ms\":%.1f}\n",
        o.partitions, o.topics, o.brokers, o.rf, o.tail_records, o.tail_batch, o.acls, o.runs, static_cast<long long>(snap_bytes),
        snap_records, r.median, p.median, t.median, z.median, a.median, ac.median);
  } else {
    std::printf("median of %d runs, wall (min..max) | cpu:\n", o.runs);
    std::printf("  read   (file + CRC + decode)     %8.1f ms  (%.1f..%.1f) | %8.1f ms\n", r.median, r.min, r.max, rc.median);
    std::printf("  replay (snapshot -> image)       %8.1f ms  (%.1f..%.1f) | %8.1f ms\n", p.median, p.min, p.max, pc.median);
    std::printf("  tail   (%d records -> image)  %8.1f ms  (%.1f..%.1f) | %8.1f ms\n", o.tail_records, t.median, t.min, t.max, tc.median);
    if (o.acls > 0)
      std::printf("  authz  (%d ACLs -> authorizer) %8.1f ms  (%.1f..%.1f) | %8.1f ms\n", o.acls, z.median, z.min, z.max, zc.median);
    std::printf("  total                            %8.1f ms  (%.1f..%.1f) | %8.1f ms  %s 1000 ms\n", a.median, a.min, a.max, ac.median,
                a.median < 1000 ? "<" : ">=");
  }

  std::error_code ec;
  fs::remove_all(dir, ec);
  return 0;
}
