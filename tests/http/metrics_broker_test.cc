// The broker's scrape-time collectors (http/metrics_broker.cc) over a made-up
// snapshot: names, values, the partition-series switch, and the time 10,000
// partitions take to render; and the /proc parsing of the process metrics.
#include <gtest/gtest.h>

#include <fcntl.h>
#include <unistd.h>

#include <chrono>

#include "broker/broker_metrics.h"
#include "http/metrics_collectors.h"
#include "http/process_stats.h"

namespace flotilla::http {
// Named, not anonymous: the unity batch shares one translation unit with the other tests' fakes.
namespace broker_metrics_test {

class FakeNode : public NodeView {
 public:
  std::shared_ptr<const broker::BrokerSnapshot> snapshot;
  int32_t node_id() const override { return 1; }
  const std::string& cluster_id() const override { return id_; }
  bool broker_role() const override { return true; }
  bool controller_role() const override { return false; }
  std::string metadata_log_dir() const override { return {}; }
  std::string metadata_partition_dir() const override { return {}; }
  int64_t start_time_ms() const override { return 0; }
  std::shared_ptr<const metadata::MetadataImage> image() const override { return nullptr; }
  RaftStatus raft_status() const override { return {}; }
  const security::StandardAuthorizer* authorizer() const override { return nullptr; }
  KafkaReply kafka_call(int16_t, int16_t, std::vector<uint8_t>, std::shared_ptr<const security::Session>, std::chrono::milliseconds,
                        int32_t) override {
    return {};
  }
  std::shared_ptr<const broker::BrokerSnapshot> broker_snapshot() override { return snapshot; }

 private:
  std::string id_ = "c";
};

std::shared_ptr<broker::BrokerSnapshot> make_snapshot(int topics, int partitions_each) {
  auto s = std::make_shared<broker::BrokerSnapshot>();
  auto names = std::make_shared<std::vector<std::string>>();
  for (int t = 0; t < topics; ++t) names->push_back("topic-" + std::to_string(t));
  s->names = names;
  for (int t = 0; t < topics; ++t) {
    const std::string* name = &(*names)[static_cast<size_t>(t)];
    for (int p = 0; p < partitions_each; ++p) {
      broker::PartitionStat st;
      st.topic = name;
      st.partition = p;
      st.size = 1000 + p;
      st.log_end_offset = 42 + p;
      st.log_start_offset = 7;
      st.segments = 2;
      st.leader = p % 2 == 0;
      st.replicas = 3;
      st.isr = p % 4 == 0 ? 1 : 3;
      st.min_isr = 2;
      s->partitions.push_back(st);
    }
  }
  s->has_groups = true;
  s->groups.groups = 3;
  s->groups.stable = 2;
  s->groups.empty = 1;
  s->groups.offsets = 9;
  return s;
}

TEST(BrokerCollectors, RenderReplicaManagerLogAndGroupGauges) {
  FakeNode node;
  node.snapshot = make_snapshot(1, 4);  // leaders 0, 2 (ISR 1 and 3); 1, 3 followers
  metrics::Registry r;
  add_broker_collectors(r, node, HttpOptions{});
  std::string out;
  r.render(out);
  EXPECT_NE(out.find("\nkafka_server_replicamanager_partitioncount 4\n"), std::string::npos) << out;
  EXPECT_NE(out.find("\nkafka_server_replicamanager_leadercount 2\n"), std::string::npos);
  EXPECT_NE(out.find("\nkafka_server_replicamanager_underreplicatedpartitions 1\n"), std::string::npos);
  EXPECT_NE(out.find("\nkafka_server_replicamanager_underminisrpartitioncount 1\n"), std::string::npos);
  EXPECT_NE(out.find("\nkafka_server_replicamanager_atminisrpartitioncount 0\n"), std::string::npos);
  EXPECT_NE(out.find("\nkafka_log_log_logendoffset{topic=\"topic-0\",partition=\"3\"} 45\n"), std::string::npos);
  EXPECT_NE(out.find("\nkafka_log_log_size{topic=\"topic-0\",partition=\"1\"} 1001\n"), std::string::npos);
  EXPECT_NE(out.find("\nkafka_log_log_logstartoffset{topic=\"topic-0\",partition=\"0\"} 7\n"), std::string::npos);
  EXPECT_NE(out.find("\nkafka_log_log_numlogsegments{topic=\"topic-0\",partition=\"0\"} 2\n"), std::string::npos);
  EXPECT_NE(out.find("# TYPE kafka_log_log_size gauge\n"), std::string::npos);
  EXPECT_NE(out.find("\nkafka_coordinator_group_groupmetadatamanager_numgroups 3\n"), std::string::npos);
  EXPECT_NE(out.find("\nkafka_coordinator_group_groupmetadatamanager_numoffsets 9\n"), std::string::npos);
  EXPECT_NE(out.find("\nprocess_resident_memory_bytes "), std::string::npos);
}

TEST(BrokerCollectors, PartitionSeriesSwitchDropsLogSeries) {
  FakeNode node;
  node.snapshot = make_snapshot(2, 3);
  metrics::Registry r;
  HttpOptions o;
  o.partition_series = false;
  add_broker_collectors(r, node, o);
  std::string out;
  r.render(out);
  EXPECT_EQ(out.find("kafka_log_log_"), std::string::npos);
  EXPECT_NE(out.find("\nkafka_server_replicamanager_partitioncount 6\n"), std::string::npos);
}

TEST(BrokerCollectors, NoSnapshotNoBrokerGauges) {
  FakeNode node;
  metrics::Registry r;
  add_broker_collectors(r, node, HttpOptions{});
  std::string out;
  r.render(out);
  EXPECT_EQ(out.find("kafka_server_replicamanager_"), std::string::npos);
  EXPECT_NE(out.find("process_cpu_seconds_total"), std::string::npos);
}

TEST(BrokerCollectors, TenThousandPartitionsRenderWellUnder50Ms) {
  FakeNode node;
  node.snapshot = make_snapshot(100, 100);
  metrics::Registry r;
  add_broker_collectors(r, node, HttpOptions{});
  std::string out;
  r.render(out);  // warm-up
  auto t0 = std::chrono::steady_clock::now();
  constexpr int kRounds = 5;
  for (int i = 0; i < kRounds; ++i) {
    out.clear();
    r.render(out);
  }
  double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count() / kRounds;
  std::printf("10,000 partitions: %zu bytes rendered in %.2f ms\n", out.size(), ms);
  EXPECT_LT(ms, 50.0);
  EXPECT_NE(out.find("kafka_log_log_logendoffset{topic=\"topic-99\",partition=\"99\"} 141\n"), std::string::npos);
}

TEST(ProcessStats, ParsesProcStatPastACommandWithSpacesAndParens) {
  // pid (comm) state ppid pgrp session tty tpgid flags minflt cminflt majflt cmajflt utime stime cutime cstime
  // priority nice threads itrealvalue starttime vsize rss ...
  const std::string stat = "123 (a b) c)) S 1 2 3 4 5 6 7 8 9 10 250 150 0 0 20 0 4 0 5000 104857600 2560 18446744073709551615\n";
  ProcessStats s;
  ASSERT_TRUE(parse_proc_stat(stat, 100, 4096, 1700000000, s));
  EXPECT_DOUBLE_EQ(s.cpu_seconds, 4.0);
  EXPECT_DOUBLE_EQ(s.start_time_seconds, 1700000050.0);
  EXPECT_EQ(s.virtual_bytes, 104857600);
  EXPECT_EQ(s.resident_bytes, 2560 * 4096);
  ProcessStats bad;
  EXPECT_FALSE(parse_proc_stat("123 (x) S 1 2", 100, 4096, 0, bad));
  EXPECT_FALSE(parse_proc_stat("garbage", 100, 4096, 0, bad));
  EXPECT_FALSE(bad.valid);
}

TEST(ProcessStats, BootTimeAndLiveProcess) {
  EXPECT_DOUBLE_EQ(parse_boot_time("cpu  1 2 3\nbtime 1700000000\nprocesses 5\n"), 1700000000.0);
  EXPECT_DOUBLE_EQ(parse_boot_time("cpu 1\n"), 0.0);
  ProcessStats s = read_process_stats();
  ASSERT_TRUE(s.valid);
  EXPECT_GT(s.resident_bytes, 0);
  EXPECT_GT(s.open_fds, 2);
  EXPECT_GT(s.start_time_seconds, 1.6e9);
}

TEST(ProcessStats, OpenFdsCountExactly) {
  const int64_t before = count_open_fds();
  ASSERT_GT(before, 2);
  std::vector<int> fds;
  for (int i = 0; i < 100; ++i) fds.push_back(open("/dev/null", O_RDONLY));
  EXPECT_EQ(count_open_fds(), before + 100);
  close(fds[50]);  // a hole in the table
  EXPECT_EQ(count_open_fds(), before + 99);
  for (size_t i = 0; i < fds.size(); ++i)
    if (i != 50) close(fds[i]);
  EXPECT_EQ(count_open_fds(), before);
}

}  // namespace broker_metrics_test
}  // namespace flotilla::http
