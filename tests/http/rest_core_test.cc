// The REST v3 core routes against a fake NodeView (an image built from
// metadata records, a scripted kafka_call): the JSON shapes of clusters,
// brokers, topics, partitions and replicas; the error bodies of an unknown
// cluster, topic or partition, of malformed bodies and of Kafka errors; the
// authorizer hiding a topic the user may not DESCRIBE; links and CRNs.
#include <gtest/gtest.h>

#include <functional>

#include "common/error.h"
#include "http/rest_common.h"
#include "http/routes.h"
#include "metadata/delta.h"
#include "protocol/messages.h"
#include "security/authorizer.h"

namespace flotilla::http {
// Named, not anonymous: the unity batch shares one translation unit with the other tests' fakes.
namespace rest_core_test {

using rest::json;

const Uuid kTopicA = *Uuid::parse("J8aAPcfLQt2bqs1JT_rMgQ");
const Uuid kTopicB = *Uuid::parse("AAAAAAAAAAAAAAAAAAAAAQ");

std::shared_ptr<const metadata::MetadataImage> make_image() {
  metadata::MetadataDelta d(std::make_shared<const metadata::MetadataImage>());
  msg::RegisterBrokerRecord b;
  b.broker_id = 1;
  b.broker_epoch = 3;
  b.incarnation_id = Uuid::random();
  msg::RegisterBrokerRecord::BrokerEndpoint e;
  e.name = "PLAINTEXT";
  e.host = "h1";
  e.port = 9093;
  b.end_points.push_back(e);
  b.rack = "r1";
  b.fenced = false;
  d.replay(b);
  for (auto [name, id] : {std::pair{"orders", kTopicA}, std::pair{"secret", kTopicB}}) {
    msg::TopicRecord t;
    t.name = name;
    t.topic_id = id;
    d.replay(t);
    for (int32_t i = 0; i < 2; ++i) {
      msg::PartitionRecord p;
      p.topic_id = id;
      p.partition_id = i;
      p.replicas = {1, 2};
      p.isr = {1};
      p.leader = 1;
      if (i == 1) p.adding_replicas = {2};
      d.replay(p);
    }
  }
  d.set_offset(10, 1);
  return d.apply();
}

class FakeNode : public NodeView {
 public:
  int32_t node_id() const override { return 1; }
  const std::string& cluster_id() const override { return id_; }
  bool broker_role() const override { return true; }
  bool controller_role() const override { return true; }
  std::string metadata_log_dir() const override { return "/nonexistent"; }
  std::string metadata_partition_dir() const override { return "/nonexistent"; }
  int64_t start_time_ms() const override { return 0; }
  std::shared_ptr<const metadata::MetadataImage> image() const override { return image_; }
  RaftStatus raft_status() const override {
    RaftStatus s;
    s.leader_id = 1;
    return s;
  }
  const security::StandardAuthorizer* authorizer() const override { return authorizer_.get(); }
  KafkaReply kafka_call(int16_t api_key, int16_t api_version, std::vector<uint8_t> body,
                        std::shared_ptr<const security::Session>, std::chrono::milliseconds, int32_t) override {
    ++calls;
    last_api = api_key;
    if (!reply) return KafkaReply{false, "no broker API", {}};
    return reply(api_key, api_version, body);
  }

  std::string id_ = "c1";
  std::shared_ptr<const metadata::MetadataImage> image_ = make_image();
  std::unique_ptr<security::StandardAuthorizer> authorizer_;
  std::function<KafkaReply(int16_t, int16_t, const std::vector<uint8_t>&)> reply;
  int calls = 0;
  int16_t last_api = -1;
};

class RestCore : public ::testing::Test {
 protected:
  void SetUp() override { add_rest_routes(router_, node_, HttpOptions{}); }

  HttpResponse call(const std::string& method, const std::string& path, const std::string& body = "") {
    HttpRequest req;
    req.method = method;
    req.path = path;
    req.body = body;
    req.base_url = "http://x:1";
    req.session = std::make_shared<security::Session>();
    HttpResponse resp;
    router_.dispatch(req, resp);
    return resp;
  }
  json get_json(const std::string& path, int status = 200) {
    auto r = call("GET", path);
    EXPECT_EQ(r.status, status) << path << " " << r.body;
    return json::parse(r.body);
  }
  void expect_error(const HttpResponse& r, int status, int code) {
    EXPECT_EQ(r.status, status) << r.body;
    auto j = json::parse(r.body);
    EXPECT_EQ(j.at("error_code"), code) << r.body;
    EXPECT_TRUE(j.at("message").is_string());
    EXPECT_EQ(j.size(), 2u);
  }

  FakeNode node_;
  Router router_;
};

TEST_F(RestCore, ClusterWithRelatedLinks) {
  auto j = get_json("/v3/clusters/c1");
  EXPECT_EQ(j["kind"], "KafkaCluster");
  EXPECT_EQ(j["metadata"]["self"], "http://x:1/v3/clusters/c1");
  EXPECT_EQ(j["metadata"]["resource_name"], "crn:///kafka=c1");
  EXPECT_EQ(j["controller"]["related"], "http://x:1/v3/clusters/c1/brokers/1");
  EXPECT_EQ(j["partition_reassignments"]["related"], "http://x:1/v3/clusters/c1/topics/-/partitions/-/reassignment");
  auto list = get_json("/v3/clusters");
  EXPECT_EQ(list["kind"], "KafkaClusterList");
  EXPECT_EQ(list["metadata"]["next"], nullptr);
  ASSERT_EQ(list["data"].size(), 1u);
  EXPECT_EQ(list["data"][0], j);
  EXPECT_EQ(node_.calls, 0);  // answered from the image
}

TEST_F(RestCore, UnknownClusterTopicPartitionBroker) {
  expect_error(call("GET", "/v3/clusters/zz/topics"), 404, 404);
  EXPECT_NE(call("GET", "/v3/clusters/zz").body.find("Cluster zz cannot be found."), std::string::npos);
  expect_error(call("GET", "/v3/clusters/c1/topics/nope"), 404, 40403);
  expect_error(call("GET", "/v3/clusters/c1/topics/orders/partitions/7"), 404, 40403);
  expect_error(call("GET", "/v3/clusters/c1/topics/orders/partitions/-3x"), 404, 404);
  expect_error(call("GET", "/v3/clusters/c1/brokers/2"), 404, 404);
  expect_error(call("GET", "/v3/clusters/c1/brokers/99999999999"), 404, 404);
  expect_error(call("GET", "/v3/clusters/c1/topics/orders/partitions/0/reassignment"), 404, 404);
}

TEST_F(RestCore, BrokerShape) {
  auto j = get_json("/v3/clusters/c1/brokers/1");
  EXPECT_EQ(j["kind"], "KafkaBroker");
  EXPECT_EQ(j["host"], "h1");
  EXPECT_EQ(j["port"], 9093);
  EXPECT_EQ(j["rack"], "r1");
  EXPECT_EQ(j["metadata"]["resource_name"], "crn:///kafka=c1/broker=1");
  EXPECT_EQ(j["partition_replicas"]["related"], "http://x:1/v3/clusters/c1/brokers/1/partition-replicas");
  EXPECT_EQ(get_json("/v3/clusters/c1/brokers/1/partition-replicas")["data"].size(), 4u);
}

TEST_F(RestCore, TopicPartitionReplicaShapes) {
  auto t = get_json("/v3/clusters/c1/topics/orders");
  EXPECT_EQ(t["kind"], "KafkaTopic");
  EXPECT_EQ(t["partitions_count"], 2);
  EXPECT_EQ(t["replication_factor"], 2);
  EXPECT_EQ(t["is_internal"], false);
  EXPECT_EQ(t["metadata"]["resource_name"], "crn:///kafka=c1/topic=orders");
  auto topics = get_json("/v3/clusters/c1/topics");
  ASSERT_EQ(topics["data"].size(), 2u);
  EXPECT_EQ(topics["data"][0], t);
  auto p = get_json("/v3/clusters/c1/topics/orders/partitions/1");
  EXPECT_EQ(p["leader"]["related"], "http://x:1/v3/clusters/c1/topics/orders/partitions/1/replicas/1");
  auto reps = get_json("/v3/clusters/c1/topics/orders/partitions/1/replicas");
  ASSERT_EQ(reps["data"].size(), 2u);
  EXPECT_EQ(reps["data"][0]["is_leader"], true);
  EXPECT_EQ(reps["data"][0]["is_in_sync"], true);
  EXPECT_EQ(reps["data"][1]["is_leader"], false);
  EXPECT_EQ(reps["data"][1]["is_in_sync"], false);
  EXPECT_EQ(reps["data"][1]["metadata"]["resource_name"], "crn:///kafka=c1/topic=orders/partition=1/replica=2");
  auto r = get_json("/v3/clusters/c1/topics/orders/partitions/1/reassignment");
  EXPECT_EQ(r["adding_replicas"], json::array({2}));
  EXPECT_EQ(r["removing_replicas"], json::array());
  EXPECT_EQ(get_json("/v3/clusters/c1/topics/-/partitions/-/reassignment")["data"].size(), 2u);
}

TEST_F(RestCore, TopicTheUserMayNotDescribeIsHidden) {
  node_.authorizer_ = std::make_unique<security::StandardAuthorizer>(security::AuthorizerConfig{{}, true});
  node_.authorizer_->complete_initial_load();
  security::StandardAcl acl;
  acl.id = Uuid::random();
  acl.resource_type = security::ResourceType::TOPIC;
  acl.resource_name = "secret";
  acl.pattern_type = security::PatternType::LITERAL;
  acl.principal = "User:carol";
  acl.host = "*";
  acl.operation = security::AclOperation::ALL;
  acl.permission_type = security::AclPermissionType::ALLOW;
  ASSERT_FALSE(node_.authorizer_->add_acl(acl));
  auto topics = get_json("/v3/clusters/c1/topics");
  ASSERT_EQ(topics["data"].size(), 1u);
  EXPECT_EQ(topics["data"][0]["topic_name"], "orders");
  expect_error(call("GET", "/v3/clusters/c1/topics/secret"), 403, 40301);
  expect_error(call("GET", "/v3/clusters/c1/topics/secret/partitions/0/replicas"), 403, 40301);
  EXPECT_EQ(get_json("/v3/clusters/c1/brokers/1/partition-replicas")["data"].size(), 2u);
  EXPECT_EQ(get_json("/v3/clusters/c1/topics/-/partitions/-/reassignment")["data"].size(), 1u);
}

TEST_F(RestCore, MalformedBodiesAreRefusedBeforeAnyKafkaCall) {
  expect_error(call("POST", "/v3/clusters/c1/topics", "{\"topic_name\":"), 400, 400);
  expect_error(call("POST", "/v3/clusters/c1/topics", "  "), 400, 422);
  expect_error(call("POST", "/v3/clusters/c1/topics", "[]"), 400, 400);
  expect_error(call("POST", "/v3/clusters/c1/topics", "{\"topic_name\":1}"), 400, 400);
  expect_error(call("POST", "/v3/clusters/c1/topics", "{\"topic_name\":\"a\",\"partitions_count\":0}"), 400, 400);
  expect_error(call("POST", "/v3/clusters/c1/acls", "{\"resource_type\":\"TABLE\"}"), 400, 400);
  expect_error(call("DELETE", "/v3/clusters/c1/acls"), 400, 400);
  expect_error(call("POST", "/v3/clusters/c1/topics/orders/configs:alter", "{\"data\":{}}"), 400, 400);
  EXPECT_EQ(node_.calls, 0);
}

TEST_F(RestCore, KafkaErrorsBecomeKafkaRestCodes) {
  // No broker API: 500 with the retriable code.
  expect_error(call("DELETE", "/v3/clusters/c1/topics/orders"), 500, 50003);
  // A scripted CreateTopics answer: TOPIC_ALREADY_EXISTS is 400/40002 with kafka-rest's message.
  node_.reply = [](int16_t api, int16_t version, const std::vector<uint8_t>& body) {
    EXPECT_EQ(api, msg::CreateTopicsRequest::kApiKey);
    msg::CreateTopicsRequest req;
    ByteReader r(body);
    req.decode(r, version);
    EXPECT_EQ(req.topics.at(0).name, "orders");
    EXPECT_EQ(req.topics.at(0).num_partitions, 3);
    EXPECT_EQ(req.topics.at(0).replication_factor, -1);
    EXPECT_EQ(req.topics.at(0).configs.at(0).name, "cleanup.policy");
    msg::CreateTopicsResponse resp;
    msg::CreateTopicsResponse::CreatableTopicResult t;
    t.name = "orders";
    t.error_code = code(ErrorCode::TOPIC_ALREADY_EXISTS);
    resp.topics.push_back(t);
    ByteWriter w;
    resp.encode(w, version);
    return KafkaReply{true, "", w.buffer()};
  };
  auto r = call("POST", "/v3/clusters/c1/topics",
                R"({"topic_name":"orders","partitions_count":3,"configs":[{"name":"cleanup.policy","value":"compact"}]})");
  expect_error(r, 400, 40002);
  EXPECT_NE(r.body.find("Topic 'orders' already exists."), std::string::npos);
  EXPECT_EQ(rest::kafka_error(code(ErrorCode::UNKNOWN_TOPIC_OR_PARTITION)).status, 404);
  EXPECT_EQ(rest::kafka_error(code(ErrorCode::CLUSTER_AUTHORIZATION_FAILED)).error_code, 40301);
  EXPECT_EQ(rest::kafka_error(code(ErrorCode::NOT_CONTROLLER)).error_code, 50003);
  EXPECT_EQ(rest::kafka_error(code(ErrorCode::INVALID_CONFIG)).error_code, 40002);
  EXPECT_EQ(rest::kafka_error(code(ErrorCode::OFFSET_OUT_OF_RANGE)).error_code, 50002);
  // A reply that does not decode is a 500, never a crash.
  node_.reply = [](int16_t, int16_t, const std::vector<uint8_t>&) { return KafkaReply{true, "", {1, 2}}; };
  expect_error(call("GET", "/v3/clusters/c1/topics/orders/configs"), 500, 50002);
}

TEST(RestLinks, PercentEncodingAndCrn) {
  EXPECT_EQ(rest::percent_encode("a b/c%"), "a%20b%2Fc%25");
  EXPECT_EQ(rest::percent_encode("my.topic-1_x"), "my.topic-1_x");
  EXPECT_EQ(rest::crn("c1", {{"topic", "t"}, {"partition", "0"}}), "crn:///kafka=c1/topic=t/partition=0");
  HttpRequest req;
  req.base_url = "https://h:8";
  EXPECT_EQ(rest::cluster_url(req, "c1", {"topics", "a b"}), "https://h:8/v3/clusters/c1/topics/a%20b");
}

}  // namespace rest_core_test
}  // namespace flotilla::http
