// BrokerMetrics: topic counters with their all-topics twins, removal of a
// deleted topic's series, the ErrorsPerSec cache, Kafka's failed-request
// rules, and the ReplicaManager counts of a snapshot.
#include "broker/broker_metrics.h"

#include <gtest/gtest.h>

namespace flotilla::broker {
namespace {

bool rendered(const std::string& needle) {
  std::string out;
  metrics::global().render(out);
  return out.find(needle) != std::string::npos;
}

TEST(BrokerMetrics, TopicCountsGoToTheTopicAndAllTopics) {
  BrokerMetrics& bm = BrokerMetrics::get();
  auto all_before = metrics::global().counter("kafka_server_brokertopicmetrics_messagesin_total", "", {"topic"}).with({})->value();
  auto t = bm.topic("bm-test-topic");
  t->produced(5, 500);
  t->produced(2, 200);
  t->bytes_out(64);
  t->produce_request();
  auto again = bm.topic("bm-test-topic");  // the same series
  again->produced(1, 10);
  EXPECT_TRUE(rendered("kafka_server_brokertopicmetrics_messagesin_total{topic=\"bm-test-topic\"} 8\n"));
  EXPECT_TRUE(rendered("kafka_server_brokertopicmetrics_bytesin_total{topic=\"bm-test-topic\"} 710\n"));
  EXPECT_TRUE(rendered("kafka_server_brokertopicmetrics_bytesout_total{topic=\"bm-test-topic\"} 64\n"));
  EXPECT_TRUE(rendered("kafka_server_brokertopicmetrics_totalproducerequests_total{topic=\"bm-test-topic\"} 1\n"));
  auto all_after = metrics::global().counter("kafka_server_brokertopicmetrics_messagesin_total", "", {"topic"}).with({})->value();
  EXPECT_EQ(all_after - all_before, 8u);

  bm.remove_topic("bm-test-topic");
  EXPECT_FALSE(rendered("topic=\"bm-test-topic\""));
  t->produced(1, 1);  // a holder's counters stay valid
}

TEST(BrokerMetrics, ErrorsAreCachedPerApiAndCode) {
  BrokerMetrics& bm = BrokerMetrics::get();
  metrics::Counter& a = bm.errors(0, ErrorCode::NONE);
  metrics::Counter& b = bm.errors(0, ErrorCode::NONE);
  EXPECT_EQ(&a, &b);
  EXPECT_NE(&a, &bm.errors(1, ErrorCode::NONE));
  EXPECT_NE(&a, &bm.errors(0, ErrorCode::NOT_LEADER_OR_FOLLOWER));
  const uint64_t before = a.value();
  a.inc();
  EXPECT_EQ(bm.errors(0, ErrorCode::NONE).value(), before + 1);
  bm.errors(0, ErrorCode::NOT_LEADER_OR_FOLLOWER).inc();
  EXPECT_TRUE(rendered("kafka_network_requestmetrics_errors_total{request=\"Produce\",error=\"NOT_LEADER_OR_FOLLOWER\"}"));
  bm.errors(3, ErrorCode::INVALID_REGULAR_EXPRESSION).inc();  // beyond the hot keys' codes too
  EXPECT_TRUE(rendered("{request=\"Metadata\",error=\"INVALID_REGULAR_EXPRESSION\"} 1\n"));
}

TEST(BrokerMetrics, KafkasFailedRequestRules) {
  EXPECT_FALSE(counts_as_failed_produce(ErrorCode::NONE));
  EXPECT_FALSE(counts_as_failed_produce(ErrorCode::NOT_LEADER_OR_FOLLOWER));
  EXPECT_FALSE(counts_as_failed_produce(ErrorCode::MESSAGE_TOO_LARGE));
  EXPECT_FALSE(counts_as_failed_produce(ErrorCode::CORRUPT_MESSAGE));
  EXPECT_TRUE(counts_as_failed_produce(ErrorCode::NOT_ENOUGH_REPLICAS));
  EXPECT_TRUE(counts_as_failed_produce(ErrorCode::INVALID_RECORD));
  EXPECT_TRUE(counts_as_failed_produce(ErrorCode::OUT_OF_ORDER_SEQUENCE_NUMBER));
  EXPECT_FALSE(counts_as_failed_fetch(ErrorCode::OFFSET_OUT_OF_RANGE));
  EXPECT_FALSE(counts_as_failed_fetch(ErrorCode::FENCED_LEADER_EPOCH));
  EXPECT_TRUE(counts_as_failed_fetch(ErrorCode::UNKNOWN_SERVER_ERROR));
}

TEST(BrokerMetrics, ReplicaCountsOfASnapshot) {
  BrokerSnapshot s;
  static const std::string kT = "t";
  auto add = [&](bool leader, int replicas, int isr, int min_isr, bool offline = false) {
    PartitionStat p;
    p.topic = &kT;
    p.leader = leader;
    p.replicas = replicas;
    p.isr = isr;
    p.min_isr = min_isr;
    p.offline = offline;
    s.partitions.push_back(p);
  };
  add(true, 3, 3, 2);         // healthy leader
  add(true, 3, 2, 2);         // under-replicated, at min ISR
  add(true, 3, 1, 2);         // under-replicated, under min ISR
  add(false, 3, 1, 2);        // a follower: counted in partitions only
  add(true, 3, 3, 2, true);   // offline
  ReplicaCounts c = replica_counts(s);
  EXPECT_EQ(c.partitions, 5);
  EXPECT_EQ(c.leaders, 3);
  EXPECT_EQ(c.under_replicated, 2);
  EXPECT_EQ(c.under_min_isr, 1);
  EXPECT_EQ(c.at_min_isr, 1);
  EXPECT_EQ(c.offline, 1);
}

}  // namespace
}  // namespace flotilla::broker
