// DescribeTopicPartitions (API 75) on a broker's RequestHandler, without a
// network: the partition limit (the request's, capped by
// max.request.partition.size.limit), cursor paging that answers every
// partition once, the ELR fields from the image, offline replicas, and the
// errors Kafka answers (unknown topic, cursor outside the named topics).
#include <gtest/gtest.h>

#include <asio.hpp>
#include <filesystem>
#include <set>

#include "broker/replica_manager.h"
#include "broker/request_handler.h"
#include "metadata/delta.h"
#include "protocol/messages.h"
#include "storage/log_manager.h"

using namespace flotilla;
using namespace flotilla::broker;
namespace fs = std::filesystem;

namespace {

msg::RegisterBrokerRecord broker_record(int32_t id, bool fenced) {
  msg::RegisterBrokerRecord r;
  r.broker_id = id;
  r.broker_epoch = 10 + id;
  r.incarnation_id = Uuid::random();
  msg::RegisterBrokerRecord::BrokerEndpoint e;
  e.name = "PLAINTEXT";
  e.host = "127.0.0.1";
  e.port = 1;
  r.end_points.push_back(e);
  r.fenced = fenced;
  return r;
}

struct Dtp : ::testing::Test {
  fs::path dir = fs::temp_directory_path() / ("dtp-test-" + std::to_string(::getpid()) + "-" + std::to_string(rand()));
  asio::io_context io;
  BrokerConfig config;
  std::unique_ptr<storage::LogManager> logs;
  std::unique_ptr<ReplicaManager> rm;
  std::unique_ptr<RequestHandler> handler;

  void SetUp() override {
    fs::create_directories(dir);
    config.node_id = 1;
    config.log_dirs = {dir.string()};
    config.max_request_partition_size_limit = 4;
    logs = std::make_unique<storage::LogManager>(config.log_dirs, storage::LogConfig{});
    rm = std::make_unique<ReplicaManager>(io, config, *logs);
    // Brokers 2 (live) and 3 (fenced); topics a (3 partitions) and b (4), replicas [2,3].
    metadata::MetadataDelta d(std::make_shared<metadata::MetadataImage>());
    d.replay(broker_record(2, false));
    d.replay(broker_record(3, true));
    for (auto [name, n] : {std::pair<const char*, int>{"a", 3}, {"b", 4}}) {
      msg::TopicRecord t;
      t.name = name;
      t.topic_id = Uuid::random();
      d.replay(t);
      for (int i = 0; i < n; ++i) {
        msg::PartitionRecord p;
        p.topic_id = t.topic_id;
        p.partition_id = i;
        p.replicas = {2, 3};
        p.isr = {2};
        p.leader = 2;
        p.eligible_leader_replicas = std::vector<int32_t>{3};
        p.last_known_elr = std::vector<int32_t>{};
        d.replay(p);
      }
    }
    auto image = d.apply();
    rm->publish(d, image);
    handler = std::make_unique<RequestHandler>(config, *rm, nullptr, nullptr, true);
  }
  void TearDown() override {
    handler.reset();
    rm->shutdown();
    rm.reset();
    logs.reset();
    fs::remove_all(dir);
  }

  msg::DescribeTopicPartitionsResponse call(const msg::DescribeTopicPartitionsRequest& r) {
    ByteWriter w;
    r.encode(w, 0);
    auto req = std::make_shared<net::Request>();
    req->frame = std::make_shared<FrameBuffer>(w.buffer().begin(), w.buffer().end());
    req->api_key = 75;
    req->api_version = 0;
    req->header_version = 2;
    req->listener = "PLAINTEXT";
    req->session = std::make_shared<const security::Session>();
    std::optional<net::Response> out;
    handler->handle(req, [&](net::Response resp) { out = std::move(resp); });
    EXPECT_TRUE(out.has_value());
    msg::DescribeTopicPartitionsResponse resp;
    if (!out) return resp;
    auto bytes = out->body.flatten();
    ByteReader rd(bytes.data(), bytes.size());
    resp.decode(rd, 0);
    return resp;
  }
};

TEST_F(Dtp, PagesEveryPartitionOnceUnderTheBrokerLimit) {
  msg::DescribeTopicPartitionsRequest r;
  r.response_partition_limit = 100;  // capped at max.request.partition.size.limit = 4
  std::vector<std::pair<std::string, int32_t>> seen;
  int pages = 0;
  for (;;) {
    auto resp = call(r);
    ++pages;
    size_t n = 0;
    for (const auto& t : resp.topics) {
      EXPECT_EQ(t.error_code, 0);
      for (const auto& p : t.partitions) {
        seen.emplace_back(*t.name, p.partition_index);
        EXPECT_EQ(p.leader_id, 2);
        EXPECT_EQ(p.eligible_leader_replicas, std::vector<int32_t>{3});
        EXPECT_EQ(p.last_known_elr, std::vector<int32_t>{});
        EXPECT_EQ(p.offline_replicas, std::vector<int32_t>{3});  // fenced
        ++n;
      }
    }
    EXPECT_LE(n, 4u);
    if (!resp.next_cursor) break;
    ASSERT_LT(pages, 10);
    r.cursor = msg::DescribeTopicPartitionsRequest::Cursor{resp.next_cursor->topic_name, resp.next_cursor->partition_index};
  }
  std::vector<std::pair<std::string, int32_t>> want = {{"a", 0}, {"a", 1}, {"a", 2}, {"b", 0}, {"b", 1}, {"b", 2}, {"b", 3}};
  EXPECT_EQ(seen, want);
  EXPECT_EQ(pages, 2);  // 4 + 3
}

TEST_F(Dtp, ALimitOnATopicsEndPointsAtTheNextTopic) {
  msg::DescribeTopicPartitionsRequest r;
  r.response_partition_limit = 3;
  auto resp = call(r);
  ASSERT_EQ(resp.topics.size(), 1u);
  EXPECT_EQ(resp.topics[0].partitions.size(), 3u);
  ASSERT_TRUE(resp.next_cursor);
  EXPECT_EQ(resp.next_cursor->topic_name, "b");
  EXPECT_EQ(resp.next_cursor->partition_index, 0);
  r.response_partition_limit = 0;  // at least one
  EXPECT_EQ(call(r).topics.at(0).partitions.size(), 1u);
}

TEST_F(Dtp, NamedTopicsUnknownTopicsAndBadCursors) {
  msg::DescribeTopicPartitionsRequest r;
  r.topics = {{"a"}, {"nope"}};
  auto resp = call(r);
  ASSERT_EQ(resp.topics.size(), 2u);
  EXPECT_EQ(*resp.topics[0].name, "a");
  EXPECT_EQ(resp.topics[0].partitions.size(), 3u);
  EXPECT_EQ(*resp.topics[1].name, "nope");
  EXPECT_EQ(resp.topics[1].error_code, 3);  // UNKNOWN_TOPIC_OR_PARTITION
  EXPECT_FALSE(resp.next_cursor);
  // The limit (4) spent on b: the next named topic is the next page's.
  r.topics = {{"b"}, {"nope"}};
  auto full = call(r);
  ASSERT_EQ(full.topics.size(), 1u);
  ASSERT_TRUE(full.next_cursor);
  EXPECT_EQ(full.next_cursor->topic_name, "nope");
  r.cursor = msg::DescribeTopicPartitionsRequest::Cursor{"a", 0};  // not among the named topics
  auto bad = call(r);
  ASSERT_EQ(bad.topics.size(), 2u);
  EXPECT_EQ(bad.topics[0].error_code, 42);  // INVALID_REQUEST
  r.cursor = msg::DescribeTopicPartitionsRequest::Cursor{"b", 2};
  auto from = call(r);
  ASSERT_EQ(from.topics.at(0).partitions.size(), 2u);
  EXPECT_EQ(from.topics[0].partitions[0].partition_index, 2);
}

}  // namespace
