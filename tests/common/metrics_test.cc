// The metrics registry and its Prometheus text rendering.
#include "common/metrics.h"

#include <gtest/gtest.h>

#include <thread>

namespace flotilla::metrics {
namespace {

TEST(Metrics, CounterGaugeRenderWithLabelsAndEscapes) {
  Registry r;
  auto& c = r.counter("kafka_server_brokertopicmetrics_messagesin_total", "Messages in", {"topic"});
  c.with({"orders"})->inc(3);
  c.with({"a\"b\\c\nd"})->inc();
  r.gauge("kafka_controller_kafkacontroller_activecontrollercount", "Active").with({})->set(1);
  std::string out;
  r.render(out);
  EXPECT_NE(out.find("# TYPE kafka_server_brokertopicmetrics_messagesin_total counter\n"), std::string::npos) << out;
  EXPECT_NE(out.find("kafka_server_brokertopicmetrics_messagesin_total{topic=\"orders\"} 3\n"), std::string::npos) << out;
  EXPECT_NE(out.find("{topic=\"a\\\"b\\\\c\\nd\"} 1\n"), std::string::npos) << out;
  EXPECT_NE(out.find("kafka_controller_kafkacontroller_activecontrollercount 1\n"), std::string::npos) << out;
}

TEST(Metrics, SameNameSameFamilyOtherTypeThrows) {
  Registry r;
  auto& a = r.counter("x_total", "x");
  auto& b = r.counter("x_total", "x");
  EXPECT_EQ(&a, &b);
  EXPECT_THROW(r.gauge("x_total", "x"), std::logic_error);
}

TEST(Metrics, HistogramQuantilesAndBuckets) {
  Histogram h({1, 2, 5, 10});
  for (int i = 0; i < 100; ++i) h.observe(i < 90 ? 0.5 : 7);
  EXPECT_EQ(h.count(), 100u);
  EXPECT_LE(h.quantile(0.5), 1.0);
  EXPECT_GT(h.quantile(0.95), 5.0);
  EXPECT_LE(h.quantile(0.95), 10.0);
  Registry r;
  auto& f = r.histogram("lat_ms", "latency", {"request"}, {1, 2}, HistogramStyle::Histogram);
  f.with({"Produce"})->observe(1.5);
  f.with({"Produce"})->observe(3);
  std::string out;
  r.render(out);
  EXPECT_NE(out.find("lat_ms_bucket{request=\"Produce\",le=\"1\"} 0\n"), std::string::npos) << out;
  EXPECT_NE(out.find("lat_ms_bucket{request=\"Produce\",le=\"2\"} 1\n"), std::string::npos) << out;
  EXPECT_NE(out.find("lat_ms_bucket{request=\"Produce\",le=\"+Inf\"} 2\n"), std::string::npos) << out;
  EXPECT_NE(out.find("lat_ms_count{request=\"Produce\"} 2\n"), std::string::npos) << out;
}

TEST(Metrics, SummaryStyleHasKafkaPercentiles) {
  Registry r;
  auto& f = r.histogram("kafka_network_requestmetrics_totaltimems", "t", {"request"}, Histogram::latency_ms_bounds());
  f.with({"Fetch"})->observe(3);
  std::string out;
  r.render(out);
  EXPECT_NE(out.find("# TYPE kafka_network_requestmetrics_totaltimems summary"), std::string::npos);
  EXPECT_NE(out.find("kafka_network_requestmetrics_totaltimems{request=\"Fetch\",quantile=\"0.99\"} "), std::string::npos) << out;
  EXPECT_NE(out.find("kafka_network_requestmetrics_totaltimems_count{request=\"Fetch\"} 1"), std::string::npos) << out;
}

TEST(Metrics, RemovedChildStaysValidAndCollectorsRender) {
  Registry r;
  auto& c = r.counter("t_total", "t", {"topic"});
  auto kept = c.with({"gone"});
  c.remove({"gone"});
  kept->inc();  // still valid for its holder
  int id = r.add_collector([](Exposition& e) {
    e.family("kafka_server_replicamanager_partitioncount", "p", "gauge");
    e.sample("kafka_server_replicamanager_partitioncount", 7);
  });
  std::string out;
  r.render(out);
  EXPECT_EQ(out.find("topic=\"gone\""), std::string::npos);
  EXPECT_NE(out.find("kafka_server_replicamanager_partitioncount 7\n"), std::string::npos);
  r.remove_collector(id);
  out.clear();
  r.render(out);
  EXPECT_EQ(out.find("partitioncount"), std::string::npos);
}

TEST(Metrics, ConcurrentIncrementsAreAllCounted) {
  Counter c;
  std::vector<std::thread> ts;
  for (int t = 0; t < 4; ++t)
    ts.emplace_back([&] {
      for (int i = 0; i < 100000; ++i) c.inc();
    });
  for (auto& t : ts) t.join();
  EXPECT_EQ(c.value(), metrics::kEnabled ? 400000u : 0u);
}

TEST(Metrics, FormatValueAndSanitize) {
  EXPECT_EQ(format_value(3), "3");
  EXPECT_EQ(format_value(0.25), "0.25");
  EXPECT_EQ(format_value(1.0 / 0.0), "+Inf");
  EXPECT_EQ(sanitize_name("raft-metrics.Current-Leader"), "raft_metrics_current_leader");
}

}  // namespace
}  // namespace flotilla::metrics
