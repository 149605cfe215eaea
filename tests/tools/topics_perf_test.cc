// kafka-topics describe lines, the topic filter, replica assignments, the
// perf tools' statistics and output lines, and properties parsing.
#include <gtest/gtest.h>

#include "server/config.h"
#include "tools/perf_stats.h"
#include "tools/topics_tool.h"

namespace flotilla::tools {
namespace {

TEST(TopicsOutput, DescribeLinesMatchKafka39) {
  Uuid id = *Uuid::parse("NPmZHyhbR9y00wMglMH2sg");
  EXPECT_EQ(describe_topic_line("quickstart-events", id, 1, 1, {{"segment.bytes", "1073741824"}}),
            "Topic: quickstart-events\tTopicId: NPmZHyhbR9y00wMglMH2sg\tPartitionCount: 1\tReplicationFactor: 1\tConfigs: segment.bytes=1073741824");
  EXPECT_EQ(describe_topic_line("t", Uuid{}, 3, 2, {}), "Topic: t\tPartitionCount: 3\tReplicationFactor: 2\tConfigs: ");
  std::string two = describe_topic_line("t", id, 1, 1, {{"a", "1"}, {"b", "2"}});
  EXPECT_EQ(two.substr(two.size() - 17), "\tConfigs: a=1,b=2");
  EXPECT_EQ(describe_partition_line("quickstart-events", 0, 1, {1}, {1}, {}, {}),
            "\tTopic: quickstart-events\tPartition: 0\tLeader: 1\tReplicas: 1\tIsr: 1\tElr: \tLastKnownElr: ");
  EXPECT_EQ(describe_partition_line("t", 2, -1, {1, 2, 3}, {2, 3}, {}, {}),
            "\tTopic: t\tPartition: 2\tLeader: none\tReplicas: 1,2,3\tIsr: 2,3\tElr: \tLastKnownElr: ");
}

TEST(TopicsOutput, TopicFilterIsAWholeMatchRegex) {
  TopicFilter f("test.*");
  EXPECT_TRUE(f.matches("test"));
  EXPECT_TRUE(f.matches("test-1"));
  EXPECT_FALSE(f.matches("my-test"));
  TopicFilter exact("orders");
  EXPECT_TRUE(exact.matches("orders"));
  EXPECT_FALSE(exact.matches("orders2"));
  TopicFilter list("a, b");
  EXPECT_TRUE(list.matches("a"));
  EXPECT_TRUE(list.matches("b"));
  EXPECT_FALSE(list.matches("c"));
  EXPECT_THROW(TopicFilter("("), std::invalid_argument);
}

TEST(TopicsOutput, ReplicaAssignment) {
  EXPECT_EQ(parse_replica_assignment("1:2,2:3,3:1"), (std::vector<std::vector<int32_t>>{{1, 2}, {2, 3}, {3, 1}}));
  EXPECT_EQ(parse_replica_assignment("1"), (std::vector<std::vector<int32_t>>{{1}}));
  EXPECT_THROW(parse_replica_assignment("1:1"), std::invalid_argument);
  EXPECT_THROW(parse_replica_assignment("1:2,3"), std::invalid_argument);
  EXPECT_THROW(parse_replica_assignment("a"), std::invalid_argument);
}

TEST(PerfStats, PercentilesAreJavasIndexRule) {
  LatencyStats s;
  s.start_window(0);
  // 100 records: 90 at 1.5 ms, 9 at 10.2 ms, 1 at 50 ms.
  s.record(1500, 90, 9000);
  s.record(10200, 9, 900);
  s.record(50000, 1, 100);
  EXPECT_EQ(s.count(), 100);
  EXPECT_EQ(s.bytes(), 10000);
  EXPECT_DOUBLE_EQ(s.percentile(0.5), 1.5);
  EXPECT_DOUBLE_EQ(s.percentile(0.9), 10.2);  // index 90
  EXPECT_DOUBLE_EQ(s.percentile(0.95), 10.2);
  EXPECT_DOUBLE_EQ(s.percentile(0.99), 50);  // index 99
  EXPECT_DOUBLE_EQ(s.percentile(0.999), 50);
  LatencyStats empty;
  EXPECT_EQ(empty.percentile(0.5), 0);
}

TEST(PerfStats, TotalLineFormat) {
  LatencyStats s;
  s.record(2000, 1000, 100000);
  EXPECT_EQ(s.total_line(1000),
            "1000 records sent, 1000.000000 records/sec (0.10 MB/sec), 2.00 ms avg latency, 2.00 ms max latency, 2.00 ms 50th, 2.00 ms 95th, "
            "2.00 ms 99th, 2.00 ms 99.9th.");
  auto j = s.to_json(1000);
  EXPECT_EQ(j["records"], 1000);
  EXPECT_DOUBLE_EQ(j["records_per_sec"].get<double>(), 1000.0);
  EXPECT_DOUBLE_EQ(j["p99_ms"].get<double>(), 2.0);
  EXPECT_TRUE(j.contains("mb_per_sec"));
}

// The reported bug: sub-millisecond latencies gave "0.20 ms avg latency, 0.00
// ms max latency, 0 ms 50th": max and the percentiles were whole ms.
TEST(PerfStats, SubMillisecondLatenciesAreConsistent) {
  LatencyStats s;
  s.start_window(0);
  for (int i = 0; i < 1000; ++i) s.record(150 + i % 100, 10, 1000);  // 0.150 .. 0.249 ms
  s.record(900, 10, 1000);                                             // one slow request
  EXPECT_EQ(s.total_line(1000),
            "10010 records sent, 10010.000000 records/sec (0.95 MB/sec), 0.20 ms avg latency, 0.90 ms max latency, 0.20 ms 50th, 0.24 ms "
            "95th, 0.25 ms 99th, 0.25 ms 99.9th.");  // index 9999 of 10010: not the slow one
  auto j = s.to_json(1000);
  const double avg = j["avg_latency_ms"].get<double>(), max = j["max_latency_ms"].get<double>();
  EXPECT_GT(j["p50_ms"].get<double>(), 0);
  EXPECT_LE(j["p50_ms"].get<double>(), j["p95_ms"].get<double>());
  EXPECT_LE(j["p95_ms"].get<double>(), j["p99_ms"].get<double>());
  EXPECT_LE(j["p99_ms"].get<double>(), j["p999_ms"].get<double>());
  EXPECT_LE(j["p999_ms"].get<double>(), max);
  EXPECT_LE(avg, max);
  EXPECT_EQ(s.window_line(1000), "10010 records sent, 10010.0 records/sec (0.95 MB/sec), 0.2 ms avg latency, 0.9 ms max latency.");
}

TEST(PerfStats, WindowLineFormatAndReset) {
  LatencyStats s;
  s.start_window(0);
  s.record(3000, 500, 50000);
  EXPECT_EQ(s.window_line(1000), "500 records sent, 500.0 records/sec (0.05 MB/sec), 3.0 ms avg latency, 3.0 ms max latency.");
  EXPECT_EQ(s.window_line(2000), "0 records sent, 0.0 records/sec (0.00 MB/sec), 0.0 ms avg latency, 0.0 ms max latency.");
}

TEST(PerfStats, JavaDate) {
  // Only the shape is checked: local time zone.
  std::string d = java_date(1700000000123, "yyyy-MM-dd HH:mm:ss:SSS");
  ASSERT_EQ(d.size(), 23u);
  EXPECT_EQ(d.substr(0, 4), "2023");
  EXPECT_EQ(d.substr(20), "123");
  EXPECT_EQ(d[4], '-');
  EXPECT_EQ(d[19], ':');
}

TEST(Properties, JavaPropertiesFiles) {
  auto p = server::parse_properties(
      "# comment\n! another\nnode.id=1\nlog.dirs = /tmp/a,/tmp/b\nkey: value\nmulti=first \\\n    second\nempty=\n");
  EXPECT_EQ(p["node.id"], "1");
  EXPECT_EQ(p["log.dirs"], "/tmp/a,/tmp/b");
  EXPECT_EQ(p["key"], "value");
  EXPECT_EQ(p["multi"], "first second");
  EXPECT_EQ(p["empty"], "");
  EXPECT_FALSE(p.count("# comment"));
}

}  // namespace
}  // namespace flotilla::tools
