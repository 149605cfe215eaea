// delta_apply_bench: what one metadata record costs a node holding a big
// image — MetadataDelta on the current image, replay of the record, apply()
// to the next image, the previous image dropped (as MetadataLoader::publish
// does per committed batch) — and what the image costs in memory.
//
// Setup: an image of P partitions over T topics (RF replicas each, placed
// round robin over B brokers, a topic config on every tenth topic), built by
// one delta as a snapshot load builds it. Its memory is measured as the heap
// bytes in use (glibc mallinfo2) before and after, divided by P.
//
// Timed, --iters times each, one record per delta (median and p99 in µs, of
// wall time and of the thread's CPU time — on a shared machine the wall
// time's tail is the scheduler's):
//   partition-change  a PartitionChangeRecord (ISR shrink or leader move) of a random partition
//   new-topic         a TopicRecord and one PartitionRecord of a new topic (two records, one delta)
//   config            a ConfigRecord setting retention.ms of a random topic
//
//   build/bench/delta_apply_bench [--partitions 1000000] [--topics 10000] [--brokers 100] [--rf 3] [--iters 2000]
#include <malloc.h>
#include <time.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include "common/uuid.h"
#include "metadata/bootstrap.h"
#include "metadata/delta.h"
#include "metadata/image.h"

using namespace flotilla;
using Clock = std::chrono::steady_clock;

namespace {

struct Options {
  int partitions = 1000000;
  int topics = 10000;
  int brokers = 100;
  int rf = 3;
  int iters = 2000;
};

[[noreturn]] void usage(const char* argv0) {
  std::fprintf(stderr, "usage: %s [--partitions 1000000] [--topics 10000] [--brokers 100] [--rf 3] [--iters 2000]\n", argv0);
  std::exit(2);
}

Options parse_args(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (i + 1 >= argc) usage(argv[0]);
    char* end = nullptr;
    long v = std::strtol(argv[++i], &end, 10);
    if (*end != '\0' || v < 1) usage(argv[0]);
    if (a == "--partitions") o.partitions = static_cast<int>(v);
    else if (a == "--topics") o.topics = static_cast<int>(v);
    else if (a == "--brokers") o.brokers = static_cast<int>(v);
    else if (a == "--rf") o.rf = static_cast<int>(v);
    else if (a == "--iters") o.iters = static_cast<int>(v);
    else usage(argv[0]);
  }
  if (o.rf > o.brokers || o.partitions < o.topics) {
    std::fprintf(stderr, "need rf <= brokers, partitions >= topics\n");
    std::exit(2);
  }
  return o;
}

// This thread's CPU time: what a delta costs, without the time the thread
// was descheduled on a busy machine.
double thread_cpu_us() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) * 1e6 + static_cast<double>(ts.tv_nsec) / 1e3;
}

size_t heap_in_use() {
  struct mallinfo2 mi = mallinfo2();
  return mi.uordblks + mi.hblkhd;
}

uint64_t rng_state = 0x9e3779b97f4a7c15ULL;
uint64_t next_rand() {
  rng_state ^= rng_state << 13;
  rng_state ^= rng_state >> 7;
  rng_state ^= rng_state << 17;
  return rng_state;
}

msg::PartitionRecord partition_record(const Options& o, const Uuid& topic, int t, int p) {
  msg::PartitionRecord pr;
  pr.partition_id = p;
  pr.topic_id = topic;
  for (int k = 0; k < o.rf; ++k) pr.replicas.push_back((t + p + k) % o.brokers);
  pr.isr = pr.replicas;
  pr.leader = pr.replicas[0];
  pr.directories.assign(o.rf, Uuid{});
  return pr;
}

std::string topic_name(int t) {
  char name[64];
  std::snprintf(name, sizeof name, "bench-topic-%06d", t);
  return name;
}

std::shared_ptr<const metadata::MetadataImage> build_image(const Options& o, std::vector<Uuid>& ids, std::vector<int>& counts) {
  metadata::MetadataDelta d(nullptr);
  d.track_changes(false);  // as MetadataLoader builds a snapshot's image
  d.set_cluster_id("delta-apply-bench");
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
    r.fenced = false;
    d.replay(r);
  }
  for (int t = 0; t < o.topics; ++t) {
    msg::TopicRecord tr;
    tr.name = topic_name(t);
    tr.topic_id = Uuid::random();
    d.replay(tr);
    ids.push_back(tr.topic_id);
    int n = o.partitions / o.topics + (t < o.partitions % o.topics ? 1 : 0);
    counts.push_back(n);
    for (int p = 0; p < n; ++p) d.replay(partition_record(o, tr.topic_id, t, p));
    if (t % 10 == 0) {
      msg::ConfigRecord c;
      c.resource_type = static_cast<int8_t>(metadata::ConfigResourceType::TOPIC);
      c.resource_name = tr.name;
      c.name = "cleanup.policy";
      c.value = "delete";
      d.replay(c);
    }
  }
  d.set_offset(static_cast<int64_t>(o.partitions) + o.topics + o.brokers, 1);
  return d.apply();
}

struct Stat {
  double median, p99, max;
};
Stat stat(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return {v[v.size() / 2], v[std::min(v.size() - 1, v.size() * 99 / 100)], v.back()};
}

}  // namespace

int main(int argc, char** argv) {
  Options o = parse_args(argc, argv);
  spdlog::set_level(spdlog::level::err);

  std::vector<Uuid> ids;
  std::vector<int> counts;
  ids.reserve(o.topics);
  counts.reserve(o.topics);
  size_t heap0 = heap_in_use();
  auto t0 = Clock::now();
  auto image = build_image(o, ids, counts);
  double build_ms = std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
  size_t heap1 = heap_in_use();
  std::printf("image: %d topics, %d partitions, %d brokers, rf %d; built in %.0f ms; heap %.1f MB, %.0f bytes per partition\n",
              o.topics, o.partitions, o.brokers, o.rf, build_ms, (heap1 - heap0) / 1e6,
              static_cast<double>(heap1 - heap0) / o.partitions);

  int64_t offset = image->offset();
  int new_topics = 0;
  auto run = [&](const char* what, auto&& replay_one) {
    std::vector<double> us, cpu;
    us.reserve(o.iters);
    cpu.reserve(o.iters);
    for (int i = 0; i < o.iters; ++i) {
      auto a = Clock::now();
      double c0 = thread_cpu_us();
      metadata::MetadataDelta d(image);
      replay_one(d);
      d.set_offset(++offset, 1);
      image = d.apply();  // the previous image is dropped here, as in the loader
      cpu.push_back(thread_cpu_us() - c0);
      us.push_back(std::chrono::duration<double, std::micro>(Clock::now() - a).count());
    }
    Stat s = stat(us), c = stat(cpu);
    std::printf("  %-17s wall median %7.1f us  p99 %8.1f us | cpu median %7.1f us  p99 %8.1f us  (%d deltas)\n", what, s.median,
                s.p99, c.median, c.p99, o.iters);
  };

  std::printf("one-record delta on the image (MetadataDelta + replay + apply + previous image dropped):\n");
  run("partition-change", [&](metadata::MetadataDelta& d) {
    size_t t = next_rand() % ids.size();
    msg::PartitionChangeRecord r;
    r.topic_id = ids[t];
    r.partition_id = static_cast<int32_t>(next_rand() % static_cast<uint64_t>(counts[t]));
    if (next_rand() % 2)
      r.isr = std::vector<int32_t>{static_cast<int32_t>((t + r.partition_id) % o.brokers)};
    else
      r.leader = static_cast<int32_t>((t + r.partition_id + 1) % o.brokers);
    d.replay(r);
  });
  run("new-topic", [&](metadata::MetadataDelta& d) {
    msg::TopicRecord tr;
    int t = o.topics + new_topics++;
    tr.name = "new-topic-" + std::to_string(next_rand() % 1000000000) + "-" + std::to_string(t);
    tr.topic_id = Uuid::random();
    d.replay(tr);
    d.replay(partition_record(o, tr.topic_id, t, 0));
  });
  run("config", [&](metadata::MetadataDelta& d) {
    msg::ConfigRecord c;
    c.resource_type = static_cast<int8_t>(metadata::ConfigResourceType::TOPIC);
    c.resource_name = topic_name(static_cast<int>(next_rand() % static_cast<uint64_t>(o.topics)));
    c.name = "retention.ms";
    c.value = std::to_string(next_rand() % 1000000000);
    d.replay(c);
  });

  size_t n = 0;
  for (const auto& [name, t] : image->topics_by_name()) n += t.partitions.size();
  if (n != static_cast<size_t>(o.partitions) + static_cast<size_t>(new_topics)) {
    std::fprintf(stderr, "the final image has %zu partitions, expected %d\n", n, o.partitions + new_topics);
    return 1;
  }
  return 0;
}
