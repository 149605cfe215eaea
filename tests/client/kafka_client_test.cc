// The Kafka client against an in-process fake broker: version
// negotiation (and the ApiVersions fallback), pipelined requests answered in
// order, metadata, produce and fetch.
#include <gtest/gtest.h>

#include <atomic>

#include "client/fake_kafka_server.h"
#include "client/kafka_client.h"
#include "protocol/record_batch.h"

namespace flotilla::client {
namespace {

// The broker of these tests: Metadata, Produce, Fetch and ListOffsets, and
// ApiVersions up to v4 (above it: UNSUPPORTED_VERSION, answered in v0).
class FakeBroker : public test::FakeKafkaServer {
 public:
  FakeBroker()
      : FakeKafkaServer({{msg::MetadataRequest::kApiKey, {0, 10}},
                         {msg::ProduceRequest::kApiKey, {3, 20}},
                         {msg::FetchRequest::kApiKey, {4, 12}},
                         {msg::ListOffsetsRequest::kApiKey, {1, 7}}}) {
    max_api_versions_version(4);
  }
};

void metadata_handler(FakeBroker& fb, ByteReader& r, ByteWriter& w, int16_t v, Uuid topic_id) {
  msg::MetadataRequest req;
  req.decode(r, v);
  msg::MetadataResponse resp;
  msg::MetadataResponse::MetadataResponseBroker b;
  b.node_id = 1;
  b.host = "127.0.0.1";
  b.port = fb.port();
  resp.brokers.push_back(b);
  resp.cluster_id = "cluster";
  resp.controller_id = 1;
  msg::MetadataResponse::MetadataResponseTopic t;
  t.name = "events";
  t.topic_id = topic_id;
  for (int p = 0; p < 2; ++p) {
    msg::MetadataResponse::MetadataResponsePartition mp;
    mp.partition_index = p;
    mp.leader_id = 1;
    mp.replica_nodes = {1};
    mp.isr_nodes = {1};
    t.partitions.push_back(mp);
  }
  resp.topics.push_back(t);
  resp.encode(w, v);
}

TEST(KafkaClient, NegotiatesVersions) {
  FakeBroker fb;
  fb.start();
  Connection c("127.0.0.1", fb.port(), "test");
  EXPECT_EQ(c.version_for(msg::MetadataRequest::kApiKey), 10);
  // Broker 20; the client caps Produce at 12 (v13 names topics by id, the client produces by name).
  EXPECT_EQ(c.version_for(msg::ProduceRequest::kApiKey), 12);
  EXPECT_EQ(c.version_for(msg::FetchRequest::kApiKey), 12);
  EXPECT_TRUE(c.supports(msg::ListOffsetsRequest::kApiKey));
  EXPECT_FALSE(c.supports(msg::CreateTopicsRequest::kApiKey));
  EXPECT_THROW(c.version_for(msg::CreateTopicsRequest::kApiKey), KafkaError);
  EXPECT_EQ(fb.api_versions_seen(), (std::vector<int16_t>{msg::ApiVersionsRequest::kMaxVersion}));
}

TEST(KafkaClient, FallsBackWhenApiVersionsVersionIsUnsupported) {
  FakeBroker fb;
  fb.max_api_versions_version(2);
  fb.start();
  Connection c("127.0.0.1", fb.port(), "test");
  EXPECT_EQ(c.version_for(msg::MetadataRequest::kApiKey), 10);
  EXPECT_EQ(fb.api_versions_seen(), (std::vector<int16_t>{msg::ApiVersionsRequest::kMaxVersion, 2}));
}

TEST(KafkaClient, PipelinesRequestsAndMatchesResponsesInOrder) {
  FakeBroker fb;
  std::atomic<int> n{0};
  fb.on(msg::MetadataRequest::kApiKey, [&](const msg::RequestHeader& h, ByteReader& r, ByteWriter& w) {
    msg::MetadataRequest req;
    req.decode(r, h.request_api_version);
    msg::MetadataResponse resp;
    resp.throttle_time_ms = n++;  // the order the broker saw
    resp.cluster_id = std::to_string(h.correlation_id);
    resp.encode(w, h.request_api_version);
  });
  fb.hold_until(5);  // nothing is answered before all five are in
  fb.start();
  Connection c("127.0.0.1", fb.port(), "test");
  int16_t v = c.version_for(msg::MetadataRequest::kApiKey);
  std::vector<int32_t> ids;
  for (int i = 0; i < 5; ++i) ids.push_back(c.send(msg::MetadataRequest{}, v));
  EXPECT_EQ(c.in_flight(), 5u);
  for (int i = 0; i < 5; ++i) {
    ResponseFrame f = c.receive();
    EXPECT_EQ(f.correlation_id, ids[i]);
    auto resp = f.decode<msg::MetadataResponse>();
    EXPECT_EQ(resp.throttle_time_ms, i);
    EXPECT_EQ(resp.cluster_id, std::to_string(ids[i]));
  }
  EXPECT_EQ(c.in_flight(), 0u);
}

TEST(KafkaClient, PreEncodedFramesGetFreshCorrelationIds) {
  FakeBroker fb;
  fb.on(msg::MetadataRequest::kApiKey, [&](const msg::RequestHeader& h, ByteReader& r, ByteWriter& w) {
    msg::MetadataResponse resp;
    resp.cluster_id = std::to_string(h.correlation_id);
    resp.encode(w, h.request_api_version);
  });
  fb.start();
  Connection c("127.0.0.1", fb.port(), "test");
  int16_t v = c.version_for(msg::MetadataRequest::kApiKey);
  auto frame = c.encode_request(msg::MetadataRequest{}, v);
  int32_t a = c.send_frame(frame, msg::MetadataRequest::kApiKey, v);
  int32_t b = c.send_frame(frame, msg::MetadataRequest::kApiKey, v);
  EXPECT_NE(a, b);
  EXPECT_EQ(c.receive().decode<msg::MetadataResponse>().cluster_id, std::to_string(a));
  EXPECT_EQ(c.receive().decode<msg::MetadataResponse>().cluster_id, std::to_string(b));
}

TEST(KafkaClient, MetadataProduceFetchListOffsets) {
  FakeBroker fb;
  Uuid topic_id = Uuid::random();
  std::vector<uint8_t> stored;
  fb.on(msg::MetadataRequest::kApiKey,
        [&](const msg::RequestHeader& h, ByteReader& r, ByteWriter& w) { metadata_handler(fb, r, w, h.request_api_version, topic_id); });
  fb.on(msg::ProduceRequest::kApiKey, [&](const msg::RequestHeader& h, ByteReader& r, ByteWriter& w) {
    msg::ProduceRequest req;
    req.decode(r, h.request_api_version);
    msg::ProduceResponse resp;
    for (const auto& t : req.topic_data) {
      msg::ProduceResponse::TopicProduceResponse tr;
      tr.name = t.name;
      for (const auto& p : t.partition_data) {
        stored.assign(p.records.view.begin(), p.records.view.end());
        msg::ProduceResponse::PartitionProduceResponse pr;
        pr.index = p.index;
        pr.base_offset = 42;
        tr.partition_responses.push_back(pr);
      }
      resp.responses.push_back(tr);
    }
    resp.encode(w, h.request_api_version);
  });
  fb.on(msg::FetchRequest::kApiKey, [&](const msg::RequestHeader& h, ByteReader& r, ByteWriter& w) {
    msg::FetchRequest req;
    req.decode(r, h.request_api_version);
    msg::FetchResponse resp;
    msg::FetchResponse::FetchableTopicResponse t;
    t.topic = req.topics.at(0).topic;
    msg::FetchResponse::PartitionData pd;
    pd.partition_index = req.topics[0].partitions.at(0).partition;
    pd.high_watermark = 43;
    pd.records = Records::of_bytes(stored);
    t.partitions.push_back(pd);
    resp.responses.push_back(t);
    resp.encode(w, h.request_api_version);
  });
  fb.on(msg::ListOffsetsRequest::kApiKey, [&](const msg::RequestHeader& h, ByteReader& r, ByteWriter& w) {
    msg::ListOffsetsRequest req;
    req.decode(r, h.request_api_version);
    msg::ListOffsetsResponse resp;
    for (const auto& t : req.topics) {
      msg::ListOffsetsResponse::ListOffsetsTopicResponse tr;
      tr.name = t.name;
      for (const auto& p : t.partitions) {
        msg::ListOffsetsResponse::ListOffsetsPartitionResponse pr;
        pr.partition_index = p.partition_index;
        pr.offset = p.timestamp == -2 ? 0 : 43;
        tr.partitions.push_back(pr);
      }
      resp.topics.push_back(tr);
    }
    resp.encode(w, h.request_api_version);
  });
  fb.start();

  KafkaClient client("127.0.0.1:" + std::to_string(fb.port()));
  TopicInfo t = client.wait_for_topic("events", 5000);
  EXPECT_EQ(t.id, topic_id);
  ASSERT_EQ(t.partitions.size(), 2u);
  EXPECT_EQ(client.cached().brokers.at(1).port, fb.port());

  records::BatchBuilder bb;
  std::string v = "hello";
  bb.add(1000, std::nullopt, std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(v.data()), v.size()));
  auto batch = bb.build();
  ProduceResult pr = client.produce("events", 1, batch, -1);
  EXPECT_EQ(pr.error, 0);
  EXPECT_EQ(pr.base_offset, 42);
  EXPECT_EQ(stored, batch);

  FetchPartitionResult fr = client.fetch("events", 1, 42, 1 << 20);
  EXPECT_EQ(fr.error, 0);
  EXPECT_EQ(fr.partition, 1);
  EXPECT_EQ(fr.high_watermark, 43);
  ASSERT_EQ(fr.records.size(), batch.size());
  auto recs = records::decode_records(fr.records);
  ASSERT_EQ(recs.size(), 1u);
  EXPECT_EQ(std::string(recs[0].value->begin(), recs[0].value->end()), "hello");

  EXPECT_EQ(client.list_offset("events", 0, -2).first, 0);
  auto offs = client.list_offsets("events", {0, 1}, -1);
  EXPECT_EQ(offs.at(0), 43);
  EXPECT_EQ(offs.at(1), 43);
}

TEST(KafkaClient, ConnectionRefusedIsANetworkError) {
  int port;
  {
    FakeBroker fb;
    port = fb.port();
  }
  EXPECT_THROW(Connection("127.0.0.1", port, "test", 2000), NetworkError);
  EXPECT_THROW(KafkaClient("nohostport"), std::invalid_argument);
  EXPECT_EQ(parse_host_port("[::1]:9092").first, "::1");
  EXPECT_EQ(parse_host_port("localhost:9092").second, 9092);
}

}  // namespace
}  // namespace flotilla::client
