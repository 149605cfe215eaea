// The versions Kafka 4.0/4.1 added (issue 17 §1), byte for byte: the expected
// bytes are laid out by hand from Kafka's message schemas (field order,
// compact encodings of the flexible versions, tagged fields), and decode back
// to the same message.
#include <gtest/gtest.h>

#include "golden.h"

#include <algorithm>

#include "protocol/messages.h"

using namespace flotilla;

namespace {

// The uuid whose 16 wire bytes (big-endian: hi, then lo) are b, b+1, ..., b+15.
Uuid uuid_of(uint8_t b) {
  Uuid u;
  for (int i = 0; i < 8; ++i) u.hi = (u.hi << 8) | static_cast<uint8_t>(b + i);
  for (int i = 8; i < 16; ++i) u.lo = (u.lo << 8) | static_cast<uint8_t>(b + i);
  return u;
}

void append_uuid(std::vector<uint8_t>& out, uint8_t b) {
  for (int i = 0; i < 16; ++i) out.push_back(static_cast<uint8_t>(b + i));
}

}  // namespace

TEST(Kafka41, ProduceRequestV13NamesTopicsById) {
  msg::ProduceRequest p;
  p.acks = -1;
  p.timeout_ms = 1000;
  msg::ProduceRequest::TopicProduceData td;
  td.topic_id = uuid_of(0x10);
  msg::ProduceRequest::PartitionProduceData pd;
  pd.index = 2;
  std::vector<uint8_t> rec = {9, 8, 7};
  pd.records = Records::of_view(rec);
  td.partition_data.push_back(pd);
  p.topic_data.push_back(td);
  std::vector<uint8_t> want = {0, 0xff, 0xff, 0, 0, 3, 0xe8, 2};  // txn id null, acks, timeout, 1 topic
  append_uuid(want, 0x10);                                          // topic id (no name from v13)
  want.insert(want.end(), {2, 0, 0, 0, 2, 4, 9, 8, 7, 0, 0, 0});   // partition 2, records, tags x3
  golden::expect_golden(p, 13, want);
  // v12 still names it.
  p.topic_data[0].name = "t";
  std::vector<uint8_t> v12 = {0, 0xff, 0xff, 0, 0, 3, 0xe8, 2, 2, 't', 2, 0, 0, 0, 2, 4, 9, 8, 7, 0, 0, 0};
  EXPECT_EQ(golden::encode_of(p, 12), v12);
}

TEST(Kafka41, ProduceResponseV13) {
  msg::ProduceResponse r;
  msg::ProduceResponse::TopicProduceResponse t;
  t.topic_id = uuid_of(0x20);
  msg::ProduceResponse::PartitionProduceResponse p;
  p.index = 0;
  p.error_code = 100;  // UNKNOWN_TOPIC_ID
  p.base_offset = -1;
  t.partition_responses.push_back(p);
  r.responses.push_back(t);
  std::vector<uint8_t> want = {2};
  append_uuid(want, 0x20);
  want.insert(want.end(), {2, 0, 0, 0, 0, 0, 100});                  // partition 0, error
  want.insert(want.end(), 24, 0xff);                                 // base offset, log append time, log start: -1
  want.insert(want.end(), {1, 0, 0, 0, 0, 0, 0, 0, 0});             // record errors [], message null, tags x2, throttle, tags
  golden::expect_golden(r, 13, want);
}

TEST(Kafka41, FetchRequestV18HighWatermarkTag) {
  msg::FetchRequest f;
  f.max_wait_ms = 500;
  f.min_bytes = 1;
  f.max_bytes = 1024;
  f.session_epoch = -1;
  msg::FetchRequest::FetchTopic t;
  t.topic_id = uuid_of(0x30);
  msg::FetchRequest::FetchPartition p;
  p.partition = 1;
  p.fetch_offset = 7;
  p.partition_max_bytes = 256;
  p.high_watermark = 5;
  t.partitions.push_back(p);
  f.topics.push_back(t);
  std::vector<uint8_t> want = {0, 0, 1, 0xf4, 0, 0, 0, 1, 0, 0, 4, 0, 0,  // max wait, min bytes, max bytes, isolation
                               0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 2};       // session id, epoch, 1 topic
  append_uuid(want, 0x30);
  want.insert(want.end(), {2, 0, 0, 0, 1, 0xff, 0xff, 0xff, 0xff});         // partition 1, current leader epoch -1
  want.insert(want.end(), {0, 0, 0, 0, 0, 0, 0, 7, 0xff, 0xff, 0xff, 0xff}); // fetch offset, last fetched epoch
  want.insert(want.end(), 8, 0xff);                                          // log start offset -1
  want.insert(want.end(), {0, 0, 1, 0});                                     // partition max bytes
  want.insert(want.end(), {1, 1, 8, 0, 0, 0, 0, 0, 0, 0, 5});               // tags: HighWatermark (tag 1) = 5
  want.insert(want.end(), {0, 1, 1, 0});                                     // topic tags, forgotten [], rack "", tags
  golden::expect_golden(f, 18, want);
  // At its default (Long.MAX_VALUE) the tag is not written; before v18 it does not exist.
  f.topics[0].partitions[0].high_watermark = INT64_MAX;
  auto b = golden::encode_of(f, 18);
  EXPECT_EQ(b.size(), want.size() - 10);
  f.topics[0].partitions[0].high_watermark = 5;
  EXPECT_EQ(golden::encode_of(f, 17).size(), want.size() - 10);
}

TEST(Kafka41, MetadataResponseV13TopLevelError) {
  msg::MetadataResponse m;
  m.error_code = 129;  // REBOOTSTRAP_REQUIRED's code: any int16 goes
  // throttle, brokers [], cluster id null, controller -1, topics [], error, tags
  std::vector<uint8_t> want = {0, 0, 0, 0, 1, 0, 0xff, 0xff, 0xff, 0xff, 1, 0, 129, 0};
  golden::expect_golden(m, 13, want);
  m.error_code = 0;
  EXPECT_EQ(golden::encode_of(m, 12).size(), want.size() - 2);
}

TEST(Kafka41, DescribeClusterV2Fenced) {
  msg::DescribeClusterRequest q;
  q.include_fenced_brokers = true;
  golden::expect_golden(q, 2, {0, 1, 1, 0});  // include ops false, endpoint type 1, include fenced, tags
  EXPECT_EQ(golden::encode_of(q, 1), (std::vector<uint8_t>{0, 1, 0}));
  msg::DescribeClusterResponse r;
  r.cluster_id = "c";
  r.controller_id = 1;
  msg::DescribeClusterResponse::DescribeClusterBroker b;
  b.broker_id = 2;
  b.host = "h";
  b.port = 9092;
  b.is_fenced = true;
  r.brokers.push_back(b);
  std::vector<uint8_t> want = {0, 0, 0, 0, 0, 0, 0, 1, 2, 'c', 0, 0, 0, 1,  // throttle, error, msg null, endpoint 1, cluster, controller
                               2, 0, 0, 0, 2, 2, 'h', 0, 0, 0x23, 0x84, 0, 1, 0,  // broker 2, host, port, rack null, fenced, tags
                               0x80, 0, 0, 0, 0};                               // cluster authorized ops INT32_MIN, tags
  golden::expect_golden(r, 2, want);
}

TEST(Kafka41, EndTxnResponseV5CarriesTheProducer) {
  msg::EndTxnResponse r;
  r.producer_id = 1000;
  r.producer_epoch = 3;
  golden::expect_golden(r, 5, {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x03, 0xe8, 0, 3, 0});
  r.producer_id = -1;
  r.producer_epoch = -1;
  EXPECT_EQ(golden::encode_of(r, 4), (std::vector<uint8_t>{0, 0, 0, 0, 0, 0, 0}));
}

TEST(Kafka41, ListTransactionsRequestV2Pattern) {
  msg::ListTransactionsRequest q;
  q.transactional_id_pattern = "a.*";
  golden::expect_golden(q, 2, {1, 1, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 4, 'a', '.', '*', 0});
  q.transactional_id_pattern.reset();
  golden::expect_golden(q, 2, {1, 1, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0, 0});
}

TEST(Kafka41, DescribeGroupsResponseV6ErrorMessage) {
  msg::DescribeGroupsResponse r;
  msg::DescribeGroupsResponse::DescribedGroup g;
  g.error_code = 69;
  g.error_message = "Group g not found.";
  g.group_id = "g";
  r.groups.push_back(g);
  std::vector<uint8_t> want = {0, 0, 0, 0, 2, 0, 69, 19};
  for (char c : std::string("Group g not found.")) want.push_back(static_cast<uint8_t>(c));
  want.insert(want.end(), {2, 'g', 1, 1, 1, 1, 0x80, 0, 0, 0, 0, 0});  // id, state/type/data "", members [], ops, tags x2
  golden::expect_golden(r, 6, want);
}

TEST(Kafka41, AlterPartitionReassignmentsV1) {
  msg::AlterPartitionReassignmentsRequest q;
  q.timeout_ms = 60000;
  q.allow_replication_factor_change = false;
  golden::expect_golden(q, 1, {0, 0, 0xea, 0x60, 0, 1, 0});
  EXPECT_EQ(golden::encode_of(q, 0), (std::vector<uint8_t>{0, 0, 0xea, 0x60, 1, 0}));
  msg::AlterPartitionReassignmentsRequest v0;
  const std::vector<uint8_t> v0_bytes = {0, 0, 0xea, 0x60, 1, 0};
  ByteReader rd(v0_bytes);
  v0.decode(rd, 0);
  EXPECT_TRUE(v0.allow_replication_factor_change);  // Kafka's default before v1
  msg::AlterPartitionReassignmentsResponse r;
  r.allow_replication_factor_change = false;
  r.error_message = std::nullopt;
  golden::expect_golden(r, 1, {0, 0, 0, 0, 0, 0, 0, 0, 1, 0});
}

TEST(Kafka41, ListConfigResourcesV1) {
  msg::ListClientMetricsResourcesRequest q;
  q.resource_types = {2, 16};
  golden::expect_golden(q, 1, {3, 2, 16, 0});
  EXPECT_EQ(golden::encode_of(q, 0), (std::vector<uint8_t>{0}));
  msg::ListClientMetricsResourcesResponse r;
  msg::ListClientMetricsResourcesResponse::ClientMetricsResource c;
  c.name = "t";
  c.type = 2;
  r.client_metrics_resources.push_back(c);
  golden::expect_golden(r, 1, {0, 0, 0, 0, 0, 0, 2, 2, 't', 2, 0, 0});
  EXPECT_EQ(golden::encode_of(r, 0), (std::vector<uint8_t>{0, 0, 0, 0, 0, 0, 2, 2, 't', 0, 0}));
}

TEST(Kafka41, ConsumerGroupDescribeV1MemberType) {
  msg::ConsumerGroupDescribeResponse r;
  msg::ConsumerGroupDescribeResponse::DescribedGroup g;
  g.group_id = "g";
  msg::ConsumerGroupDescribeResponse::Member m;
  m.member_id = "m";
  m.member_type = 1;
  g.members.push_back(m);
  r.groups.push_back(g);
  auto v1 = golden::encode_of(r, 1);
  auto v0 = golden::encode_of(r, 0);
  ASSERT_EQ(v1.size(), v0.size() + 1);
  // The member ends: target assignment (empty topic partitions, tags), member type, member tags.
  const std::vector<uint8_t> tail = {1, 0, 1, 0};
  auto at = std::search(v1.begin(), v1.end(), tail.begin(), tail.end());
  ASSERT_NE(at, v1.end());
  msg::ConsumerGroupDescribeResponse back;
  ByteReader rd(v1);
  back.decode(rd, 1);
  EXPECT_EQ(back.groups.at(0).members.at(0).member_type, 1);
  ByteReader rd0(v0);
  back.decode(rd0, 0);
  EXPECT_EQ(back.groups.at(0).members.at(0).member_type, -1);  // unknown before v1
}
